import { createHash } from 'node:crypto';
import {
  ApiCallError,
  type Clock,
  ConfigurationError,
  createHttpClient,
  type EnrichCallOptions,
  type EnrichmentProviderV1,
  type EnrichRequest,
  type EnrichResult,
  type HttpClient,
  type LeadFieldPatch,
  loadOptionalSetting,
  type ProviderHitRatePriors,
  type ProviderLookup,
  parseOptions,
  registerSecret,
  ValidationError,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import {
  createZoomInfoSession,
  type ZoomInfoAuthFlow,
  type ZoomInfoSession,
  type ZoomInfoTokens,
} from './zoominfo-auth.js';
import {
  mapZoomInfoError,
  OUTPUT_FIELDS_DISALLOWED,
  type ZoomInfoApi,
  type ZoomInfoRateLimits,
  zoominfoRateLimitHeaders,
  zoominfoRateLimitPolicy,
} from './zoominfo-limits.js';
import {
  COMPANY_CONFIDENCE,
  COMPANY_SUPPLIES,
  CONTACT_SUPPLIES,
  contactConfidence,
  mapCompany,
  mapContact,
  matchOutcome,
  wantedOutputFields,
  type ZoomInfoEntity,
} from './zoominfo-mapping.js';
import { readEnrichAnswers, readEntitlements, type ZoomInfoAnswer } from './zoominfo-response.js';

/** ZoomInfo's API origin (both APIs). */
const ZOOMINFO_BASE_URL = 'https://api.zoominfo.com';

/** Most inputs ZoomInfo's enrich endpoints take in one call. */
const ZOOMINFO_MAX_BATCH_SIZE = 25;

/**
 * ZoomInfo's expected hit rates, the cost-aware waterfall's starting point
 * (it learns the real ones during the run): deep company firmographics and
 * direct phones; LinkedIn only where a profile is linked; technologies from
 * company lookups only.
 */
const ZOOMINFO_PRIORS: ProviderHitRatePriors = {
  match: 0.8,
  fields: {
    email: 0.88,
    phone: 0.8,
    title: 0.93,
    seniority: 0.9,
    department: 0.9,
    linkedinUrl: 0.75,
    location: 0.9,
    'company.name': 1,
    'company.domain': 0.99,
    'company.industry': 0.9,
    'company.headcount': 0.9,
    'company.headcountRange': 0.9,
    'company.annualRevenue': 0.85,
    'company.location': 0.9,
    'company.technologies': 0.7,
  },
};

/** A record enriched again within this long costs no credit (ZoomInfo's "Under Management" year). */
const UNDER_MANAGEMENT_MS = 365 * 24 * 3600 * 1000;

/** Settings of {@link createZoomInfo}. Secrets not given are read from the environment at the first call. */
export interface ZoomInfoProviderSettings {
  /**
   * Which API: `gtm` (OAuth2, JSON:API bodies) or `legacy` (the Enterprise API
   * with a JWT from `/authenticate`, being deprecated). Default: `ZOOMINFO_API`,
   * else `legacy` when a username is given (option or `ZOOMINFO_USERNAME`), else `gtm`.
   */
  readonly api?: ZoomInfoApi;
  /** GTM: the DevPortal app's client id. Default `ZOOMINFO_CLIENT_ID`. */
  readonly clientId?: string;
  /** GTM: the app's client secret. Default `ZOOMINFO_CLIENT_SECRET`. */
  readonly clientSecret?: string;
  /**
   * GTM: a refresh token, for the refresh-token flow (else client credentials).
   * Default `ZOOMINFO_REFRESH_TOKEN`. Refresh tokens are single-use: keep the
   * next one from `onTokens`.
   */
  readonly refreshToken?: string;
  /** GTM: scopes to ask for. Default: every scope the app holds. */
  readonly scopes?: readonly string[];
  /** GTM: called with every token set issued (the rotated refresh token included). */
  readonly onTokens?: (tokens: ZoomInfoTokens) => void;
  /** Legacy: the API user's name. Default `ZOOMINFO_USERNAME`. */
  readonly username?: string;
  /** Legacy: the password. Default `ZOOMINFO_PASSWORD`. Without one, the PKI login is used. */
  readonly password?: string;
  /** Legacy PKI: the client id of the admin-portal key. Default `ZOOMINFO_PKI_CLIENT_ID`. */
  readonly pkiClientId?: string;
  /** Legacy PKI: the RSA private key (PEM; `\n` escapes are accepted). Default `ZOOMINFO_PRIVATE_KEY`. */
  readonly privateKey?: string;
  /** Origin of both APIs. Default `https://api.zoominfo.com`. */
  readonly baseUrl?: string;
  /** Provider id, for limits, cache keys and provenance. Default `zoominfo`. */
  readonly providerId?: string;
  /** Extra headers sent with every data request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Time allowed per request, in ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** Your plan's request-rate limits (see {@link ZoomInfoRateLimits}). */
  readonly rateLimits?: ZoomInfoRateLimits;
  /** Only contacts with at least this `contactAccuracyScore` (70-99) match. Default: no minimum. */
  readonly contactAccuracyScoreMin?: number;
  /** Records remembered as charged within 12 months (to report re-enrichments as free). Default 100 000. */
  readonly underManagementCapacity?: number;
  /** Current time in epoch ms, for token expiry and the 12-month credit window. Default `Date.now`. */
  readonly clock?: Clock;
  /** Keep failed responses' bodies (scrubbed, truncated) on errors. Default false: they can hold lead data. */
  readonly captureResponseBody?: boolean;
}

/** The ZoomInfo enrichment provider: the v1 contract, a 25-record batch call, and an explicit sign-in. */
export interface ZoomInfoProvider extends EnrichmentProviderV1 {
  /** The API in use. */
  readonly api: ZoomInfoApi;
  /** Enrich up to 25 leads: contacts through contact enrich, company-only leads through company enrich. */
  doEnrichBatch(requests: readonly EnrichRequest[], options: EnrichCallOptions): Promise<EnrichResult[]>;
  /**
   * Sign in and read the account's output-field entitlements now, instead of
   * at the first lookup: checks the credentials at start-up.
   *
   * @throws ApiCallError or ConfigurationError when signing in fails.
   */
  connect(signal?: AbortSignal): Promise<void>;
}

const positiveInteger = z.number().int().positive();
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' });
const secret = z.string().min(1, 'must be a non-empty string');

const settingsSchema = z
  .object({
    api: z.enum(['gtm', 'legacy'], 'must be "gtm" or "legacy"').optional(),
    clientId: secret.optional(),
    clientSecret: secret.optional(),
    refreshToken: secret.optional(),
    scopes: z.array(z.string().regex(/^[\w:.-]+$/, 'must be a scope such as api:data:contact')).optional(),
    onTokens: z
      .custom<(tokens: ZoomInfoTokens) => void>((value) => typeof value === 'function', 'must be a function')
      .optional(),
    username: secret.optional(),
    password: secret.optional(),
    pkiClientId: secret.optional(),
    privateKey: secret.optional(),
    baseUrl: httpUrl.optional(),
    providerId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'must be letters, digits, ".", "_" or "-"')
      .optional(),
    headers: z.record(z.string(), z.string()).optional(),
    fetch: z
      .custom<typeof globalThis.fetch>((value) => typeof value === 'function', 'must be a function')
      .optional(),
    timeoutMs: z.number().positive().max(2_147_483_647).optional(),
    rateLimits: z
      .object({
        perSecond: positiveInteger.optional(),
        perMinute: positiveInteger.optional(),
        perHour: positiveInteger.optional(),
        perDay: positiveInteger.optional(),
        maxConcurrent: positiveInteger.optional(),
      })
      .strict()
      .optional(),
    contactAccuracyScoreMin: z
      .number()
      .int()
      .min(70, 'must be 70 to 99')
      .max(99, 'must be 70 to 99')
      .optional(),
    underManagementCapacity: positiveInteger.optional(),
    clock: z.custom<Clock>((value) => typeof value === 'function', 'must be a function').optional(),
    captureResponseBody: z.boolean().optional(),
  })
  .strict();

function environment(name: string): string | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function missing(
  providerId: string,
  what: string,
  issues: { field: string; variable: string }[],
): ConfigurationError {
  return new ConfigurationError('missing_credentials', {
    message: `ZoomInfo ${what} ${issues.length === 1 ? 'is' : 'are'} missing: ${issues
      .map((issue) => `pass the '${issue.field}' option or set ${issue.variable}`)
      .join('; ')}`,
    issues: issues.map((issue) => ({
      field: issue.field,
      reason: `is missing: pass the '${issue.field}' option or set ${issue.variable}`,
    })),
    providerId,
  });
}

/** The input of a contact lookup, chosen from what the lead has; `undefined` when it has too little. */
function contactInput(
  input: LeadFieldPatch,
  minScore: number | undefined,
): Record<string, unknown> | undefined {
  const company = input['company.name'];
  let match: Record<string, unknown> | undefined;
  if (input.email) match = { emailAddress: input.email };
  else if (input.linkedinUrl) match = { externalURL: input.linkedinUrl };
  else if (input.firstName && input.lastName && company)
    match = { firstName: input.firstName, lastName: input.lastName, companyName: company };
  else if (input.fullName && company) match = { fullName: input.fullName, companyName: company };
  if (match === undefined) return undefined;
  return minScore === undefined ? match : { ...match, contactAccuracyScoreMin: minScore };
}

function companyInput(input: LeadFieldPatch): Record<string, unknown> | undefined {
  if (input['company.domain']) return { companyWebsite: input['company.domain'] };
  if (input['company.name']) return { companyName: input['company.name'] };
  return undefined;
}

interface Plan {
  readonly entity: ZoomInfoEntity;
  readonly input: Record<string, unknown>;
  /** The lead field the lookup is keyed on, named in bad-input errors. */
  readonly key: string;
}

function planFor(
  request: EnrichRequest,
  field: string,
  providerId: string,
  minScore: number | undefined,
): Plan {
  const input = request?.input;
  if (typeof input !== 'object' || input === null) {
    throw new ValidationError([{ field, reason: 'must be an object of Lead field values' }], { providerId });
  }
  const contact = contactInput(input, minScore);
  if (contact !== undefined) {
    const key = input.email
      ? 'email'
      : input.linkedinUrl
        ? 'linkedinUrl'
        : input.fullName && !input.firstName
          ? 'fullName'
          : 'firstName';
    return { entity: 'contact', input: contact, key: `${field}.${key}` };
  }
  const company = companyInput(input);
  if (company !== undefined) {
    return {
      entity: 'company',
      input: company,
      key: `${field}.${input['company.domain'] ? 'company.domain' : 'company.name'}`,
    };
  }
  throw new ValidationError(
    [
      {
        field,
        reason:
          'needs email, linkedinUrl, firstName + lastName (or fullName) with company.name, company.domain or company.name',
      },
    ],
    { providerId },
  );
}

/**
 * Create a ZoomInfo enrichment provider over the GTM API or the legacy
 * Enterprise API.
 *
 * Lookups: a contact by `email`, `linkedinUrl` (sent as `externalURL`), or
 * `firstName` + `lastName` (or `fullName`) with `company.name`, with the
 * contact's company; a company alone by `company.domain` or `company.name`.
 * Batches of up to 25 go out as one call per entity. The account's
 * entitlements are read once from the lookup endpoint, and only fields it
 * may see are asked for, so one forbidden field never fails a batch.
 * Credits are reported as ZoomInfo charges them: one per record enriched
 * for the first time in 12 months, nothing for misses or re-enrichments.
 *
 * @example
 * ```ts
 * const zoominfo = createZoomInfo({ api: 'gtm' }); // ZOOMINFO_CLIENT_ID and ZOOMINFO_CLIENT_SECRET
 * const engine = createEnrichmentEngine({ providers: [zoominfo] });
 * ```
 * @throws ConfigurationError `invalid_configuration` naming every bad setting.
 */
export function createZoomInfo(settings: ZoomInfoProviderSettings = {}): ZoomInfoProvider {
  const providerId = typeof settings?.providerId === 'string' ? settings.providerId : 'zoominfo';
  const options = parseOptions(settingsSchema, settings ?? {}, { name: 'createZoomInfo', providerId });
  const envApi = environment('ZOOMINFO_API');
  const api: ZoomInfoApi =
    options.api ??
    (envApi === 'gtm' || envApi === 'legacy'
      ? envApi
      : options.username !== undefined || environment('ZOOMINFO_USERNAME') !== undefined
        ? 'legacy'
        : 'gtm');
  const baseUrl = (options.baseUrl ?? ZOOMINFO_BASE_URL).replace(/\/+$/, '');
  const clock: Clock = options.clock ?? (() => Date.now());
  const capacity = options.underManagementCapacity ?? 100_000;
  const minScore = options.contactAccuracyScoreMin;

  const read = (value: string | undefined, name: string, variable: string, isSecret = true) => {
    const found = loadOptionalSetting({
      settingValue: value,
      environmentVariableName: variable,
      settingName: name,
      description: `ZoomInfo ${name}`,
      providerId,
    });
    if (found !== undefined && isSecret) registerSecret(found);
    return found;
  };

  let flow: ZoomInfoAuthFlow | undefined;
  const resolveFlow = (): ZoomInfoAuthFlow => {
    if (flow !== undefined) return flow;
    if (api === 'gtm') {
      const clientId = read(options.clientId, 'clientId', 'ZOOMINFO_CLIENT_ID', false);
      const clientSecret = read(options.clientSecret, 'clientSecret', 'ZOOMINFO_CLIENT_SECRET');
      const lacking = [
        ...(clientId === undefined ? [{ field: 'clientId', variable: 'ZOOMINFO_CLIENT_ID' }] : []),
        ...(clientSecret === undefined
          ? [{ field: 'clientSecret', variable: 'ZOOMINFO_CLIENT_SECRET' }]
          : []),
      ];
      if (lacking.length > 0) throw missing(providerId, 'GTM API credentials', lacking);
      const refreshToken = read(options.refreshToken, 'refreshToken', 'ZOOMINFO_REFRESH_TOKEN');
      flow =
        refreshToken === undefined
          ? { kind: 'gtm-client-credentials', clientId: clientId!, clientSecret: clientSecret! }
          : { kind: 'gtm-refresh-token', clientId: clientId!, clientSecret: clientSecret!, refreshToken };
      return flow;
    }
    const username = read(options.username, 'username', 'ZOOMINFO_USERNAME', false);
    const password = read(options.password, 'password', 'ZOOMINFO_PASSWORD');
    const pkiClientId = read(options.pkiClientId, 'pkiClientId', 'ZOOMINFO_PKI_CLIENT_ID', false);
    const privateKey = read(options.privateKey, 'privateKey', 'ZOOMINFO_PRIVATE_KEY');
    if (username === undefined) {
      throw missing(providerId, 'legacy API credentials', [
        { field: 'username', variable: 'ZOOMINFO_USERNAME' },
      ]);
    }
    if (password !== undefined) {
      flow = { kind: 'legacy-password', username, password };
      return flow;
    }
    if (pkiClientId !== undefined && privateKey !== undefined) {
      flow = { kind: 'legacy-pki', username, clientId: pkiClientId, privateKey };
      return flow;
    }
    throw missing(providerId, 'legacy API password (or PKI key)', [
      { field: 'password', variable: 'ZOOMINFO_PASSWORD' },
      ...(pkiClientId === undefined ? [{ field: 'pkiClientId', variable: 'ZOOMINFO_PKI_CLIENT_ID' }] : []),
      ...(privateKey === undefined ? [{ field: 'privateKey', variable: 'ZOOMINFO_PRIVATE_KEY' }] : []),
    ]);
  };

  const session: ZoomInfoSession = createZoomInfoSession({
    providerId,
    baseUrl,
    flow: resolveFlow,
    scopes: options.scopes,
    onTokens: options.onTokens,
    clock,
    fetch: options.fetch,
    timeoutMs: options.timeoutMs,
  });

  const http: HttpClient = createHttpClient({
    providerId,
    baseUrl,
    now: clock,
    headers: () => ({ ...options.headers }),
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
    rateLimitHeaders: zoominfoRateLimitHeaders,
    mapError: mapZoomInfoError,
    captureResponseBody: options.captureResponseBody,
  });

  const jsonType = api === 'gtm' ? 'application/vnd.api+json' : 'application/json';

  /** One data call with the session's token; a 401 signs in again once and sends the call once more. */
  async function send(
    request: { method: 'GET' | 'POST'; path: string; json?: unknown; searchParams?: Record<string, string> },
    callOptions: EnrichCallOptions,
  ): Promise<unknown> {
    const signal = callOptions.signal;
    if (signal?.aborted) {
      throw new ApiCallError('aborted', {
        providerId,
        message: `${providerId}: the call was aborted before it was sent`,
        cause: signal.reason,
      });
    }
    const attempt = async (token: string) => {
      const response = await http.request<string>({
        method: request.method,
        path: request.path,
        searchParams: request.searchParams,
        json: request.json,
        headers: {
          authorization: `Bearer ${token}`,
          accept: jsonType,
          ...(request.json === undefined ? {} : { 'content-type': jsonType }),
        },
        responseType: 'text',
        signal,
        onRateLimit: callOptions.onRateLimit,
      });
      try {
        return response.data.trim() === '' ? undefined : (JSON.parse(response.data) as unknown);
      } catch {
        throw new ApiCallError('invalid_response', {
          providerId,
          status: response.status,
          method: request.method,
          url: `${baseUrl}/${request.path}`,
          message: `${providerId}: ${request.method} /${request.path} returned HTTP ${response.status} with a body that is not valid JSON`,
        });
      }
    };
    const token = await session.token(signal);
    try {
      return await attempt(token);
    } catch (error) {
      if (!ApiCallError.isInstance(error) || error.status !== 401) throw error;
      // A session ZoomInfo no longer accepts (expired early, revoked): sign in again, once.
      return attempt(await session.renew(token, signal));
    }
  }

  // ---- entitlements ---------------------------------------------------------------------------
  const entitlements = new Map<ZoomInfoEntity, Promise<Set<string>>>();
  const entitled = (entity: ZoomInfoEntity, callOptions: EnrichCallOptions): Promise<Set<string>> => {
    let found = entitlements.get(entity);
    if (found === undefined) {
      const path = api === 'gtm' ? 'gtm/data/v1/lookup/enrich' : `lookup/outputfields/${entity}/enrich`;
      found = send(
        api === 'gtm'
          ? { method: 'GET', path, searchParams: { 'filter[entity]': entity, 'filter[fieldType]': 'output' } }
          : { method: 'GET', path },
        { signal: callOptions.signal, onRateLimit: callOptions.onRateLimit },
      ).then((json) => {
        const granted = readEntitlements(json);
        if (granted === undefined) {
          throw new ApiCallError('invalid_response', {
            providerId,
            status: 200,
            method: 'GET',
            url: `${baseUrl}/${path}`,
            message: `${providerId}: GET /${path} returned a body that is not a list of output fields`,
          });
        }
        return granted;
      });
      entitlements.set(entity, found);
      // A failed read is not kept: the next call asks again.
      found.catch(() => {
        if (entitlements.get(entity) === found) entitlements.delete(entity);
      });
    }
    return found;
  };

  const outputFieldsFor = async (entity: ZoomInfoEntity, callOptions: EnrichCallOptions) => {
    const granted = await entitled(entity, callOptions);
    return wantedOutputFields(entity).filter((field) => granted.has(field.toLowerCase()));
  };

  // ---- credits --------------------------------------------------------------------------------
  const charged = new Map<string, number>();
  const creditsFor = (entity: ZoomInfoEntity, id: unknown): number => {
    if (id === undefined || id === null) return 1;
    const key = `${entity}:${String(id)}`;
    const now = clock();
    const since = charged.get(key);
    if (since !== undefined && now - since < UNDER_MANAGEMENT_MS) return 0;
    charged.delete(key);
    charged.set(key, now);
    if (charged.size > capacity) charged.delete(charged.keys().next().value as string);
    return 1;
  };

  // ---- enrich ---------------------------------------------------------------------------------
  async function enrichEntity(
    entity: ZoomInfoEntity,
    inputs: readonly Record<string, unknown>[],
    callOptions: EnrichCallOptions,
  ): Promise<ZoomInfoAnswer[]> {
    const inputKey = entity === 'contact' ? 'matchPersonInput' : 'matchCompanyInput';
    const path =
      api === 'gtm'
        ? entity === 'contact'
          ? 'gtm/data/v1/contacts/enrich'
          : 'gtm/data/v1/companies/enrich'
        : `enrich/${entity}`;
    const body = (outputFields: readonly string[]) => {
      const attributes = { [inputKey]: inputs, outputFields };
      return api === 'gtm'
        ? { data: { type: entity === 'contact' ? 'ContactEnrich' : 'CompanyEnrich', attributes } }
        : attributes;
    };
    const outputFields = await outputFieldsFor(entity, callOptions);
    let json: unknown;
    try {
      json = await send({ method: 'POST', path, json: body(outputFields) }, callOptions);
    } catch (error) {
      if (!refusedFields(error)) throw error;
      // The entitlements changed since they were read: read them again, and ask once more if they did.
      entitlements.delete(entity);
      const fresh = await outputFieldsFor(entity, callOptions);
      if (
        fresh.length === outputFields.length &&
        fresh.every((field, index) => field === outputFields[index])
      )
        throw error;
      json = await send({ method: 'POST', path, json: body(fresh) }, callOptions);
    }
    const answers = readEnrichAnswers(api, json);
    if (answers === undefined || answers.length !== inputs.length) {
      throw new ApiCallError('invalid_response', {
        providerId,
        status: 200,
        method: 'POST',
        url: `${baseUrl}/${path}`,
        message:
          answers === undefined
            ? `${providerId}: POST /${path} returned a body that is not an enrich answer`
            : `${providerId}: POST /${path} answered ${answers.length} results for ${inputs.length} inputs`,
      });
    }
    return answers;
  }

  const refusedFields = (error: unknown) =>
    ApiCallError.isInstance(error) &&
    error.status === 400 &&
    (error.vendorCode === 'PFAPI0001' || error.vendorCode === OUTPUT_FIELDS_DISALLOWED);

  function resultOf(
    entity: ZoomInfoEntity,
    answer: ZoomInfoAnswer,
    plan: Plan,
    single: boolean,
  ): EnrichResult {
    const outcome = matchOutcome(answer.matchStatus, answer.record !== undefined);
    const raw = { matchStatus: answer.matchStatus, record: answer.record };
    switch (outcome) {
      case 'quota':
        throw new ApiCallError('quota_exceeded', {
          providerId,
          status: 200,
          vendorCode: 'LIMIT_EXCEEDED',
          isRetryable: false,
          message: `${providerId}: ZoomInfo's record limit is reached (LIMIT_EXCEEDED); the provider is out until it resets`,
        });
      case 'service_error':
        throw new ApiCallError('server_error', {
          providerId,
          status: 200,
          vendorCode: 'SERVICE_ERROR',
          message: `${providerId}: ZoomInfo failed on a record (SERVICE_ERROR)`,
        });
      case 'bad_input':
        if (single) {
          throw new ApiCallError('invalid_request', {
            providerId,
            status: 200,
            vendorCode: 'INVALID_INPUT',
            isRetryable: false,
            message: `${plan.key}: ZoomInfo rejected the value as input (INVALID_INPUT)`,
          });
        }
        // One bad record never fails the batch: it is a miss, and free.
        return { status: 'not_found', credits: 0, raw };
      case 'not_found':
        return { status: 'not_found', credits: 0, raw };
      case 'matched': {
        const record = answer.record!;
        const fields = entity === 'contact' ? mapContact(record) : mapCompany(record, 'revenue');
        if (Object.keys(fields).length === 0) return { status: 'not_found', credits: 0, raw };
        return {
          status: 'matched',
          fields,
          confidence:
            entity === 'contact'
              ? contactConfidence(record.contactAccuracyScore, answer.matchStatus)
              : COMPANY_CONFIDENCE,
          credits: creditsFor(entity, record.id),
          raw,
        };
      }
    }
  }

  async function run(
    plans: readonly Plan[],
    callOptions: EnrichCallOptions,
    single: boolean,
  ): Promise<EnrichResult[]> {
    const results: EnrichResult[] = new Array(plans.length);
    const groups: Record<ZoomInfoEntity, number[]> = { contact: [], company: [] };
    for (const [index, plan] of plans.entries()) groups[plan.entity].push(index);
    await Promise.all(
      (['contact', 'company'] as const)
        .filter((entity) => groups[entity].length > 0)
        .map(async (entity) => {
          const indexes = groups[entity];
          const answers = await enrichEntity(
            entity,
            indexes.map((index) => plans[index]!.input),
            callOptions,
          );
          // Every answer is read before any throws, so credits of records charged in this answer are remembered.
          const outcomes = indexes.map((index, position) => {
            try {
              return {
                ok: true as const,
                value: resultOf(entity, answers[position]!, plans[index]!, single),
              };
            } catch (error) {
              return { ok: false as const, error };
            }
          });
          const failed = outcomes.find((outcome) => !outcome.ok);
          if (failed !== undefined && !failed.ok) throw failed.error;
          indexes.forEach((index, position) => {
            const outcome = outcomes[position]!;
            if (outcome.ok) results[index] = outcome.value;
          });
        }),
    );
    return results;
  }

  const lookups: readonly ProviderLookup[] = [
    { requires: ['email'], supplies: CONTACT_SUPPLIES },
    { requires: ['linkedinUrl'], supplies: CONTACT_SUPPLIES },
    { requires: ['firstName', 'lastName', 'company.name'], supplies: CONTACT_SUPPLIES },
    { requires: ['fullName', 'company.name'], supplies: CONTACT_SUPPLIES },
    { requires: ['company.domain'], supplies: COMPANY_SUPPLIES, preferWhenSufficient: true },
    { requires: ['company.name'], supplies: COMPANY_SUPPLIES },
  ];

  const limiterKey = () => {
    try {
      const resolved = resolveFlow();
      const who = 'clientId' in resolved ? resolved.clientId : resolved.username;
      return createHash('sha256').update(`${api}|${who}`).digest('hex').slice(0, 16);
    } catch {
      return 'default';
    }
  };

  return {
    specificationVersion: 'v1',
    providerId,
    api,
    capabilities: {
      lookups,
      maxBatchSize: ZOOMINFO_MAX_BATCH_SIZE,
      rateLimits: zoominfoRateLimitPolicy(api, options.rateLimits),
      cost: { perRequest: 0, perMatch: 1, chargesMisses: false },
      priors: ZOOMINFO_PRIORS,
    },
    limiterKey,

    async doEnrich(request, callOptions) {
      const plan = planFor(request, 'request.input', providerId, minScore);
      const [result] = await run([plan], callOptions ?? {}, true);
      return result!;
    },

    async doEnrichBatch(requests, callOptions) {
      if (!Array.isArray(requests) || requests.length > ZOOMINFO_MAX_BATCH_SIZE) {
        throw new ValidationError(
          [
            {
              field: 'requests',
              reason: `must be an array of at most ${ZOOMINFO_MAX_BATCH_SIZE} requests (ZoomInfo's enrich limit), got ${Array.isArray(requests) ? requests.length : typeof requests}`,
            },
          ],
          { providerId },
        );
      }
      const plans = requests.map((request, index) =>
        planFor(request, `requests[${index}].input`, providerId, minScore),
      );
      return run(plans, callOptions ?? {}, false);
    },

    async connect(signal) {
      await session.token(signal);
      await Promise.all([entitled('contact', { signal }), entitled('company', { signal })]);
    },
  };
}

/**
 * The default ZoomInfo provider: credentials from the environment at the
 * first call (the API from `ZOOMINFO_API` or from which variables are set).
 * Use {@link createZoomInfo} for settings.
 */
export const zoominfo: ZoomInfoProvider = createZoomInfo();
