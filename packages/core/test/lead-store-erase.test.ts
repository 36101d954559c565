import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  createFileCheckpointStore,
  createFileDeadLetterQueue,
  createLead,
  createMemoryCache,
  createMemoryDeadLetterQueue,
  createMemoryLeadStore,
  type DeadLetterEntry,
  deadLetterEraseTarget,
  erasableCache,
  erasableCheckpointStore,
  mentionsEmail,
} from '../src/index.js';

const folders: string[] = [];
afterAll(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

function deadLetter(id: string, key: string, leadIds: string[]): DeadLetterEntry {
  return {
    id,
    target: 'hubspot',
    object: 'contacts',
    idProperty: 'email',
    record: { key, properties: { email: key } },
    leadIds,
    error: { code: 'validation_failed', message: 'rejected', retryable: false },
    attempts: 1,
    firstFailedAt: '2026-01-01T00:00:00.000Z',
    lastFailedAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('mentionsEmail', () => {
  it('matches the address as a whole, case-insensitively, never inside a longer one', () => {
    expect(mentionsEmail('{"email":"Ada@Acme.com"}', 'ada@acme.com')).toBe(true);
    expect(mentionsEmail('Ada Lovelace <ada@acme.com>', 'ada@acme.com')).toBe(true);
    expect(mentionsEmail('apollo:person:ada@acme.com', 'ada@acme.com')).toBe(true);
    expect(mentionsEmail('nada@acme.com', 'ada@acme.com')).toBe(false);
    expect(mentionsEmail('ada@acme.com.evil', 'ada@acme.com')).toBe(false);
    expect(mentionsEmail('ada.b@acme.com', 'ada@acme.com')).toBe(false);
    expect(mentionsEmail('adaXacme.com', 'ada@acme.com'), 'the dot is not a wildcard').toBe(false);
  });
});

describe('createMemoryLeadStore erase with the other stores', () => {
  it('removes the person from the answer cache, dead letters and checkpoint answers it was given, and says where', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'leadpipe-erase-'));
    folders.push(folder);
    const answers = erasableCache(createMemoryCache());
    const queue = createMemoryDeadLetterQueue();
    const fileQueue = createFileDeadLetterQueue(join(folder, 'dead-letters.ndjson'));
    const checkpoints = erasableCheckpointStore(createFileCheckpointStore(join(folder, 'run')));
    const leads = createMemoryLeadStore({
      eraseTargets: [
        answers.target,
        deadLetterEraseTarget(queue),
        deadLetterEraseTarget(fileQueue, 'fileDeadLetters'),
        checkpoints.target,
      ],
    });
    const ada = createLead({ email: 'ada@acme.com', title: 'CTO' });
    const bob = createLead({ email: 'bob@acme.com', title: 'CFO' });
    await leads.upsert([ada, bob]);
    await answers.cache.set('apollo:ada@acme.com', { title: 'CTO' }, 60_000);
    await answers.cache.set('hunter:acme.com', { emails: ['Ada@Acme.com', 'bob@acme.com'] }, 60_000);
    await answers.cache.set('apollo:nada@acme.com', { title: 'Intern' }, 60_000);
    await answers.cache.set('apollo:bob@acme.com', { title: 'CFO' }, 60_000);
    await answers.cache.set('gone', { email: 'ada@acme.com' }, 0);
    await queue.put(deadLetter('d1', 'ada@acme.com', ['other']));
    await queue.put(deadLetter('d2', 'renamed@acme.com', [ada.id]));
    await queue.put(deadLetter('d3', 'bob@acme.com', [bob.id]));
    await fileQueue.put(deadLetter('f1', 'ADA@acme.com', []));
    const checkpoint = await checkpoints.store.open({ fingerprint: 'f', resume: false });
    await checkpoint.results.set('apollo:ada@acme.com', { title: 'CTO' }, 60_000);
    await checkpoint.results.set('apollo:bob@acme.com', { title: 'CFO' }, 60_000);
    await checkpoint.flush();

    const report = await leads.erase(' ADA@acme.com');
    expect(report).toEqual({
      email: 'ada@acme.com',
      removed: {
        leads: 1,
        archive: 0,
        outbox: 1,
        cache: 2,
        deadLetters: 2,
        fileDeadLetters: 1,
        checkpointResults: 1,
      },
    });
    expect(await answers.cache.get('apollo:ada@acme.com')).toBe(undefined);
    expect(await answers.cache.get('hunter:acme.com')).toBe(undefined);
    expect(await answers.cache.get('apollo:nada@acme.com')).toEqual({ title: 'Intern' });
    expect(await answers.cache.get('apollo:bob@acme.com')).toEqual({ title: 'CFO' });
    expect((await queue.list()).entries.map((entry) => entry.id)).toEqual(['d3']);
    expect(await fileQueue.size()).toBe(0);
    expect(await checkpoint.results.get('apollo:ada@acme.com')).toBe(undefined);
    expect(await checkpoint.results.get('apollo:bob@acme.com')).toEqual({ title: 'CFO' });
    await checkpoint.close();
    // Erasing again finds nothing anywhere.
    expect((await leads.erase('ada@acme.com')).removed).toEqual({
      leads: 0,
      archive: 0,
      outbox: 0,
      cache: 0,
      deadLetters: 0,
      fileDeadLetters: 0,
      checkpointResults: 0,
    });
    await fileQueue.close();
  });

  it('reports a count per place for a target that keeps several kinds of record, adding up shared places', async () => {
    const seen: { email: string; leadIds: readonly string[] }[] = [];
    const leads = createMemoryLeadStore({
      eraseTargets: [
        {
          place: 'campaigns',
          async erase(person) {
            seen.push(person);
            return { campaignEnrollments: 2, campaignSends: 3 };
          },
        },
        { place: 'campaignSends', erase: async () => 1 },
      ],
    });
    const ada = createLead({ email: 'ada@acme.com' });
    await leads.upsert([ada]);
    const report = await leads.erase('Ada@Acme.com');
    expect(report.removed).toEqual({
      leads: 1,
      archive: 0,
      outbox: 1,
      campaignEnrollments: 2,
      campaignSends: 4,
    });
    expect(seen).toEqual([{ email: 'ada@acme.com', leadIds: [ada.id] }]);
  });

  it('refuses an erase target that is not { place, erase }, naming it', () => {
    let refused: unknown;
    try {
      createMemoryLeadStore({ eraseTargets: [{ place: 'cache' } as never] });
    } catch (error) {
      refused = error;
    }
    expect(ConfigurationError.isInstance(refused)).toBe(true);
    expect((refused as ConfigurationError).issues.map((issue) => issue.field)).toEqual(['eraseTargets.0']);
  });
});
