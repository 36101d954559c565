/**
 * A host app's own provider: `defineProvider` over an internal HTTP API, checked by the testkit's contract
 * suite (examples/test/custom-provider.test.ts), and used in a waterfall after Apollo.
 *
 * The internal directory is the host's own people API (here a tiny node:http server): it knows a handful of
 * people by email, with their direct phone numbers, which Apollo only sells through an asynchronous reveal.
 * The waterfall asks Apollo first, then the directory for whatever is still missing.
 *
 * Run: pnpm exec tsx --conditions=@leadpipe/source examples/custom-provider.ts
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createEnrichmentEngine, createLead } from '@leadpipe/core';
import {
  createHttpClient,
  defineProvider,
  type EnrichmentProviderV1,
  loadApiKey,
} from '@leadpipe/core/adapter-kit';
import { createApollo } from '@leadpipe/provider-apollo';
import { startEmulators, type TruthPerson } from '@leadpipe/testkit';

/** A person as the internal directory API returns them (`GET /people?email=`). */
export interface DirectoryPerson {
  /** Job title. */
  readonly title: string;
  /** Department name. */
  readonly department?: string;
  /** Direct line, E.164. */
  readonly phone?: string;
  /** Employer's name. */
  readonly company: string;
}

/** Settings of {@link createInternalDirectory}. */
export interface InternalDirectorySettings {
  /** Base URL of the internal API, such as `http://people.internal`. */
  readonly baseUrl: string;
  /** Bearer token. Default: the `INTERNAL_DIRECTORY_TOKEN` environment variable, read at call time. */
  readonly apiKey?: string;
}

// --- The provider: everything a host app writes (the contract suite checks the rest). ---
/**
 * The internal directory as an enrichment provider: people by email, with title, department, phone and
 * employer. Errors, rate-limit headers, timeouts and aborts are handled by `createHttpClient`.
 *
 * @throws ConfigurationError when `baseUrl` is not an http(s) URL; at call time, `missing_credentials`
 * when no token is given or set.
 */
export function createInternalDirectory(settings: InternalDirectorySettings): EnrichmentProviderV1 {
  const id = 'internal-directory';
  const http = createHttpClient({
    providerId: id,
    baseUrl: settings.baseUrl,
    timeoutMs: 5_000,
    headers: () => ({
      authorization: `Bearer ${loadApiKey({ apiKey: settings.apiKey, environmentVariableName: 'INTERNAL_DIRECTORY_TOKEN', description: 'Internal directory', providerId: id })}`,
    }),
  });
  return defineProvider({
    id,
    lookups: [{ requires: ['email'], supplies: ['title', 'department', 'phone', 'company.name'] }],
    rateLimits: { perSecond: 50, maxConcurrent: 8 },
    async enrich({ input }, { signal, onRateLimit }) {
      const response = await http.request<DirectoryPerson>({
        path: 'people',
        searchParams: { email: input.email },
        acceptStatus: [404],
        signal,
        onRateLimit,
      });
      if (response.status === 404) return null;
      const { title, department, phone, company } = response.data;
      return { fields: { title, department, phone, 'company.name': company }, confidence: 0.95 };
    },
  });
}
// --- End of the provider. ---

/** A running internal directory API. */
export interface InternalApi {
  /** Its base URL. */
  readonly url: string;
  /** Requests it has received. */
  readonly requests: () => number;
  /** Stop it. */
  close(): Promise<void>;
}

/**
 * Serve `people` (by lower-case email) on 127.0.0.1 as the internal API: `GET /people?email=` answers the
 * person or 404; a request without `Authorization: Bearer <token>` gets 401.
 */
export async function startInternalApi(
  people: ReadonlyMap<string, DirectoryPerson>,
  token: string,
): Promise<InternalApi> {
  let requests = 0;
  const server = createServer((request, response) => {
    requests += 1;
    const url = new URL(request.url ?? '/', 'http://internal');
    const reply = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (request.headers.authorization !== `Bearer ${token}`) return reply(401, { error: 'unauthorized' });
    if (request.method !== 'GET' || url.pathname !== '/people') return reply(404, { error: 'no such route' });
    const person = people.get(url.searchParams.get('email')?.toLowerCase() ?? '');
    return person ? reply(200, person) : reply(404, { error: 'not found' });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** The script: Apollo's emulator and the internal API, then a waterfall [apollo, internal] over four leads. */
async function main(): Promise<void> {
  // A large plan's limits, so the adapter's real-time pacing takes milliseconds, not minutes.
  const plan = { perMinute: 60_000, perHour: 600_000, perDay: 6_000_000 };
  const emulators = await startEmulators({
    vendors: ['apollo'],
    seed: 1,
    timeScale: 1000,
    limits: { apollo: plan },
  });
  const view = emulators.emulators.apollo!.emulator.view;
  const truth = emulators.truth;
  // Two people Apollo knows well and one it has no record of; the directory knows all three, with phones.
  const hasPhone = (person: TruthPerson) => truth.personFields(person).phone !== undefined;
  const apolloKnows = (person: TruthPerson) => {
    const record = view.person(person);
    return (
      record?.title !== undefined &&
      record.seniority !== undefined &&
      record['company.industry'] !== undefined
    );
  };
  const knownToApollo = truth.people.filter((person) => hasPhone(person) && apolloKnows(person)).slice(0, 2);
  const unknownToApollo = truth.people.find((person) => hasPhone(person) && view.person(person) === null)!;
  const staff = [...knownToApollo, unknownToApollo];
  const people = new Map<string, DirectoryPerson>(
    staff.map((person) => {
      const fields = truth.personFields(person);
      const entry: DirectoryPerson = {
        title: fields.title!,
        department: fields.department,
        phone: fields.phone,
        company: fields['company.name']!,
      };
      return [person.email, entry];
    }),
  );
  const token = `idt_${randomBytes(16).toString('hex')}`;
  const api = await startInternalApi(people, token);

  const apollo = createApollo({
    apiKey: emulators.credentials.apollo!.apiKey,
    baseUrl: emulators.urls.apollo!.apiUrl,
    rateLimits: plan,
  });
  const directory = createInternalDirectory({ baseUrl: api.url, apiKey: token });
  const engine = createEnrichmentEngine({
    providers: [apollo, directory],
    fields: ['title', 'seniority', 'phone', 'company.name', 'company.industry'],
  });
  const leads = [...staff.map((person) => person.email), 'nobody@unknown-contract-domain.com'].map((email) =>
    createLead({ email }),
  );
  for await (const outcome of engine.enrichMany(leads, { concurrency: 1 })) {
    const { lead } = outcome;
    const from = (field: 'title' | 'phone' | 'company.name') =>
      lead.provenance[field]?.providerId ?? 'nobody';
    console.log(
      `${lead.email} -> ${outcome.status}: title "${lead.title ?? '?'}" from ${from('title')}, ` +
        `phone ${lead.phone ?? '?'} from ${from('phone')}, company "${lead.company?.name ?? '?'}" from ` +
        `${from('company.name')}; missing: ${outcome.missing.join(', ') || 'none'}; ${outcome.credits} credits`,
    );
  }
  const stats = engine.stats();
  console.log(
    JSON.stringify({
      apollo: { calls: stats.providers.apollo?.calls, matches: stats.providers.apollo?.matches },
      'internal-directory': {
        calls: stats.providers['internal-directory']?.calls,
        matches: stats.providers['internal-directory']?.matches,
      },
      credits: stats.credits,
    }),
  );
  await engine.close();
  await apollo.close();
  await api.close();
  await emulators.close();
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
