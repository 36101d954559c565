import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import {
  ApiCallError,
  type ApiErrorCode,
  defineProvider,
  type EnrichmentProviderV1,
  type RateLimitState,
} from '@leadpipe/core';
import { createHttpClient, loadApiKey } from '@leadpipe/core/adapter-kit';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type ContractBackend,
  type ContractResponse,
  type EnrichmentProviderContractOptions,
  enrichmentProviderContract,
} from '../src/contracts/index.js';

// A host app's own people API, and its backend controls for the suite.
const people = new Map([['ada@acme.com', { title: 'CTO', company: 'Acme' }]]);
const queue: { status: number; response: ContractResponse | undefined }[] = [];
let requestCount = 0;
const app = new Hono();
app.use('*', async (_c, next) => {
  requestCount++;
  const canned = queue.shift();
  if (canned === undefined) return next();
  const body = canned.response?.body;
  const headers = new Headers(canned.response?.headers);
  if (body !== undefined && typeof body !== 'string') headers.set('content-type', 'application/json');
  return new Response(
    typeof body === 'string' || body === undefined ? (body ?? null) : JSON.stringify(body),
    {
      status: canned.status,
      headers,
    },
  );
});
app.get('/people', (c) => {
  const person = people.get(c.req.query('email') ?? '');
  return person ? c.json(person) : c.json({ error: 'not found' }, 404);
});
app.post('/people/batch', async (c) => {
  const { emails } = await c.req.json<{ emails: string[] }>();
  if (emails.length > 5) return c.json({ error: 'too many' }, 400);
  return c.json({ results: emails.map((email) => people.get(email) ?? null) });
});
const server = await new Promise<ServerType>((resolve) => {
  const started = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(started));
});
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
const backend: ContractBackend = {
  respondWith: (status, response, times = 1) => {
    for (let index = 0; index < times; index++) queue.push({ status, response });
  },
  requestCount: () => requestCount,
  reset: () => {
    queue.length = 0;
  },
};

/** Ways to break the host provider, each of which one check must catch. */
interface Sabotage {
  readonly leakKey?: boolean;
  readonly retryServerErrors?: boolean;
  readonly codeFor429?: ApiErrorCode;
  readonly ignoreAbort?: boolean;
  readonly alwaysMatch?: boolean;
  readonly oversizedBatches?: boolean;
  /** Not a fault: a provider with single calls only. */
  readonly singleCallsOnly?: boolean;
}

const apiKey = `host_${randomBytes(12).toString('hex')}`;

// The host provider: defineProvider over createHttpClient, as a host app writes it.
function hostProvider(key: string | undefined, sabotage: Sabotage = {}): EnrichmentProviderV1 {
  const http = createHttpClient({
    providerId: 'host-people',
    baseUrl,
    headers: () => ({
      authorization: `Bearer ${loadApiKey({ apiKey: key, environmentVariableName: 'HOST_PEOPLE_KEY', description: 'Host people' })}`,
    }),
    mapError: (info) =>
      sabotage.codeFor429 && info.status === 429 ? { code: sabotage.codeFor429 } : undefined,
  });
  const get = async (
    email: string | undefined,
    signal: AbortSignal | undefined,
    onRateLimit?: (state: RateLimitState) => void,
  ) => {
    try {
      return await http.request<{ title: string; company: string }>({
        path: 'people',
        searchParams: { email },
        signal: sabotage.ignoreAbort ? undefined : signal,
        onRateLimit,
        acceptStatus: [404],
      });
    } catch (error) {
      if (sabotage.retryServerErrors && ApiCallError.isInstance(error) && error.code === 'server_error') {
        return http.request<{ title: string; company: string }>({
          path: 'people',
          searchParams: { email },
          acceptStatus: [404],
        });
      }
      // Leadpipe errors scrub registered keys, so a leak needs an error of the provider's own.
      if (sabotage.leakKey) throw new Error(`host people API failed with key ${key}`, { cause: error });
      throw error;
    }
  };
  const provider = defineProvider({
    id: 'host-people',
    lookups: [{ requires: ['email'], supplies: ['title', 'company.name'] }],
    maxBatchSize: 5,
    async enrich({ input }, { signal, onRateLimit }) {
      const response = await get(input.email, signal, onRateLimit);
      if (response.status === 404 && !sabotage.alwaysMatch) return null;
      return {
        fields: {
          title: response.data.title ?? 'Unknown',
          'company.name': response.data.company ?? 'Unknown',
        },
        confidence: 0.9,
      };
    },
    async enrichBatch(requests, { signal }) {
      if (requests.length > 5 && !sabotage.oversizedBatches)
        throw new ApiCallError('invalid_request', {
          providerId: 'host-people',
          message: 'at most 5 per call',
        });
      const response = await http.request<{ results: ({ title: string; company: string } | null)[] }>({
        method: 'POST',
        path: 'people/batch',
        json: { emails: requests.map((request) => request.input.email) },
        signal,
      });
      return response.data.results.map((person) =>
        person ? { fields: { title: person.title, 'company.name': person.company } } : null,
      );
    },
  });
  if (!sabotage.singleCallsOnly) return provider;
  const { doEnrichBatch: _batch, ...single } = provider;
  return { ...single, capabilities: { ...provider.capabilities, maxBatchSize: 1 } };
}

const options = (sabotage?: Sabotage): EnrichmentProviderContractOptions => ({
  name: 'host',
  createProvider: () => hostProvider(apiKey, sabotage),
  createProviderWithoutCredentials: () => hostProvider(undefined, sabotage),
  knownLead: { email: 'ada@acme.com' },
  expectedFields: { title: 'CTO', 'company.name': 'Acme' },
  unknownLead: { email: 'nobody@acme.com' },
  backend,
  secrets: [apiKey],
});

describe('a host app provider over its own HTTP API', () => {
  enrichmentProviderContract(it, expect, options());
});

describe('a host app provider with single calls only', () => {
  enrichmentProviderContract(it, expect, { ...options({ singleCallsOnly: true }), name: 'host single' });
});

/** The suite's tests for one set of options, collected instead of registered. */
function collect(sabotage: Sabotage): Map<string, () => Promise<void>> {
  const tests = new Map<string, () => Promise<void>>();
  enrichmentProviderContract((name, fn) => tests.set(name, fn), expect, options(sabotage));
  return tests;
}

describe('the suite fails providers that break the contract', () => {
  const cases: [string, Sabotage, string][] = [
    [
      'a provider that leaks its key into errors',
      { leakKey: true },
      'host: never puts a secret in an error, even when the vendor echoes it',
    ],
    [
      'a provider that retries 5xx itself',
      { retryServerErrors: true },
      'host: maps HTTP 500 to server_error, once, without retrying',
    ],
    [
      'a provider that calls a 429 a server error',
      { codeFor429: 'server_error' },
      'host: maps HTTP 429 to rate_limited, once, without retrying',
    ],
    [
      'a provider that ignores abort signals',
      { ignoreAbort: true },
      'host: rejects an aborted call with code aborted, sending nothing',
    ],
    [
      'a provider that matches everyone',
      { alwaysMatch: true },
      'host: answers not_found for the unknown lead, charging nothing unless misses are billed',
    ],
    [
      'a provider that sends oversized batches',
      { oversizedBatches: true },
      'host: never sends more than maxBatchSize records in one call',
    ],
  ];
  for (const [title, sabotage, check] of cases) {
    it(`catches ${title}`, async () => {
      const tests = collect(sabotage);
      const run = tests.get(check);
      expect(run, `check "${check}" is registered`).toBeDefined();
      await backend.reset?.();
      await expect(run!()).rejects.toThrow();
      // The same check passes for the provider without the fault.
      await collect({}).get(check)!();
    });
  }

  it('skips the checks it is told to skip', () => {
    const tests = new Map<string, unknown>();
    enrichmentProviderContract((name, fn) => tests.set(name, fn), expect, {
      ...options(),
      skip: ['errors', 'secrets'],
    });
    expect([...tests.keys()].some((name) => name.includes('HTTP 500'))).toBe(false);
    expect([...tests.keys()].some((name) => name.includes('secret'))).toBe(false);
    expect([...tests.keys()].some((name) => name.includes('matches the known lead'))).toBe(true);
  });
});
