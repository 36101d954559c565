/**
 * Waterfall throughput and rate-limit benchmarks. Prints one JSON line per case.
 *
 * 1. `waterfall-vs-hand-loop`: leads per second through the engine with two
 *    instant in-process providers, next to a hand-written loop that calls the
 *    same providers through bottleneck and p-retry and validates with zod.
 *    Both run in this process, interleaved, best of several rounds; the
 *    figure that matters is the ratio (goal: >= 1.0).
 * 2. `waterfall-http-50rps`: the engine against a local HTTP provider that
 *    allows 50 requests in any rolling second and answers 429 above it;
 *    achieved rate over allowed (goal: >= 0.95) and 429s received (goal: 0).
 *
 * Run: pnpm exec tsx --conditions=@leadpipe/source packages/core/bench/enrich.bench.ts
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Bottleneck from 'bottleneck';
import pRetry from 'p-retry';
import { createHttpClient } from '../src/http/client.js';
import {
  createEnrichmentEngine,
  createLead,
  defineProvider,
  type EnrichRequest,
  type Lead,
  leadFieldPatchSchema,
} from '../src/index.js';

const LEADS = Number(process.env.BENCH_LEADS ?? 20_000);
const CONCURRENCY = 32;

function instantProviders() {
  const people = defineProvider({
    id: 'people',
    lookups: [{ requires: ['email'], supplies: ['title', 'company.name'] }],
    rateLimits: { maxConcurrent: CONCURRENCY },
    enrich: async ({ input }: EnrichRequest) =>
      input.email?.charCodeAt(0) === 120
        ? null
        : { fields: { title: 'Engineer', 'company.name': 'Acme' }, confidence: 0.9 },
  });
  const firms = defineProvider({
    id: 'firms',
    lookups: [{ requires: ['company.domain'], supplies: ['company.industry', 'company.headcount'] }],
    rateLimits: { maxConcurrent: CONCURRENCY },
    enrich: async () => ({
      fields: { 'company.industry': 'Software', 'company.headcount': 120 },
      confidence: 0.8,
    }),
  });
  return [people, firms] as const;
}

function makeLeads(round: number): Lead[] {
  return Array.from({ length: LEADS }, (_, index) =>
    createLead({ email: `${index % 10 === 0 ? 'x' : 'p'}${index}.r${round}@firm${index % 500}.com` }),
  );
}

async function runEngine(leads: Lead[]): Promise<number> {
  const engine = createEnrichmentEngine({
    providers: instantProviders(),
    fields: ['title', 'company.name', 'company.industry', 'company.headcount'],
  });
  const started = performance.now();
  let count = 0;
  for await (const _ of engine.enrichMany(leads, { concurrency: CONCURRENCY })) count += 1;
  const seconds = (performance.now() - started) / 1000;
  await engine.close();
  return count / seconds;
}

/** What a careful user would write by hand: bottleneck + p-retry + zod, no cache, no events. */
async function runHandLoop(leads: Lead[]): Promise<number> {
  const providers = instantProviders();
  const limiters = providers.map(() => new Bottleneck({ maxConcurrent: CONCURRENCY }));
  const started = performance.now();
  let next = 0;
  async function worker() {
    while (next < leads.length) {
      const lead = leads[next++]!;
      const input: Record<string, unknown> = { email: lead.email, 'company.domain': lead.company?.domain };
      const fields: Record<string, unknown> = {};
      for (let index = 0; index < providers.length; index++) {
        const provider = providers[index]!;
        const result = await limiters[index]!.schedule(() =>
          pRetry(() => provider.doEnrich({ leadId: lead.id, input, fields: [] }, {}), { retries: 3 }),
        );
        if (result.status === 'matched') Object.assign(fields, leadFieldPatchSchema.parse(result.fields));
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(limiters.map((limiter) => limiter.disconnect()));
  return leads.length / seconds;
}

async function throughput(): Promise<void> {
  let bestEngine = 0;
  let bestHand = 0;
  for (let round = 0; round < 4; round++) {
    const leads = makeLeads(round);
    bestHand = Math.max(bestHand, await runHandLoop(leads));
    bestEngine = Math.max(bestEngine, await runEngine(leads));
  }
  console.log(
    JSON.stringify({
      case: 'waterfall-vs-hand-loop',
      leads: LEADS,
      providers: 2,
      concurrency: CONCURRENCY,
      engineLeadsPerSecond: Math.round(bestEngine),
      handLoopLeadsPerSecond: Math.round(bestHand),
      ratio: Math.round((bestEngine / bestHand) * 1000) / 1000,
      goal: '>= 1.0',
    }),
  );
}

async function httpRate(): Promise<void> {
  const LIMIT = 50;
  const REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 500);
  const stamps: number[] = [];
  let tooMany = 0;
  const server = createServer((request, response) => {
    const now = Date.now();
    while (stamps.length > 0 && stamps[0]! <= now - 1000) stamps.shift();
    if (stamps.length >= LIMIT) {
      tooMany += 1;
      response.writeHead(429, { 'retry-after': '1', 'content-type': 'application/json' });
      response.end('{"error":"rate limited"}');
      return;
    }
    stamps.push(now);
    response.writeHead(200, {
      'content-type': 'application/json',
      'x-ratelimit-limit': String(LIMIT),
      'x-ratelimit-remaining': String(LIMIT - stamps.length),
    });
    response.end(JSON.stringify({ title: 'Engineer', url: request.url }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const http = createHttpClient({
    providerId: 'http',
    baseUrl: `http://127.0.0.1:${port}`,
    headers: () => ({}),
  });
  const provider = defineProvider({
    id: 'http',
    lookups: [{ requires: ['email'], supplies: ['title'] }],
    rateLimits: { perSecond: LIMIT, maxConcurrent: 10 },
    enrich: async ({ input }, { signal, onRateLimit }) => {
      const { data } = await http.request<{ title: string }>({
        method: 'GET',
        path: 'find',
        searchParams: { email: input.email ?? '' },
        signal,
        onRateLimit,
      });
      return { fields: { title: data.title }, confidence: 0.9 };
    },
  });
  const engine = createEnrichmentEngine({ providers: [provider], fields: ['title'], cache: false });
  const leads = Array.from({ length: REQUESTS }, (_, index) => createLead({ email: `h${index}@acme.com` }));
  const started = performance.now();
  let done = 0;
  for await (const outcome of engine.enrichMany(leads, { concurrency: 20 }))
    if (outcome.status === 'enriched') done += 1;
  const seconds = (performance.now() - started) / 1000;
  await engine.close();
  server.close();
  const achieved = REQUESTS / seconds;
  console.log(
    JSON.stringify({
      case: 'waterfall-http-50rps',
      requests: REQUESTS,
      enriched: done,
      allowedPerSecond: LIMIT,
      achievedPerSecond: Math.round(achieved * 100) / 100,
      ratio: Math.round((achieved / LIMIT) * 1000) / 1000,
      '429s': tooMany,
      goal: 'ratio >= 0.95, 429s = 0',
    }),
  );
}

await throughput();
await httpRate();
