import { describe, expect, it } from 'vitest';
import type { Cache, EnrichResult } from '../src/contracts/index.js';
import { Answers, type CallHooks } from '../src/enrich/answers.js';
import { createMemoryCache } from '../src/stores/memory-cache.js';

function recordingCache() {
  const inner = createMemoryCache();
  const log: string[] = [];
  const ttls: number[] = [];
  const cache: Cache = {
    get: (key) => {
      log.push('get');
      return inner.get(key);
    },
    set: (key, value, ttlMs) => {
      log.push('set');
      ttls.push(ttlMs);
      return inner.set(key, value, ttlMs);
    },
    delete: (key) => {
      log.push('delete');
      return inner.delete(key);
    },
  };
  return { cache, inner, log, ttls };
}

function setup(cache: Cache | undefined) {
  const answers = new Answers({
    cache,
    cacheTtlMs: 1_000,
    notFoundTtlMs: 100,
    pendingTimeoutMs: 60_000,
    now: () => 0,
  });
  const credits: number[] = [];
  const pending: string[] = [];
  const hooks: CallHooks = {
    onCredits: (value) => credits.push(value),
    onPending: (correlationId) => pending.push(correlationId),
  };
  return { answers, credits, pending, hooks };
}

const matched = (title: string): EnrichResult => ({
  status: 'matched',
  fields: { title },
  confidence: 0.9,
  credits: 1,
  raw: { secret: 'not cached' },
});
const input = { email: 'ada@acme.com' };

describe('Answers', () => {
  it('reads the cache once for a new input, calls, and caches the answer without its raw payload', async () => {
    const { cache, inner, log, ttls } = recordingCache();
    const { answers, hooks, credits } = setup(cache);
    const lookup = await answers.lookup('a', input);
    expect(lookup).toEqual({ source: 'call', key: answers.keyOf('a', input) });
    if (lookup.source !== 'call') throw new Error('expected a call');
    const answer = await answers.call('a', lookup.key, async () => matched('CTO'), undefined, hooks);
    expect(answer).toMatchObject({ cached: false, credits: 1, timedOut: false });
    expect(answer.result).toMatchObject({ status: 'matched', fields: { title: 'CTO' } });
    expect(credits).toEqual([1]);
    expect(log).toEqual(['get', 'set']);
    expect(ttls).toEqual([1_000]);
    expect(await inner.get(lookup.key!)).not.toHaveProperty('raw');

    const again = await answers.lookup('a', input);
    expect(again).toMatchObject({ source: 'cache', answer: { cached: true, credits: 0 } });
    expect(log).toEqual(['get', 'set', 'get']);
  });

  it('caches a miss with the miss TTL', async () => {
    const { cache, ttls } = recordingCache();
    const { answers, hooks } = setup(cache);
    const key = answers.keyOf('a', input);
    await answers.call('a', key, async () => ({ status: 'not_found', credits: 0 }), undefined, hooks);
    expect(ttls).toEqual([100]);
  });

  it('deletes a cached entry that no longer validates and asks for a call', async () => {
    const { cache, inner, log } = recordingCache();
    const { answers } = setup(cache);
    const key = answers.keyOf('a', input)!;
    await inner.set(key, { status: 'matched', fields: 'broken' }, 1_000);
    expect(await answers.lookup('a', input)).toEqual({ source: 'call', key });
    expect(log).toEqual(['get', 'delete']);
    expect(await inner.get(key)).toBeUndefined();
  });

  it('shares an identical call in flight, without reading the cache or calling again', async () => {
    const { cache, log } = recordingCache();
    const { answers, hooks, credits } = setup(cache);
    const key = answers.keyOf('a', input);
    let calls = 0;
    let finish: (result: EnrichResult) => void = () => {};
    const run = () => {
      calls += 1;
      return new Promise<EnrichResult>((resolve) => {
        finish = resolve;
      });
    };
    const first = answers.call('a', key, run, undefined, hooks);
    expect(calls).toBe(1);
    const lookup = await answers.lookup('a', input);
    expect(lookup.source).toBe('inFlight');
    const joined = answers.call('a', key, run, undefined, hooks);
    expect(calls).toBe(1);
    finish(matched('CTO'));
    expect(await first).toMatchObject({ cached: false, credits: 1 });
    expect(await joined).toMatchObject({ cached: true, credits: 0 });
    if (lookup.source === 'inFlight') expect(await lookup.answer).toMatchObject({ cached: true, credits: 0 });
    expect(credits).toEqual([1]);
    expect(log).toEqual(['set']);
  });

  it('forgets a failed call, so the next one calls again', async () => {
    const { answers, hooks } = setup(undefined);
    const key = answers.keyOf('a', input);
    await expect(
      answers.call('a', key, async () => Promise.reject(new Error('boom')), undefined, hooks),
    ).rejects.toThrow('boom');
    const answer = await answers.call('a', key, async () => matched('CTO'), undefined, hooks);
    expect(answer.cached).toBe(false);
  });

  it('calls without a key when the input has no identity, and never touches the cache', async () => {
    const { cache, log } = recordingCache();
    const { answers } = setup(cache);
    expect(await answers.lookup('a', { title: 'CTO' })).toEqual({ source: 'call', key: undefined });
    expect(log).toEqual([]);
  });

  it('waits for the webhook of a pending answer and counts both charges', async () => {
    const { cache } = recordingCache();
    const { answers, hooks, credits, pending } = setup(cache);
    // The vendor's webhook arrives before the engine starts waiting.
    expect(
      answers.deliver('a', 'corr-1', {
        status: 'matched',
        fields: { title: 'Late CTO' },
        confidence: 0.8,
        credits: 2,
      }),
    ).toBe(false);
    const answer = await answers.call(
      'a',
      answers.keyOf('a', input),
      async () => ({ status: 'pending', correlationId: 'corr-1', credits: 1 }),
      undefined,
      hooks,
    );
    expect(pending).toEqual(['corr-1']);
    expect(credits).toEqual([1, 2]);
    expect(answer).toMatchObject({ cached: false, credits: 3, timedOut: false });
    expect(answer.result).toMatchObject({ fields: { title: 'Late CTO' } });
    expect(await answers.lookup('a', input)).toMatchObject({ source: 'cache' });
  });
});
