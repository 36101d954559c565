import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Cache,
  createFileDeadLetterQueue,
  createMemoryCache,
  createMemoryDeadLetterQueue,
  type DeadLetterEntry,
  type DeadLetterQueue,
  type FileDeadLetterQueue,
} from '@leadpipe/core';
import { afterAll, describe, expect, it } from 'vitest';
import { cacheContract, deadLetterQueueContract } from '../src/index.js';

describe('createMemoryCache', () => {
  cacheContract(it, expect, { open: ({ now }) => createMemoryCache({ now }) });
});

describe('createMemoryDeadLetterQueue', () => {
  deadLetterQueueContract(it, expect, { open: () => createMemoryDeadLetterQueue() });
});

describe('createFileDeadLetterQueue', () => {
  const folders: string[] = [];
  const paths = new WeakMap<DeadLetterQueue, string>();
  const openAt = (path: string) => {
    const queue = createFileDeadLetterQueue(path);
    paths.set(queue, path);
    return queue;
  };
  afterAll(() => Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true }))));

  deadLetterQueueContract(it, expect, {
    open: async () => {
      const folder = await mkdtemp(join(tmpdir(), 'leadpipe-dlq-contract-'));
      folders.push(folder);
      return openAt(join(folder, 'dead-letters.ndjson'));
    },
    close: (queue) => (queue as FileDeadLetterQueue).close(),
    reopen: (queue) => openAt(paths.get(queue)!),
  });
});

/** A cache over a Map that outlives each opened cache, as a database would: what a persistent cache looks like. */
function mapBackedCache(rows: Map<string, { value: string; expiresAt: number }>, now: () => number): Cache {
  return {
    get: async (key) => {
      const row = rows.get(key);
      if (row === undefined || row.expiresAt <= now()) return undefined;
      return JSON.parse(row.value);
    },
    set: async (key, value, ttlMs) => {
      if (ttlMs > 0) rows.set(key, { value: JSON.stringify(value), expiresAt: now() + ttlMs });
      else rows.delete(key);
    },
    delete: async (key) => {
      rows.delete(key);
    },
  };
}

/** Run a suite's checks with a collecting `it`: the titles of those that failed. */
async function failingChecks(register: (collect: (name: string, fn: () => Promise<void>) => void) => void) {
  const checks: { name: string; fn: () => Promise<void> }[] = [];
  register((name, fn) => checks.push({ name, fn }));
  const failed: string[] = [];
  for (const { name, fn } of checks) await fn().catch(() => failed.push(name));
  return { ran: checks.map((check) => check.name), failed };
}

describe('the store contract suites', () => {
  const rowsOf = new WeakMap<Cache, Map<string, { value: string; expiresAt: number }>>();
  const persistent = (rows: Map<string, { value: string; expiresAt: number }>, now: () => number) => {
    const cache = mapBackedCache(rows, now);
    rowsOf.set(cache, rows);
    return cache;
  };

  it('run the persistence check for a cache that persists, and it passes', async () => {
    const { ran, failed } = await failingChecks((collect) =>
      cacheContract(collect, expect, {
        name: 'persistent',
        open: ({ now }) => persistent(new Map(), now),
        reopen: (cache, { now }) => persistent(rowsOf.get(cache)!, now),
      }),
    );
    expect(ran).toContain(
      'persistent: values survive a close and reopen; deleted and expired ones stay gone',
    );
    expect(failed).toEqual([]);
  });

  it('fail a cache that forgets on reopen, or ignores the TTL', async () => {
    const forgetful = await failingChecks((collect) =>
      cacheContract(collect, expect, {
        name: 'forgetful',
        open: ({ now }) => mapBackedCache(new Map(), now),
        reopen: (_cache, { now }) => mapBackedCache(new Map(), now),
      }),
    );
    expect(forgetful.failed).toEqual([
      'forgetful: values survive a close and reopen; deleted and expired ones stay gone',
    ]);
    const timeless = await failingChecks((collect) =>
      cacheContract(collect, expect, { name: 'timeless', open: () => mapBackedCache(new Map(), () => 0) }),
    );
    expect(timeless.failed).toEqual([
      'timeless: an entry lives until its TTL passes on the clock, and a new set restarts it',
    ]);
  });

  it('fail a dead-letter queue that hands out what it stores, or forgets on reopen', async () => {
    const sharing = await failingChecks((collect) =>
      deadLetterQueueContract(collect, expect, {
        name: 'sharing',
        open: () => {
          const queue = createMemoryDeadLetterQueue();
          const stored: DeadLetterEntry[] = [];
          return {
            ...queue,
            put: async (entry) => {
              stored.push(entry);
              await queue.put(entry);
            },
            list: async (options) => {
              const page = await queue.list(options);
              return {
                ...page,
                entries: page.entries.map((entry) => stored.find((s) => s.id === entry.id)!),
              };
            },
          };
        },
      }),
    );
    expect(sharing.failed).toContain(
      "sharing: the queue keeps copies: changing the caller's or a listed object changes nothing stored",
    );
    const forgetful = await failingChecks((collect) =>
      deadLetterQueueContract(collect, expect, {
        name: 'forgetful',
        open: () => createMemoryDeadLetterQueue(),
        reopen: () => createMemoryDeadLetterQueue(),
      }),
    );
    expect(forgetful.failed).toEqual([
      'forgetful: a close and reopen keeps exactly what was stored, in order',
    ]);
  });
});
