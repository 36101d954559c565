import type { Cache, Clock } from '@leadpipe/core/adapter-kit';
import type { ContractExpect, ContractTestFunction } from './enrichment-provider.js';

/** Names of the cache checks, to skip some with `skip`. */
export type CacheContractCheck =
  | 'missing'
  | 'values'
  | 'overwrite'
  | 'delete'
  | 'keys'
  | 'ttl'
  | 'zeroTtl'
  | 'persistence';

/** What the suite hands the factory: the clock the cache must expire entries by. */
export interface CacheContractContext {
  /** A fake clock (epoch milliseconds) the suite moves forward to test expiry. */
  readonly now: Clock;
}

/** Options of {@link cacheContract}. */
export interface CacheContractOptions {
  /** Prefix of every test name. Default: `cache contract`. */
  readonly name?: string;
  /**
   * A new, empty cache for one check, expiring entries by `context.now`. A
   * cache that cannot take a clock (one whose server keeps time) skips `ttl`,
   * `zeroTtl` and `persistence`'s expiry with `skip: ['ttl', 'zeroTtl']`.
   */
  readonly open: (context: CacheContractContext) => Cache | Promise<Cache>;
  /** Release a cache the suite opened (connections, files). Default: nothing to release. */
  readonly close?: (cache: Cache) => void | Promise<void>;
  /**
   * Present when the cache persists: open again, with `context`'s clock, the
   * storage `cache` used (after the suite closed it). The `persistence` check
   * then runs: what was set is there after a reopen, what was deleted or
   * expired is not. Absent for an in-process cache.
   */
  readonly reopen?: (cache: Cache, context: CacheContractContext) => Cache | Promise<Cache>;
  /** Checks to leave out. */
  readonly skip?: readonly CacheContractCheck[];
}

/** The suite's clock, moved forward by the checks. */
interface FakeClock {
  /** Move the clock `ms` milliseconds forward. */
  advance(ms: number): void;
  /** The context handed to `open` and `reopen`. */
  readonly context: CacheContractContext;
}

/** Where the suite's fake clock starts: a fixed, realistic epoch time. */
const START = Date.UTC(2026, 0, 1, 9, 0, 0);

/**
 * The `Cache` contract suite, Keyv-style: registers one test per check with
 * your runner's `it`, asserting with its `expect`, so every implementation
 * (the memory cache, one on Redis or a database) proves the same promises in
 * a few lines.
 *
 * Checks: a missing key reads `undefined` and deleting it is harmless; every
 * JSON value round-trips (`null`, `0`, `false` and `''` are values, not
 * misses); a second `set` replaces the value; `delete` removes one key only;
 * keys are exact text (case, spaces, Unicode, separators, long keys); an
 * entry is there until its TTL passes on the given clock and gone after, a
 * new `set` restarting it; a TTL of zero or less leaves nothing under the
 * key; and, for a persistent cache, values survive a close and reopen while
 * deleted and expired ones stay gone.
 *
 * @example
 * ```ts
 * cacheContract(it, expect, { open: ({ now }) => createMemoryCache({ now }) });
 * ```
 */
export function cacheContract(
  it: ContractTestFunction,
  expect: ContractExpect,
  options: CacheContractOptions,
): void {
  const prefix = options.name ?? 'cache contract';
  const skip = new Set(options.skip ?? []);

  /** A fresh fake clock and a cache reading it, closed after the check (or the cache it was reopened as). */
  const check = (
    name: CacheContractCheck,
    title: string,
    fn: (cache: Cache, clock: FakeClock, replacedBy: (reopened: Cache) => void) => Promise<void>,
  ) => {
    if (skip.has(name)) return;
    it(`${prefix}: ${title}`, async () => {
      let time = START;
      const context: CacheContractContext = { now: () => time };
      const clock = {
        advance: (ms: number) => {
          time += ms;
        },
        context,
      };
      let cache = await options.open(context);
      try {
        await fn(cache, clock, (reopened) => {
          cache = reopened;
        });
      } finally {
        await options.close?.(cache);
      }
    });
  };

  check('missing', 'a key never set reads undefined, and deleting it is harmless', async (cache) => {
    expect(await cache.get('contract:never-set'), 'get of a missing key').toBe(undefined);
    await cache.delete('contract:never-set');
    expect(await cache.get('contract:never-set'), 'get after deleting a missing key').toBe(undefined);
  });

  check('values', 'every JSON value round-trips, and falsy values are values', async (cache) => {
    const values: Record<string, unknown> = {
      object: { status: 'matched', fields: { title: 'CTO', 'company.headcount': 120 }, confidence: 0.9 },
      array: [1, 'two', { three: [3] }, null],
      text: 'Zoë Ångström 日本',
      number: 12.5,
      negative: -3,
      zero: 0,
      empty: '',
      false: false,
      true: true,
      null: null,
      nested: { a: { b: { c: { d: [[], {}] } } } },
    };
    for (const [key, value] of Object.entries(values)) await cache.set(`contract:${key}`, value, 60_000);
    for (const [key, value] of Object.entries(values)) {
      expect(await cache.get(`contract:${key}`), `value stored as ${key}`).toEqual(value);
    }
    expect(await cache.get('contract:null'), 'null is a value, not a miss').toBe(null);
    expect(await cache.get('contract:zero'), '0 is a value, not a miss').toBe(0);
    expect(await cache.get('contract:false'), 'false is a value, not a miss').toBe(false);
    expect(await cache.get('contract:empty'), "'' is a value, not a miss").toBe('');
  });

  check('overwrite', 'a second set replaces the value', async (cache) => {
    await cache.set('contract:k', { version: 1 }, 60_000);
    await cache.set('contract:k', { version: 2 }, 60_000);
    expect(await cache.get('contract:k'), 'the latest value').toEqual({ version: 2 });
    await cache.set('contract:k', 'now a string', 60_000);
    expect(await cache.get('contract:k'), 'a value of another type').toBe('now a string');
  });

  check('delete', 'delete removes that key and no other', async (cache) => {
    await cache.set('contract:a', 'a', 60_000);
    await cache.set('contract:b', 'b', 60_000);
    await cache.delete('contract:a');
    expect(await cache.get('contract:a'), 'the deleted key').toBe(undefined);
    expect(await cache.get('contract:b'), 'another key').toBe('b');
    await cache.set('contract:a', 'again', 60_000);
    expect(await cache.get('contract:a'), 'set again after delete').toBe('again');
  });

  check(
    'keys',
    'keys are exact text: case, spaces, Unicode, separators and long keys differ',
    async (cache) => {
      const keys = [
        'contract:key',
        'contract:KEY',
        'contract:key ',
        ' contract:key',
        'contract:ключ',
        'contract:🔑',
        'contract:a:b/c?d=e&f#g%20h',
        'contract:a*',
        `contract:${'x'.repeat(1000)}`,
      ];
      for (const [index, key] of keys.entries()) await cache.set(key, index, 60_000);
      for (const [index, key] of keys.entries()) {
        expect(await cache.get(key), `value of key #${index}`).toBe(index);
      }
      expect(await cache.get('contract:a'), 'a key that only prefixes a stored one').toBe(undefined);
    },
  );

  check(
    'ttl',
    'an entry lives until its TTL passes on the clock, and a new set restarts it',
    async (cache, clock) => {
      await cache.set('contract:short', 'short', 1_000);
      await cache.set('contract:long', 'long', 60_000);
      clock.advance(999);
      expect(await cache.get('contract:short'), 'before its TTL passed').toBe('short');
      clock.advance(2);
      expect(await cache.get('contract:short'), 'after its TTL passed').toBe(undefined);
      expect(await cache.get('contract:long'), 'an entry with a longer TTL').toBe('long');

      await cache.set('contract:renewed', 1, 1_000);
      clock.advance(900);
      await cache.set('contract:renewed', 2, 1_000);
      clock.advance(900);
      expect(await cache.get('contract:renewed'), 'a set restarts the TTL').toBe(2);
      clock.advance(101);
      expect(await cache.get('contract:renewed'), 'after the restarted TTL passed').toBe(undefined);

      await cache.set('contract:short', 'back', 1_000);
      expect(await cache.get('contract:short'), 'set again after expiring').toBe('back');
      clock.advance(60_000);
      expect(await cache.get('contract:long'), 'after the longer TTL passed').toBe(undefined);
    },
  );

  check('zeroTtl', 'a TTL of zero or less leaves nothing under the key', async (cache) => {
    await cache.set('contract:zero', 'value', 0);
    expect(await cache.get('contract:zero'), 'set with a TTL of 0').toBe(undefined);
    await cache.set('contract:negative', 'value', -1);
    expect(await cache.get('contract:negative'), 'set with a negative TTL').toBe(undefined);
    await cache.set('contract:replaced', 'old', 60_000);
    await cache.set('contract:replaced', 'new', 0);
    expect(
      await cache.get('contract:replaced'),
      'a TTL of 0 over a stored value: the value expired at once',
    ).toBe(undefined);
  });

  if (options.reopen !== undefined) {
    const reopen = options.reopen;
    check(
      'persistence',
      'values survive a close and reopen; deleted and expired ones stay gone',
      async (cache, clock, replacedBy) => {
        await cache.set('contract:kept', { kept: true }, 60_000);
        await cache.set('contract:short', 'short', 1_000);
        await cache.set('contract:deleted', 'deleted', 60_000);
        await cache.delete('contract:deleted');
        await cache.set('contract:overwritten', 1, 60_000);
        await cache.set('contract:overwritten', 2, 60_000);
        await options.close?.(cache);
        const reopened = await reopen(cache, clock.context);
        replacedBy(reopened);
        expect(await reopened.get('contract:kept'), 'a value set before the reopen').toEqual({ kept: true });
        expect(await reopened.get('contract:overwritten'), 'the latest value').toBe(2);
        expect(await reopened.get('contract:deleted'), 'a value deleted before the reopen').toBe(undefined);
        if (!skip.has('ttl')) {
          expect(await reopened.get('contract:short'), 'a value whose TTL has not passed').toBe('short');
          clock.advance(1_001);
          expect(await reopened.get('contract:short'), 'its TTL still applies after the reopen').toBe(
            undefined,
          );
          expect(await reopened.get('contract:kept'), 'a longer TTL').toEqual({ kept: true });
        }
        await reopened.set('contract:after', 'after', 60_000);
        expect(await reopened.get('contract:after'), 'a value set after the reopen').toBe('after');
      },
    );
  }
}
