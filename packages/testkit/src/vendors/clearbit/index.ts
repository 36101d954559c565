import { createHmac } from 'node:crypto';
import { parseOptions } from '@leadpipe/core/adapter-kit';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { EmulatorClock, EmulatorContext, VendorEmulator } from '../../emulator/context.js';
import { uncheckedOption } from '../../emulator/option-schemas.js';
import { createFixedWindowLimiter, type LimitDecision } from '../../emulator/rate-limit.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../emulator/webhooks.js';
import { coverageOverridesSchema } from '../../truth/coverage.js';
import {
  CLEARBIT_COVERAGE,
  type CoverageOverrides,
  createGroundTruth,
  createProviderView,
  type GroundTruth,
  type ProviderView,
  resolveCoverage,
} from '../../truth/index.js';
import { unitHash } from '../../truth/random.js';
import { deterministicSecret } from '../shared/util.js';
import { clearbitCompany, clearbitPerson } from './shapes.js';

export { clearbitCompany, clearbitEmployeesRange, clearbitId, clearbitPerson } from './shapes.js';

/** Options of {@link createClearbitEmulator}. */
export interface ClearbitEmulatorOptions {
  /** The population to answer from. Default: `createGroundTruth({ seed: context.seed })`. */
  readonly truth?: GroundTruth;
  /** Coverage and error rates over the defaults ({@link CLEARBIT_COVERAGE}). */
  readonly coverage?: CoverageOverrides;
  /** The secret key (`sk_…`). Default: derived from the seed. */
  readonly apiKey?: string;
  /** Requests per minute per API (person, company) and key. Default 600. Streaming is exempt. */
  readonly perMinute?: number;
  /** `X-RateLimit-Reset` as epoch seconds or as seconds until reset (UNVERIFIED upstream). Default `epoch-seconds`. */
  readonly rateLimitReset?: 'epoch-seconds' | 'seconds-remaining';
  /** Send `Retry-After` on 429 (not documented upstream). Default false. */
  readonly retryAfterOn429?: boolean;
  /** Share of records not yet indexed: their first lookup answers 202. Default 0.2. */
  readonly queuedShare?: number;
  /** Emulated ms a queued record takes to index. Default 30,000. */
  readonly indexDelayMs?: number;
  /** Body of a 202: `{"error":{"type":"queued"}}` (the SDK's tests) or empty. Default `queued-error`. */
  readonly queuedBody?: 'queued-error' | 'empty';
  /** Billed lookups (unique email or domain per period) allowed before 402. Default unlimited. */
  readonly monthlyQuota?: number;
  /** Emulated ms a streaming call may hold the connection. Default 60,000. */
  readonly streamTimeoutMs?: number;
  /** Send the webhook for every lookup with `webhook_url`, not only queued ones. Default false. */
  readonly webhookOnEveryLookup?: boolean;
  /**
   * The webhook `type` of a combined lookup (whose `body` is `{person, company}`).
   * The reference documents `type` as `"person"` and similar without naming the
   * combined value (UNVERIFIED); Clearbit integrations such as Hull's also
   * handle `"person_company"`. Default `person`.
   */
  readonly combinedWebhookType?: 'person' | 'person_company';
}

/** The Clearbit emulator: a {@link VendorEmulator} plus what tests inspect. */
export interface ClearbitEmulator extends VendorEmulator {
  /** Always `clearbit`. */
  readonly vendor: 'clearbit';
  /** The population answered from. */
  readonly truth: GroundTruth;
  /** What Clearbit knows of it. */
  readonly view: ProviderView;
  /** Asynchronous-result webhooks. */
  readonly webhooks: WebhookDispatcher;
}

type Kind = 'person' | 'company' | 'combined';
type Env = { Variables: { key: string; limit: LimitDecision | undefined; stream: boolean } };

const ROLE_LOCAL_PARTS = new Set([
  'info',
  'sales',
  'support',
  'admin',
  'contact',
  'hello',
  'office',
  'team',
  'help',
  'billing',
  'noreply',
  'no-reply',
  'marketing',
  'jobs',
  'careers',
]);
const RESERVED_TLDS = new Set(['invalid', 'test', 'example', 'localhost', 'local']);

/** Why an email is rejected with 422, or undefined. */
function emailProblem(email: string): string | undefined {
  const match = /^([^@\s]+)@([^@\s]+\.[^@\s]+)$/.exec(email.trim());
  if (!match) return 'Invalid email.';
  const local = match[1]!.toLowerCase();
  if (ROLE_LOCAL_PARTS.has(local)) return 'Role-based email addresses are not supported.';
  return domainProblem(match[2]!);
}

/** Why a domain is rejected with 422, or undefined. */
function domainProblem(domain: string): string | undefined {
  const normalized = domain.trim().toLowerCase();
  if (!/^([a-z0-9-]+\.)+[a-z0-9-]+$/.test(normalized)) return 'Invalid domain.';
  const tld = normalized.slice(normalized.lastIndexOf('.') + 1);
  if (!/^[a-z]{2,63}$/.test(tld)) return 'Invalid top-level domain.';
  if (RESERVED_TLDS.has(tld)) return 'Domain does not resolve.';
  return undefined;
}

/** Sleeps in a row that may leave the clock where it was before the hold gives up. */
const MAX_STALLED_SLEEPS = 3;

/**
 * Hold a streaming call until `readyAt` or the end of the hold, whichever
 * comes first. A timer may fire a moment before the emulated instant it was
 * set for (at a high `timeScale`, one real millisecond early is a whole
 * emulated second), so this sleeps again for what is left instead of trusting
 * one sleep. A clock that does not move during a few sleeps in a row (one
 * that cannot advance) ends the hold instead of spinning forever.
 */
async function holdUntil(clock: EmulatorClock, readyAt: number, holdEnd: number): Promise<void> {
  const until = Math.min(readyAt, holdEnd);
  let now = clock.now();
  let stalled = 0;
  while (now < until && stalled < MAX_STALLED_SLEEPS) {
    await clock.sleep(until - now);
    const after = clock.now();
    stalled = after > now ? 0 : stalled + 1;
    now = Math.max(now, after);
  }
}

/** The `X-Request-Signature` value Clearbit sends: `sha1=` + hex HMAC-SHA1 of the raw body, keyed with the key minus its `sk_`/`pk_` prefix. */
export function clearbitSignature(apiKey: string, rawBody: string): string {
  return `sha1=${createHmac('sha1', apiKey.replace(/^(sk|pk)_/, ''))
    .update(rawBody)
    .digest('hex')}`;
}

/** The key a Clearbit emulator seeded with `seed` accepts: `options.apiKey`, or derived from the seed. */
export function clearbitCredentials(
  seed: number,
  options: Pick<ClearbitEmulatorOptions, 'apiKey'> = {},
): { readonly apiKey: string } {
  return { apiKey: options.apiKey ?? deterministicSecret('sk_', 'clearbit-secret', seed, 32) };
}

/** A number (Infinity included, as before: an unlimited quota) that `holds`, else `<reason>, got <value>`. */
function numberWhere(holds: (value: number) => boolean, reason: string): z.ZodType<number> {
  return z.custom<number>((value) => typeof value === 'number' && holds(value), {
    error: (issue) => `${reason}, got ${String(issue.input)}`,
  });
}

/** The options of `createClearbitEmulator`, checked by `parseOptions`; every key listed, unknown ones refused. */
const clearbitOptionsSchema = z
  .object(
    {
      truth: uncheckedOption,
      coverage: coverageOverridesSchema.optional(),
      apiKey: uncheckedOption,
      perMinute: numberWhere((value) => value > 0, 'must be a positive number').optional(),
      rateLimitReset: uncheckedOption,
      retryAfterOn429: uncheckedOption,
      queuedShare: numberWhere((value) => value >= 0 && value <= 1, 'must be between 0 and 1').optional(),
      indexDelayMs: numberWhere((value) => value >= 0, 'must be non-negative').optional(),
      queuedBody: uncheckedOption,
      monthlyQuota: numberWhere((value) => value >= 0, 'must be non-negative').optional(),
      streamTimeoutMs: numberWhere((value) => value >= 0, 'must be non-negative').optional(),
      webhookOnEveryLookup: uncheckedOption,
      combinedWebhookType: z
        .enum(['person', 'person_company'], {
          error: (issue) => `must be "person" or "person_company", got ${String(issue.input)}`,
        })
        .optional(),
    },
    { error: 'must be an object' },
  )
  .strict();

/**
 * Create the Clearbit emulator: `GET /v2/people/find`, `/v2/companies/find`
 * and `/v2/combined/find` (and the streaming variant of each under
 * `/stream`), with Basic or Bearer auth, 202 queued lookups, 404
 * `unknown_record`, 402 over quota, 422, 429 with `X-RateLimit-*`, and
 * webhooks signed with `X-Request-Signature`.
 *
 * @throws ConfigurationError (`invalid_configuration`, checked by `parseOptions`) naming every option out of
 * range or unknown: `createClearbitEmulator: queuedShare: must be between 0 and 1, got 2`.
 */
export function createClearbitEmulator(
  context: EmulatorContext,
  options: ClearbitEmulatorOptions = {},
): ClearbitEmulator {
  parseOptions(clearbitOptionsSchema, options, { name: 'createClearbitEmulator', providerId: 'clearbit' });
  const truth = options.truth ?? createGroundTruth({ seed: context.seed });
  const view = createProviderView(
    truth,
    'clearbit',
    resolveCoverage(CLEARBIT_COVERAGE, options.coverage),
    context.seed,
  );
  const { apiKey } = clearbitCredentials(context.seed, options);
  const perMinute = options.perMinute ?? 600;
  const queuedShare = options.queuedShare ?? 0.2;
  const indexDelayMs = options.indexDelayMs ?? 30_000;
  const streamTimeoutMs = options.streamTimeoutMs ?? 60_000;
  const quota = options.monthlyQuota ?? Number.POSITIVE_INFINITY;
  const combinedWebhookType = options.combinedWebhookType ?? 'person';
  const { counters, clock } = context;
  const limiter = createFixedWindowLimiter(clock);
  const webhooks = createWebhookDispatcher(context, 'clearbit');
  const indexing = new Map<string, number>();
  const billed = new Map<string, Set<string>>();

  const rateHeaders = (decision: LimitDecision | undefined): Record<string, string> => {
    if (decision === undefined) return {};
    const window = decision.windows[0]!;
    const reset =
      options.rateLimitReset === 'seconds-remaining'
        ? Math.max(0, Math.ceil((window.resetAt - clock.now()) / 1000))
        : Math.ceil(window.resetAt / 1000);
    return {
      'X-RateLimit-Limit': String(window.limit),
      'X-RateLimit-Remaining': String(window.remaining),
      'X-RateLimit-Reset': String(reset),
    };
  };

  const respond = (c: Context<Env>, status: number, body: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        'x-api-version': '2019-12-19',
        ...rateHeaders(c.get('limit')),
      },
    });
  const error = (c: Context<Env>, status: number, type: string, message: string) =>
    respond(c, status, { error: { type, message } });

  const app = new Hono<Env>();
  const api = new Hono<Env>();

  api.use('*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    let key: string | undefined;
    if (/^bearer\s+/i.test(header)) key = header.replace(/^bearer\s+/i, '').trim();
    else if (/^basic\s+/i.test(header)) {
      const decoded = Buffer.from(header.replace(/^basic\s+/i, '').trim(), 'base64').toString('utf8');
      key = decoded.split(':')[0];
    }
    c.set('limit', undefined);
    if (key === undefined || key === '') return error(c, 401, 'auth_required', 'API key required.');
    if (key !== apiKey) return error(c, 401, 'invalid_api_key', 'Invalid API key provided.');
    c.set('key', key);
    const stream = new URL(c.req.url).pathname.startsWith('/stream/');
    c.set('stream', stream);
    if (!stream) {
      const api = new URL(c.req.url).pathname.includes('/companies/') ? 'company' : 'person';
      const decision = limiter.hit(`${key}|${api}`, [
        { name: 'minute', limit: perMinute, intervalMs: 60_000 },
      ]);
      c.set('limit', decision);
      if (!decision.allowed) {
        counters.increment('clearbit.429');
        const response = error(
          c,
          429,
          'rate_limit',
          'Rate limit exceeded. Upgrade your plan or retry later.',
        );
        if (options.retryAfterOn429) {
          response.headers.set(
            'Retry-After',
            String(Math.max(1, Math.ceil((decision.windows[0]!.resetAt - clock.now()) / 1000))),
          );
        }
        return response;
      }
    }
    await next();
  });

  /** Bill a lookup once per key, record and month; false when over quota. */
  const bill = (key: string, record: string): boolean => {
    const month = new Date(clock.now()).toISOString().slice(0, 7);
    const period = `${key}|${month}`;
    let set = billed.get(period);
    if (set === undefined) {
      set = new Set();
      billed.set(period, set);
    }
    if (set.has(record)) return true;
    if (set.size >= quota) return false;
    set.add(record);
    counters.increment('clearbit.credits');
    return true;
  };

  const lookup = async (c: Context<Env>, kind: Kind) => {
    const url = new URL(c.req.url);
    const email = url.searchParams.get('email');
    const domain = url.searchParams.get('domain');
    const webhookUrl = url.searchParams.get('webhook_url');
    const webhookId = url.searchParams.get('webhook_id');
    if (kind === 'company') {
      if (!domain) return error(c, 422, 'missing_param', 'Missing required parameter: domain.');
      const problem = domainProblem(domain);
      if (problem) return error(c, 422, 'invalid_domain', problem);
    } else {
      if (!email) return error(c, 422, 'missing_param', 'Missing required parameter: email.');
      const problem = emailProblem(email);
      if (problem) return error(c, 422, 'invalid_email', problem);
    }
    if (webhookUrl !== null && !/^https?:\/\/\S+$/.test(webhookUrl)) {
      return error(c, 422, 'invalid_webhook_url', 'webhook_url must be an http(s) URL.');
    }
    const record =
      kind === 'company'
        ? `company:${domain!.trim().toLowerCase()}`
        : `person:${email!.trim().toLowerCase()}`;
    if (!bill(c.get('key'), record)) {
      counters.increment('clearbit.402');
      return error(
        c,
        402,
        'over_quota',
        'Your account is over its monthly quota. Upgrade your plan to continue.',
      );
    }
    const now = clock.now();
    let readyAt = now;
    if (
      url.searchParams.get('cached') !== 'true' &&
      unitHash(context.seed, `clearbit|queued|${record}`) < queuedShare
    ) {
      let started = indexing.get(record);
      if (started === undefined) {
        started = now;
        indexing.set(record, started);
      }
      readyAt = started + indexDelayMs;
    }
    if (c.get('stream') && readyAt > now) await holdUntil(clock, readyAt, now + streamTimeoutMs);
    const indexedAt = new Date(Math.min(readyAt, clock.now())).toISOString();
    const answer = (): { status: 200 | 404; body: unknown } => {
      if (kind === 'company') {
        const company = truth.companyByDomain(domain!);
        const fields = company === undefined ? null : view.company(company);
        return company === undefined || fields === null
          ? { status: 404, body: { error: { type: 'unknown_record', message: 'Unknown domain.' } } }
          : { status: 200, body: clearbitCompany(company, fields, indexedAt) };
      }
      const person = truth.personByEmail(email!);
      const fields = person === undefined ? null : view.person(person);
      if (person === undefined || fields === null) {
        if (kind === 'combined') {
          const company = truth.companyByDomain(email!.split('@')[1] ?? '');
          const companyFields = company === undefined ? null : view.company(company);
          if (company !== undefined && companyFields !== null) {
            return {
              status: 200,
              body: { person: null, company: clearbitCompany(company, companyFields, indexedAt) },
            };
          }
        }
        return {
          status: 404,
          body: { error: { type: 'unknown_record', message: 'Unknown email address.' } },
        };
      }
      const personBody = clearbitPerson(person, fields, indexedAt);
      if (kind === 'person') return { status: 200, body: personBody };
      const company = truth.companyOf(person);
      const companyFields = view.company(company);
      return {
        status: 200,
        body: {
          person: personBody,
          company: companyFields === null ? null : clearbitCompany(company, companyFields, indexedAt),
        },
      };
    };
    const sendWebhook = (delayMs: number) => {
      if (webhookUrl === null) return;
      const result = answer();
      const raw = JSON.stringify({
        id: webhookId,
        type: kind === 'combined' ? combinedWebhookType : kind,
        body: result.status === 200 ? result.body : null,
        status: result.status,
      });
      webhooks.schedule(webhookUrl, raw, { 'X-Request-Signature': clearbitSignature(apiKey, raw) }, delayMs);
    };
    if (clock.now() < readyAt) {
      counters.increment('clearbit.queued');
      sendWebhook(readyAt - clock.now());
      return respond(
        c,
        202,
        options.queuedBody === 'empty' ? undefined : { error: { type: 'queued', message: 'Lookup queued.' } },
      );
    }
    const result = answer();
    counters.increment(result.status === 200 ? 'clearbit.matched' : 'clearbit.missed');
    if (options.webhookOnEveryLookup) sendWebhook(0);
    return respond(c, result.status, result.body);
  };

  for (const prefix of ['', '/stream']) {
    api.get(`${prefix}/v2/people/find`, (c) => lookup(c, 'person'));
    api.get(`${prefix}/v2/companies/find`, (c) => lookup(c, 'company'));
    api.get(`${prefix}/v2/combined/find`, (c) => lookup(c, 'combined'));
  }
  api.all('*', (c) => error(c, 404, 'not_found', 'Resource not found.'));
  app.route('/', api);

  return {
    vendor: 'clearbit',
    app: app as unknown as Hono,
    credentials: { apiKey },
    truth,
    view,
    webhooks,
    reset: () => {
      limiter.reset();
      webhooks.reset();
      indexing.clear();
      billed.clear();
    },
  };
}
