import { createHmac } from 'node:crypto';
import {
  ConfigurationError,
  createEnrichmentEngine,
  type EnrichMatched,
  type InboundWebhookRequest,
  WebhookVerificationError,
} from '@leadpipe/core';
import { clearbitSignature } from '@leadpipe/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { computeClearbitSignature, parseClearbitWebhook } from '../src/clearbit-webhook.js';
import { createClearbit } from '../src/index.js';
import { rejectionOf } from './support.js';

const API_KEY = 'sk_4f1c2b9e8d7a6b5c4d3e2f1a0b9c8d7e';
const OTHER_KEY = 'sk_0000111122223333444455556666777a';

const person = {
  id: 'd54c54ad-40be-4305-8a34-0ab44710b90d',
  name: { fullName: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace' },
  email: 'ada@acme.com',
  geo: { city: 'London', state: 'England', stateCode: 'ENG', country: 'United Kingdom', countryCode: 'GB' },
  employment: {
    domain: 'acme.com',
    name: 'Acme',
    title: 'VP of Engineering',
    role: 'engineering',
    subRole: null,
    seniority: 'executive',
  },
  linkedin: { handle: 'in/ada-lovelace' },
  fuzzy: false,
};
const company = {
  id: '3f5d6a4e-c284-4f78-bfdf-7669b45af907',
  name: 'Acme',
  domain: 'acme.com',
  category: { sector: 'Information Technology', industry: 'Internet Software & Services' },
  geo: { city: 'San Francisco', state: 'California', country: 'United States', countryCode: 'US' },
  metrics: { employees: 120, employeesRange: '51-250', annualRevenue: 12_500_000 },
  tech: ['google_analytics', 'salesforce'],
};

function webhook(rawBody: string | Uint8Array, headers: Record<string, string>): InboundWebhookRequest {
  return { method: 'POST', url: 'https://app.example.com/hooks/clearbit', headers, rawBody };
}

function signed(body: unknown, key = API_KEY): InboundWebhookRequest {
  const raw = JSON.stringify(body);
  return webhook(raw, {
    'content-type': 'application/json',
    'x-request-signature': clearbitSignature(key, raw),
  });
}

const provider = createClearbit({ apiKey: API_KEY });

afterEach(() => vi.unstubAllEnvs());

describe('signature verification', () => {
  it('refuses a body over the cap (default 1 MiB) before hashing or parsing it, signed or not', async () => {
    const envelope = {
      id: 'corr-big',
      type: 'person',
      body: { ...person, bio: 'x'.repeat(1_048_576) },
      status: 200,
    };
    const big = signed(envelope);
    expect((await rejectionOf(provider.doHandleWebhook(big))).code).toBe('payload_too_large');
    expect((await rejectionOf(provider.doHandleWebhook({ ...big, headers: {} }))).code).toBe(
      'payload_too_large',
    );
    const roomy = createClearbit({ apiKey: API_KEY, webhookMaxBodyBytes: 2_000_000 });
    expect(await roomy.doHandleWebhook(big)).toHaveLength(1);
    const engine = createEnrichmentEngine({ providers: [provider] });
    expect((await engine.handleWebhook('clearbit', big)).status).toBe(413);
    await engine.close();
    expect(() => createClearbit({ apiKey: API_KEY, webhookMaxBodyBytes: -1 })).toThrow(/webhookMaxBodyBytes/);
  });

  it('accepts a body signed as Clearbit signs it (the emulator’s independent signer)', async () => {
    const [resolution] = await provider.doHandleWebhook(
      signed({ id: 'corr-1', type: 'person', body: person, status: 200 }),
    );
    expect(resolution?.correlationId).toBe('corr-1');
    const result = resolution?.result as EnrichMatched;
    expect(result).toMatchObject({ status: 'matched', credits: 0, confidence: 0.9 });
    expect(result.fields).toMatchObject({
      firstName: 'Ada',
      title: 'VP of Engineering',
      seniority: 'vp',
      department: 'Engineering',
      linkedinUrl: 'https://www.linkedin.com/in/ada-lovelace',
      location: { city: 'London', region: 'England', country: 'United Kingdom', countryCode: 'GB' },
      'company.domain': 'acme.com',
    });
  });

  it('strips the sk_ / pk_ prefix from the key, as Clearbit does', async () => {
    const raw = JSON.stringify({ id: 'corr-2', type: 'company', body: company, status: 200 });
    const byHand = `sha1=${createHmac('sha1', API_KEY.slice(3)).update(raw).digest('hex')}`;
    expect(await provider.doHandleWebhook(webhook(raw, { 'X-Request-Signature': byHand }))).toHaveLength(1);

    const withPrefix = `sha1=${createHmac('sha1', API_KEY).update(raw).digest('hex')}`;
    const error = await rejectionOf(
      provider.doHandleWebhook(webhook(raw, { 'X-Request-Signature': withPrefix })),
    );
    expect(error.code).toBe('signature_invalid');

    const publishable = createClearbit({ apiKey: 'pk_abcdef0123456789' });
    const pkSigned = `sha1=${createHmac('sha1', 'abcdef0123456789').update(raw).digest('hex')}`;
    expect(await publishable.doHandleWebhook(webhook(raw, { 'x-request-signature': pkSigned }))).toHaveLength(
      1,
    );
    expect(computeClearbitSignature(API_KEY, raw)).toBe(byHand);
  });

  it('verifies over the exact raw bytes (Uint8Array bodies, upper-case hex)', async () => {
    const raw = JSON.stringify({ id: 'corr-3', type: 'company', body: company, status: 200 });
    const signature = clearbitSignature(API_KEY, raw).toUpperCase().replace('SHA1=', 'sha1=');
    const resolutions = await provider.doHandleWebhook(
      webhook(new TextEncoder().encode(raw), { 'x-request-signature': signature }),
    );
    expect(resolutions[0]?.result).toMatchObject({ status: 'matched' });
  });

  it.each([
    ['unsigned', () => webhook(JSON.stringify({ id: 'x', status: 404 }), {}), 'signature_missing'],
    [
      'empty signature',
      () => webhook(JSON.stringify({ id: 'x', status: 404 }), { 'x-request-signature': '' }),
      'signature_missing',
    ],
    [
      'tampered body',
      () => {
        const request = signed({ id: 'corr-4', type: 'person', body: person, status: 200 });
        return { ...request, rawBody: String(request.rawBody).replace('VP of Engineering', 'CEO') };
      },
      'signature_invalid',
    ],
    [
      'signed with another key',
      () => signed({ id: 'corr-5', type: 'person', body: person, status: 200 }, OTHER_KEY),
      'signature_invalid',
    ],
    [
      'missing sha1= prefix',
      () => {
        const raw = JSON.stringify({ id: 'corr-6', status: 404 });
        return webhook(raw, { 'x-request-signature': clearbitSignature(API_KEY, raw).slice(5) });
      },
      'signature_invalid',
    ],
    [
      'sha256 instead of sha1',
      () => {
        const raw = JSON.stringify({ id: 'corr-7', status: 404 });
        const digest = createHmac('sha256', API_KEY.slice(3)).update(raw).digest('hex');
        return webhook(raw, { 'x-request-signature': `sha1=${digest}` });
      },
      'signature_invalid',
    ],
  ] as const)('rejects a webhook that is %s', async (_name, build, code) => {
    const error = await rejectionOf<WebhookVerificationError>(provider.doHandleWebhook(build()));
    expect(WebhookVerificationError.isInstance(error)).toBe(true);
    expect(error.code).toBe(code);
    const text = `${error.message} ${JSON.stringify(error.toJSON())}`;
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(API_KEY.slice(3));
  });

  it('rejects a body a JSON parser already decoded: signatures need the raw bytes', async () => {
    const request = { ...signed({ id: 'x', status: 404 }), rawBody: { id: 'x' } as unknown as string };
    const error = await rejectionOf(provider.doHandleWebhook(request));
    expect(error.code).toBe('payload_invalid');
  });

  it('reads the key lazily and fails with missing_credentials without one', async () => {
    vi.stubEnv('CLEARBIT_API_KEY', '');
    const keyless = createClearbit();
    const error = await rejectionOf<ConfigurationError>(
      keyless.doHandleWebhook(signed({ id: 'x', status: 404 })),
    );
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect(error.code).toBe('missing_credentials');
    vi.stubEnv('CLEARBIT_API_KEY', API_KEY);
    expect(await keyless.doHandleWebhook(signed({ id: 'x', status: 404 }))).toHaveLength(1);
  });

  it('answers 401 through engine.handleWebhook when tampered, 200 when valid', async () => {
    const engine = createEnrichmentEngine({ providers: [provider] });
    const good = signed({ id: 'corr-8', type: 'company', body: company, status: 200 });
    expect((await engine.handleWebhook('clearbit', good)).status).toBe(200);
    const bad = { ...good, rawBody: String(good.rawBody).replace('"Acme"', '"Evil"') };
    const reply = await engine.handleWebhook('clearbit', bad);
    expect(reply.status).toBe(401);
    expect(reply.body).toContain('signature_invalid');
    await engine.close();
  });
});

describe('payloads', () => {
  it('maps company and combined bodies, and 404 to a not_found that costs nothing more', () => {
    const [companyResolution] = parseClearbitWebhook(
      JSON.stringify({ id: 'c1', type: 'company', body: company, status: 200 }),
      'clearbit',
    );
    expect(companyResolution?.result).toMatchObject({
      status: 'matched',
      confidence: 0.95,
      credits: 0,
      fields: {
        'company.name': 'Acme',
        'company.headcount': 120,
        'company.headcountRange': '51-200',
        'company.annualRevenue': 12_500_000,
        'company.industry': 'Internet Software & Services',
        'company.technologies': ['Google Analytics', 'Salesforce'],
        'company.location': { city: 'San Francisco', region: 'California', countryCode: 'US' },
      },
    });
    const [combined] = parseClearbitWebhook(
      JSON.stringify({ id: 'c2', type: 'person_company', body: { person, company }, status: 200 }),
      'clearbit',
    );
    expect(combined?.result).toMatchObject({
      status: 'matched',
      fields: { title: 'VP of Engineering', 'company.headcount': 120 },
    });
    expect(
      parseClearbitWebhook(JSON.stringify({ id: 'c3', type: 'person', body: null, status: 404 }), 'clearbit'),
    ).toEqual([
      {
        correlationId: 'c3',
        result: {
          status: 'not_found',
          credits: 0,
          raw: { id: 'c3', type: 'person', body: null, status: 404 },
        },
      },
    ]);
  });

  it('resolves nothing for account-wide webhooks (no id) or statuses other than 200 and 404', () => {
    expect(
      parseClearbitWebhook(
        JSON.stringify({ id: null, type: 'person', body: person, status: 200 }),
        'clearbit',
      ),
    ).toEqual([]);
    expect(
      parseClearbitWebhook(JSON.stringify({ id: 'c4', type: 'person', body: null, status: 422 }), 'clearbit'),
    ).toEqual([]);
  });

  it.each([
    ['not JSON', '{"id":'],
    ['not an envelope', JSON.stringify({ id: 'c5', type: 'person' })],
    ['a 200 without a record', JSON.stringify({ id: 'c6', type: 'person', body: 'oops', status: 200 })],
  ])('rejects a body that is %s with payload_invalid', (_name, raw) => {
    let caught: unknown;
    try {
      parseClearbitWebhook(raw, 'clearbit');
    } catch (error) {
      caught = error;
    }
    expect(WebhookVerificationError.isInstance(caught)).toBe(true);
    expect((caught as WebhookVerificationError).code).toBe('payload_invalid');
  });
});
