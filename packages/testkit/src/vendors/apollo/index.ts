import { createHash } from 'node:crypto';
import { parseOptions } from '@leadpipe/core/adapter-kit';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { EmulatorContext, VendorEmulator } from '../../emulator/context.js';
import { seededRandom } from '../../emulator/create-context.js';
import { positiveNumberSchema, shareSchema, uncheckedOption } from '../../emulator/option-schemas.js';
import { createFixedWindowLimiter, type FixedWindow, type LimitDecision } from '../../emulator/rate-limit.js';
import { createWebhookDispatcher, type WebhookDispatcher } from '../../emulator/webhooks.js';
import { coverageOverridesSchema } from '../../truth/coverage.js';
import {
  APOLLO_COVERAGE,
  type CoverageOverrides,
  createGroundTruth,
  createProviderView,
  type GroundTruth,
  type ProviderView,
  resolveCoverage,
  type TruthPerson,
} from '../../truth/index.js';
import { hashString } from '../../truth/random.js';
import { deterministicSecret, jsonWithRawNumber, readJsonBody, signed64, truthy } from '../shared/util.js';
import { apolloOrganization, apolloPerson } from './shapes.js';

export { apolloOrganization, apolloPerson } from './shapes.js';

/** Apollo's per-endpoint fixed-window limits for single-record endpoints. Bulk endpoints get a tenth. */
export interface ApolloRateLimits {
  /** Requests per minute per endpoint and key. Default 200. */
  readonly perMinute?: number;
  /** Requests per hour per endpoint and key. Default 600. */
  readonly perHour?: number;
  /** Requests per day per endpoint and key. Default 6,000. */
  readonly perDay?: number;
  /** Divisor applied to bulk endpoints. Default 10. */
  readonly bulkDivisor?: number;
}

/** Credits Apollo charges. */
export interface ApolloCredits {
  /** Per matched person (demographics or email). Default 1. Fractions allowed. */
  readonly person?: number;
  /** Extra per revealed mobile phone. Default 8. */
  readonly mobilePhone?: number;
  /** Per enriched organization. Default 1. */
  readonly organization?: number;
}

/** Options of {@link createApolloEmulator}. */
export interface ApolloEmulatorOptions {
  /** The population to answer from. Default: `createGroundTruth({ seed: context.seed })`. */
  readonly truth?: GroundTruth;
  /** Coverage and error rates over the defaults ({@link APOLLO_COVERAGE}). */
  readonly coverage?: CoverageOverrides;
  /** The master key (every endpoint). Default: derived from the seed. */
  readonly apiKey?: string;
  /** A key scoped to people endpoints only: organization endpoints answer 403 API_INACCESSIBLE. */
  readonly restrictedApiKey?: string;
  /** Rate limits. */
  readonly rateLimits?: ApolloRateLimits;
  /** Send the `x-*` usage headers on 429 answers too (UNVERIFIED upstream). Default false. */
  readonly rateLimitHeadersOn429?: boolean;
  /** Send `retry-after` on 429 answers (UNVERIFIED upstream). Default false. */
  readonly retryAfterOn429?: boolean;
  /** Credit prices. */
  readonly credits?: ApolloCredits;
  /** Emulated ms before phone-reveal and waterfall webhooks are sent. Default 120,000. */
  readonly webhookDelayMs?: number;
  /** Share of records in a bulk call that fail transiently (answered `null`, not charged). Default 0. */
  readonly partialBatchFailureRate?: number;
}

/** The Apollo emulator: a {@link VendorEmulator} plus what tests inspect. */
export interface ApolloEmulator extends VendorEmulator {
  /** Always `apollo`. */
  readonly vendor: 'apollo';
  /** The population answered from. */
  readonly truth: GroundTruth;
  /** What Apollo knows of it. */
  readonly view: ProviderView;
  /** Phone-reveal and waterfall webhooks. */
  readonly webhooks: WebhookDispatcher;
}

const INVALID_KEY_TEXT =
  'Invalid API key. See https://docs.apollo.io/reference/authentication for how to authenticate.';
const MAX_BULK = 10;
const RESULT_TTL_MS = 30 * 24 * 3600 * 1000;

type Params = Record<string, unknown>;

/** The options of `createApolloEmulator`, checked by `parseOptions`; every key listed, unknown ones refused. */
const apolloOptionsSchema = z
  .object(
    {
      truth: uncheckedOption,
      coverage: coverageOverridesSchema.optional(),
      apiKey: uncheckedOption,
      restrictedApiKey: uncheckedOption,
      rateLimits: z
        .object(
          {
            perMinute: positiveNumberSchema().optional(),
            perHour: positiveNumberSchema().optional(),
            perDay: positiveNumberSchema().optional(),
            bulkDivisor: positiveNumberSchema().optional(),
          },
          { error: 'must be an object' },
        )
        .strict()
        .optional(),
      rateLimitHeadersOn429: uncheckedOption,
      retryAfterOn429: uncheckedOption,
      credits: z
        .object(
          { person: uncheckedOption, mobilePhone: uncheckedOption, organization: uncheckedOption },
          { error: 'must be an object' },
        )
        .strict()
        .optional(),
      webhookDelayMs: uncheckedOption,
      partialBatchFailureRate: shareSchema().optional(),
    },
    { error: 'must be an object' },
  )
  .strict();

/** The keys an Apollo emulator seeded with `seed` accepts: those of `options`, or derived from the seed. */
export function apolloCredentials(
  seed: number,
  options: Pick<ApolloEmulatorOptions, 'apiKey' | 'restrictedApiKey'> = {},
): { readonly apiKey: string; readonly restrictedApiKey: string } {
  return {
    apiKey: options.apiKey ?? deterministicSecret('apl_', 'apollo-master', seed, 22),
    restrictedApiKey: options.restrictedApiKey ?? deterministicSecret('apl_', 'apollo-restricted', seed, 22),
  };
}

/**
 * Create the Apollo.io emulator: `POST /api/v1/people/match`,
 * `POST /api/v1/people/bulk_match`, `GET|POST /api/v1/organizations/enrich`,
 * `POST /api/v1/organizations/bulk_enrich` and
 * `GET /api/v1/webhook_result/{request_id}` (also under `/v1`), with
 * `x-api-key` auth, per-endpoint minute/hour/day limits and Apollo's
 * bodies, status codes and headers.
 *
 * @throws ConfigurationError (`invalid_configuration`, checked by `parseOptions`) naming every option out of
 * range or unknown: `createApolloEmulator: rateLimits.perMinute: must be a positive number, got 0`.
 */
export function createApolloEmulator(
  context: EmulatorContext,
  options: ApolloEmulatorOptions = {},
): ApolloEmulator {
  parseOptions(apolloOptionsSchema, options, { name: 'createApolloEmulator', providerId: 'apollo' });
  const truth = options.truth ?? createGroundTruth({ seed: context.seed });
  const view = createProviderView(
    truth,
    'apollo',
    resolveCoverage(APOLLO_COVERAGE, options.coverage),
    context.seed,
  );
  const { apiKey, restrictedApiKey } = apolloCredentials(context.seed, options);
  const limits = options.rateLimits ?? {};
  const perMinute = limits.perMinute ?? 200;
  const perHour = limits.perHour ?? 600;
  const perDay = limits.perDay ?? 6000;
  const bulkDivisor = limits.bulkDivisor ?? 10;
  const personCredits = options.credits?.person ?? 1;
  const phoneCredits = options.credits?.mobilePhone ?? 8;
  const organizationCredits = options.credits?.organization ?? 1;
  const webhookDelayMs = options.webhookDelayMs ?? 120_000;
  const partialFailureRate = options.partialBatchFailureRate ?? 0;
  const { counters, clock } = context;
  const limiter = createFixedWindowLimiter(clock);
  const webhooks = createWebhookDispatcher(context, 'apollo');
  let random = seededRandom(hashString('apollo', context.seed));
  const results = new Map<string, { readyAt: number; payload: unknown; createdAt: number }>();
  let hashIndex: Map<string, TruthPerson> | undefined;
  const companiesByName = new Map(truth.companies.map((company) => [company.name.toLowerCase(), company]));

  const windowsFor = (bulk: boolean): FixedWindow[] => {
    const scale = (limit: number) => (bulk ? Math.max(1, Math.floor(limit / bulkDivisor)) : limit);
    return [
      { name: 'minute', limit: scale(perMinute), intervalMs: 60_000 },
      { name: 'hourly', limit: scale(perHour), intervalMs: 3_600_000 },
      { name: 'daily', limit: scale(perDay), intervalMs: 86_400_000 },
    ];
  };

  const usageHeaders = (decision: LimitDecision): Record<string, string> => {
    const headers: Record<string, string> = {};
    for (const window of decision.windows) {
      headers[`x-rate-limit-${window.name}`] = String(window.limit);
      const short = window.name === 'minute' ? 'minute' : window.name;
      headers[`x-${short}-usage`] = String(window.used);
      headers[`x-${short}-requests-left`] = String(window.remaining);
    }
    return headers;
  };

  const app = new Hono<{ Variables: { params: Params; limit: LimitDecision } }>();
  const api = new Hono<{ Variables: { params: Params; limit: LimitDecision } }>();

  const json = (c: Context, status: number, body: unknown, extra: Record<string, string> = {}) =>
    new Response(typeof body === 'string' ? body : JSON.stringify(body), {
      status,
      headers: {
        'content-type': 'application/json; charset=utf-8',
        ...usageHeaders(c.get('limit')),
        ...extra,
      },
    });

  // Auth, params, limits: in that order, as Apollo answers.
  api.use('*', async (c, next) => {
    const url = new URL(c.req.url);
    let body: unknown;
    try {
      body = c.req.method === 'GET' ? undefined : await readJsonBody(c.req.raw);
    } catch {
      body = Symbol.for('invalid');
    }
    const query: Params = {};
    for (const key of new Set(url.searchParams.keys())) {
      const values = url.searchParams.getAll(key);
      query[key] = key.endsWith('[]') ? values : values[values.length - 1];
    }
    const bodyParams =
      typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Params) : {};
    const headerKey = c.req.header('x-api-key');
    const legacyKey = typeof bodyParams.api_key === 'string' ? bodyParams.api_key : query.api_key;
    const key = headerKey ?? (typeof legacyKey === 'string' ? legacyKey : undefined);
    if (key !== apiKey && key !== restrictedApiKey) {
      counters.increment('apollo.401');
      return c.body(INVALID_KEY_TEXT, 401, { 'content-type': 'text/plain; charset=utf-8' });
    }
    const endpoint = url.pathname.replace(/^\/(api\/)?v1\//, '').replace(/\/-?\d+$/, '');
    if (key === restrictedApiKey && endpoint.startsWith('organizations')) {
      return c.json(
        {
          error: `This API key is not authorized to access api/v1/${endpoint}. Please check the API key permissions in Apollo settings.`,
          error_code: 'API_INACCESSIBLE',
        },
        403,
      );
    }
    const decision = limiter.hit(`${key}|${endpoint}`, windowsFor(endpoint.includes('bulk')));
    c.set('limit', decision);
    if (!decision.allowed) {
      counters.increment('apollo.429');
      const exceeded = decision.exceeded!;
      const per = exceeded.name === 'minute' ? 'minute' : exceeded.name === 'hourly' ? 'hour' : 'day';
      const headers: Record<string, string> = {
        'content-type': 'application/json; charset=utf-8',
        ...(options.rateLimitHeadersOn429 ? usageHeaders(decision) : {}),
        ...(options.retryAfterOn429
          ? { 'retry-after': String(Math.max(1, Math.ceil((exceeded.resetAt - clock.now()) / 1000))) }
          : {}),
      };
      return new Response(
        JSON.stringify({
          message: `The maximum number of api calls allowed for api/v1/${endpoint} is ${exceeded.limit} times per ${per}. Please upgrade your plan from https://app.apollo.io/#/settings/plans/upgrade.`,
        }),
        { status: 429, headers },
      );
    }
    if (typeof body === 'symbol') return json(c, 422, { error: 'Invalid JSON in request body' });
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      return json(c, 422, { error: 'Request body must be a JSON object' });
    }
    const params = { ...query, ...bodyParams };
    delete params.api_key;
    c.set('params', params);
    await next();
  });

  const findPerson = (params: Params): TruthPerson | undefined => {
    const text = (name: string) =>
      typeof params[name] === 'string' ? (params[name] as string).trim() : undefined;
    const id = text('id');
    if (id) return truth.personById(id);
    const email = text('email');
    if (email) return truth.personByEmail(email);
    const hashed = text('hashed_email');
    if (hashed) {
      hashIndex ??= new Map(
        truth.people.flatMap((person) => [
          [createHash('md5').update(person.email).digest('hex'), person] as const,
          [createHash('sha256').update(person.email).digest('hex'), person] as const,
        ]),
      );
      return hashIndex.get(hashed.toLowerCase());
    }
    const linkedin = text('linkedin_url');
    if (linkedin) return truth.personByLinkedin(linkedin);
    const name = text('name');
    const first = text('first_name') ?? name?.split(/\s+/)[0];
    const last = text('last_name') ?? name?.split(/\s+/).slice(1).join(' ');
    const domain =
      text('domain') ?? companiesByName.get(text('organization_name')?.toLowerCase() ?? '')?.domain;
    if (first && last && domain) return truth.personByNameAndDomain(first, last, domain);
    return undefined;
  };

  const STRING_PARAMS = [
    'first_name',
    'last_name',
    'name',
    'email',
    'hashed_email',
    'organization_name',
    'domain',
    'id',
    'linkedin_url',
    'webhook_url',
  ];
  const invalidParam = (params: Params): string | undefined => {
    for (const name of STRING_PARAMS) {
      if (params[name] !== undefined && params[name] !== null && typeof params[name] !== 'string') {
        return `${name} must be a string`;
      }
    }
    if (params.webhook_url !== undefined && !/^https?:\/\//.test(String(params.webhook_url))) {
      return 'webhook_url must be an http(s) URL';
    }
    return undefined;
  };

  const newRequestId = () => signed64(random);

  /** Match one person; schedule reveal webhooks. Returns the JSON person (or null) and credits. */
  const matchOne = (params: Params, shared: Params, seen: Set<string>) => {
    const person = findPerson(params);
    const fields = person === undefined ? null : view.person(person);
    if (person === undefined || fields === null) {
      counters.increment('apollo.people.missed');
      return {
        person: null,
        credits: 0,
        phone: undefined as string | undefined,
        email: undefined as string | undefined,
      };
    }
    const duplicate = seen.has(person.id);
    seen.add(person.id);
    if (duplicate) counters.increment('apollo.duplicates');
    counters.increment('apollo.people.matched');
    const waterfallEmail = truthy(shared.run_waterfall_email) || truthy(params.run_waterfall_email);
    const body = apolloPerson(person, truth.companyOf(person), fields, { omitEmail: waterfallEmail });
    const revealPhone =
      truthy(shared.reveal_phone_number) ||
      truthy(params.reveal_phone_number) ||
      truthy(shared.run_waterfall_phone) ||
      truthy(params.run_waterfall_phone);
    return {
      person: body,
      credits: duplicate ? 0 : personCredits,
      phone: revealPhone ? fields.phone : undefined,
      email: waterfallEmail ? fields.email : undefined,
    };
  };

  const scheduleAsync = (
    requestId: string,
    webhookUrl: string,
    people: { id: string; phone?: string; email?: string; wantPhone: boolean; wantEmail: boolean }[],
  ) => {
    let phoneCreditsCharged = 0;
    const payload = {
      status: 'success',
      request_id: requestId,
      people: people.map((person) => {
        if (person.phone !== undefined) phoneCreditsCharged += phoneCredits;
        return {
          id: person.id,
          status: person.phone !== undefined || person.email !== undefined ? 'success' : 'failed',
          ...(person.wantPhone
            ? {
                phone_numbers:
                  person.phone === undefined
                    ? []
                    : [
                        {
                          raw_number: person.phone,
                          sanitized_number: person.phone,
                          type_cd: 'mobile',
                          status_cd: 'valid_number',
                          confidence_cd: 'high',
                          position: 0,
                        },
                      ],
              }
            : {}),
          ...(person.wantEmail
            ? {
                emails: person.email === undefined ? [] : [{ email: person.email, email_status: 'verified' }],
              }
            : {}),
        };
      }),
    };
    const readyAt = clock.now() + webhookDelayMs;
    const raw = jsonWithRawNumber(payload, 'request_id', requestId);
    results.set(requestId, { readyAt, payload: raw, createdAt: clock.now() });
    webhooks.schedule(webhookUrl, raw, {}, webhookDelayMs);
    if (phoneCreditsCharged > 0) counters.increment('apollo.credits', phoneCreditsCharged);
  };

  const asyncProblem = (params: Params): string | undefined => {
    const wantsAsync =
      truthy(params.reveal_phone_number) ||
      truthy(params.run_waterfall_phone) ||
      truthy(params.run_waterfall_email);
    if (wantsAsync && typeof params.webhook_url !== 'string') {
      return "Please add a valid 'webhook_url' parameter when using 'reveal_phone_number' or waterfall enrichment";
    }
    return undefined;
  };

  api.post('/people/match', (c) => {
    const params = c.get('params');
    const problem = invalidParam(params);
    if (problem) return json(c, 422, { error: problem });
    const asyncError = asyncProblem(params);
    if (asyncError) return json(c, 400, { error: asyncError });
    const requestId = newRequestId();
    const result = matchOne(params, {}, new Set());
    if (result.credits > 0) counters.increment('apollo.credits', result.credits);
    const waterfall = truthy(params.run_waterfall_email) || truthy(params.run_waterfall_phone);
    if (
      result.person !== null &&
      typeof params.webhook_url === 'string' &&
      (truthy(params.reveal_phone_number) || waterfall)
    ) {
      scheduleAsync(requestId, params.webhook_url, [
        {
          id: String(result.person.id),
          phone: result.phone,
          email: result.email,
          wantPhone: truthy(params.reveal_phone_number) || truthy(params.run_waterfall_phone),
          wantEmail: truthy(params.run_waterfall_email),
        },
      ]);
    }
    const body: Params = { person: result.person };
    if (waterfall) {
      body.waterfall = {
        status: 'accepted',
        message: 'Waterfall enrichment request accepted. Results will be sent to the webhook URL.',
      };
    }
    return json(c, 200, jsonWithRawNumber(body, 'request_id', requestId));
  });

  api.post('/people/bulk_match', (c) => {
    const params = c.get('params');
    const details = params.details ?? params['details[]'];
    if (details === undefined) {
      return json(c, 400, {
        status: 'failed',
        error_code: 'INVALID_REQUEST',
        error_message: 'invalid request, missing details',
      });
    }
    if (
      !Array.isArray(details) ||
      details.some((item) => typeof item !== 'object' || item === null || Array.isArray(item))
    ) {
      return json(c, 422, {
        status: 'failed',
        error_code: 'UNKNOWN_ERROR',
        error_message: 'details must be an array of objects',
      });
    }
    if (details.length > MAX_BULK) {
      return json(c, 400, {
        status: 'failed',
        error_code: 'RECORD_LIMIT_EXCEEDED',
        error_message: `You can enrich a maximum of ${MAX_BULK} records per request. You requested ${details.length}.`,
      });
    }
    for (const [index, item] of (details as Params[]).entries()) {
      const problem = invalidParam(item);
      if (problem) {
        return json(c, 422, {
          status: 'failed',
          error_code: 'UNKNOWN_ERROR',
          error_message: `details[${index}].${problem}`,
        });
      }
    }
    const problem = invalidParam(params) ?? asyncProblem(params);
    if (problem)
      return json(c, 400, { status: 'failed', error_code: 'INVALID_REQUEST', error_message: problem });
    const requestId = newRequestId();
    const seen = new Set<string>();
    let credits = 0;
    const asyncPeople: Parameters<typeof scheduleAsync>[2] = [];
    const matches = (details as Params[]).map((item) => {
      if (partialFailureRate > 0 && random() < partialFailureRate) {
        counters.increment('apollo.batch.partialFailures');
        return null;
      }
      const result = matchOne(item, params, seen);
      credits += result.credits;
      if (result.person !== null) {
        asyncPeople.push({
          id: String(result.person.id),
          phone: result.phone,
          email: result.email,
          wantPhone: truthy(params.reveal_phone_number) || truthy(params.run_waterfall_phone),
          wantEmail: truthy(params.run_waterfall_email),
        });
      }
      return result.person;
    });
    if (credits > 0) counters.increment('apollo.credits', credits);
    const waterfall = truthy(params.run_waterfall_email) || truthy(params.run_waterfall_phone);
    if (
      typeof params.webhook_url === 'string' &&
      asyncPeople.length > 0 &&
      (waterfall || truthy(params.reveal_phone_number))
    ) {
      scheduleAsync(requestId, params.webhook_url, asyncPeople);
    }
    const found = matches.filter((match) => match !== null);
    const body: Params = {
      status: 'success',
      error_code: null,
      error_message: null,
      total_requested_enrichments: details.length,
      ...(waterfall
        ? {}
        : {
            unique_enriched_records: new Set(found.map((match) => match.id)).size,
            missing_records: matches.length - found.length,
            credits_consumed: credits,
          }),
      matches,
      ...(waterfall
        ? {
            waterfall: {
              status: 'accepted',
              message: 'Waterfall enrichment request accepted. Results will be sent to the webhook URL.',
            },
          }
        : {}),
    };
    return json(c, 200, jsonWithRawNumber(body, 'request_id', requestId));
  });

  const enrichOrganization = (c: Context<{ Variables: { params: Params; limit: LimitDecision } }>) => {
    const params = c.get('params');
    for (const name of ['domain', 'name', 'website', 'linkedin_url']) {
      if (params[name] !== undefined && typeof params[name] !== 'string')
        return json(c, 422, { error: `${name} must be a string` });
    }
    const domain = (params.domain ?? params.website) as string | undefined;
    const name = params.name as string | undefined;
    const linkedin = params.linkedin_url as string | undefined;
    if (!domain && !name && !linkedin) return json(c, 422, { error: "Required parameter 'domain' missing" });
    const company =
      (domain ? truth.companyByDomain(domain) : undefined) ??
      (name ? companiesByName.get(name.trim().toLowerCase()) : undefined) ??
      (linkedin
        ? truth.companies.find((item) => item.linkedinUrl === linkedin.replace('http://', 'https://'))
        : undefined);
    const fields = company === undefined ? null : view.company(company);
    if (company === undefined || fields === null) {
      counters.increment('apollo.organizations.missed');
      return json(c, 200, {});
    }
    counters.increment('apollo.organizations.matched');
    counters.increment('apollo.credits', organizationCredits);
    return json(c, 200, { organization: apolloOrganization(company, fields) });
  };
  api.get('/organizations/enrich', enrichOrganization);
  api.post('/organizations/enrich', enrichOrganization);

  api.post('/organizations/bulk_enrich', (c) => {
    const params = c.get('params');
    let domains: unknown[];
    if (params.details !== undefined) {
      if (!Array.isArray(params.details)) {
        return json(c, 422, {
          status: 'failed',
          error_code: 'UNKNOWN_ERROR',
          error_message: 'details must be an array',
        });
      }
      domains = params.details.map((item: unknown) =>
        typeof item === 'object' && item !== null ? (item as Params).domain : item,
      );
    } else {
      const raw = params['domains[]'] ?? params.domains;
      domains = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : [];
    }
    if (domains.length === 0) {
      return json(c, 400, {
        status: 'failed',
        error_code: 'INVALID_REQUEST',
        error_message: 'invalid request, missing domains',
      });
    }
    if (domains.length > MAX_BULK) {
      return json(c, 400, {
        status: 'failed',
        error_code: 'RECORD_LIMIT_EXCEEDED',
        error_message: `You can enrich a maximum of ${MAX_BULK} records per request. You requested ${domains.length}.`,
      });
    }
    const badIndex = domains.findIndex((domain) => typeof domain !== 'string' || domain.trim() === '');
    if (badIndex !== -1) {
      return json(c, 422, {
        status: 'failed',
        error_code: 'UNKNOWN_ERROR',
        error_message: `domains[${badIndex}] must be a domain`,
      });
    }
    const unique = [...new Set((domains as string[]).map((domain) => domain.trim().toLowerCase()))];
    if (unique.length < domains.length)
      counters.increment('apollo.duplicates', domains.length - unique.length);
    const organizations: unknown[] = [];
    for (const domain of unique) {
      if (partialFailureRate > 0 && random() < partialFailureRate) {
        counters.increment('apollo.batch.partialFailures');
        continue;
      }
      const company = truth.companyByDomain(domain);
      const fields = company === undefined ? null : view.company(company);
      if (company === undefined || fields === null) continue;
      organizations.push(apolloOrganization(company, fields));
    }
    counters.increment('apollo.organizations.matched', organizations.length);
    counters.increment('apollo.credits', organizations.length * organizationCredits);
    return json(c, 200, {
      status: 'success',
      error_code: null,
      error_message: null,
      total_requested_domains: domains.length,
      unique_domains: unique.length,
      unique_enriched_records: organizations.length,
      missing_records: unique.length - organizations.length,
      organizations,
    });
  });

  api.get('/webhook_result/:requestId', (c) => {
    const requestId = c.req.param('requestId');
    if (!/^-?\d+$/.test(requestId))
      return json(c, 400, { error: 'invalid_request_id', message: 'Malformed request_id' });
    const result = results.get(requestId);
    if (result === undefined)
      return json(c, 404, { error: 'not_found', message: 'No result for this request_id' });
    const now = clock.now();
    if (now - result.createdAt > RESULT_TTL_MS) return json(c, 410, { error: 'request_id_expired' });
    if (now < result.readyAt) {
      return json(c, 404, {
        error: 'result_pending',
        retry_after_seconds: Math.max(1, Math.ceil((result.readyAt - now) / 1000)),
      });
    }
    return json(c, 200, result.payload);
  });

  app.route('/api/v1', api);
  app.route('/v1', api);
  app.notFound((c) => c.json({ error: 'Not Found' }, 404));

  return {
    vendor: 'apollo',
    app: app as unknown as Hono,
    credentials: { apiKey, restrictedApiKey },
    truth,
    view,
    webhooks,
    reset: () => {
      limiter.reset();
      webhooks.reset();
      results.clear();
      random = seededRandom(hashString('apollo', context.seed));
    },
  };
}
