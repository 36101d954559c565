/**
 * End to end against the emulator server (figure 3 of the pipeline issue): 20,000 leads (every person of the
 * seeded ground truth, seed 1) through `createLeadPipeline`, enriched by Apollo then Clearbit (the waterfall) and
 * upserted into HubSpot, every vendor served over HTTP by `startEmulators` with its DEFAULT limits, on a clock
 * `BENCH_TIME_SCALE` (default 1,250) times faster than real time.
 *
 * Prints one `e2e-quota` line per vendor and one `e2e-terminal` line:
 * - `{case: 'e2e-quota', provider, calls, allowedPerSecond, achievedPerSecond, ratio, '429s', ...}`: `calls` are
 *   the requests the vendor's quota counts that it accepted (Apollo: `people/bulk_match`; Clearbit: the person API;
 *   HubSpot: every request), `'429s'` the emulator's `<vendor>.429` counter.
 * - `{case: 'e2e-terminal', leads, done, rejected, deadLettered, accounted, durationMs, ...}`: `accounted` is
 *   `done + rejected + deadLettered === leads`.
 *
 * Quota ratio. A quota can only be used up by a vendor whose limit is the bottleneck while it is being called,
 * so the ratio is measured over that vendor's busy window: from its first to its last request (arrival times on
 * the emulated clock, from the emulator's request log). `allowed` is the most requests the emulator's own windows
 * (fixed and aligned to the epoch, as the emulator counts them; HubSpot's ten-second window rolling) admit within
 * that window; `ratio` is accepted requests over allowed, and the per-second figures are both divided by the busy
 * window's real length. With the default limits the bottleneck is Apollo: its bulk endpoint allows 20 calls a
 * minute, 60 an hour and 600 a day (a tenth of the single-record 200 / 600 / 6,000), 10 leads a call, so 6,000
 * leads an emulated day, against Clearbit's 600 lookups a minute (864,000 a day) and HubSpot's 250,000 calls
 * of 100 contacts a day. Every lead waits for Apollo first, so Clearbit and HubSpot are called at Apollo's pace
 * and their ratios are small by construction (`bottleneck: false`); the 0.95 goal applies to the bottleneck.
 * 20,000 leads are 2,000 Apollo calls: more than three emulated days of Apollo's daily quota.
 * `ratioFromFirstCall` counts the same windows started at the first call instead (as the engine's limiter,
 * created on first use, starts them): the gap between the two ratios is what window alignment costs. It can pass
 * 1, the limiter's windows drifting later than that (see below).
 *
 * Shortened clock. The emulators measure their windows on the emulated clock; the engine's limiters run on real
 * time. So the adapters declare the emulator's default limits with each window shortened by the time scale
 * (custom `windows` named as the adapters' header mappings name them, so header corrections land on them), and
 * every duration that stands for vendor time is shortened the same way: the limiters' `paceWindowsUpToMs` (so
 * the same windows are paced or counted as at real speed), the 429 backoff, the quota cool-down, Clearbit's
 * queued-lookup waits and HubSpot's `windowMs`. Reset times in Clearbit's headers are emulated epoch seconds:
 * the providers are wrapped so every rate-limit report reaches the limiter in real time. The adapters'
 * `rateLimits` settings cannot express this (Apollo's takes per-minute/hour/day counts on real windows:
 * multiplying them by the time scale keeps the average rate but lets a real hour's quota burst into one
 * emulated hour), hence the wrapper's `capabilities.rateLimits`.
 *
 * Batching. A batch takes its leads when the limiter grants its call's slot, so once Apollo's quota binds the
 * leads that gathered while the call waited ride along (`recordsPerCall` 10). `BENCH_BATCH_LINGER_MS` (default an
 * emulated minute) only delays the first call of each burst.
 *
 * Window alignment. The emulator's windows are fixed and start on the clock (every emulated minute, hour and
 * midnight), as Apollo's do. Apollo's policy declares `alignedWindows`, and the limiters run on `limiterNow`
 * (emulated time divided by the scale), so their windows refill on the emulator's boundaries. `ratioFromFirstCall`
 * counts windows started at the first call instead, so it can pass 1. `BENCH_ALIGN=1` also starts the run at an
 * emulated midnight. A boundary is refilled only once the limiters' clock shows it: a timer firing a moment early
 * used to refill the hour twice, one 429 an hour. `BENCH_VERBOSE=1` prints any 429 with the emulator's window
 * counts; at the default scale an emulated minute is 48 real ms, so timer jitter is seconds of vendor time.
 *
 * Concurrency 1,000 (default 16): when an Apollo hour opens, 60 full batches (600 leads) must be waiting.
 *
 * Run: pnpm exec tsx --conditions=@leadpipe/source bench/e2e.bench.ts
 * Env: BENCH_LEADS (default 20,000), BENCH_TIME_SCALE (default 1,250; 10,000 over it should be a whole
 * number, HubSpot's `windowMs` being whole milliseconds), BENCH_CONCURRENCY (default 1,000),
 * BENCH_BATCH_LINGER_MS (default an emulated minute), BENCH_ALIGN, BENCH_VERBOSE (each 429 with the
 * emulator's window counts, and Apollo's calls and records per emulated hour, on stderr).
 */
import {
  ApiCallError,
  ConfigurationError,
  createLeadPipeline,
  type EnrichCallOptions,
  type EnrichmentProviderV1,
  type LeadField,
  type RateLimitPolicy,
  type RateLimitState,
  registerSecret,
} from '../packages/core/src/index.js';
import { resolveHubspotLimits } from '../packages/crm-hubspot/src/hubspot-limits.js';
import { createHubspot, hubspotDescriptor } from '../packages/crm-hubspot/src/index.js';
import {
  APOLLO_BULK_DIVISOR,
  DEFAULT_APOLLO_PLAN_LIMITS,
} from '../packages/provider-apollo/src/apollo-limits.js';
import { createApollo } from '../packages/provider-apollo/src/index.js';
import { createClearbit } from '../packages/provider-clearbit/src/index.js';
import { type RecordedRequest, startEmulators } from '../packages/testkit/src/index.js';

const LEADS = Number(process.env.BENCH_LEADS ?? 20_000);
const TIME_SCALE = Number(process.env.BENCH_TIME_SCALE ?? 1_250);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 1_000);
/**
 * How long a lead waits for company before an Apollo batch goes out: an emulated minute (the engine's default,
 * 10 ms, is far shorter than the time between two Apollo calls once its quota binds, so batches go out nearly
 * empty and every call spends a whole unit of quota; see the report).
 */
const BATCH_LINGER_MS = Number(process.env.BENCH_BATCH_LINGER_MS ?? Math.ceil(60_000 / TIME_SCALE));
/** Start the run at an emulated midnight, so the limiters' windows line up with the emulator's. */
const ALIGN = process.env.BENCH_ALIGN === '1';
const SEED = 1;

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

for (const [name, value] of [
  ['BENCH_LEADS', LEADS],
  ['BENCH_TIME_SCALE', TIME_SCALE],
  ['BENCH_CONCURRENCY', CONCURRENCY],
  ['BENCH_BATCH_LINGER_MS', BATCH_LINGER_MS],
] as const) {
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new ConfigurationError('invalid_configuration', {
      message: `${name}: must be a whole number of at least 1, got ${String(value)}`,
    });
  }
}

/** A vendor window as the emulator counts it, in emulated ms. */
interface QuotaWindow {
  /** Name, as the adapter's header mapping names the window (so header corrections match it). */
  readonly name: string;
  /** Requests allowed per interval. */
  readonly limit: number;
  /** Interval, emulated ms. */
  readonly intervalMs: number;
  /** A rolling window (HubSpot's ten seconds); else fixed and aligned to the epoch. */
  readonly rolling?: boolean;
}

/** Apollo's bulk endpoints: a tenth of the single-record plan limits (the emulator's and the adapter's default). */
const bulk = (limit: number) => Math.max(1, Math.floor(limit / APOLLO_BULK_DIVISOR));
const APOLLO_WINDOWS: readonly QuotaWindow[] = [
  { name: 'minute', limit: bulk(DEFAULT_APOLLO_PLAN_LIMITS.perMinute), intervalMs: MINUTE },
  { name: 'hour', limit: bulk(DEFAULT_APOLLO_PLAN_LIMITS.perHour), intervalMs: HOUR },
  { name: 'day', limit: bulk(DEFAULT_APOLLO_PLAN_LIMITS.perDay), intervalMs: DAY },
];
/** Clearbit's documented 600 lookups a minute per API (the emulator's and the adapter's default). */
const CLEARBIT_WINDOWS: readonly QuotaWindow[] = [{ name: 'minute', limit: 600, intervalMs: MINUTE }];
const hubspotLimits = resolveHubspotLimits('free');
/** HubSpot Free: 100 calls per rolling 10 s, 250,000 a day (the emulator's and the adapter's default). */
const HUBSPOT_WINDOWS: readonly QuotaWindow[] = [
  { name: '10s', limit: hubspotLimits.tenSecondly, intervalMs: hubspotLimits.windowMs, rolling: true },
  { name: 'day', limit: hubspotLimits.daily, intervalMs: DAY },
];

/** The windows on the real clock: each interval shortened by the time scale. */
function realTimePolicy(windows: readonly QuotaWindow[], maxConcurrent?: number): RateLimitPolicy {
  return {
    windows: windows.map(({ name, limit, intervalMs, rolling }) => ({
      name,
      limit,
      intervalMs: intervalMs / TIME_SCALE,
      aligned: rolling !== true,
    })),
    ...(maxConcurrent === undefined ? {} : { maxConcurrent }),
  };
}

/**
 * What the enrichment asks for: the waterfall benchmark's fields, without `phone` (Apollo sells phones only
 * through an asynchronous reveal).
 */
const FIELDS: readonly LeadField[] = [
  'title',
  'seniority',
  'department',
  'linkedinUrl',
  'location',
  'company.name',
  'company.industry',
  'company.headcount',
  'company.annualRevenue',
  'company.technologies',
];

const emulators = await startEmulators({
  vendors: ['apollo', 'clearbit', 'hubspot'],
  seed: SEED,
  timeScale: TIME_SCALE,
  // Every request's arrival time, for the busy windows (a few tens of thousands at 20,000 leads).
  maxRecordedRequests: 1_000_000,
});
const apolloEmulator = emulators.emulators.apollo!;
const clock = apolloEmulator.context.clock;
const apolloUrls = emulators.urls.apollo!;
const clearbitUrls = emulators.urls.clearbit!;
const hubspotUrls = emulators.urls.hubspot!;
const apolloKey = emulators.credentials.apollo!.apiKey!;
const clearbitKey = emulators.credentials.clearbit!.apiKey!;
const hubspotToken = emulators.credentials.hubspot!.privateAppToken!;
for (const secret of [apolloKey, clearbitKey, hubspotToken]) registerSecret(secret);

/**
 * The limiters' clock: emulated time divided by the time scale. It runs at real speed, and its multiples of a
 * shortened interval fall exactly on the emulator's boundaries, so aligned windows (Apollo's) refill when the
 * emulator's do.
 */
const limiterNow = () => clock.now() / TIME_SCALE;
/** When, on the limiters' clock, the emulated clock shows `emulatedMs`. */
const realAt = (emulatedMs: number) => emulatedMs / TIME_SCALE;

/**
 * A vendor's rate-limit report moved to the real clock: reset times (emulated epoch ms) become real ones,
 * interval lengths and vendor-stated waits shrink by the time scale. A wait derived from a reset is derived
 * again from the moved reset, as the HTTP helper derives it.
 */
function toRealTime(state: RateLimitState): RateLimitState {
  const now = limiterNow();
  const windows = state.windows.map((window) => ({
    ...window,
    ...(window.resetAt === undefined ? {} : { resetAt: realAt(window.resetAt) }),
    ...(window.intervalMs === undefined ? {} : { intervalMs: window.intervalMs / TIME_SCALE }),
  }));
  const resets = windows.flatMap((window) =>
    window.remaining === 0 && window.resetAt !== undefined ? [window.resetAt - now] : [],
  );
  const retryAfterMs =
    state.retryAfterMs === undefined
      ? undefined
      : resets.length > 0
        ? Math.max(0, ...resets)
        : state.retryAfterMs / TIME_SCALE;
  return { windows, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
}

/** A failed call's rate-limit state and wait moved to the real clock (the error is otherwise unchanged). */
function errorInRealTime(error: unknown): unknown {
  if (!ApiCallError.isInstance(error) || error.rateLimit === undefined) return error;
  const rateLimit = toRealTime(error.rateLimit);
  const now = limiterNow();
  const resets = rateLimit.windows.flatMap((window) =>
    window.resetAt !== undefined && window.resetAt > now ? [window.resetAt - now] : [],
  );
  const retryAfterMs =
    error.retryAfterMs === undefined
      ? undefined
      : (rateLimit.retryAfterMs ??
        (resets.length > 0 ? Math.min(...resets) : error.retryAfterMs / TIME_SCALE));
  return new ApiCallError(error.code, {
    message: error.message,
    providerId: error.providerId,
    status: error.status,
    url: error.url,
    method: error.method,
    vendorCode: error.vendorCode,
    isRetryable: error.isRetryable,
    rateLimit,
    retryAfterMs,
    cause: error,
  });
}

/**
 * The provider as the engine sees it on a shortened clock: `capabilities.rateLimits` replaced by the vendor's
 * windows on the real clock, rate-limit reports and 429 errors moved to real time. Calls are forwarded as is.
 */
function onShortenedClock(provider: EnrichmentProviderV1, rateLimits: RateLimitPolicy): EnrichmentProviderV1 {
  const translate = (options: EnrichCallOptions): EnrichCallOptions => {
    const report = options.onRateLimit;
    return report === undefined ? options : { ...options, onRateLimit: (state) => report(toRealTime(state)) };
  };
  const batch = provider.doEnrichBatch?.bind(provider);
  const limiterKey = provider.limiterKey?.bind(provider);
  return {
    specificationVersion: 'v1',
    providerId: provider.providerId,
    capabilities: { ...provider.capabilities, rateLimits },
    ...(limiterKey === undefined ? {} : { limiterKey }),
    doEnrich: async (request, options) => {
      try {
        return await provider.doEnrich(request, translate(options));
      } catch (error) {
        throw errorInRealTime(error);
      }
    },
    ...(batch === undefined
      ? {}
      : {
          doEnrichBatch: async (requests, options) => {
            try {
              return await batch(requests, translate(options));
            } catch (error) {
              throw errorInRealTime(error);
            }
          },
        }),
  };
}

/** Real ms standing for `emulatedMs` of vendor time. */
const shortened = (emulatedMs: number) => emulatedMs / TIME_SCALE;
/** The limiters' settings on the shortened clock: windows up to an emulated minute are paced, as at real speed. */
const limiterTiming = {
  paceWindowsUpToMs: shortened(MINUTE),
  rateLimitBackoffMs: shortened(SECOND),
  now: limiterNow,
};

const apollo = createApollo({ apiKey: apolloKey, baseUrl: apolloUrls.apiUrl });
const clearbit = createClearbit({
  apiKey: clearbitKey,
  baseUrl: clearbitUrls.baseUrl,
  // Queued (202) lookups index after 30 emulated seconds: ask again on the emulated clock.
  queuedRetryDelayMs: Math.ceil(shortened(5 * SECOND)),
  queuedMaxWaitMs: Math.ceil(shortened(120 * SECOND)),
});
const hubspot = createHubspot({
  accessToken: hubspotToken,
  baseUrl: hubspotUrls.baseUrl,
  // Whole milliseconds: rounded up, so the adapter never paces faster than the emulator allows.
  rateLimits: { windowMs: Math.ceil(shortened(hubspotLimits.windowMs)) },
});

const truth = emulators.truth;
if (LEADS > truth.people.length) {
  throw new ConfigurationError('invalid_configuration', {
    message: `BENCH_LEADS: at most ${truth.people.length} (the ground truth's people), got ${LEADS}`,
  });
}
/** The input: rows as a CSV export has them, one per person of the ground truth. */
const rows = truth.people.slice(0, LEADS).map((person) => ({
  Email: person.email,
  'First Name': person.firstName,
  'Last Name': person.lastName,
  Company: truth.companyOf(person).name,
}));

const pipeline = createLeadPipeline({
  enrichment: {
    providers: [
      onShortenedClock(apollo, realTimePolicy(APOLLO_WINDOWS, DEFAULT_APOLLO_PLAN_LIMITS.maxConcurrent)),
      onShortenedClock(clearbit, realTimePolicy(CLEARBIT_WINDOWS)),
    ],
    fields: FIELDS,
    // As the waterfall benchmark: Apollo's company estimates count as filled, Clearbit's surer ones replace them.
    mergePolicy: 'highestConfidence',
    minConfidence: 0.5,
    limits: limiterTiming,
    quotaCoolDownMs: shortened(HOUR),
    batchLingerMs: BATCH_LINGER_MS,
    breaker: { coolDownMs: shortened(30 * SECOND) },
  },
  crms: [{ adapter: hubspot, mapping: hubspotDescriptor.defaultMapping }], // the CLI's mapping
  crmOptions: { limits: limiterTiming },
  concurrency: CONCURRENCY,
  progressIntervalMs: 15_000,
});
pipeline.on('pipeline.progress', (progress) => {
  console.error(
    `e2e: ${progress.done} done, ${progress.rejected} rejected, ${progress.deadLettered} dead-lettered of ${LEADS} ` +
      `after ${Math.round(progress.elapsedMs / 1000)} s (${(progress.elapsedMs * TIME_SCALE) / HOUR} emulated hours)`,
  );
});

if (ALIGN) {
  const midnight = (Math.floor(clock.now() / DAY) + 1) * DAY;
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, realAt(midnight) - limiterNow())));
}
const report = await pipeline.run(rows);
await pipeline.close();
apollo.close();
await hubspot.close();

/**
 * The most requests `windows` (shortest first, each interval a multiple of the one before) admit at instants
 * within [from, to] (emulated ms, inclusive). Fixed windows start at multiples of their interval past `anchor`;
 * a rolling window (only as the shortest) admits `limit` per interval of any placement.
 */
function capacity(
  windows: readonly QuotaWindow[],
  from: number,
  to: number,
  anchor: number,
  level = windows.length - 1,
): number {
  const window = windows[level]!;
  if (window.rolling) return window.limit * Math.ceil((to - from + 1) / window.intervalMs);
  let total = 0;
  const first = Math.floor((from - anchor) / window.intervalMs);
  const last = Math.floor((to - anchor) / window.intervalMs);
  for (let index = first; index <= last; index++) {
    if (level === 0) {
      total += window.limit;
      continue;
    }
    const start = Math.max(from, anchor + index * window.intervalMs);
    const end = Math.min(to, anchor + (index + 1) * window.intervalMs - 1);
    total += Math.min(window.limit, capacity(windows, start, end, anchor, level - 1));
  }
  return total;
}

/** Leads a vendor's windows let through per emulated day, at `recordsPerCall`: the tightest window decides. */
function leadsPerDay(windows: readonly QuotaWindow[], recordsPerCall: number): number {
  return Math.min(...windows.map((window) => (window.limit * recordsPerCall * DAY) / window.intervalMs));
}

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

interface Vendor {
  readonly provider: 'apollo' | 'clearbit' | 'hubspot';
  /** The requests the vendor's quota counts. */
  readonly counted: (request: RecordedRequest) => boolean;
  readonly windows: readonly QuotaWindow[];
  readonly recordsPerCall: number;
  /** Records one request carried. */
  readonly records: (request: RecordedRequest) => number;
}

/** Length of the array `key` of a request's JSON body (0 when there is none). */
function bodyCount(request: RecordedRequest, key: string): number {
  try {
    const body = JSON.parse(request.body) as Record<string, unknown>;
    const list = body[key];
    return Array.isArray(list) ? list.length : 0;
  } catch {
    return 0;
  }
}

const vendors: readonly Vendor[] = [
  {
    provider: 'apollo',
    counted: (request) => request.path.endsWith('/people/bulk_match'),
    windows: APOLLO_WINDOWS,
    recordsPerCall: 10,
    records: (request) => bodyCount(request, 'details'),
  },
  {
    provider: 'clearbit',
    counted: (request) => !request.path.includes('/companies/'),
    windows: CLEARBIT_WINDOWS,
    recordsPerCall: 1,
    records: () => 1,
  },
  {
    provider: 'hubspot',
    counted: () => true,
    windows: HUBSPOT_WINDOWS,
    recordsPerCall: 100,
    records: (request) => bodyCount(request, 'inputs'),
  },
];
const bottleneckLeadsPerDay = Math.min(
  ...vendors.map((vendor) => leadsPerDay(vendor.windows, vendor.recordsPerCall)),
);

const counters = emulators.counters;
const quotaLines = vendors.map((vendor) => {
  const requests = emulators.emulators[vendor.provider]!.requests.all().filter(vendor.counted);
  const accepted = requests.filter((request) => request.status !== 429);
  const first = requests[0]?.at ?? 0;
  const last = requests[requests.length - 1]?.at ?? 0;
  const busyRealSeconds = (last - first) / TIME_SCALE / SECOND;
  const allowed = requests.length === 0 ? 0 : capacity(vendor.windows, first, last, 0);
  const allowedFromFirstCall = requests.length === 0 ? 0 : capacity(vendor.windows, first, last, first);
  const perSecond = (count: number) => (busyRealSeconds > 0 ? round(count / busyRealSeconds, 2) : 0);
  return {
    case: 'e2e-quota',
    provider: vendor.provider,
    calls: accepted.length,
    allowedPerSecond: perSecond(allowed),
    achievedPerSecond: perSecond(accepted.length),
    ratio: allowed > 0 ? round(accepted.length / allowed) : 0,
    '429s': counters.get(`${vendor.provider}.429`),
    bottleneck: leadsPerDay(vendor.windows, vendor.recordsPerCall) === bottleneckLeadsPerDay,
    recordsPerCall:
      accepted.length === 0
        ? 0
        : round(accepted.reduce((sum, request) => sum + vendor.records(request), 0) / accepted.length, 2),
    ratioFromFirstCall: allowedFromFirstCall > 0 ? round(accepted.length / allowedFromFirstCall) : 0,
    allowed,
    busyEmulatedHours: round((last - first) / HOUR, 2),
    httpRequests: counters.get(`${vendor.provider}.http.requests`),
    endpoints: Object.fromEntries(
      Object.entries(counters.snapshot())
        .filter(([name]) => name.startsWith(`${vendor.provider}.http.endpoint.`))
        .map(([name, count]) => [name.slice(`${vendor.provider}.http.endpoint.`.length), count]),
    ),
  };
});
for (const line of quotaLines) console.log(JSON.stringify(line));

if (process.env.BENCH_VERBOSE) {
  // Apollo's people calls per emulated hour: calls and the records they carried.
  const perHour = new Map<number, { calls: number; records: number }>();
  for (const request of apolloEmulator.requests.all()) {
    if (!request.path.includes('/people/')) continue;
    const hour = Math.floor(request.at / HOUR);
    const entry = perHour.get(hour) ?? { calls: 0, records: 0 };
    entry.calls += 1;
    entry.records += request.path.endsWith('bulk_match')
      ? ((JSON.parse(request.body) as { details?: unknown[] }).details?.length ?? 0)
      : 1;
    perHour.set(hour, entry);
  }
  console.error(
    `e2e: apollo people calls/records per emulated hour: ${[...perHour]
      .map(
        ([hour, entry]) =>
          `${new Date(hour * HOUR).toISOString().slice(8, 13)} ${entry.calls}/${entry.records}`,
      )
      .join(', ')}`,
  );
  // Each 429 with what the emulator had counted in its windows (of the same endpoint) when it arrived.
  for (const vendor of vendors) {
    const requests = emulators.emulators[vendor.provider]!.requests.all().filter(vendor.counted);
    for (const refused of requests.filter((request) => request.status === 429)) {
      const windows = vendor.windows.map((window) => {
        const start = window.rolling
          ? refused.at - window.intervalMs
          : Math.floor(refused.at / window.intervalMs) * window.intervalMs;
        const used = requests.filter(
          (request) => request.status !== 429 && request.at >= start && request.at <= refused.at,
        ).length;
        return `${window.name} ${used}/${window.limit}`;
      });
      console.error(
        `e2e: ${vendor.provider} 429 at ${new Date(refused.at).toISOString()} ${refused.path}: ${windows.join(', ')}`,
      );
    }
  }
}

const { done, rejected, deadLettered } = report.counts;
const accounted = done + rejected + deadLettered === LEADS;
console.log(
  JSON.stringify({
    case: 'e2e-terminal',
    leads: LEADS,
    done,
    rejected,
    deadLettered,
    accounted,
    durationMs: Math.round(report.durationMs),
    status: report.status,
    timeScale: TIME_SCALE,
    emulatedHours: round((report.durationMs * TIME_SCALE) / HOUR, 2),
    goals: {
      bottleneckRatioAtLeast095: quotaLines.every((line) => !line.bottleneck || line.ratio >= 0.95),
      no429s: quotaLines.every((line) => line['429s'] === 0),
      everyLeadTerminal: accounted && report.counts.unfinished === 0,
    },
  }),
);
await emulators.close();
