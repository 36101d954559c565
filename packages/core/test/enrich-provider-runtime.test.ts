import { describe, expect, it } from 'vitest';
import { ApiCallError } from '../src/contracts/index.js';
import { defineProvider } from '../src/enrich/define-provider.js';
import type { EnrichmentEvents } from '../src/enrich/events.js';
import { createProviderRuntimes, paceOf } from '../src/enrich/provider-runtime.js';
import { SafeEventBus } from '../src/events/safe-event-bus.js';

describe('paceOf', () => {
  it('is the widest even spacing the declared windows allow, 0 without windows', () => {
    expect(paceOf({})).toBe(0);
    expect(paceOf({ perSecond: 10 })).toBe(100);
    expect(paceOf({ perSecond: 10, perMinute: 300 })).toBe(200);
    expect(paceOf({ perSecond: 10, windows: [{ name: 'burst', limit: 2, intervalMs: 1_000 }] })).toBe(500);
  });
});

describe('ProviderRuntime failures', () => {
  function setup() {
    return setupWith(async () => null);
  }

  function setupWith(enrich: Parameters<typeof defineProvider>[0]['enrich']) {
    let clock = 1_000_000;
    const bus = new SafeEventBus<EnrichmentEvents>();
    const disabled: EnrichmentEvents['provider.disabled'][] = [];
    bus.on('provider.disabled', (event) => disabled.push(event));
    const provider = defineProvider({
      id: 'a',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich,
    });
    const { runtimes, limiters } = createProviderRuntimes([provider], {
      now: () => clock,
      bus,
      limits: {},
      breaker: { failureThreshold: 5, coolDownMs: 30_000 },
      retry: { retries: 0 },
      batchLingerMs: 0,
      quotaCoolDownMs: 3_600_000,
      providerOptions: {},
    });
    return { runtime: runtimes.get('a')!, limiters, disabled, advance: (ms: number) => (clock += ms) };
  }

  it('takes the provider out for good on 403', async () => {
    const { runtime, limiters, disabled, advance } = setup();
    runtime.recordFailure(new ApiCallError('forbidden', { message: 'no', status: 403 }));
    expect(runtime.unavailability()).toBe('disabled');
    advance(365 * 86_400_000);
    expect(runtime.unavailability()).toBe('disabled');
    expect(disabled).toEqual([{ providerId: 'a', code: 'forbidden', message: 'no' }]);
    expect(runtime.stats.errors).toBe(1);
    expect(runtime.stats.snapshot().disabled).toEqual({
      code: 'forbidden',
      message: 'no',
      afterCalls: 0,
      at: new Date(1_000_000).toISOString(),
    });
    await limiters.disconnect();
  });

  it('a refused key: the calls already sent and one retry, then nothing more is sent', async () => {
    const { runtime, limiters, disabled } = setupWith(async () => {
      throw new ApiCallError('unauthorized', { message: 'Invalid API key', status: 401 });
    });
    const call = (index: number) =>
      runtime.call(
        { leadId: `l${index}`, input: { email: `${index}@acme.com` }, fields: ['title'] },
        undefined,
      );
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, index) => call(index)));
    expect(
      results.every(
        (result) => result.status === 'rejected' && (result.reason as ApiCallError).code === 'unauthorized',
      ),
    ).toBe(true);
    // Eight first attempts were on their way together; only one of them was asked again.
    expect(runtime.stats.calls).toBe(9);
    expect(runtime.stats.authRetries).toBe(1);
    expect(runtime.unavailability()).toBe('disabled');
    expect(disabled).toEqual([{ providerId: 'a', code: 'unauthorized', message: 'Invalid API key' }]);
    await expect(call(9)).rejects.toMatchObject({ code: 'unauthorized' });
    expect(runtime.stats.calls).toBe(9);
    await limiters.disconnect();
  });

  it('calls refused together wait for one retry, then ask again themselves when it worked', async () => {
    let requests = 0;
    const { runtime, limiters } = setupWith(async () => {
      requests += 1;
      if (requests <= 3) throw new ApiCallError('unauthorized', { message: 'token expired', status: 401 });
      return { fields: { title: 'CTO' } };
    });
    const results = await Promise.all(
      Array.from({ length: 3 }, (_, index) =>
        runtime.call(
          { leadId: `l${index}`, input: { email: `${index}@acme.com` }, fields: ['title'] },
          undefined,
        ),
      ),
    );
    expect(results.map((result) => result.status)).toEqual(['matched', 'matched', 'matched']);
    expect(runtime.stats.authRetries).toBe(3);
    expect(runtime.unavailability()).toBeUndefined();
    await limiters.disconnect();
  });

  it('takes the provider out on 402 until the vendor reset, else for quotaCoolDownMs, by the engine clock', async () => {
    const { runtime, limiters, disabled, advance } = setup();
    runtime.recordFailure(
      new ApiCallError('quota_exceeded', { message: 'over', status: 402, retryAfterMs: 5_000 }),
    );
    expect(runtime.unavailability()).toBe('quota_exhausted');
    advance(5_000);
    expect(runtime.unavailability()).toBeUndefined();
    runtime.recordFailure(new ApiCallError('quota_exceeded', { message: 'over', status: 402 }));
    advance(3_599_999);
    expect(runtime.unavailability()).toBe('quota_exhausted');
    advance(1);
    expect(runtime.unavailability()).toBeUndefined();
    expect(disabled).toEqual([
      { providerId: 'a', code: 'quota_exceeded', untilMs: 1_005_000 },
      { providerId: 'a', code: 'quota_exceeded', untilMs: 1_005_000 + 3_600_000 },
    ]);
    await limiters.disconnect();
  });

  it('keeps the provider on other client errors, counting them', async () => {
    const { runtime, limiters, disabled } = setup();
    runtime.recordFailure(new ApiCallError('invalid_request', { message: '422', status: 422 }));
    expect(runtime.unavailability()).toBeUndefined();
    expect(disabled).toEqual([]);
    expect(runtime.stats.errors).toBe(1);
    await limiters.disconnect();
  });
});

describe('ProviderRuntime batches and aborts', () => {
  it('lets each aborted lead leave a batch in flight at once, and aborts the call when the last one leaves', async () => {
    let callSignal: AbortSignal | undefined;
    let callStarted!: () => void;
    const started = new Promise<void>((resolve) => (callStarted = resolve));
    // A vendor that never answers: the batch call ends only when its signal aborts.
    const provider = defineProvider({
      id: 'hangs',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich: async () => null,
      maxBatchSize: 10,
      enrichBatch: (_requests, options) => {
        callSignal = options.signal;
        callStarted();
        return new Promise((_resolve, reject) => {
          options.signal?.addEventListener('abort', () => reject(new Error('call aborted')), { once: true });
        });
      },
    });
    const { runtimes, limiters } = createProviderRuntimes([provider], {
      now: () => Date.now(),
      bus: new SafeEventBus<EnrichmentEvents>(),
      limits: {},
      breaker: { failureThreshold: 5, coolDownMs: 30_000 },
      retry: { retries: 0 },
      batchLingerMs: 5,
      quotaCoolDownMs: 3_600_000,
      providerOptions: {},
    });
    const runtime = runtimes.get('hangs')!;
    const first = new AbortController();
    const second = new AbortController();
    const request = (leadId: string) => ({
      leadId,
      input: { email: `${leadId}@acme.com` },
      fields: ['title' as const],
    });
    const settled = (promise: Promise<unknown>) =>
      Promise.race([
        promise.then(
          () => 'resolved',
          (error: { code?: string }) => `rejected ${error.code}`,
        ),
        new Promise((resolve) => setTimeout(() => resolve('still waiting'), 500)),
      ]);
    const one = runtime.call(request('one'), first.signal);
    const two = runtime.call(request('two'), second.signal);
    await started;
    first.abort(new Error('stop'));
    expect(await settled(one)).toBe('rejected aborted');
    // The other lead still waits for the answer: the call goes on.
    expect(callSignal?.aborted).toBe(false);
    second.abort(new Error('stop'));
    expect(await settled(two)).toBe('rejected aborted');
    expect(callSignal?.aborted).toBe(true);
    await limiters.disconnect();
  });
});
