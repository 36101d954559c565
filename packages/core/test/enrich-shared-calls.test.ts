import { describe, expect, it } from 'vitest';
import { defineProvider } from '../src/enrich/define-provider.js';
import { createEnrichmentEngine } from '../src/enrich/engine.js';
import { ApiCallError, createLead } from '../src/index.js';

/** A provider whose one call waits until released, recording the signal it was given. */
function heldProvider() {
  const calls: AbortSignal[] = [];
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const provider = defineProvider({
    id: 'held',
    lookups: [{ requires: ['email'], supplies: ['title'] }],
    async enrich(_request, { signal }) {
      if (signal) calls.push(signal);
      await new Promise<void>((resolve, reject) => {
        released.then(resolve);
        signal?.addEventListener(
          'abort',
          () => reject(new ApiCallError('aborted', { message: 'call aborted' })),
          {
            once: true,
          },
        );
      });
      return { fields: { title: 'CTO' }, confidence: 0.9 };
    },
  });
  return { provider, calls, release: () => release() };
}

const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

/** Let the engine reach the provider call (lookups and the limiter are asynchronous). */
async function until(condition: () => boolean): Promise<void> {
  for (let tries = 0; tries < 200 && !condition(); tries++)
    await new Promise((resolve) => setTimeout(resolve, 5));
  expect(condition()).toBe(true);
}

describe('leads sharing one provider call in flight', () => {
  it('the first lead aborting does not abort the call the others wait on: they get the answer, it gets its own rejection', async () => {
    const { provider, calls, release } = heldProvider();
    const engine = createEnrichmentEngine({ providers: [provider], cache: false });
    const first = new AbortController();
    const second = new AbortController();
    const a = settle(engine.enrich(createLead({ email: 'ada@acme.com' }), { signal: first.signal }));
    await until(() => calls.length === 1);
    const b = settle(engine.enrich(createLead({ email: 'ADA@acme.com' }), { signal: second.signal }));
    const c = settle(engine.enrich(createLead({ email: 'ada@acme.com' })));
    await new Promise((resolve) => setTimeout(resolve, 20));
    first.abort(new Error('lead a cancelled'));
    const aOutcome = await a;
    expect(aOutcome.ok).toBe(false);
    expect(aOutcome.ok === false && ApiCallError.isInstance(aOutcome.error) && aOutcome.error.code).toBe(
      'aborted',
    );
    expect(calls[0]?.aborted).toBe(false);
    release();
    const [bOutcome, cOutcome] = await Promise.all([b, c]);
    expect(bOutcome.ok && bOutcome.value.lead.title).toBe('CTO');
    expect(cOutcome.ok && cOutcome.value.lead.title).toBe('CTO');
    expect(calls).toHaveLength(1);
    expect(engine.stats().providers.held?.calls).toBe(1);
    await engine.close();
  });

  it('the call is aborted once every lead sharing it has aborted, and a later lead starts a call of its own', async () => {
    const { provider, calls, release } = heldProvider();
    const engine = createEnrichmentEngine({ providers: [provider], cache: false });
    const first = new AbortController();
    const second = new AbortController();
    const a = settle(engine.enrich(createLead({ email: 'ada@acme.com' }), { signal: first.signal }));
    await until(() => calls.length === 1);
    const b = settle(engine.enrich(createLead({ email: 'ada@acme.com' }), { signal: second.signal }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    second.abort();
    expect((await b).ok).toBe(false);
    expect(calls[0]?.aborted).toBe(false);
    first.abort();
    expect((await a).ok).toBe(false);
    await until(() => calls[0]?.aborted === true);
    const later = settle(engine.enrich(createLead({ email: 'ada@acme.com' })));
    await until(() => calls.length === 2);
    release();
    const laterOutcome = await later;
    expect(laterOutcome.ok && laterOutcome.value.lead.title).toBe('CTO');
    await engine.close();
  });
});
