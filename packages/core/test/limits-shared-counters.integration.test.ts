import { createHash } from 'node:crypto';
import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { v4 as uuid } from 'uuid';
import { afterAll, describe, expect, it } from 'vitest';
import { createLimiterRegistry } from '../src/index.js';
import { scriptRunner } from '../src/limits/redis-script.js';
import { SharedWindowCounters } from '../src/limits/shared-counters.js';
import { createWindowStates, type WindowState } from '../src/limits/windows.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const clients: Redis[] = [];
const connections: Bottleneck.IORedisConnection[] = [];

/** A Bottleneck connection of one "process" (its own Redis client). */
function connect(): Bottleneck.IORedisConnection {
  const client = new Redis(REDIS_URL);
  clients.push(client);
  const connection = new Bottleneck.IORedisConnection({ client, Redis });
  connections.push(connection);
  return connection;
}

afterAll(async () => {
  await Promise.all(connections.map((connection) => connection.disconnect()));
});

function window(name: string, limit: number, intervalMs: number, aligned: boolean): WindowState {
  return createWindowStates([{ name, limit, intervalMs, aligned }])[0]!;
}

/** Counters of one process over `windows`, on the key space `baseId`. */
function counters(
  baseId: string,
  windows: WindowState[],
  reported: Map<WindowState, number> = new Map(),
  errors: unknown[] = [],
): SharedWindowCounters {
  return new SharedWindowCounters({
    connection: connect(),
    baseId,
    windows,
    reportedRemaining: reported,
    onError: (error) => errors.push(error),
  });
}

/** Resolves once `check()` holds (event-loop turns and short sleeps; not a timed assertion). */
async function until(check: () => Promise<boolean>): Promise<void> {
  for (let turn = 0; turn < 200 && !(await check()); turn += 1)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('counted windows shared through Redis', () => {
  it('two processes share one aligned window: a joining process keeps what the other used, and waits for a refill', async () => {
    const baseId = `it-${uuid()}`;
    const hourOfA = window('hour', 5, 3_600_000, true);
    const first = counters(baseId, [hourOfA]);
    for (let take = 0; take < 3; take += 1) expect(await first.take(1, () => false)).toBe(true);

    // The second process starts with a full window of its own, but Redis holds what the first used.
    const hourOfB = window('hour', 5, 3_600_000, true);
    const second = counters(baseId, [hourOfB]);
    expect(await second.current(hourOfB)).toBe(2);
    expect(await second.take(2, () => false)).toBe(true);
    expect(await first.current(hourOfA)).toBe(0);

    // Empty: the next take waits (an aligned window refills only at its boundary)...
    let taken: boolean | undefined;
    const waiting = second.take(1, () => false).then((result) => (taken = result));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(taken).toBeUndefined();
    // ...until a process refills it at the boundary: the other process's waiter sees it on its next look.
    await new Promise<void>((resolve) => first.set(hourOfA, 5, resolve));
    await waiting;
    expect(taken).toBe(true);
    expect(await first.current(hourOfA)).toBe(4);

    // A stopped wait gives up without taking.
    await new Promise<void>((resolve) => first.set(hourOfA, 0, resolve));
    let stops = 0;
    expect(await second.take(1, () => stops++ > 1)).toBe(false);
    expect(await first.current(hourOfA)).toBe(0);
    second.close();
    expect(await second.take(1, () => false)).toBe(false);
    first.close();
  });

  it('takes from every window at once or from none', async () => {
    const baseId = `it-${uuid()}`;
    const hour = window('hour', 10, 3_600_000, true);
    const day = window('day', 3, 86_400_000, true);
    const shared = counters(baseId, [day, hour]);
    for (let take = 0; take < 3; take += 1) expect(await shared.take(1, () => false)).toBe(true);
    let stops = 0;
    expect(await shared.take(1, () => stops++ > 0)).toBe(false);
    // The day blocked the fourth take: the hour gave nothing to it.
    expect(await shared.current(hour)).toBe(7);
    expect(await shared.current(day)).toBe(0);
    shared.close();
  });

  it('refills a window counted from first use on Redis clock, once its interval has passed', async () => {
    const baseId = `it-${uuid()}`;
    const burst = window('burst', 2, 400, false);
    const shared = counters(baseId, [burst]);
    const started = Date.now();
    expect(await shared.take(2, () => false)).toBe(true);
    expect(await shared.take(1, () => false)).toBe(true);
    // The third unit came from the refill, which cannot come before the interval has passed.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400 - 5);
    expect(await shared.current(burst)).toBe(1);
    shared.close();
  });

  it('refunds and limit changes never fill a window past its limit; reported counts lower and resets raise', async () => {
    const baseId = `it-${uuid()}`;
    const hour = window('hour', 10, 3_600_000, true);
    const shared = counters(baseId, [hour]);
    expect(await shared.take(4, () => false)).toBe(true);
    shared.refund(3);
    await until(async () => (await shared.current(hour)) === 9);
    expect(await shared.current(hour)).toBe(9);
    shared.refund(5);
    await until(async () => (await shared.current(hour)) !== 9);
    expect(await shared.current(hour)).toBe(10);

    shared.lowerTo(hour, 4);
    await until(async () => (await shared.current(hour)) === 4);
    shared.lowerTo(hour, 8); // more than it holds: nothing changes
    shared.restore(hour);
    await until(async () => (await shared.current(hour)) === 10);
    expect(await shared.current(hour)).toBe(10);

    // The vendor reports a lower limit: the units follow it down, and a later refund stops at the new limit.
    hour.limit = 6;
    shared.adoptLimit(hour, -4);
    await until(async () => (await shared.current(hour)) === 6);
    shared.refund(2);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await shared.current(hour)).toBe(6);
    shared.close();
  });

  it('a count reported before first use caps a new window, not one other processes already hold', async () => {
    const baseId = `it-${uuid()}`;
    const early = window('day', 100, 86_400_000, true);
    const first = counters(baseId, [early], new Map([[early, 7]]));
    expect(await first.current(early)).toBe(7);
    const late = window('day', 100, 86_400_000, true);
    const second = counters(baseId, [late], new Map([[late, 50]]));
    expect(await second.current(late)).toBe(7);
    first.close();
    second.close();
  });

  it('a Redis failure rejects the take and reaches onError for background work; no unit is taken', async () => {
    const errors: unknown[] = [];
    const hour = window('hour', 5, 3_600_000, true);
    const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
    const connection = new Bottleneck.IORedisConnection({ client, Redis });
    client.disconnect();
    const broken = new SharedWindowCounters({
      connection,
      baseId: `it-${uuid()}`,
      windows: [hour],
      reportedRemaining: new Map(),
      onError: (error) => errors.push(error),
    });
    await expect(broken.take(1, () => false)).rejects.toThrow();
    broken.refund(1);
    await until(async () => errors.length > 0);
    expect(errors.length).toBe(1);
    broken.close();
    await connection.disconnect().catch(() => undefined);
  });
});

describe('scripts on Redis', () => {
  it('runs a script Redis does not hold yet (EVAL loads it), then by its hash', async () => {
    const script = `-- ${uuid()}\nreturn tonumber(ARGV[1]) + redis.call('EXISTS', KEYS[1])`;
    const sha = createHash('sha1').update(script).digest('hex');
    const connection = connect();
    const client = clients.at(-1)!;
    expect(await client.script('EXISTS', sha)).toEqual([0]);
    const run = scriptRunner(connection, script);
    expect(await run([`it-${uuid()}`], ['41'])).toBe(41);
    expect(await client.script('EXISTS', sha)).toEqual([1]);
    expect(await run([`it-${uuid()}`], ['1'])).toBe(1);
    // A script error is the caller's, not a reason to send the text again.
    const failing = scriptRunner(connection, `-- ${uuid()}\nreturn redis.call('NOSUCHCOMMAND')`);
    await expect(failing([], [])).rejects.toThrow(/Unknown Redis command|unknown command/i);
  });
});

describe('clustered limiter with a counted window (Redis)', () => {
  it('two registries never start more than a counted window holds, and start the rest after its refill', async () => {
    const id = `it-${uuid()}`;
    const policy = {
      windows: [
        { name: 'fast', limit: 50, intervalMs: 200 },
        { name: 'burst', limit: 6, intervalMs: 1_500 },
      ],
    };
    const processes = ['a', 'b'].map((name) => ({
      name,
      registry: createLimiterRegistry({ connection: connect(), paceWindowsUpToMs: 500 }),
    }));
    const starts: { at: number; process: string }[] = [];
    await Promise.all(
      processes.flatMap(({ name, registry }) =>
        Array.from({ length: 6 }, () =>
          registry.get(id, 'key', policy).schedule(async () => {
            starts.push({ at: Date.now(), process: name });
          }),
        ),
      ),
    );
    await Promise.all(processes.map(({ registry }) => registry.disconnect()));

    expect(starts).toHaveLength(12);
    expect(new Set(starts.map((start) => start.process))).toEqual(new Set(['a', 'b']));
    const times = starts.map((start) => start.at).sort((a, b) => a - b);
    // The window was counted once across both processes: six starts, then nothing until it refilled (1.5 s after
    // the first take, which comes a little before the first start; counted per process, all twelve would start
    // within milliseconds).
    expect(times[6]! - times[0]!).toBeGreaterThanOrEqual(1_000);
  });
});
