import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../src/contracts/index.js';
import { defineProvider } from '../src/enrich/define-provider.js';
import { checkWantedFields, resolveConcurrency, resolveEngineOptions } from '../src/enrich/options.js';

const people = defineProvider({
  id: 'people',
  lookups: [{ requires: ['email'], supplies: ['title', 'company.name'] }],
  enrich: async () => null,
});
const firms = defineProvider({
  id: 'firms',
  lookups: [{ requires: ['company.domain'], supplies: ['company.name', 'company.industry'] }],
  enrich: async () => null,
});

describe('resolveEngineOptions', () => {
  it('fills the defaults: every suppliable field, a memory cache, the system clock shared with the limiters', () => {
    const resolved = resolveEngineOptions({ providers: [people, firms] });
    expect(resolved.defaultFields).toEqual(['title', 'company.name', 'company.industry']);
    expect(resolved).toMatchObject({
      minConfidence: 0.5,
      mergePolicy: 'first',
      budgets: {},
      cacheTtlMs: 30 * 24 * 3_600_000,
      notFoundTtlMs: 24 * 3_600_000,
      breaker: { failureThreshold: 5, coolDownMs: 30_000 },
      spillOver: undefined,
      batchLingerMs: 10,
      pendingTimeoutMs: 120_000,
      quotaCoolDownMs: 3_600_000,
    });
    expect(typeof resolved.cache?.get).toBe('function');
    expect(Math.abs(resolved.now() - Date.now())).toBeLessThan(1_000);
    expect(resolved.limits.now).toBe(resolved.now);
  });

  it('hands the engine clock to the limiters unless limits.now is given, and turns the cache off with false', () => {
    const clock = () => 42;
    const limiterClock = () => 7;
    expect(resolveEngineOptions({ providers: [people], now: clock }).limits.now).toBe(clock);
    const own = resolveEngineOptions({ providers: [people], now: clock, limits: { now: limiterClock } });
    expect(own.now).toBe(clock);
    expect(own.limits.now).toBe(limiterClock);
    expect(resolveEngineOptions({ providers: [people], cache: false }).cache).toBeUndefined();
    expect(resolveEngineOptions({ providers: [people], spillOver: false }).spillOver).toBeUndefined();
  });

  it('passes each provider its options object as given', () => {
    const session = new (class Session {
      readonly token = 'x';
    })();
    const resolved = resolveEngineOptions({
      providers: [people],
      providerOptions: { people: session as never },
    });
    expect(resolved.providerOptions.people).toBe(session);
    expect(() =>
      resolveEngineOptions({ providers: [people], providerOptions: { people: 3 as never } }),
    ).toThrow(/providerOptions\.people: must be an object/);
  });

  it('names each wrong option with its path and reason', () => {
    let caught: unknown;
    try {
      resolveEngineOptions({
        providers: [people, firms],
        fieldOrder: { title: ['people', 'nobody'], nope: ['firms'] } as never,
        cacheTtlMs: -1,
        retry: { retries: 1.5 },
        spillOver: { maxQueueWaitMs: Number.NaN },
        cache: {} as never,
      });
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    expect((caught as ConfigurationError).issues).toEqual(
      expect.arrayContaining([
        { field: 'cacheTtlMs', reason: 'must be at least 0' },
        { field: 'retry.retries', reason: 'must be a whole number' },
        { field: 'cache', reason: expect.stringMatching(/Cache|false/) },
        { field: 'spillOver', reason: expect.any(String) },
      ]),
    );
    expect(() =>
      resolveEngineOptions({ providers: [people, firms], fieldOrder: { title: ['people', 'nobody'] } }),
    ).toThrow(/fieldOrder\.title\.1: unknown provider "nobody"/);
    expect(() =>
      resolveEngineOptions({ providers: [people], fieldOrder: { nope: ['people'] } as never }),
    ).toThrow(/fieldOrder\.nope: is not a Lead field/);
    expect(() => resolveEngineOptions(undefined as never)).toThrow(/createEnrichmentEngine: options: /);
  });
});

describe('checkWantedFields and resolveConcurrency', () => {
  it('passes Lead fields and names the first wrong one', () => {
    expect(() => checkWantedFields(['title', 'company.name'])).not.toThrow();
    expect(() => checkWantedFields(['title', 'company.nope' as never])).toThrow(
      /enrich: fields\.1: "company\.nope" is not a Lead field/,
    );
  });

  it('defaults concurrency to 16 and refuses anything but a positive whole number', () => {
    expect(resolveConcurrency(undefined)).toBe(16);
    expect(resolveConcurrency(3)).toBe(3);
    expect(() => resolveConcurrency(0)).toThrow(/enrichMany: concurrency: must be a positive integer/);
    expect(() => resolveConcurrency(2.5)).toThrow(/concurrency: must be a positive integer/);
  });
});
