import { parseOptions } from '@leadpipe/core/adapter-kit';
import { type Context, Hono } from 'hono';
import { z } from 'zod';
import type { EmulatorContext, VendorEmulator } from '../../emulator/context.js';
import { positiveNumberSchema, uncheckedOption } from '../../emulator/option-schemas.js';
import { createFixedWindowLimiter, type FixedWindow, type LimitDecision } from '../../emulator/rate-limit.js';
import { coverageOverridesSchema } from '../../truth/coverage.js';
import {
  type CoverageOverrides,
  createGroundTruth,
  createProviderView,
  type GroundTruth,
  type ProviderView,
  resolveCoverage,
} from '../../truth/index.js';
import { deterministicSecret } from '../shared/util.js';
import {
  createGtmTokens,
  createLegacyTokens,
  GTM_SCOPES,
  type GtmTokens,
  type LegacyTokens,
  type ZoomInfoCredentials,
  zoominfoCredentials,
} from './auth.js';
import { ZOOMINFO_COVERAGE } from './coverage.js';
import { createMatcher, echoInput, type MatchOutcome } from './matching.js';
import { COMPANY_OUTPUT_FIELDS, CONTACT_OUTPUT_FIELDS, selectFields } from './shapes.js';

export { type ZoomInfoCredentials, zoominfoCredentials } from './auth.js';
export { ZOOMINFO_COVERAGE } from './coverage.js';

/** Request-rate windows of the emulator, per account. */
export interface ZoomInfoRateLimits {
  /** GTM API: requests per second. Default 25 (Standard plan). */
  readonly perSecond?: number;
  /** GTM API: requests per hour. Default 54,000. */
  readonly perHour?: number;
  /** GTM API: requests per day. Default 648,000. */
  readonly perDay?: number;
  /** Legacy API: requests per minute. Default 1,500. */
  readonly legacyPerMinute?: number;
  /** Legacy API: requests per second. Default 25. */
  readonly legacyPerSecond?: number;
}

/** Contract quotas of the account (both APIs share them). */
export interface ZoomInfoQuotas {
  /** Requests allowed over the contract. Default 1,000,000,000. */
  readonly requestLimit?: number;
  /** Records that may be returned (re-enrichments included). Default 10,000,000. */
  readonly recordLimit?: number;
  /** Distinct records that may be redeemed (one credit each, per rolling 12 months). Default 10,000,000. */
  readonly uniqueIdLimit?: number;
}

/** Options of {@link createZoomInfoEmulator}. */
export interface ZoomInfoEmulatorOptions {
  /** The population to answer from. Default: `createGroundTruth({ seed: context.seed })`. */
  readonly truth?: GroundTruth;
  /** Coverage and error rates over the defaults ({@link ZOOMINFO_COVERAGE}). */
  readonly coverage?: CoverageOverrides;
  /** Credentials over the seed-derived ones. */
  readonly credentials?: Partial<ZoomInfoCredentials>;
  /** Output fields the account is not entitled to (ZoomInfo's names). Default `['mobilePhone']`. */
  readonly deniedOutputFields?: readonly string[];
  /** Whether the GTM app may use the client-credentials grant (ZoomInfo enables it on request). Default true. */
  readonly clientCredentialsEnabled?: boolean;
  /** Scopes the GTM app holds. Default all six data scopes. */
  readonly appScopes?: readonly string[];
  /** GTM access-token lifetime, in emulated seconds. Default 3,600. */
  readonly accessTokenTtlSeconds?: number;
  /** Legacy JWT lifetime, in emulated seconds. Default 3,600 (60 minutes). */
  readonly jwtTtlSeconds?: number;
  /** Request-rate windows. */
  readonly rateLimits?: ZoomInfoRateLimits;
  /** Contract quotas. */
  readonly quotas?: ZoomInfoQuotas;
  /** Share of known people who have opted out (answered `OPT_OUT`). Default 0. */
  readonly optOutShare?: number;
}

/** How much of the contract quotas an account has used. */
export interface ZoomInfoUsage {
  /** Requests counted against `requestLimit`. */
  readonly requests: number;
  /** Records returned, re-enrichments included (`recordLimit`). */
  readonly records: number;
  /** Distinct records charged a credit in the last 12 months (`uniqueIdLimit`). */
  readonly uniqueIds: number;
}

/** The ZoomInfo emulator: a {@link VendorEmulator} plus what tests inspect and steer. */
export interface ZoomInfoEmulator extends VendorEmulator {
  /** Always `zoominfo`. */
  readonly vendor: 'zoominfo';
  /** The population answered from. */
  readonly truth: GroundTruth;
  /** What ZoomInfo knows of it. */
  readonly view: ProviderView;
  /** Invalidate every access token and JWT issued so far (the next data call answers 401). */
  revokeTokens(): void;
  /** Change the output fields the account is not entitled to (ZoomInfo changed the plan). */
  denyOutputFields(fields: readonly string[]): void;
  /** Use of the contract quotas so far. */
  usage(): ZoomInfoUsage;
}

const MAX_INPUTS = 25;
const YEAR_MS = 365 * 24 * 3600 * 1000;

type Json = Record<string, unknown>;
type Api = 'legacy' | 'gtm';

/** The options of `createZoomInfoEmulator`, checked by `parseOptions`; every key listed, unknown ones refused. */
const zoomInfoOptionsSchema = z
  .object(
    {
      truth: uncheckedOption,
      coverage: coverageOverridesSchema.optional(),
      credentials: uncheckedOption,
      deniedOutputFields: uncheckedOption,
      clientCredentialsEnabled: uncheckedOption,
      appScopes: uncheckedOption,
      accessTokenTtlSeconds: positiveNumberSchema().optional(),
      jwtTtlSeconds: positiveNumberSchema().optional(),
      rateLimits: z
        .object(
          {
            perSecond: positiveNumberSchema().optional(),
            perHour: positiveNumberSchema().optional(),
            perDay: positiveNumberSchema().optional(),
            legacyPerMinute: positiveNumberSchema().optional(),
            legacyPerSecond: positiveNumberSchema().optional(),
          },
          { error: 'must be an object' },
        )
        .strict()
        .optional(),
      quotas: z
        .object(
          {
            requestLimit: positiveNumberSchema().optional(),
            recordLimit: positiveNumberSchema().optional(),
            uniqueIdLimit: positiveNumberSchema().optional(),
          },
          { error: 'must be an object' },
        )
        .strict()
        .optional(),
      optOutShare: uncheckedOption,
    },
    { error: 'must be an object' },
  )
  .strict();

/** A legacy error body, as the one captured live (`{success:false,statusCode,error}`). */
export function legacyErrorBody(status: number, message: string, extra: Json = {}): Json {
  return { success: false, statusCode: status, error: message, ...extra };
}

/** A GTM data-API error body (`{title, detail, errors:[{code,…}]}`). */
function gtmErrorBody(status: number, code: string, title: string, detail: string, source?: Json): Json {
  return {
    title,
    detail,
    errors: [
      { id: `${code}-${status}`, code, status: String(status), title, detail, ...(source && { source }) },
    ],
  };
}

/** A GTM gateway error body (`{error:{code,message,status,requestId,retryable}}`). */
export function gtmGatewayBody(status: number, code: string, message: string, requestId: string): Json {
  return { error: { code, message, status, requestId, retryable: status === 429 || status >= 500 } };
}

/**
 * Create the ZoomInfo emulator, serving both of ZoomInfo's APIs on one host:
 *
 * - the legacy Enterprise API: `POST /authenticate` (username + password, or
 *   a PKI client assertion) for a 60-minute JWT; `POST /enrich/contact`,
 *   `POST /enrich/company`; `GET /lookup/outputfields/{contact|company}/enrich`
 *   (entitlements) and `GET /lookup/usage`;
 * - the GTM API: `POST /gtm/oauth/v1/token` (client credentials, rotating
 *   single-use refresh tokens); `POST /gtm/data/v1/{contacts|companies}/enrich`
 *   with JSON:API bodies; `GET /gtm/data/v1/lookup/enrich` and
 *   `GET /gtm/data/v1/users/usage`.
 *
 * Answers come from the ground truth through ZoomInfo's coverage, with a
 * `matchStatus` per input; fields the account is not entitled to fail the
 * whole request; credits are charged once per record per rolling 12
 * months, misses free; request, record and unique-id quotas and the rate
 * windows of each API are enforced with ZoomInfo's headers.
 *
 * @throws ConfigurationError (`invalid_configuration`, checked by `parseOptions`) naming every option out of
 * range or unknown: `createZoomInfoEmulator: quotas.requestLimit: must be a positive number, got 0`.
 */
export function createZoomInfoEmulator(
  context: EmulatorContext,
  options: ZoomInfoEmulatorOptions = {},
): ZoomInfoEmulator {
  parseOptions(zoomInfoOptionsSchema, options, { name: 'createZoomInfoEmulator', providerId: 'zoominfo' });
  const truth = options.truth ?? createGroundTruth({ seed: context.seed });
  const view = createProviderView(
    truth,
    'zoominfo',
    resolveCoverage(ZOOMINFO_COVERAGE, options.coverage),
    context.seed,
  );
  const credentials = zoominfoCredentials(context.seed, options.credentials);
  const limits = options.rateLimits ?? {};
  const gtmWindows: FixedWindow[] = [
    { name: 'second', limit: limits.perSecond ?? 25, intervalMs: 1000 },
    { name: 'hour', limit: limits.perHour ?? 54_000, intervalMs: 3_600_000 },
    { name: 'day', limit: limits.perDay ?? 648_000, intervalMs: 86_400_000 },
  ];
  const legacyWindows: FixedWindow[] = [
    {
      name: 'minute',
      limit: limits.legacyPerMinute ?? 1500,
      intervalMs: 60_000,
    },
    {
      name: 'second',
      limit: limits.legacyPerSecond ?? 25,
      intervalMs: 1000,
    },
  ];
  const quotas = {
    requests: options.quotas?.requestLimit ?? 1_000_000_000,
    records: options.quotas?.recordLimit ?? 10_000_000,
    uniqueIds: options.quotas?.uniqueIdLimit ?? 10_000_000,
  };
  const deniedByDefault = (options.deniedOutputFields ?? ['mobilePhone']).map((field) => field.toLowerCase());
  let denied = new Set(deniedByDefault);
  const appScopes = new Set(options.appScopes ?? GTM_SCOPES);
  const accessTtl = options.accessTokenTtlSeconds ?? 3600;
  const jwtTtl = options.jwtTtlSeconds ?? 3600;
  const optOutShare = options.optOutShare ?? 0;
  const { clock, counters } = context;
  const limiter = createFixedWindowLimiter(clock);
  const matcher = createMatcher(truth, view, context.seed, optOutShare);
  const jwtSecret = deterministicSecret('', 'zoominfo-jwt-secret', context.seed, 32);

  let legacyTokens: LegacyTokens;
  let gtmTokens: GtmTokens;
  let used = { requests: 0, records: 0, uniqueIds: 0 };
  const underManagement = new Map<string, number>();
  const resetState = () => {
    legacyTokens = createLegacyTokens(clock, jwtSecret, credentials, jwtTtl);
    gtmTokens = createGtmTokens(clock, context.seed, credentials.refreshToken, accessTtl);
    used = { requests: 0, records: 0, uniqueIds: 0 };
    underManagement.clear();
    limiter.reset();
    denied = new Set(deniedByDefault);
  };
  resetState();
  let requestCounter = 0;
  const requestId = () => {
    requestCounter++;
    return `${deterministicSecret('', `zoominfo-req-${requestCounter}`, context.seed, 8)}-${String(requestCounter).padStart(4, '0')}-4000-8000-${String(requestCounter).padStart(12, '0')}`;
  };

  const app = new Hono();

  // ---- responses -------------------------------------------------------------------------------
  const respond = (status: number, body: unknown, headers: Record<string, string>, api: Api) =>
    new Response(status === 204 ? null : JSON.stringify(body), {
      status,
      headers: {
        'content-type': api === 'gtm' ? 'application/vnd.api+json' : 'application/json; charset=utf-8',
        'x-request-id': requestId(),
        ...headers,
      },
    });

  const usageHeaders = (): Record<string, string> => ({
    'x-usage-request-limit-limit': String(quotas.requests),
    'x-usage-request-limit-remaining': String(Math.max(0, quotas.requests - used.requests)),
    'x-usage-record-limit-limit': String(quotas.records),
    'x-usage-record-limit-remaining': String(Math.max(0, quotas.records - used.records)),
    'x-usage-unique-id-limit-limit': String(quotas.uniqueIds),
    'x-usage-unique-id-limit-remaining': String(Math.max(0, quotas.uniqueIds - used.uniqueIds)),
  });

  const rateHeaders = (api: Api, decision: LimitDecision): Record<string, string> => {
    if (api === 'legacy') {
      const minute = decision.windows.find((window) => window.name === 'minute')!;
      return {
        'x-ratelimit-limit': String(minute.limit),
        'x-ratelimit-remaining': String(minute.remaining),
        'x-ratelimit-reset': String(Math.ceil(minute.resetAt / 1000)),
        ...usageHeaders(),
      };
    }
    const headers: Record<string, string> = {};
    for (const window of decision.windows) {
      const name = window.name[0]!.toUpperCase() + window.name.slice(1);
      headers[`x-ratelimit-limit-${name.toLowerCase()}`] = String(window.limit);
      headers[`x-ratelimit-remaining-${name.toLowerCase()}`] = String(window.remaining);
    }
    // Deprecated (removal 2027-01-01): the per-second window under the old names.
    headers['x-ratelimit-limit'] = headers['x-ratelimit-limit-second']!;
    headers['x-ratelimit-remaining'] = headers['x-ratelimit-remaining-second']!;
    return headers;
  };

  const tooManyRequests = (api: Api, decision: LimitDecision) => {
    const exceeded = decision.exceeded!;
    const retryAfter = String(Math.max(1, Math.ceil((exceeded.resetAt - clock.now()) / 1000)));
    counters.increment('zoominfo.429');
    if (api === 'legacy') {
      return respond(
        429,
        legacyErrorBody(
          429,
          'You have exceeded your API query rate limit. Please decrease the frequency of your API requests',
        ),
        rateHeaders(api, decision),
        api,
      );
    }
    return respond(
      429,
      gtmGatewayBody(429, 'ZI4029', 'Rate limit exceeded', requestId()),
      {
        ...rateHeaders(api, decision),
        'retry-after': retryAfter,
        'x-ratelimit-rejected-bucket': exceeded.name,
        'x-ratelimit-reset': String(Math.ceil(exceeded.resetAt / 1000)),
      },
      api,
    );
  };

  // ---- auth ------------------------------------------------------------------------------------
  const bearer = (c: Context): string | undefined => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    return match?.[1];
  };

  const readBody = async (c: Context): Promise<{ ok: true; value: unknown } | { ok: false }> => {
    const raw = await c.req.text();
    if (raw.trim() === '') return { ok: true, value: undefined };
    const type = c.req.header('content-type') ?? '';
    if (type.includes('application/x-www-form-urlencoded')) {
      return { ok: true, value: Object.fromEntries(new URLSearchParams(raw)) };
    }
    try {
      return { ok: true, value: JSON.parse(raw) as unknown };
    } catch {
      return { ok: false };
    }
  };

  app.post('/authenticate', async (c) => {
    const decision = limiter.hit('authenticate', [{ name: 'second', limit: 1, intervalMs: 1000 }]);
    if (!decision.allowed) {
      counters.increment('zoominfo.429');
      return respond(
        429,
        legacyErrorBody(
          429,
          'You have exceeded your API query rate limit. Please decrease the frequency of your API requests',
        ),
        { 'retry-after': '1' },
        'legacy',
      );
    }
    counters.increment('zoominfo.authenticate');
    const assertion = bearer(c);
    if (assertion !== undefined) {
      const username = legacyTokens.checkAssertion(assertion);
      if (username === undefined)
        return respond(401, legacyErrorBody(401, 'Authentication failed'), {}, 'legacy');
      return respond(200, { success: true, jwt: legacyTokens.issue(username) }, {}, 'legacy');
    }
    const body = await readBody(c);
    if (!body.ok) return respond(400, legacyErrorBody(400, 'Request body has malformed JSON'), {}, 'legacy');
    const given = (body.value ?? {}) as Json;
    if (given.username !== credentials.username || given.password !== credentials.password) {
      return respond(401, legacyErrorBody(401, 'Authentication failed'), {}, 'legacy');
    }
    return respond(200, { success: true, jwt: legacyTokens.issue(credentials.username) }, {}, 'legacy');
  });

  const oauthError = (status: number, error: string, description: string) =>
    new Response(JSON.stringify({ error, error_description: description }), {
      status,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });

  app.post('/gtm/oauth/v1/token', async (c) => {
    counters.increment('zoominfo.token');
    const body = await readBody(c);
    if (!body.ok || !(c.req.header('content-type') ?? '').includes('application/x-www-form-urlencoded')) {
      return oauthError(400, 'invalid_request', 'The request must be application/x-www-form-urlencoded.');
    }
    const form = (body.value ?? {}) as Record<string, string>;
    let clientId = form.client_id;
    let clientSecret = form.client_secret;
    const basic = /^Basic\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      // The header wins over the body.
      clientId = decodeURIComponent(decoded.slice(0, colon));
      clientSecret = decodeURIComponent(decoded.slice(colon + 1));
    }
    if (clientId !== credentials.clientId || clientSecret !== credentials.clientSecret) {
      return oauthError(401, 'invalid_client', 'Client authentication failed.');
    }
    const requested =
      typeof form.scope === 'string' && form.scope.trim() !== ''
        ? form.scope.trim().split(/\s+/)
        : [...appScopes];
    if (requested.some((scope) => !appScopes.has(scope))) {
      return oauthError(
        400,
        'invalid_scope',
        'One or more scopes are not configured for the authorization server resource.',
      );
    }
    if (form.grant_type === 'client_credentials') {
      if (options.clientCredentialsEnabled === false) {
        return oauthError(
          400,
          'unauthorized_client',
          'The client is not authorized to use the provided grant type.',
        );
      }
      const issued = gtmTokens.issue(requested, false);
      return c.json(
        {
          token_type: 'Bearer',
          expires_in: accessTtl,
          access_token: issued.accessToken,
          scope: requested.join(' '),
        },
        200,
        { 'cache-control': 'no-store' },
      );
    }
    if (form.grant_type === 'refresh_token') {
      if (typeof form.refresh_token !== 'string' || !gtmTokens.redeem(form.refresh_token)) {
        counters.increment('zoominfo.refreshReused');
        return oauthError(400, 'invalid_grant', 'The refresh token is invalid or expired.');
      }
      const issued = gtmTokens.issue(requested, true);
      return c.json(
        {
          token_type: 'Bearer',
          expires_in: accessTtl,
          access_token: issued.accessToken,
          refresh_token: issued.refreshToken,
          scope: requested.join(' '),
        },
        200,
        { 'cache-control': 'no-store' },
      );
    }
    return oauthError(
      400,
      'unsupported_grant_type',
      'The authorization grant type is not supported by the authorization server.',
    );
  });

  /** Auth and rate limits of a data call: a Response to send, or the decision to carry on with. */
  const admit = (
    c: Context,
    api: Api,
    scope: string | undefined,
    limited: boolean,
  ): Response | { decision?: LimitDecision } => {
    const token = bearer(c);
    if (api === 'legacy') {
      const state = token === undefined ? 'invalid' : legacyTokens.check(token);
      if (state !== 'valid') {
        counters.increment('zoominfo.401');
        return respond(401, legacyErrorBody(401, 'Authentication failed'), {}, api);
      }
    } else {
      const state = token === undefined ? 'invalid' : gtmTokens.check(token);
      if (state === 'invalid' || state === 'expired') {
        counters.increment('zoominfo.401');
        const message =
          token === undefined
            ? 'Token is required'
            : state === 'expired'
              ? 'Your session has expired. Please log in again.'
              : 'Invalid token';
        return respond(401, gtmGatewayBody(401, 'ZI1001', message, requestId()), {}, api);
      }
      if (scope !== undefined && !state.includes(scope)) {
        return respond(
          403,
          gtmGatewayBody(403, 'ZI1003', 'Insufficient scope for this endpoint', requestId()),
          {},
          api,
        );
      }
    }
    if (!limited) return {};
    const decision = limiter.hit(`${api}|account`, api === 'gtm' ? gtmWindows : legacyWindows);
    if (!decision.allowed) return tooManyRequests(api, decision);
    return { decision };
  };

  // ---- enrich ----------------------------------------------------------------------------------
  interface Charged extends MatchOutcome {
    readonly input: unknown;
  }

  /** Apply record limits and credits to the outcomes, in order. */
  const charge = (outcomes: readonly MatchOutcome[], inputs: readonly unknown[]): Charged[] =>
    outcomes.map((outcome, index) => {
      const input = inputs[index];
      if (outcome.record === undefined || outcome.key === undefined) return { ...outcome, input };
      const now = clock.now();
      const since = underManagement.get(outcome.key);
      const fresh = since === undefined || now - since >= YEAR_MS;
      if (used.records >= quotas.records || (fresh && used.uniqueIds >= quotas.uniqueIds)) {
        counters.increment('zoominfo.limitExceeded');
        return { status: 'LIMIT_EXCEEDED', input };
      }
      used.records++;
      if (fresh) {
        used.uniqueIds++;
        underManagement.set(outcome.key, now);
        counters.increment('zoominfo.credits');
      } else counters.increment('zoominfo.reEnriched');
      counters.increment('zoominfo.records');
      return { ...outcome, input };
    });

  type EnrichProblem = { status: number; legacy: string; code: string; extra?: Json; pointer?: string };

  const checkRequest = (
    entity: 'contact' | 'company',
    attributes: Json,
  ): EnrichProblem | { inputs: unknown[]; outputFields: string[]; requiredFields: string[] } => {
    const inputKey = entity === 'contact' ? 'matchPersonInput' : 'matchCompanyInput';
    const inputs = attributes[inputKey];
    const outputFields = attributes.outputFields;
    if (outputFields === undefined) {
      return {
        status: 400,
        legacy: 'Missing outputFields parameter',
        code: 'PFAPI0002',
        pointer: '/data/attributes/outputFields',
      };
    }
    if (
      !Array.isArray(outputFields) ||
      outputFields.some((field) => typeof field !== 'string') ||
      outputFields.length === 0
    ) {
      return {
        status: 400,
        legacy: 'There are invalid fields in your request',
        code: 'PFAPI0009',
        pointer: '/data/attributes/outputFields',
      };
    }
    if (!Array.isArray(inputs) || inputs.length === 0) {
      return {
        status: 400,
        legacy: 'There is insufficient information for this request',
        code: 'PFAPI0004',
        pointer: `/data/attributes/${inputKey}`,
      };
    }
    if (inputs.length > MAX_INPUTS) {
      return {
        status: 400,
        legacy: `The maximum number of ${inputKey} records per request is ${MAX_INPUTS}`,
        code: 'PFAPI0002',
        pointer: `/data/attributes/${inputKey}`,
      };
    }
    const catalog = new Set(
      (entity === 'contact' ? CONTACT_OUTPUT_FIELDS : COMPANY_OUTPUT_FIELDS).map((field) =>
        field.toLowerCase(),
      ),
    );
    const fields = outputFields as string[];
    const unknown = fields.filter((field) => !catalog.has(field.toLowerCase()));
    const disallowed = fields.filter((field) => denied.has(field.toLowerCase()));
    if (unknown.length > 0 || disallowed.length > 0) {
      const invalid = [...unknown, ...disallowed].map((field) => field.toLowerCase());
      return {
        status: 400,
        legacy: 'OutputFields invalid or disallowed.',
        code: disallowed.length > 0 && unknown.length === 0 ? 'PFAPI0001' : 'PFAPI0009',
        extra: { invalidOutputFields: invalid },
        pointer: '/data/attributes/outputFields',
      };
    }
    const required = attributes.requiredFields;
    const requiredFields = Array.isArray(required)
      ? required.filter((field): field is string => typeof field === 'string')
      : [];
    const byLower = new Map(
      (entity === 'contact' ? CONTACT_OUTPUT_FIELDS : COMPANY_OUTPUT_FIELDS).map((field) => [
        field.toLowerCase(),
        field,
      ]),
    );
    return {
      inputs,
      outputFields: fields.map((field) => byLower.get(field.toLowerCase()) ?? field),
      requiredFields: requiredFields.map((field) => byLower.get(field.toLowerCase()) ?? field),
    };
  };

  const problemResponse = (api: Api, problem: EnrichProblem, headers: Record<string, string>) => {
    if (api === 'legacy')
      return respond(
        problem.status,
        legacyErrorBody(problem.status, problem.legacy, problem.extra),
        headers,
        api,
      );
    const body = gtmErrorBody(
      problem.status,
      problem.code,
      problem.code === 'PFAPI0001' ? 'Disallowed field' : 'Bad Request',
      problem.extra === undefined
        ? problem.legacy
        : `${problem.legacy} ${(problem.extra.invalidOutputFields as string[]).join(', ')}`,
      problem.pointer === undefined ? undefined : { pointer: problem.pointer },
    );
    return respond(problem.status, { ...body, ...problem.extra }, headers, api);
  };

  const enrich = (api: Api, entity: 'contact' | 'company') => async (c: Context) => {
    const admitted = admit(c, api, api === 'gtm' ? `api:data:${entity}` : undefined, true);
    if (admitted instanceof Response) return admitted;
    const headers = rateHeaders(api, admitted.decision!);
    counters.increment(`zoominfo.${api}.${entity}.enrich`);
    if (used.requests >= quotas.requests) {
      return api === 'legacy'
        ? respond(
            403,
            legacyErrorBody(403, 'You have used up all of your allowed request limit'),
            headers,
            api,
          )
        : respond(
            403,
            gtmGatewayBody(403, 'ZI1004', 'You have used up all of your allowed request limit', requestId()),
            headers,
            api,
          );
    }
    used.requests++;
    const body = await readBody(c);
    if (!body.ok || typeof body.value !== 'object' || body.value === null) {
      return problemResponse(
        api,
        { status: 400, legacy: 'Request body has malformed JSON', code: 'PFAPI0003' },
        headers,
      );
    }
    let attributes = body.value as Json;
    if (api === 'gtm') {
      const data = attributes.data as Json | undefined;
      const expectedType = entity === 'contact' ? 'ContactEnrich' : 'CompanyEnrich';
      if (
        typeof data !== 'object' ||
        data === null ||
        data.type !== expectedType ||
        typeof data.attributes !== 'object' ||
        data.attributes === null
      ) {
        return problemResponse(
          api,
          {
            status: 400,
            legacy: `Request body must be {"data":{"type":"${expectedType}","attributes":{...}}}`,
            code: 'PFAPI0003',
            pointer: '/data',
          },
          headers,
        );
      }
      attributes = data.attributes as Json;
    }
    const checked = checkRequest(entity, attributes);
    if ('status' in checked) return problemResponse(api, checked, headers);
    if (api === 'legacy' && used.records >= quotas.records) {
      return respond(
        403,
        legacyErrorBody(403, 'You have used up all of your allowed record limit'),
        headers,
        api,
      );
    }
    const outcomes = checked.inputs.map((input) =>
      entity === 'contact'
        ? matcher.contact(input, checked.requiredFields)
        : matcher.company(input, checked.requiredFields),
    );
    const charged = charge(outcomes, checked.inputs);
    const after = api === 'legacy' ? { ...headers, ...usageHeaders() } : headers;
    const echo = (input: unknown) =>
      typeof input === 'object' && input !== null ? echoInput(input as Json) : {};
    if (api === 'legacy') {
      return respond(
        200,
        {
          success: true,
          data: {
            outputFields: [checked.outputFields.map((field) => field.toLowerCase())],
            ...(checked.requiredFields.length > 0 ? { requiredFields: checked.requiredFields } : {}),
            result: charged.map((outcome) => ({
              input: echo(outcome.input),
              data: outcome.record === undefined ? [] : [selectFields(outcome.record, checked.outputFields)],
              matchStatus: outcome.status,
            })),
          },
        },
        after,
        api,
      );
    }
    return respond(
      200,
      {
        data: charged.map((outcome, index) => {
          const meta = { input: outcome.input, matchStatus: outcome.status };
          if (outcome.record === undefined) return { type: 'NoMatch', id: String(index), meta };
          const { id, ...attributesOut } = selectFields(outcome.record, checked.outputFields);
          return {
            type: entity === 'contact' ? 'Contact' : 'Company',
            id: String(outcome.record.id ?? id),
            attributes: attributesOut,
            meta,
          };
        }),
      },
      after,
      api,
    );
  };

  app.post('/enrich/contact', enrich('legacy', 'contact'));
  app.post('/enrich/company', enrich('legacy', 'company'));
  app.post('/gtm/data/v1/contacts/enrich', enrich('gtm', 'contact'));
  app.post('/gtm/data/v1/companies/enrich', enrich('gtm', 'company'));

  // ---- lookups ---------------------------------------------------------------------------------
  const catalogOf = (entity: string) =>
    entity === 'contact' ? CONTACT_OUTPUT_FIELDS : entity === 'company' ? COMPANY_OUTPUT_FIELDS : undefined;

  app.get('/lookup/outputfields/:entity/:kind', (c) => {
    const admitted = admit(c, 'legacy', undefined, false);
    if (admitted instanceof Response) return admitted;
    counters.increment('zoominfo.legacy.lookup');
    const catalog = catalogOf(c.req.param('entity'));
    if (catalog === undefined || c.req.param('kind') !== 'enrich') {
      return respond(400, legacyErrorBody(400, 'There are invalid fields in your request'), {}, 'legacy');
    }
    return respond(
      200,
      catalog.map((fieldName) => ({
        fieldName,
        description: `The ${fieldName} of the record`,
        accessGranted: denied.has(fieldName.toLowerCase()) ? 'false' : 'true',
      })),
      {},
      'legacy',
    );
  });

  app.get('/gtm/data/v1/lookup/enrich', (c) => {
    const admitted = admit(c, 'gtm', 'api:data:lookup', true);
    if (admitted instanceof Response) return admitted;
    const headers = rateHeaders('gtm', admitted.decision!);
    counters.increment('zoominfo.gtm.lookup');
    const entity = c.req.query('filter[entity]') ?? '';
    const fieldType = c.req.query('filter[fieldType]') ?? 'output';
    const catalog = catalogOf(entity);
    if (catalog === undefined || (fieldType !== 'output' && fieldType !== 'input')) {
      return respond(
        400,
        gtmErrorBody(400, 'PFAPI0006', 'Invalid value', 'filter[entity] must be contact or company', {
          parameter: 'filter[entity]',
        }),
        headers,
        'gtm',
      );
    }
    return respond(
      200,
      {
        data: catalog.map((fieldName) => ({
          type: 'EnrichLookup',
          id: fieldName,
          attributes: {
            fieldName,
            description: `The ${fieldName} of the record`,
            fieldType,
            entity,
            accessGranted: !denied.has(fieldName.toLowerCase()),
          },
        })),
      },
      headers,
      'gtm',
    );
  });

  const usageRows = (limitKey: 'limit' | 'totalLimit') =>
    [
      ['requestLimit', 'The maximum number of requests you can make', quotas.requests, used.requests],
      ['recordLimit', 'The maximum number of records you can retrieve', quotas.records, used.records],
      [
        'uniqueIdLimit',
        'The maximum number of person or company records you can redeem',
        quotas.uniqueIds,
        used.uniqueIds,
      ],
    ].map(([limitType, description, limit, current]) => ({
      limitType,
      description,
      [limitKey]: limit,
      currentUsage: current,
      usageRemaining: Math.max(0, (limit as number) - (current as number)),
    }));

  app.get('/lookup/usage', (c) => {
    const admitted = admit(c, 'legacy', undefined, false);
    if (admitted instanceof Response) return admitted;
    return respond(200, { usage: usageRows('limit') }, {}, 'legacy');
  });

  app.get('/gtm/data/v1/users/usage', (c) => {
    const admitted = admit(c, 'gtm', undefined, true);
    if (admitted instanceof Response) return admitted;
    return respond(
      200,
      {
        data: [
          { type: 'UserUsage', id: credentials.clientId, attributes: { usage: usageRows('totalLimit') } },
        ],
      },
      rateHeaders('gtm', admitted.decision!),
      'gtm',
    );
  });

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    if (path.startsWith('/gtm/')) {
      // The gateway answers a wrong verb or path with 404 ZI9998, never 405.
      return respond(
        404,
        gtmGatewayBody(404, 'ZI9998', `No static resource ${path.replace(/^\//, '')}.`, requestId()),
        {},
        'gtm',
      );
    }
    return respond(404, legacyErrorBody(404, 'Not Found'), {}, 'legacy');
  });

  return {
    vendor: 'zoominfo',
    app,
    credentials: { ...credentials },
    truth,
    view,
    revokeTokens: () => {
      legacyTokens.revokeAll();
      gtmTokens.revokeAll();
    },
    usage: () => ({ ...used }),
    denyOutputFields: (fields) => {
      denied = new Set(fields.map((field) => field.toLowerCase()));
    },
    reset: () => {
      resetState();
    },
  };
}
