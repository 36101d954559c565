import { delay, HttpResponse, http } from 'msw';
import { setupServer } from 'msw/node';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { createHttpClient, type HttpClientOptions } from '../src/http/client.js';
import { loadApiKey } from '../src/http/load-settings.js';
import { ApiCallError, ConfigurationError, type RateLimitState } from '../src/index.js';

const BASE = 'https://api.vendor.test/v1';
const server = setupServer();

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }));
afterEach(() => {
  server.resetHandlers();
  vi.useRealTimers();
  vi.unstubAllEnvs();
});
afterAll(() => server.close());

function client(options: Partial<HttpClientOptions> = {}) {
  return createHttpClient({ providerId: 'vendor', baseUrl: BASE, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<ApiCallError> {
  try {
    await promise;
  } catch (error) {
    if (ApiCallError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the request to reject');
}

describe('successful requests', () => {
  it('joins the path, sends query, JSON body and headers, and parses the JSON answer', async () => {
    let seen: { url: string; method: string; body: unknown; headers: Headers } | undefined;
    server.use(
      http.post(`${BASE}/people/match`, async ({ request }) => {
        seen = {
          url: request.url,
          method: request.method,
          body: await request.json(),
          headers: request.headers,
        };
        return HttpResponse.json({ person: { id: 'p1' } });
      }),
    );
    const response = await client({ headers: () => ({ 'X-Api-Key': 'key-abc-123' }) }).request({
      method: 'POST',
      path: '/people/match',
      searchParams: { email: 'ada@acme.com', reveal: false, tag: ['a', 'b'], skipped: undefined },
      json: { first_name: 'Ada' },
      headers: { 'x-trace': 't1' },
    });
    expect(response).toMatchObject({ status: 200, data: { person: { id: 'p1' } } });
    expect(seen?.url).toBe(`${BASE}/people/match?email=ada%40acme.com&reveal=false&tag=a&tag=b`);
    expect(seen?.body).toEqual({ first_name: 'Ada' });
    expect(seen?.headers.get('x-api-key')).toBe('key-abc-123');
    expect(seen?.headers.get('x-trace')).toBe('t1');
    expect(seen?.headers.get('accept')).toBe('application/json');
    expect(seen?.headers.get('content-type')).toBe('application/json');
  });

  it('reads text, ignores bodies with responseType none, and gives undefined for an empty JSON body', async () => {
    server.use(
      http.get(`${BASE}/text`, () => HttpResponse.text('plain')),
      http.delete(`${BASE}/thing`, () => new HttpResponse(null, { status: 204 })),
      http.get(`${BASE}/ignored`, () => HttpResponse.text('not json at all')),
    );
    expect((await client().request({ path: 'text', responseType: 'text' })).data).toBe('plain');
    expect(await client().request({ method: 'DELETE', path: 'thing' })).toMatchObject({
      status: 204,
      data: undefined,
    });
    expect((await client().request({ path: 'ignored', responseType: 'none' })).data).toBeUndefined();
  });

  it('uses an injected fetch', async () => {
    const fetch = vi.fn(async (_input: string | URL | Request, _init?: RequestInit) =>
      Response.json({ injected: true }),
    );
    const response = await client({ fetch }).request({ path: 'x' });
    expect(response.data).toEqual({ injected: true });
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('validates the JSON with a schema and names the failing path', async () => {
    server.use(
      http.get(`${BASE}/org`, () => HttpResponse.json({ organization: { name: 'Acme', employees: 'many' } })),
    );
    const schema = z.object({ organization: z.object({ name: z.string(), employees: z.number() }) });
    const error = await rejection(client().request({ path: 'org', schema }));
    expect(error.code).toBe('invalid_response');
    expect(error.isRetryable).toBe(true);
    expect(error.message).toContain('organization.employees:');
    server.use(
      http.get(`${BASE}/org`, () => HttpResponse.json({ organization: { name: 'Acme', employees: 12 } })),
    );
    const ok = await client().request({ path: 'org', schema });
    expect(ok.data.organization.employees).toBe(12);
  });
});

describe('status mapping', () => {
  it.each([
    [400, 'invalid_request', false],
    [422, 'invalid_request', false],
    [401, 'unauthorized', false],
    [402, 'quota_exceeded', false],
    [403, 'forbidden', false],
    [404, 'not_found', false],
    [409, 'conflict', false],
    [429, 'rate_limited', true],
    [500, 'server_error', true],
    [502, 'server_error', true],
    [503, 'server_error', true],
  ] as const)('HTTP %i -> %s (retryable: %s)', async (status, code, retryable) => {
    server.use(http.get(`${BASE}/status`, () => HttpResponse.json({ message: 'nope' }, { status })));
    const error = await rejection(client().request({ path: 'status', searchParams: { q: 'secret-ish' } }));
    expect(error).toMatchObject({
      name: 'ApiCallError',
      code,
      isRetryable: retryable,
      status,
      method: 'GET',
      url: `${BASE}/status`,
      providerId: 'vendor',
      responseBody: undefined,
    });
    expect(error.message).toBe(`vendor: GET ${BASE}/status failed with HTTP ${status}`);
  });

  it('leaves retries to the engine: a 503 or a network failure on GET is sent exactly once', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/flaky`, () => {
        calls += 1;
        return new HttpResponse(null, { status: 503, headers: { 'retry-after': '0' } });
      }),
      http.get(`${BASE}/down`, () => {
        calls += 1;
        return HttpResponse.error();
      }),
    );
    expect((await rejection(client().request({ path: 'flaky' }))).code).toBe('server_error');
    expect(calls).toBe(1);
    expect((await rejection(client().request({ path: 'down' }))).code).toBe('network_error');
    expect(calls).toBe(2);
  });

  it('returns statuses listed in acceptStatus instead of throwing', async () => {
    server.use(
      http.get(`${BASE}/people/find`, () =>
        HttpResponse.json({ error: { type: 'unknown_record' } }, { status: 404 }),
      ),
      http.get(`${BASE}/queued`, () => new HttpResponse(null, { status: 202 })),
    );
    const notFound = await client().request({ path: 'people/find', acceptStatus: [404] });
    expect(notFound).toMatchObject({ status: 404, data: { error: { type: 'unknown_record' } } });
    expect(await client().request({ path: 'queued' })).toMatchObject({ status: 202, data: undefined });
    const error = await rejection(client().request({ path: 'people/find', acceptStatus: [202] }));
    expect(error.code).toBe('not_found');
  });
});

describe('rate limits', () => {
  const NOW = Date.UTC(2026, 10, 25, 9, 0, 0);

  it('takes retryAfterMs from Retry-After in seconds', async () => {
    server.use(
      http.get(`${BASE}/x`, () => new HttpResponse(null, { status: 429, headers: { 'Retry-After': '7' } })),
    );
    const error = await rejection(client().request({ path: 'x' }));
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 7000 });
  });

  it('takes retryAfterMs from Retry-After as an HTTP date', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    server.use(
      http.get(
        `${BASE}/x`,
        () =>
          new HttpResponse(null, {
            status: 429,
            headers: { 'Retry-After': 'Wed, 25 Nov 2026 09:02:00 GMT' },
          }),
      ),
    );
    const error = await rejection(client().request({ path: 'x' }));
    expect(error.retryAfterMs).toBe(120_000);
  });

  it('falls back to the reset header on a 429 without Retry-After', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: NOW });
    server.use(
      http.get(
        `${BASE}/x`,
        () =>
          new HttpResponse(null, {
            status: 429,
            headers: { 'X-RateLimit-Limit': '600', 'X-RateLimit-Reset': String(NOW / 1000 + 15) },
          }),
      ),
    );
    const error = await rejection(client().request({ path: 'x' }));
    expect(error.retryAfterMs).toBe(15_000);
    expect(error.rateLimit).toEqual({ windows: [{ name: 'default', limit: 600, resetAt: NOW + 15_000 }] });
  });

  it('reads the Clock it is given, not Date.now, for relative resets and the wait of a 429', async () => {
    // The system clock is real here; only the client's clock says it is NOW.
    let at = NOW;
    const limited = () =>
      new HttpResponse(null, {
        status: 429,
        headers: { 'X-RateLimit-Limit': '600', 'X-RateLimit-Reset': String(NOW / 1000 + 15) },
      });
    server.use(
      http.get(`${BASE}/x`, limited),
      http.get(
        `${BASE}/retry`,
        () =>
          new HttpResponse(null, {
            status: 429,
            headers: { 'Retry-After': 'Wed, 25 Nov 2026 09:02:00 GMT' },
          }),
      ),
    );
    const clocked = client({ now: () => at });
    expect((await rejection(clocked.request({ path: 'x' }))).retryAfterMs).toBe(15_000);
    at += 5_000;
    expect((await rejection(clocked.request({ path: 'x' }))).retryAfterMs).toBe(10_000);
    expect((await rejection(clocked.request({ path: 'retry' }))).retryAfterMs).toBe(120_000 - 5_000);
    expect(() => client({ now: 5 as never })).toThrow(/^now: must be a Clock/);
  });

  it('calls onRateLimit (client and request) on success and on 429, and survives a throwing listener', async () => {
    const fromClient: RateLimitState[] = [];
    const fromRequest: RateLimitState[] = [];
    const limited = { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '0', 'retry-after': '1' };
    server.use(
      http.get(`${BASE}/ok`, () =>
        HttpResponse.json({}, { headers: { 'x-ratelimit-limit': '10', 'x-ratelimit-remaining': '9' } }),
      ),
      http.get(`${BASE}/limited`, () => HttpResponse.json({}, { status: 429, headers: limited })),
      http.get(`${BASE}/plain`, () => HttpResponse.json({})),
    );
    const api = client({
      onRateLimit: (state) => {
        fromClient.push(state);
        throw new Error('listener bug');
      },
    });
    await api.request({ path: 'ok', onRateLimit: (state) => fromRequest.push(state) });
    const error = await rejection(
      api.request({ path: 'limited', onRateLimit: (state) => fromRequest.push(state) }),
    );
    await api.request({ path: 'plain', onRateLimit: (state) => fromRequest.push(state) });
    const expected = [
      { windows: [{ name: 'default', limit: 10, remaining: 9 }] },
      { windows: [{ name: 'default', limit: 10, remaining: 0 }], retryAfterMs: 1000 },
    ];
    expect(fromClient).toEqual(expected);
    expect(fromRequest).toEqual(expected);
    expect(error.rateLimit).toEqual(expected[1]);
  });

  it('reads vendor headers through the rateLimitHeaders mapping', async () => {
    server.use(
      http.get(`${BASE}/x`, () =>
        HttpResponse.json({}, { headers: { 'x-rate-limit-minute': '200', 'x-minute-requests-left': '150' } }),
      ),
    );
    const response = await client({
      rateLimitHeaders: {
        windows: [{ name: 'minute', limit: 'x-rate-limit-minute', remaining: 'x-minute-requests-left' }],
      },
    }).request({ path: 'x' });
    expect(response.rateLimit).toEqual({ windows: [{ name: 'minute', limit: 200, remaining: 150 }] });
  });
});

describe('vendor quirks through mapError', () => {
  it('Apollo 403 API_INACCESSIBLE keeps forbidden and picks up the vendor code', async () => {
    server.use(
      http.post(`${BASE}/organizations/bulk_enrich`, () =>
        HttpResponse.json(
          {
            error: 'This API key is not authorized to access api/v1/organizations/enrich',
            error_code: 'API_INACCESSIBLE',
          },
          { status: 403 },
        ),
      ),
    );
    const error = await rejection(client().request({ method: 'POST', path: 'organizations/bulk_enrich' }));
    expect(error).toMatchObject({ code: 'forbidden', vendorCode: 'API_INACCESSIBLE', isRetryable: false });
  });

  it('Apollo 401 in text/plain is unauthorized without a vendor code', async () => {
    server.use(
      http.get(`${BASE}/x`, () =>
        HttpResponse.text('Invalid API key. See https://docs.apollo.io/reference/authentication', {
          status: 401,
        }),
      ),
    );
    const error = await rejection(client().request({ path: 'x' }));
    expect(error).toMatchObject({ code: 'unauthorized', vendorCode: undefined });
  });

  it('Salesforce 403 REQUEST_LIMIT_EXCEEDED becomes a quota', async () => {
    server.use(
      http.patch(`${BASE}/sobjects/Lead/Ext__c/1`, () =>
        HttpResponse.json(
          [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }],
          {
            status: 403,
            headers: { 'Sforce-Limit-Info': 'api-usage=15000/15000' },
          },
        ),
      ),
    );
    const api = client({
      mapError: ({ json }) =>
        Array.isArray(json) && json[0]?.errorCode === 'REQUEST_LIMIT_EXCEEDED'
          ? { code: 'quota_exceeded', message: 'Salesforce org API limit exceeded' }
          : undefined,
    });
    const error = await rejection(api.request({ method: 'PATCH', path: 'sobjects/Lead/Ext__c/1', json: {} }));
    expect(error).toMatchObject({
      code: 'quota_exceeded',
      vendorCode: 'REQUEST_LIMIT_EXCEEDED',
      isRetryable: false,
      status: 403,
    });
    expect(error.message).toBe(
      `vendor: Salesforce org API limit exceeded (HTTP 403, PATCH ${BASE}/sobjects/Lead/Ext__c/1)`,
    );
  });

  it('HubSpot DAILY 429 becomes a non-retryable quota with the adapter-computed wait', async () => {
    server.use(
      http.post(`${BASE}/crm/v3/objects/contacts/batch/upsert`, () =>
        HttpResponse.json(
          {
            status: 'error',
            message: 'You have reached your daily limit.',
            errorType: 'RATE_LIMIT',
            policyName: 'DAILY',
          },
          { status: 429 },
        ),
      ),
    );
    const api = client({
      mapError: ({ status, json }) =>
        status === 429 && (json as { policyName?: string } | undefined)?.policyName === 'DAILY'
          ? { code: 'quota_exceeded', vendorCode: 'DAILY', retryAfterMs: 3_600_000 }
          : undefined,
    });
    const error = await rejection(
      api.request({ method: 'POST', path: 'crm/v3/objects/contacts/batch/upsert', json: {} }),
    );
    expect(error).toMatchObject({
      code: 'quota_exceeded',
      vendorCode: 'DAILY',
      retryAfterMs: 3_600_000,
      isRetryable: false,
    });
  });
});

describe('transport failures', () => {
  it('maps a request that outlives timeoutMs to timeout', async () => {
    server.use(
      http.get(`${BASE}/slow`, async () => {
        await delay('infinite');
        return HttpResponse.json({});
      }),
    );
    const error = await rejection(client({ timeoutMs: 20_000 }).request({ path: 'slow', timeoutMs: 30 }));
    expect(error).toMatchObject({ code: 'timeout', isRetryable: true, status: undefined });
    expect(error.message).toBe(`vendor: GET ${BASE}/slow timed out after 30 ms`);
  });

  it('maps a failed fetch to network_error', async () => {
    server.use(http.get(`${BASE}/down`, () => HttpResponse.error()));
    const error = await rejection(client().request({ path: 'down' }));
    expect(error).toMatchObject({ code: 'network_error', isRetryable: true, status: undefined });
  });

  it('names the system error code of a refused connection', async () => {
    const refused = Object.assign(new TypeError('fetch failed'), {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    });
    const error = await rejection(
      client({
        fetch: async () => {
          throw refused;
        },
      }).request({ path: 'x' }),
    );
    expect(error.code).toBe('network_error');
    expect(error.message).toBe(`vendor: GET ${BASE}/x failed with a network error (ECONNREFUSED)`);
  });

  it('maps a network-error Response (status 0) from a fetch layer to network_error', async () => {
    const error = await rejection(client({ fetch: async () => Response.error() }).request({ path: 'x' }));
    expect(error).toMatchObject({ code: 'network_error', isRetryable: true });
  });

  it('maps malformed JSON on a success to invalid_response', async () => {
    server.use(
      http.get(`${BASE}/broken`, () =>
        HttpResponse.text('{"person": ', { headers: { 'content-type': 'application/json' } }),
      ),
    );
    const error = await rejection(client().request({ path: 'broken' }));
    expect(error).toMatchObject({ code: 'invalid_response', isRetryable: true, status: 200 });
  });

  it('maps a caller abort to aborted, mid-flight and before sending', async () => {
    let calls = 0;
    server.use(
      http.get(`${BASE}/slow`, async () => {
        calls += 1;
        await delay('infinite');
        return HttpResponse.json({});
      }),
    );
    const controller = new AbortController();
    const pending = client().request({ path: 'slow', signal: controller.signal });
    await vi.waitFor(() => expect(calls).toBe(1), { timeout: 10_000 });
    controller.abort();
    const error = await rejection(pending);
    expect(error).toMatchObject({ code: 'aborted', isRetryable: false });

    const early = await rejection(client().request({ path: 'slow', signal: AbortSignal.abort() }));
    expect(early.code).toBe('aborted');
    expect(calls).toBe(1);
  });
});

describe('secrets and PII', () => {
  const KEY = 'unregistered-vendor-key-5f1e';

  function leaks(error: ApiCallError): string {
    const cause =
      error.cause instanceof Error ? `${error.cause.message} ${error.cause.stack}` : String(error.cause);
    return `${error.message} ${JSON.stringify(error)} ${error.stack} ${cause}`;
  }

  it('never puts a key from headers or the query string into any error', async () => {
    server.use(
      http.get(`${BASE}/unauthorized`, () => HttpResponse.json({ error: `bad key ${KEY}` }, { status: 401 })),
      http.get(`${BASE}/broken`, () => HttpResponse.text(`{"key":"${KEY}"`)),
      http.get(`${BASE}/down`, () => HttpResponse.error()),
      http.get(`${BASE}/slow`, async () => {
        await delay('infinite');
        return HttpResponse.json({});
      }),
    );
    const api = client({
      headers: () => ({ authorization: `Bearer ${KEY}`, 'x-api-key': KEY }),
      timeoutMs: 30,
    });
    const request = (path: string, signal?: AbortSignal) =>
      rejection(api.request({ path, searchParams: { api_key: KEY, k: KEY }, signal }));
    const errors = [
      await request('unauthorized'),
      await request('broken'),
      await request('down'),
      await request('slow'),
      await request('slow', AbortSignal.abort(new Error(`aborted ${BASE}/slow?k=${KEY}`))),
    ];
    expect(errors.map((error) => error.code)).toEqual([
      'unauthorized',
      'invalid_response',
      'network_error',
      'timeout',
      'aborted',
    ]);
    for (const error of errors) expect(leaks(error)).not.toContain(KEY);
  });

  it('strips the query string from transport error messages kept as the cause', async () => {
    const error = await rejection(
      client({
        fetch: async (input) => {
          throw new TypeError(`request to ${input instanceof Request ? input.url : String(input)} failed`);
        },
      }).request({ path: 'x', searchParams: { k: KEY } }),
    );
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as Error).message).toBe(`request to ${BASE}/x failed`);
    expect(leaks(error)).not.toContain(KEY);
  });

  it('keeps the response body only when captureResponseBody is on, with registered keys scrubbed', async () => {
    vi.stubEnv('LEADPIPE_TEST_VENDOR_KEY', 'registered-vendor-key-77aa');
    const headers = () => ({
      'x-api-key': loadApiKey({
        apiKey: undefined,
        environmentVariableName: 'LEADPIPE_TEST_VENDOR_KEY',
        description: 'Vendor',
      }),
    });
    server.use(
      http.get(`${BASE}/x`, ({ request }) =>
        HttpResponse.json({ echo: request.headers.get('x-api-key'), email: 'ada@acme.com' }, { status: 400 }),
      ),
    );
    const quiet = await rejection(client({ headers }).request({ path: 'x' }));
    expect(quiet.responseBody).toBeUndefined();
    expect(JSON.stringify(quiet)).not.toContain('ada@acme.com');
    const verbose = await rejection(client({ headers, captureResponseBody: true }).request({ path: 'x' }));
    expect(verbose.responseBody).toBe('{"echo":"[REDACTED]","email":"ada@acme.com"}');
  });

  it('reads headers lazily: the key may be set after the client was created', async () => {
    const ENV = 'LEADPIPE_TEST_LAZY_KEY';
    vi.stubEnv(ENV, '');
    let seen: string | null = null;
    server.use(
      http.get(`${BASE}/x`, ({ request }) => {
        seen = request.headers.get('x-api-key');
        return HttpResponse.json({});
      }),
    );
    const api = client({
      headers: () => ({
        'x-api-key': loadApiKey({
          apiKey: undefined,
          environmentVariableName: ENV,
          description: 'Vendor',
          providerId: 'vendor',
        }),
      }),
    });
    const missing = await api.request({ path: 'x' }).catch((error: unknown) => error);
    expect(ConfigurationError.isInstance(missing) && missing.code).toBe('missing_credentials');
    expect(seen).toBeNull();
    vi.stubEnv(ENV, 'late-key-123456');
    await api.request({ path: 'x' });
    expect(seen).toBe('late-key-123456');
  });
});

describe('configuration errors', () => {
  it.each([
    [{ baseUrl: 'api.vendor.test' }, /^baseUrl: must be an absolute/],
    [{ baseUrl: 'ftp://api.vendor.test' }, /^baseUrl: must be an absolute/],
    [{ baseUrl: 'https://user:pass-123456@api.vendor.test' }, /^baseUrl: .* without credentials$/],
    [{ providerId: '' }, /^providerId: must be a non-empty string/],
    [{ timeoutMs: 0 }, /^timeoutMs: must be a positive number/],
    [{ timeoutMs: Number.POSITIVE_INFINITY }, /^timeoutMs: must be a positive number/],
  ] as const)('rejects %j', (options, message) => {
    let caught: unknown;
    try {
      client(options);
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught) && caught.code).toBe('invalid_configuration');
    expect((caught as Error).message).toMatch(message);
  });

  it('rejects json and body together, and out-of-range acceptStatus', async () => {
    await expect(client().request({ path: 'x', json: {}, body: 'x' })).rejects.toThrowError(
      /^json: cannot be sent together with body/,
    );
    await expect(client().request({ path: 'x', acceptStatus: [99] })).rejects.toThrowError(/^acceptStatus: /);
  });
});
