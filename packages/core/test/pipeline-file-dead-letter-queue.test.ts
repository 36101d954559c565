import { appendFile, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  createCrmSync,
  createFileDeadLetterQueue,
  createMemoryDeadLetterQueue,
  type DeadLetterEntry,
  type DeadLetterQueue,
  defineFieldMapping,
  type FileDeadLetterQueue,
  LeadpipeError,
  redrive,
  ValidationError,
} from '../src/index.js';
import { readLineAt } from '../src/stores/file-lines.js';
import { deadLetterEntry as entry, FAST_RETRY, FakeCrm, lead, listAllDeadLetters } from './crm-fixtures.js';

// Ids starting with `collide-` share one 64-bit hash, to exercise the collision path.
vi.mock('../src/stores/hash-map.js', async (importOriginal) => {
  const actual = await importOriginal<typeof import('../src/stores/hash-map.js')>();
  return {
    ...actual,
    hash64: (key: string) => (key.startsWith('collide-') ? { high: 7, low: 7 } : actual.hash64(key)),
  };
});

const ids = (entries: readonly DeadLetterEntry[]) => entries.map((item) => item.id);

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const isCode = (code: string) => (error: unknown) => LeadpipeError.isInstance(error) && error.code === code;
const isField = (field: string) => (error: unknown) =>
  ValidationError.isInstance(error) && error.issues[0]?.field === field;

describe('createFileDeadLetterQueue', () => {
  let dir: string;
  let path: string;
  const opened: FileDeadLetterQueue[] = [];
  const queueAt = (file: string, options?: Parameters<typeof createFileDeadLetterQueue>[1]) => {
    const queue = createFileDeadLetterQueue(file, options);
    opened.push(queue);
    return queue;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leadpipe-dead-letters-'));
    path = join(dir, 'dead-letters.ndjson');
  });

  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((queue) => queue.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, lists oldest first, replaces in place, removes and counts', async () => {
    const queue = queueAt(path);
    for (const id of ['a', 'b', 'c']) await queue.put(entry(id));
    expect(await queue.size()).toBe(3);
    await queue.put(entry('a', { attempts: 4 }));
    expect(await queue.size()).toBe(3);
    const page = await queue.list();
    expect(page.nextCursor).toBeUndefined();
    expect(page.entries.map((item) => [item.id, item.attempts])).toEqual([
      ['a', 4],
      ['b', 1],
      ['c', 1],
    ]);
    expect(page.entries[1]).toEqual(entry('b'));

    expect(await queue.remove(['b', 'zzz', 'b'])).toBe(1);
    expect(await queue.remove(['b'])).toBe(0);
    expect(await queue.size()).toBe(2);
    // Removed, then put again: a new entry, listed after the others.
    await queue.put(entry('b', { attempts: 2 }));
    await queue.put(entry('a', { attempts: 5 }));
    expect((await queue.list()).entries.map((item) => [item.id, item.attempts])).toEqual([
      ['a', 5],
      ['c', 1],
      ['b', 2],
    ]);
    expect(await queue.size()).toBe(3);
  });

  it('returns fresh objects that callers cannot use to change what is stored', async () => {
    const queue = queueAt(path);
    const original = entry('a');
    await queue.put(original);
    (original.leadIds as string[]).push('mutated-before-list');
    const [listed] = (await queue.list()).entries;
    (listed!.leadIds as string[]).push('mutated-after-list');
    const [again] = (await queue.list()).entries;
    expect(again!.leadIds).toEqual(['lead-a']);
    expect(again).not.toBe(listed);
  });

  it('keeps call order for calls that are not awaited one by one', async () => {
    const queue = queueAt(path);
    const results = await Promise.all([
      queue.put(entry('a')),
      queue.put(entry('b')),
      queue.size(),
      queue.remove(['a']),
      queue.size(),
      queue.put(entry('a', { attempts: 9 })),
      queue.list(),
    ]);
    expect(results[2]).toBe(2);
    expect(results[3]).toBe(1);
    expect(results[4]).toBe(1);
    expect(ids((results[6] as { entries: DeadLetterEntry[] }).entries)).toEqual(['b', 'a']);
  });

  it('pages like the memory queue while entries are put, replaced and removed between pages', async () => {
    const file = queueAt(path);
    const memory = createMemoryDeadLetterQueue();
    const next = random(20_261_125);
    const live: string[] = [];
    let created = 0;
    let version = 0;
    let listing: { file?: string; memory?: string; seen: string[]; startedWith: Set<string> } | undefined;
    const removedDuringListing = new Set<string>();
    let listingsChecked = 0;

    async function both<T>(call: (queue: DeadLetterQueue) => Promise<T>): Promise<T> {
      const expected = await call(memory);
      expect(await call(file)).toEqual(expected);
      return expected;
    }

    for (let step = 0; step < 3_000; step += 1) {
      const roll = next();
      if (roll < 0.4 || live.length === 0) {
        const id = `dl-${created}`;
        created += 1;
        version += 1;
        await both((queue) => queue.put(entry(id, { attempts: version })));
        live.push(id);
      } else if (roll < 0.6) {
        const id = live[Math.floor(next() * live.length)]!;
        version += 1;
        await both((queue) => queue.put(entry(id, { attempts: version, lastFailedAt: `v${version}` })));
      } else if (roll < 0.72) {
        const victims = [live[Math.floor(next() * live.length)]!, `unknown-${step}`];
        if (next() < 0.5) victims.push(live[Math.floor(next() * live.length)]!);
        await both((queue) => queue.remove(victims));
        for (const victim of victims) {
          const at = live.indexOf(victim);
          if (at >= 0) live.splice(at, 1);
          removedDuringListing.add(victim);
        }
      } else if (roll < 0.78 && live.length > 0) {
        // Remove and put again: the entry moves to the end.
        const id = live[Math.floor(next() * live.length)]!;
        await both((queue) => queue.remove([id]));
        removedDuringListing.add(id);
        version += 1;
        await both((queue) => queue.put(entry(id, { attempts: version })));
      } else {
        if (listing === undefined) {
          listing = { seen: [], startedWith: new Set(live) };
          removedDuringListing.clear();
        }
        const limit = 1 + Math.floor(next() * 7);
        const active = listing;
        const memoryPage = await memory.list({ cursor: active.memory, limit });
        const filePage = await file.list({ cursor: active.file, limit });
        expect(filePage.entries).toEqual(memoryPage.entries);
        expect(filePage.nextCursor === undefined).toBe(memoryPage.nextCursor === undefined);
        active.seen.push(...ids(filePage.entries));
        active.memory = memoryPage.nextCursor;
        active.file = filePage.nextCursor;
        if (filePage.nextCursor === undefined) {
          // Every entry there all along is listed exactly once.
          for (const id of active.startedWith) {
            if (removedDuringListing.has(id)) continue;
            expect(active.seen.filter((seen) => seen === id)).toHaveLength(1);
          }
          listing = undefined;
          listingsChecked += 1;
        }
      }
      if (step % 500 === 0) expect(await file.size()).toBe(await memory.size());
    }

    expect(created).toBeGreaterThan(1_000);
    expect(listingsChecked).toBeGreaterThan(3);
    expect(await file.size()).toBe(live.length);
    expect(await listAllDeadLetters(file, 13)).toEqual(await listAllDeadLetters(memory, 13));
    expect(ids(await listAllDeadLetters(file, 1_000))).toEqual(ids(await listAllDeadLetters(memory, 1_000)));

    // And after a restart.
    await file.close();
    const reopened = queueAt(path);
    expect(await reopened.size()).toBe(live.length);
    expect(await listAllDeadLetters(reopened, 7)).toEqual(await listAllDeadLetters(memory, 7));
  });

  it('does not repeat or skip entries when the next one is removed, replaced or moved between pages', async () => {
    const queue = queueAt(path);
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) await queue.put(entry(id));
    const first = await queue.list({ limit: 2 });
    expect(ids(first.entries)).toEqual(['a', 'b']);
    await queue.remove(['a', 'b', 'c']);
    await queue.put(entry('b', { attempts: 2 }));
    await queue.put(entry('d', { attempts: 2 }));
    await queue.put(entry('g'));
    const second = await queue.list({ cursor: first.nextCursor, limit: 2 });
    expect(second.entries.map((item) => [item.id, item.attempts])).toEqual([
      ['d', 2],
      ['e', 1],
    ]);
    await queue.remove(['f']);
    const third = await queue.list({ cursor: second.nextCursor, limit: 2 });
    expect(ids(third.entries)).toEqual(['b', 'g']);
    expect(third.nextCursor).toBeUndefined();
  });

  it('keeps dead letters across a restart, and starts empty with fresh', async () => {
    const queue = queueAt(path);
    for (let index = 0; index < 50; index += 1) await queue.put(entry(`e${index}`));
    await queue.put(entry('e3', { attempts: 3 }));
    await queue.remove(['e10', 'e11']);
    await queue.put(entry('e10', { attempts: 10 }));
    const before = await listAllDeadLetters(queue, 9);
    await queue.close();
    await queue.close();

    const reopened = queueAt(path);
    expect(await reopened.size()).toBe(49);
    expect(await listAllDeadLetters(reopened, 9)).toEqual(before);
    expect(ids(before).slice(-1)).toEqual(['e10']);
    expect(before.find((item) => item.id === 'e3')?.attempts).toBe(3);
    await reopened.put(entry('late'));
    await reopened.close();

    const again = queueAt(path);
    expect(ids(await listAllDeadLetters(again)).slice(-2)).toEqual(['e10', 'late']);
    await again.close();

    const fresh = queueAt(path, { fresh: true });
    expect(await fresh.size()).toBe(0);
    expect((await fresh.list()).entries).toEqual([]);
    await fresh.put(entry('only'));
    await fresh.close();
    expect(ids(await listAllDeadLetters(queueAt(path)))).toEqual(['only']);
  });

  it('spills its index to disk and stays exact past it, after a reopen too', async () => {
    const index = { maxMemoryEntries: 1024, directory: dir };
    const queue = queueAt(path, { index });
    const expected = new Map<string, number>();
    for (let index = 0; index < 6_000; index += 1) {
      await queue.put(entry(`s${index}`, { attempts: 1 }));
      expected.set(`s${index}`, 1);
    }
    for (let index = 0; index < 6_000; index += 5) {
      await queue.put(entry(`s${index}`, { attempts: 2 }));
      expected.set(`s${index}`, 2);
    }
    const victims = Array.from({ length: 6_000 / 7 }, (_, index) => `s${index * 7}`);
    expect(await queue.remove(victims)).toBe(victims.length);
    for (const id of victims) expect.soft(expected.delete(id)).toBe(true);
    expect((await readdir(dir)).some((name) => name.startsWith('leadpipe-dedupe-'))).toBe(true);

    const check = async (target: DeadLetterQueue) => {
      expect(await target.size()).toBe(expected.size);
      const listed = await listAllDeadLetters(target, 500);
      expect(listed.map((item) => [item.id, item.attempts])).toEqual([...expected]);
    };
    await check(queue);
    await queue.close();
    expect((await readdir(dir)).some((name) => name.startsWith('leadpipe-dedupe-'))).toBe(false);
    await check(queueAt(path, { index }));
  });

  it('cuts off a torn last line and loads the rest', async () => {
    const queue = queueAt(path);
    await queue.put(entry('a'));
    await queue.put(entry('b'));
    await queue.close();
    const whole = (await stat(path)).size;
    await appendFile(path, '{"p":{"id":"torn","target":"crm');

    const reopened = queueAt(path);
    expect(ids((await reopened.list()).entries)).toEqual(['a', 'b']);
    expect(await reopened.size()).toBe(2);
    expect((await stat(path)).size).toBe(whole);
    await reopened.put(entry('c'));
    await reopened.close();
    expect(ids(await listAllDeadLetters(queueAt(path)))).toEqual(['a', 'b', 'c']);
  });

  it('starts over when only part of the header was written', async () => {
    await writeFile(path, '{"v":1,"ki');
    const queue = queueAt(path);
    expect(await queue.size()).toBe(0);
    await queue.put(entry('a'));
    await queue.close();
    expect((await readFile(path, 'utf8')).split('\n')[0]).toBe('{"v":1,"kind":"leadpipe.dead-letters"}');
    expect(ids(await listAllDeadLetters(queueAt(path)))).toEqual(['a']);
  });

  it('refuses a corrupt line or a foreign file without leaking its contents or changing it', async () => {
    const queue = queueAt(path);
    for (const id of ['a', 'b', 'c']) await queue.put(entry(id));
    await queue.close();
    const lines = (await readFile(path, 'utf8')).split('\n');
    lines[2] = 'not json Bearer-less s3cr3t-payload';
    await writeFile(path, lines.join('\n'));

    const broken = queueAt(path);
    const error = await broken.list().catch((caught: unknown) => caught);
    expect(isCode('dead_letters_corrupt')(error)).toBe(true);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain('line 3');
    expect((error as Error).message).not.toContain('s3cr3t-payload');
    // Every call fails the same way: nothing half-loaded is served.
    await expect(broken.put(entry('d'))).rejects.toSatisfy(isCode('dead_letters_corrupt'));
    await expect(broken.close()).resolves.toBeUndefined();

    for (const foreign of [
      'name,email\nada,ada@acme.com s3cr3t-payload\n',
      's3cr3t-payload with no newline',
    ]) {
      const other = join(dir, `foreign-${foreign.length}.csv`);
      await writeFile(other, foreign);
      const wrong = queueAt(other);
      const refused = await wrong.size().catch((caught: unknown) => caught);
      expect(isCode('dead_letters_corrupt')(refused)).toBe(true);
      expect((refused as Error).message).toContain(other);
      expect((refused as Error).message).not.toContain('s3cr3t-payload');
      expect(await readFile(other, 'utf8')).toBe(foreign);
    }
  });

  it('stores entries scrubbed of secrets, in the file too', async () => {
    const queue = queueAt(path);
    await queue.put(
      entry('a', {
        error: {
          code: 'unauthorized',
          message: 'denied for Bearer abcdefgh123',
          retryable: false,
          raw: {
            headers: { authorization: 'Basic dXNlcjpwYXNz' },
            url: 'https://api.example.com/v1?api_key=k3y-s3cr3t',
            body: 'token=s3cr3t-value',
          },
        },
      }),
    );
    await queue.put(entry('a', { attempts: 2, error: { ...entry('a').error, message: 'Bearer zyxwvu987' } }));
    await queue.flush();
    const text = JSON.stringify(await listAllDeadLetters(queue));
    const onDisk = await readFile(path, 'utf8');
    for (const secret of ['abcdefgh123', 'dXNlcjpwYXNz', 'k3y-s3cr3t', 's3cr3t-value', 'zyxwvu987']) {
      expect(text).not.toContain(secret);
      expect(onDisk).not.toContain(secret);
    }
    expect(onDisk).toContain('[REDACTED]');
  });

  it('round-trips long non-ASCII entries across read chunk boundaries', async () => {
    const queue = queueAt(path);
    // 2-byte characters at odd offsets: the 4 KB and 64 KB read chunks split some of them.
    const long = (seed: string) => `x${seed}${'é'.repeat(40_000)}ü€😀`;
    await queue.put(entry('first', { record: { key: 'k', properties: { note: long('1') } } }));
    await queue.put(entry('second', { record: { key: 'k', properties: { note: long('2') } } }));
    await queue.put(entry('first', { record: { key: 'k', properties: { note: long('3') } } }));
    const listed = await listAllDeadLetters(queue, 1);
    expect(listed.map((item) => item.record.properties.note)).toEqual([long('3'), long('2')]);

    const handle = await open(path, 'r');
    try {
      const header = await readLineAt(handle, 0);
      expect(header).toBe('{"v":1,"kind":"leadpipe.dead-letters"}');
      const second = await readLineAt(handle, header!.length + 1);
      expect(second).toContain(long('1'));
    } finally {
      await handle.close();
    }
  });

  it('takes two ids with the same 64-bit hash for one: the newer hides the older', async () => {
    const queue = queueAt(path);
    await queue.put(entry('plain'));
    await queue.put(entry('collide-a'));
    await queue.put(entry('collide-b'));
    expect(await queue.size()).toBe(2);
    // `collide-a` is not mistaken for `collide-b`: not removed, not replaced.
    expect(await queue.remove(['collide-a'])).toBe(0);
    const listed = (await queue.list()).entries;
    expect(ids(listed)).toEqual(['plain', 'collide-b']);
    expect(listed[1]).toEqual(entry('collide-b'));
    await queue.close();
    const reopened = queueAt(path);
    expect(await reopened.size()).toBe(2);
    expect(ids((await reopened.list()).entries)).toEqual(['plain', 'collide-b']);
    expect(await reopened.remove(['collide-b'])).toBe(1);
    expect(await reopened.size()).toBe(1);
  });

  it('rejects a bad path, id, entry, limit, cursor or option with a typed error naming the field', async () => {
    expect(() => createFileDeadLetterQueue('')).toThrow(ValidationError);
    for (const bad of ['', '  ', 42, undefined]) {
      let thrown: unknown;
      try {
        createFileDeadLetterQueue(bad as string);
      } catch (error) {
        thrown = error;
      }
      expect(isField('path')(thrown)).toBe(true);
    }
    expect(() => createFileDeadLetterQueue(path, { index: { maxMemoryEntries: 10 } })).toThrow(
      ValidationError,
    );
    expect(() => createFileDeadLetterQueue(path, { fresh: 'yes' as unknown as boolean })).toThrow(
      ValidationError,
    );

    const queue = queueAt(path);
    await queue.put(entry('a'));
    await queue.put(entry('b'));
    await expect(queue.put(entry(''))).rejects.toSatisfy(isField('id'));
    await expect(queue.put({ ...entry('x'), id: 7 as unknown as string })).rejects.toSatisfy(isField('id'));
    await expect(queue.put(entry('x', { attempts: 10n as unknown as number }))).rejects.toSatisfy(
      isField('entry'),
    );
    for (const limit of [0, -1, 1.5, Number.NaN]) {
      await expect(queue.list({ limit })).rejects.toSatisfy(isField('limit'));
    }
    for (const cursor of ['abc', '-1', '1e3', '']) {
      await expect(queue.list({ cursor })).rejects.toSatisfy(isField('cursor'));
    }
    // Digits, but not the start of a line: not a cursor this queue returned.
    await expect(queue.list({ cursor: '5' })).rejects.toSatisfy(isField('cursor'));
    const page = await queue.list({ limit: 1 });
    expect(page.nextCursor).toMatch(/^\d+$/);
    await expect(queue.list({ cursor: String(Number(page.nextCursor) + 1) })).rejects.toSatisfy(
      isField('cursor'),
    );
    expect(await queue.list({ cursor: '99999999999' })).toEqual({ entries: [] });
    expect(await queue.size()).toBe(2);
  });

  it("keeps a CRM sync's dead letters across a restart and redrives them page by page", async () => {
    const contacts = defineFieldMapping({
      object: 'contacts',
      idProperty: { from: 'email', to: 'email' },
      fields: [{ from: 'firstName', to: 'firstname' }],
    });
    let broken = new Set(Array.from({ length: 9 }, (_, index) => `p${index}@acme.com`));
    const crm = new FakeCrm('crm-a', {
      faults: {
        record: (key) =>
          broken.has(key)
            ? { code: 'validation_failed', message: 'picklist value', retryable: false }
            : undefined,
      },
    });
    const leads = Array.from({ length: 12 }, (_, index) =>
      lead({ email: `p${index}@acme.com`, firstName: `P${index}` }),
    );
    const first = createCrmSync({
      crms: [{ adapter: crm, mapping: contacts }],
      retry: FAST_RETRY,
      deadLetters: queueAt(path),
    });
    await first.sync(leads);
    await first.close();
    await (first.deadLetters as FileDeadLetterQueue).close();

    // A new process: the dead letters are still there, in the same order.
    const queue = queueAt(path);
    const before = await listAllDeadLetters(queue);
    expect(before.map((item) => item.record.key)).toEqual([...broken]);
    broken = new Set(['p2@acme.com', 'p5@acme.com', 'p8@acme.com']);
    const second = createCrmSync({
      crms: [{ adapter: crm, mapping: contacts }],
      retry: FAST_RETRY,
      deadLetters: queue,
    });
    try {
      // Pages of 2 while delivered entries are removed and failing ones put again.
      const report = await redrive(queue, second, undefined, { pageSize: 2 });
      expect(report.inputs).toBe(9);
    } finally {
      await second.close();
    }
    const after = await listAllDeadLetters(queue);
    expect(after.map((item) => [item.record.key, item.attempts, item.id])).toEqual(
      [...broken].map((key) => [key, 2, before.find((item) => item.record.key === key)?.id]),
    );
    expect(await queue.size()).toBe(3);
  });

  it('rejects every call after close, and close is idempotent', async () => {
    const unused = queueAt(path);
    await unused.close();
    await expect(unused.size()).rejects.toSatisfy(isCode('dead_letters_closed'));

    const queue = queueAt(path);
    const pending = queue.put(entry('a'));
    const closing = queue.close();
    await pending;
    await closing;
    await expect(queue.close()).resolves.toBeUndefined();
    await expect(queue.put(entry('b'))).rejects.toSatisfy(isCode('dead_letters_closed'));
    await expect(queue.list()).rejects.toSatisfy(isCode('dead_letters_closed'));
    await expect(queue.remove(['a'])).rejects.toSatisfy(isCode('dead_letters_closed'));
    await expect(queue.size()).rejects.toSatisfy(isCode('dead_letters_closed'));
    await expect(queue.flush()).rejects.toSatisfy(isCode('dead_letters_closed'));
    const error = await queue.size().catch((caught: unknown) => caught);
    expect((error as Error).message).toContain(path);
    // The put made before close was written.
    expect(ids(await listAllDeadLetters(queueAt(path)))).toEqual(['a']);
  });
});
