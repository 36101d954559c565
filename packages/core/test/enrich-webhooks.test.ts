import { describe, expect, it } from 'vitest';
import { WebhookVerificationError } from '../src/contracts/index.js';
import { defineProvider } from '../src/enrich/define-provider.js';
import { createEnrichmentEngine } from '../src/enrich/engine.js';
import { handleProviderWebhook } from '../src/enrich/webhooks.js';

const request = { method: 'POST', url: '/hooks/a', headers: {}, rawBody: '{}' };

const providerAnswering = (handleWebhook: Parameters<typeof defineProvider>[0]['handleWebhook']) =>
  defineProvider({
    id: 'a',
    lookups: [{ requires: ['email'], supplies: ['title'] }],
    enrich: async () => null,
    handleWebhook,
  });

describe('handleProviderWebhook', () => {
  it('delivers each valid final answer and counts every resolution received', async () => {
    const delivered: string[] = [];
    const provider = providerAnswering(async () => [
      {
        correlationId: 'ok',
        result: { status: 'matched', fields: { title: 'CTO' }, confidence: 0.9, credits: 1 },
      },
      { correlationId: 'miss', result: { status: 'not_found', credits: 0 } },
      { correlationId: 'still', result: { status: 'pending', correlationId: 'still', credits: 0 } as never },
      { correlationId: 'broken', result: { status: 'matched', fields: 'nope' } as never },
    ]);
    const response = await handleProviderWebhook(provider, 'a', request, (correlationId, result) =>
      delivered.push(`${correlationId}:${result.status}`),
    );
    expect(response).toEqual({ status: 200, body: JSON.stringify({ received: 4 }) });
    expect(delivered).toEqual(['ok:matched', 'miss:not_found']);
  });

  it('answers 401 when verification fails, 400 when the provider cannot read it, 404 without a handler', async () => {
    const never = () => {
      throw new Error('nothing may be delivered');
    };
    const forged = providerAnswering(async () => {
      throw new WebhookVerificationError('signature_invalid', { message: 'bad signature' });
    });
    const unreadable = providerAnswering(async () => {
      throw new SyntaxError('Unexpected token');
    });
    const silent = defineProvider({
      id: 'b',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich: async () => null,
    });
    expect(await handleProviderWebhook(forged, 'a', request, never)).toEqual({
      status: 401,
      body: JSON.stringify({ error: 'signature_invalid' }),
    });
    expect(await handleProviderWebhook(unreadable, 'a', request, never)).toEqual({
      status: 400,
      body: JSON.stringify({ error: 'invalid_response' }),
    });
    expect((await handleProviderWebhook(silent, 'b', request, never)).status).toBe(404);
    expect((await handleProviderWebhook(undefined, 'zz', request, never)).status).toBe(404);
  });

  it('answers 413 to a body over the cap without handing it to the provider', async () => {
    let handled = 0;
    const provider = providerAnswering(async () => {
      handled += 1;
      return [];
    });
    const never = () => {
      throw new Error('nothing may be delivered');
    };
    const big = { ...request, rawBody: new Uint8Array(1_048_577) };
    expect(await handleProviderWebhook(provider, 'a', big, never)).toEqual({
      status: 413,
      body: JSON.stringify({ error: 'payload_too_large' }),
    });
    expect(handled).toBe(0);
    expect((await handleProviderWebhook(provider, 'a', big, never, 2_000_000)).status).toBe(200);
    expect(handled).toBe(1);
    const engine = createEnrichmentEngine({ providers: [provider], webhookMaxBodyBytes: 10 });
    expect((await engine.handleWebhook('a', { ...request, rawBody: '{"id":"0123456789"}' })).status).toBe(
      413,
    );
    expect(handled).toBe(1);
    await engine.close();
  });
});
