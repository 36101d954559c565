import { describe, expect, it } from 'vitest';
import { createMemoryDeadLetterQueue, ValidationError } from '../src/index.js';
import { deadLetterEntry as entry, listAllDeadLetters } from './crm-fixtures.js';

describe('createMemoryDeadLetterQueue', () => {
  it('lists oldest first, in pages, and counts', async () => {
    const queue = createMemoryDeadLetterQueue();
    for (const id of ['a', 'b', 'c', 'd', 'e']) await queue.put(entry(id));
    expect(await queue.size()).toBe(5);
    const first = await queue.list({ limit: 2 });
    expect(first.entries.map((item) => item.id)).toEqual(['a', 'b']);
    expect(first.nextCursor).toBeDefined();
    expect((await listAllDeadLetters(queue, 2)).map((item) => item.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    const whole = await queue.list();
    expect(whole.nextCursor).toBeUndefined();
    expect(whole.entries).toHaveLength(5);
  });

  it('replaces an entry with the same id in place', async () => {
    const queue = createMemoryDeadLetterQueue();
    for (const id of ['a', 'b', 'c']) await queue.put(entry(id));
    await queue.put(entry('a', { attempts: 4 }));
    const page = await queue.list();
    expect(page.entries.map((item) => [item.id, item.attempts])).toEqual([
      ['a', 4],
      ['b', 1],
      ['c', 1],
    ]);
    expect(await queue.size()).toBe(3);
  });

  it('neither skips nor repeats entries when others are removed or replaced while paging', async () => {
    const queue = createMemoryDeadLetterQueue();
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) await queue.put(entry(id));
    const seen: string[] = [];
    const first = await queue.list({ limit: 2 });
    seen.push(...first.entries.map((item) => item.id));
    await queue.remove(['a', 'b']);
    await queue.put(entry('b', { attempts: 2 }));
    await queue.put(entry('c', { attempts: 2 }));
    const second = await queue.list({ cursor: first.nextCursor, limit: 2 });
    seen.push(...second.entries.map((item) => item.id));
    const third = await queue.list({ cursor: second.nextCursor, limit: 10 });
    seen.push(...third.entries.map((item) => item.id));
    // `b` was removed and put again: it is new, so it comes after the others.
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'b']);
  });

  it('removes by id and ignores unknown ids', async () => {
    const queue = createMemoryDeadLetterQueue();
    for (const id of ['a', 'b']) await queue.put(entry(id));
    expect(await queue.remove(['a', 'zzz'])).toBe(1);
    expect(await queue.size()).toBe(1);
    expect((await queue.list()).entries.map((item) => item.id)).toEqual(['b']);
  });

  it('stores scrubbed copies', async () => {
    const queue = createMemoryDeadLetterQueue();
    const original = entry('a', {
      error: {
        code: 'unauthorized',
        message: 'denied',
        retryable: false,
        raw: { headers: { authorization: 'Bearer abcdefgh123' }, body: 'token=s3cr3t-value' },
      },
    });
    await queue.put(original);
    (original.leadIds as string[]).push('mutated');
    const [stored] = (await queue.list()).entries;
    expect(stored?.leadIds).toEqual(['lead-a']);
    expect(JSON.stringify(stored)).not.toContain('abcdefgh123');
    expect(JSON.stringify(stored)).not.toContain('s3cr3t-value');
  });

  it('rejects a bad limit, cursor or id with a typed error naming the field', async () => {
    const queue = createMemoryDeadLetterQueue();
    await expect(queue.list({ limit: 0 })).rejects.toSatisfy(
      (error) => ValidationError.isInstance(error) && error.issues[0]?.field === 'limit',
    );
    await expect(queue.list({ cursor: 'abc' })).rejects.toSatisfy(
      (error) => ValidationError.isInstance(error) && error.issues[0]?.field === 'cursor',
    );
    await expect(queue.put(entry(''))).rejects.toSatisfy(
      (error) => ValidationError.isInstance(error) && error.issues[0]?.field === 'id',
    );
  });
});
