/**
 * HubSpot sync benchmark: 10,000 leads into the HubSpot emulator, served over
 * HTTP with a clock 5 times faster (HubSpot's 100 calls per 10 seconds
 * become 100 per 2 real seconds; `BENCH_TIME_SCALE` changes it). The
 * emulator runs in this process: above a scale of about 5 the process itself
 * (emulator, engine and adapter on one thread, about 10 ms of CPU per
 * 100-contact call) becomes the bottleneck rather than the rate limit.
 * Prints one JSON line per case.
 *
 * 1. `leadpipe`: `createCrmSync` with this adapter (Free tier, window
 *    shortened to match the clock). Goals: exactly 100 upsert calls, 0 429s,
 *    achieved call rate / allowed rate >= 0.95.
 * 2. `leadpipe-rerun`: the same leads again, one window later: 100 calls, no contact created.
 * 3. `hubspot-api-client-*`: the same sync written the way a user would with
 *    `@hubspot/api-client` 13.5.0 (`batchApi.upsert` per 100 contacts):
 *    `sequential` (one call after another, no limiter), `limiter` (the SDK's
 *    own `DEFAULT_LIMITER_OPTIONS`, minTime scaled to the clock, 6 at once,
 *    `numberOfApiCallRetries: 3`) and `parallel` (every call at once, retries 3).
 *
 * Run: pnpm exec tsx --conditions=@leadpipe/source packages/crm-hubspot/bench/sync.bench.ts
 * (BENCH_LEADS overrides the lead count).
 */
import { Client } from '@hubspot/api-client';
import { createCrmSync, createLead, defineFieldMapping, type Lead } from '@leadpipe/core';
import { type EmulatorInstance, startEmulators } from '@leadpipe/testkit';
import { createHubspot } from '../src/index.js';

const LEADS = Number(process.env.BENCH_LEADS ?? 10_000);
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 5);
const TEN_SECONDLY = 100;
const WINDOW_MS = 10_000;
const UPSERT_PATH = '/crm/v3/objects/contacts/batch/upsert';

const mapping = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [
    { from: 'firstName', to: 'firstname' },
    { from: 'lastName', to: 'lastname' },
    { from: 'title', to: 'jobtitle' },
  ],
});

const leads: Lead[] = Array.from({ length: LEADS }, (_, index) =>
  createLead({
    email: `bench${index}@company${index % 500}.example`,
    firstName: `First${index}`,
    lastName: `Last${index}`,
    title: `Title ${index % 40}`,
  }),
);

interface Served {
  readonly instance: EmulatorInstance<'hubspot'>;
  readonly baseUrl: string;
  readonly token: string;
  close(): Promise<void>;
}

async function serve(): Promise<Served> {
  const running = await startEmulators({
    vendors: ['hubspot'],
    seed: 1,
    timeScale: TIME_SCALE,
    limits: { hubspot: { tenSecondly: TEN_SECONDLY, windowMs: WINDOW_MS } },
  });
  const instance = running.emulators.hubspot!;
  return {
    instance,
    baseUrl: running.urls.hubspot!.baseUrl,
    token: instance.emulator.credentials.privateAppToken,
    close: () => running.close(),
  };
}

/** Calls, 429s and the achieved rate of upsert calls (emulated time), over the allowed rate. */
function measure(served: Served, startedAt: number) {
  const counters = served.instance.counters;
  const upserts = served.instance.requests
    .find('POST', UPSERT_PATH)
    .filter((request) => request.status !== 429);
  const first = upserts[0]?.at;
  const last = upserts.at(-1)?.at;
  const span = first === undefined || last === undefined ? 0 : last - first;
  const allowedPerMs = TEN_SECONDLY / WINDOW_MS;
  const achievedPerMs =
    upserts.length > 1 && span > 0 ? (upserts.length - 1) / span : Number.POSITIVE_INFINITY;
  return {
    durationMs: Math.round(performance.now() - startedAt),
    upsertCalls: counters.get(`hubspot.endpoint.POST ${UPSERT_PATH}`),
    apiCalls: counters.get('hubspot.calls'),
    http429: counters.get('hubspot.429'),
    rateOverAllowed: Number.isFinite(achievedPerMs)
      ? Number((achievedPerMs / allowedPerMs).toFixed(3))
      : null,
    contacts: served.instance.emulator.contacts().length,
  };
}

function print(name: string, figures: Record<string, unknown>): void {
  console.log(
    JSON.stringify({
      bench: 'crm-hubspot-sync',
      case: name,
      leads: LEADS,
      timeScale: TIME_SCALE,
      ...figures,
    }),
  );
}

/** One small sync against a throw-away emulator, so the measured runs do not pay for JIT warm-up. */
async function warmUp(): Promise<void> {
  const served = await serve();
  const adapter = createHubspot({
    accessToken: served.token,
    baseUrl: served.baseUrl,
    rateLimits: { windowMs: WINDOW_MS / TIME_SCALE },
  });
  const sync = createCrmSync({ crms: [{ adapter, mapping }] });
  await sync.sync(leads.slice(0, 1_000));
  await sync.close();
  await adapter.close();
  await served.close();
}

async function leadpipeCases(): Promise<void> {
  await warmUp();
  const served = await serve();
  const adapter = createHubspot({
    accessToken: served.token,
    baseUrl: served.baseUrl,
    rateLimits: { windowMs: WINDOW_MS / TIME_SCALE },
  });
  const sync = createCrmSync({
    crms: [{ adapter, mapping }],
    concurrency: Number(process.env.BENCH_CONCURRENCY ?? 2),
  });
  try {
    let startedAt = performance.now();
    const first = await sync.sync(leads);
    print('leadpipe', {
      ...measure(served, startedAt),
      created: first.crms[0]?.created,
      deadLettered: first.crms[0]?.deadLettered,
      goals: { upsertCalls: LEADS / 100, http429: 0, rateOverAllowed: 0.95 },
    });
    // HubSpot's window is rolling: the first run's calls still fill it. Start the re-run one window later,
    // as a scheduled re-run would, so its rate is not the first run's tail.
    await new Promise((resolve) => setTimeout(resolve, WINDOW_MS / TIME_SCALE));
    served.instance.counters.reset();
    served.instance.requests.clear();
    startedAt = performance.now();
    const second = await sync.sync(leads);
    print('leadpipe-rerun', {
      ...measure(served, startedAt),
      created: second.crms[0]?.created,
      updated: second.crms[0]?.updated,
    });
  } finally {
    await sync.close();
    await adapter.close();
    await served.close();
  }
}

function chunks(): { id: string; idProperty: string; properties: Record<string, string> }[][] {
  const out: { id: string; idProperty: string; properties: Record<string, string> }[][] = [];
  for (let start = 0; start < leads.length; start += 100) {
    out.push(
      leads.slice(start, start + 100).map((lead) => ({
        id: lead.email!,
        idProperty: 'email',
        properties: {
          firstname: lead.firstName ?? '',
          lastname: lead.lastName ?? '',
          jobtitle: lead.title ?? '',
        },
      })),
    );
  }
  return out;
}

async function sdkCase(name: string, mode: 'sequential' | 'limiter' | 'parallel'): Promise<void> {
  const served = await serve();
  const client = new Client({
    accessToken: served.token,
    basePath: served.baseUrl,
    ...(mode === 'sequential' ? {} : { numberOfApiCallRetries: 3 }),
    ...(mode === 'limiter'
      ? { limiterOptions: { minTime: 1000 / 9 / TIME_SCALE, maxConcurrent: 6, id: 'hubspot-client-limiter' } }
      : {}),
  });
  const errors: string[] = [];
  const upsert = (inputs: ReturnType<typeof chunks>[number]) =>
    client.crm.contacts.batchApi.upsert({ inputs }).then(
      () => undefined,
      (error: unknown) => {
        errors.push(String((error as { code?: number }).code ?? error));
      },
    );
  const startedAt = performance.now();
  try {
    if (mode === 'sequential') {
      for (const inputs of chunks()) await upsert(inputs);
    } else {
      await Promise.all(chunks().map(upsert));
    }
    print(name, { ...measure(served, startedAt), failedCalls: errors.length });
  } finally {
    await served.close();
  }
}

// The SDK logs every retry with console.error; keep the JSON lines clean.
console.error = () => undefined;
await leadpipeCases();
await sdkCase('hubspot-api-client-sequential', 'sequential');
await sdkCase('hubspot-api-client-limiter', 'limiter');
await sdkCase('hubspot-api-client-parallel', 'parallel');
