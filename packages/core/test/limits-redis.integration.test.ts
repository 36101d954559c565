import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { v4 as uuid } from 'uuid';
import { describe, expect, it } from 'vitest';
import { createLimiterRegistry, type LimiterRegistry } from '../src/index.js';
import { SharedRollingGuard } from '../src/limits/shared-rolling-guard.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** One "process": its own Redis client, Bottleneck connection and registry. */
function startProcess(): { registry: LimiterRegistry; close: () => Promise<void> } {
  const client = new Redis(REDIS_URL);
  const connection = new Bottleneck.IORedisConnection({ client, Redis });
  const registry = createLimiterRegistry({ connection });
  return {
    registry,
    close: async () => {
      await registry.disconnect();
      await connection.disconnect();
    },
  };
}

function openHandles(): string[] {
  return process.getActiveResourcesInfo().filter((name) => name !== 'TTYWrap');
}

/** Waits (event-loop turns, not a timed assertion) until sockets have finished closing. */
async function settleHandles(baseline: number): Promise<string[]> {
  for (let turn = 0; turn < 100 && openHandles().length > baseline; turn += 1) {
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return openHandles();
}

describe('clustered limiter (Redis)', () => {
  it('two registries sharing a per-second window of N never run more than N in any second', async () => {
    const baseline = openHandles().length;
    const id = `it-${uuid()}`;
    const limit = 5;
    const perProcess = 8;
    const first = startProcess();
    const second = startProcess();
    const starts: { at: number; process: string }[] = [];
    const run = (name: string, registry: LimiterRegistry) =>
      Array.from({ length: perProcess }, () =>
        registry.get(id, 'shared-key', { perSecond: limit }).schedule(async () => {
          starts.push({ at: Date.now(), process: name });
        }),
      );
    await Promise.all([...run('a', first.registry), ...run('b', second.registry)]);

    expect(starts).toHaveLength(2 * perProcess);
    expect(new Set(starts.map((start) => start.process))).toEqual(new Set(['a', 'b']));
    const times = starts.map((start) => start.at).sort((a, b) => a - b);
    for (const from of times) {
      const inWindow = times.filter((at) => at >= from && at < from + 1000).length;
      expect(inWindow).toBeLessThanOrEqual(limit);
    }

    await first.close();
    await second.close();
    const left = await settleHandles(baseline);
    expect(left.length).toBeLessThanOrEqual(baseline);
  });
});

describe('rolling window shared through Redis', () => {
  it('holds a start back, on Redis clock, until the last span has room, whichever process made the others', async () => {
    const client = new Redis(REDIS_URL);
    const connection = new Bottleneck.IORedisConnection({ client, Redis });
    try {
      const baseId = `it-guard-${uuid()}`;
      const window = { limit: 3, intervalMs: 300 };
      // Two "processes": two guards on one key. The first fills the window; a process that was stalled after
      // its grant then tries to start at once, and must wait until the oldest start is a span old.
      const first = new SharedRollingGuard(connection, baseId, 0);
      const stalled = new SharedRollingGuard(connection, baseId, 0);
      for (let start = 0; start < 3; start += 1) await first.admit(window, 1, () => false);
      await stalled.admit(window, 1, () => false);
      await stalled.admit(window, 2, () => false);
      const scores = (await client.zrange(`${baseId}:rolling-starts`, 0, -1, 'WITHSCORES'))
        .filter((_, index) => index % 2 === 1)
        .map(Number);
      // The set keeps only the last span; every start it holds is at most `limit` per span.
      const all = [...scores];
      expect(all.length).toBeGreaterThanOrEqual(3);
      for (const from of all)
        expect(all.filter((at) => at >= from && at < from + 300).length).toBeLessThanOrEqual(3);
      // A weight of more than the limit never fits: it is not held back forever.
      await stalled.admit(window, 4, () => false);
      // A closed limiter stops waiting.
      const full = new SharedRollingGuard(connection, `it-guard-${uuid()}`, 0);
      await full.admit({ limit: 1, intervalMs: 60_000 }, 1, () => false);
      let stops = 0;
      await full.admit({ limit: 1, intervalMs: 60_000 }, 1, () => stops++ > 1);
      expect(stops).toBe(4);
    } finally {
      await connection.disconnect();
    }
  });

  describe('clustered limiter pace (Redis)', () => {
    it('a limit whose pace is a fraction of a millisecond (100 a second, 10.4 ms) still starts every job', async () => {
      const id = `it-${uuid()}`;
      const process = startProcess();
      try {
        const done = await Promise.all(
          Array.from({ length: 6 }, (_, index) =>
            process.registry.get(id, 'k', { perSecond: 100, perMinute: 60_000 }).schedule(async () => index),
          ),
        );
        expect(done).toEqual([0, 1, 2, 3, 4, 5]);
      } finally {
        await process.close();
      }
    });

    it('a pace an older process left in Redis does not rule a new one: the joining process writes its own', async () => {
      const id = `it-${uuid()}`;
      // What a version before the whole-millisecond fix left behind: a fractional pace, which never starts a job.
      const client = new Redis(REDIS_URL);
      const stale = new Bottleneck({
        id: `leadpipe:${id}:k`,
        datastore: 'ioredis',
        clientOptions: {},
        connection: new Bottleneck.IORedisConnection({ client, Redis }),
        clearDatastore: false,
        minTime: 10.4,
        maxConcurrent: 1,
      });
      await stale.ready();
      await stale.disconnect();
      const process = startProcess();
      try {
        const done = await Promise.all(
          Array.from({ length: 6 }, (_, index) =>
            process.registry.get(id, 'k', { perSecond: 100, perMinute: 60_000 }).schedule(async () => index),
          ),
        );
        expect(done).toEqual([0, 1, 2, 3, 4, 5]);
        const reader = new Redis(REDIS_URL);
        try {
          expect(Number(await reader.hget(`b_leadpipe:${id}:k_settings`, 'minTime'))).toBe(11);
        } finally {
          reader.disconnect();
        }
      } finally {
        await process.close();
      }
    }, 30_000);
  });
});
