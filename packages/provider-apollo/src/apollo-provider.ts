import { createHash } from 'node:crypto';
import {
  ApiCallError,
  createHttpClient,
  type EnrichCallOptions,
  type EnrichmentProviderV1,
  type EnrichRequest,
  type EnrichResult,
  type HttpClient,
  type InboundWebhookRequest,
  type LeadField,
  type LeadFieldPatch,
  loadApiKey,
  normalizeDomain,
  type ProviderHitRatePriors,
  type ProviderLookup,
  parseOptions,
  ValidationError,
  type ValidationIssue,
  type WebhookResolution,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import {
  type ApolloPlanLimits,
  apolloRateLimitHeaders,
  apolloRateLimitPolicy,
  mapApolloError,
  toBulkUnits,
} from './apollo-limits.js';
import {
  APOLLO_MATCH_CONFIDENCE,
  type ApolloMatchKey,
  mapOrganization,
  mapPerson,
  organizationDomain,
} from './apollo-mapping.js';
import { type ApolloRevealSettings, createRevealTracker, type RevealTracker } from './apollo-reveal.js';
import {
  type ApolloPerson,
  organizationBulkEnrichResponseSchema,
  organizationEnrichResponseSchema,
  parseApolloJson,
  peopleBulkMatchResponseSchema,
  peopleMatchResponseSchema,
} from './apollo-schemas.js';

/** Apollo's API base URL. */
const APOLLO_BASE_URL = 'https://api.apollo.io/api/v1';

/** Most records Apollo's bulk endpoints take in one call. */
export const APOLLO_MAX_BATCH_SIZE = 10;

/** Credits Apollo charges, used where a response does not report `credits_consumed`. */
export interface ApolloCredits {
  /** Per matched person (demographics or email). Default 1. */
  readonly person?: number;
  /** Extra per revealed mobile phone. Default 8. */
  readonly mobilePhone?: number;
  /** Per enriched organization. Default 1. */
  readonly organization?: number;
}

/** Settings of {@link createApollo}. */
export interface ApolloProviderSettings {
  /** API key, sent as `x-api-key`. Default: the `APOLLO_API_KEY` environment variable, read at call time. */
  readonly apiKey?: string;
  /** Base URL. Default `https://api.apollo.io/api/v1`. */
  readonly baseUrl?: string;
  /** Provider id, for limits, cache keys and provenance. Default `apollo`. */
  readonly providerId?: string;
  /** Extra headers sent with every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Time allowed per request, in ms. Default 30 000. */
  readonly timeoutMs?: number;
  /** Your plan's limits for the single-record endpoints (bulk endpoints get a tenth). */
  readonly rateLimits?: ApolloPlanLimits;
  /** Credit prices, for responses that do not report `credits_consumed`. */
  readonly credits?: ApolloCredits;
  /** Ask for personal emails (`reveal_personal_emails`). Default false. */
  readonly revealPersonalEmails?: boolean;
  /** Asynchronous phone reveal and waterfall, through a webhook. Off unless given. */
  readonly reveal?: ApolloRevealSettings;
  /** Keep failed responses' bodies (scrubbed, truncated) on errors. Default false: they can hold lead data. */
  readonly captureResponseBody?: boolean;
}

/** The Apollo enrichment provider: the v1 contract plus webhook polling controls. */
export interface ApolloProvider extends EnrichmentProviderV1 {
  /** Enrich up to 10 leads: people through `people/bulk_match`, domain-only leads through `organizations/bulk_enrich`. */
  doEnrichBatch(requests: readonly EnrichRequest[], options: EnrichCallOptions): Promise<EnrichResult[]>;
  /** Parse a reveal webhook (checking its `leadpipe_token`) into resolutions of pending lookups. */
  doHandleWebhook(request: InboundWebhookRequest): Promise<WebhookResolution[]>;
  /** Lookups waiting for a reveal webhook in this process. */
  pendingCount(): number;
  /** Stop every poll timer and forget pending lookups. */
  close(): Promise<void>;
}

const PERSON_FIELDS: readonly LeadField[] = [
  'email',
  'firstName',
  'lastName',
  'fullName',
  'linkedinUrl',
  'title',
  'seniority',
  'department',
  'location',
];

const COMPANY_FIELDS: readonly LeadField[] = [
  'company.name',
  'company.domain',
  'company.industry',
  'company.headcount',
  'company.headcountRange',
  'company.annualRevenue',
  'company.location',
  'company.technologies',
];

const positiveInteger = z.number().int().positive();
const positiveMs = z.number().positive().max(2_147_483_647);
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an absolute http:// or https:// URL' });

const settingsSchema = z
  .object({
    apiKey: z.string().optional(),
    baseUrl: httpUrl.optional(),
    providerId: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'must be letters, digits, ".", "_" or "-"')
      .optional(),
    headers: z.record(z.string(), z.string()).optional(),
    fetch: z
      .custom<typeof globalThis.fetch>((value) => typeof value === 'function', 'must be a function')
      .optional(),
    timeoutMs: positiveMs.optional(),
    rateLimits: z
      .object({
        perMinute: positiveInteger.optional(),
        perHour: positiveInteger.optional(),
        perDay: positiveInteger.optional(),
        maxConcurrent: positiveInteger.optional(),
      })
      .strict()
      .optional(),
    credits: z
      .object({
        person: z.number().nonnegative().optional(),
        mobilePhone: z.number().nonnegative().optional(),
        organization: z.number().nonnegative().optional(),
      })
      .strict()
      .optional(),
    revealPersonalEmails: z.boolean().optional(),
    reveal: z
      .object({
        webhookUrl: httpUrl,
        phone: z.boolean().optional(),
        waterfallEmail: z.boolean().optional(),
        waterfallPhone: z.boolean().optional(),
        webhookToken: z.string().min(16, 'must be at least 16 characters').optional(),
        poll: z
          .object({
            deliver: z.custom<(request: InboundWebhookRequest) => unknown>(
              (value) => typeof value === 'function',
              'must be a function',
            ),
            afterMs: positiveMs.optional(),
            intervalMs: positiveMs.optional(),
            timeoutMs: positiveMs.optional(),
          })
          .strict()
          .optional(),
        maxPending: positiveInteger.optional(),
        maxBodyBytes: positiveInteger.optional(),
      })
      .strict()
      .optional(),
    captureResponseBody: z.boolean().optional(),
  })
  .strict();

const callOptionsSchema = z.object({ revealPersonalEmails: z.boolean().optional() }).strict();

function zodIssues(error: z.ZodError, prefix = ''): ValidationIssue[] {
  return error.issues.flatMap((issue) => {
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        field: `${prefix}${[...path, key].join('.')}`,
        reason: 'is not a known option',
      }));
    }
    return [{ field: `${prefix}${path.join('.')}` || '(settings)', reason: issue.message }];
  });
}

/** The person parameters of a request, with the key it will match on; `undefined` for a domain-only lead. */
function personParams(
  input: LeadFieldPatch,
): { params: Record<string, string>; key: ApolloMatchKey } | undefined {
  const params: Record<string, string> = {};
  if (input.email) params.email = input.email;
  if (input.linkedinUrl) params.linkedin_url = input.linkedinUrl;
  if (input.firstName && input.lastName) {
    params.first_name = input.firstName;
    params.last_name = input.lastName;
  } else if (input.fullName) params.name = input.fullName;
  if (input['company.domain']) params.domain = input['company.domain'];
  if (input['company.name']) params.organization_name = input['company.name'];
  const named = params.name !== undefined || params.first_name !== undefined;
  const atCompany = params.domain !== undefined || params.organization_name !== undefined;
  if (params.email === undefined && params.linkedin_url === undefined && !(named && atCompany))
    return undefined;
  const key: ApolloMatchKey = params.email ? 'email' : params.linkedin_url ? 'linkedinUrl' : 'name';
  return { params, key };
}

type Plan =
  | { readonly kind: 'person'; readonly params: Record<string, string>; readonly key: ApolloMatchKey }
  | { readonly kind: 'company'; readonly domain: string };

function planFor(request: EnrichRequest, field: string, providerId: string): Plan {
  const input = request?.input;
  if (typeof input !== 'object' || input === null) {
    throw new ValidationError([{ field, reason: 'must be an object of Lead field values' }], { providerId });
  }
  const person = personParams(input);
  if (person !== undefined) return { kind: 'person', ...person };
  const domain = input['company.domain'];
  if (typeof domain === 'string' && domain !== '') return { kind: 'company', domain };
  throw new ValidationError(
    [
      {
        field,
        reason:
          'needs email, linkedinUrl, firstName + lastName (or fullName) with company.domain, or company.domain',
      },
    ],
    { providerId },
  );
}

function credit(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/**
 * Apollo's expected hit rates, the cost-aware waterfall's starting point (it
 * learns the real ones during the run): strong on people (titles, seniority,
 * LinkedIn), weaker on company metrics, which it estimates (revenue and
 * technologies least often).
 */
const APOLLO_PRIORS: ProviderHitRatePriors = {
  match: 0.8,
  fields: {
    email: 0.9,
    title: 0.95,
    seniority: 0.95,
    department: 0.9,
    linkedinUrl: 0.9,
    location: 0.85,
    'company.name': 0.98,
    'company.domain': 0.98,
    'company.industry': 0.65,
    'company.headcount': 0.6,
    'company.headcountRange': 0.6,
    'company.annualRevenue': 0.35,
    'company.location': 0.65,
    'company.technologies': 0.45,
  },
};

/**
 * Create an Apollo.io enrichment provider.
 *
 * Lookups: `email`, `linkedinUrl`, or `firstName` + `lastName` with
 * `company.domain` find a person (`people/match`, `people/bulk_match`) with
 * their company; `company.domain` alone finds the company only
 * (`organizations/enrich`, `organizations/bulk_enrich`). The key is read
 * from `APOLLO_API_KEY` at call time when not given, and sent as `x-api-key`.
 *
 * @example
 * ```ts
 * const apollo = createApollo({ rateLimits: { perMinute: 400, perHour: 2400, perDay: 20000 } });
 * const engine = createEnrichmentEngine({ providers: [apollo] });
 * ```
 * @throws ConfigurationError `invalid_configuration` naming every bad setting.
 */
export function createApollo(settings: ApolloProviderSettings = {}): ApolloProvider {
  const providerId = typeof settings?.providerId === 'string' ? settings.providerId : 'apollo';
  const options = parseOptions(settingsSchema, settings ?? {}, { name: 'createApollo', providerId });
  const reveal = options.reveal;
  const prices = { person: 1, mobilePhone: 8, organization: 1, ...options.credits };
  const apiKey = () =>
    loadApiKey({
      apiKey: options.apiKey,
      environmentVariableName: 'APOLLO_API_KEY',
      description: 'Apollo',
      providerId,
    });

  const http: HttpClient = createHttpClient({
    providerId,
    baseUrl: options.baseUrl ?? APOLLO_BASE_URL,
    headers: () => ({ ...options.headers, 'x-api-key': apiKey() }),
    timeoutMs: options.timeoutMs,
    fetch: options.fetch,
    rateLimitHeaders: apolloRateLimitHeaders,
    mapError: mapApolloError,
    captureResponseBody: options.captureResponseBody,
  });
  const baseUrl = (options.baseUrl ?? APOLLO_BASE_URL).replace(/\/+$/, '');
  const revealTracker: RevealTracker = createRevealTracker({
    providerId,
    reveal,
    mobilePhoneCredits: prices.mobilePhone,
    http,
  });

  const personSupplies: LeadField[] = [
    ...PERSON_FIELDS,
    ...(revealTracker.suppliesPhone ? (['phone'] as const) : []),
    ...COMPANY_FIELDS,
  ];
  const lookups: readonly ProviderLookup[] = [
    { requires: ['email'], supplies: personSupplies },
    { requires: ['linkedinUrl'], supplies: personSupplies },
    { requires: ['firstName', 'lastName', 'company.domain'], supplies: personSupplies },
    { requires: ['company.domain'], supplies: COMPANY_FIELDS },
  ];

  let organizationsInaccessible = false;

  async function call<T>(
    schema: z.ZodType<T>,
    request: {
      method: 'GET' | 'POST';
      path: string;
      searchParams?: Record<string, string | boolean | readonly string[] | undefined>;
      json?: unknown;
    },
    callOptions: EnrichCallOptions,
  ): Promise<T> {
    const bulk = request.path.includes('bulk');
    const report = callOptions.onRateLimit;
    const response = await http.request<string>({
      method: request.method,
      path: request.path,
      searchParams: request.searchParams,
      json: request.json,
      signal: callOptions.signal,
      responseType: 'text',
      onRateLimit: report === undefined ? undefined : (state) => report(toBulkUnits(state, bulk)),
    });
    const where = {
      providerId,
      status: response.status,
      method: request.method,
      url: `${baseUrl}/${request.path}`,
    };
    let json: unknown;
    try {
      json = parseApolloJson(response.data);
    } catch {
      throw new ApiCallError('invalid_response', {
        ...where,
        message: `${providerId}: ${request.method} ${request.path} returned HTTP ${response.status} with a body that is not valid JSON`,
      });
    }
    const result = schema.safeParse(json);
    if (!result.success) {
      const detail = result.error.issues
        .slice(0, 5)
        .map((issue) => `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}`)
        .join('; ');
      throw new ApiCallError('invalid_response', {
        ...where,
        message: `${providerId}: ${request.method} ${request.path} returned an unexpected body (${detail})`,
      });
    }
    return result.data;
  }

  function readCallOptions(callOptions: EnrichCallOptions): { revealPersonalEmails: boolean } {
    const given = callOptions?.providerOptions ?? {};
    const result = callOptionsSchema.safeParse(given);
    if (!result.success)
      throw new ValidationError(zodIssues(result.error, 'providerOptions.'), { providerId });
    return {
      revealPersonalEmails: result.data.revealPersonalEmails ?? options.revealPersonalEmails ?? false,
    };
  }

  function personResult(
    person: ApolloPerson | null | undefined,
    key: ApolloMatchKey,
    credits: number,
    raw: unknown,
  ): EnrichResult {
    if (person === null || person === undefined) return { status: 'not_found', credits, raw };
    const mapped = mapPerson(person);
    if (Object.keys(mapped.fields).length === 0) return { status: 'not_found', credits, raw };
    return {
      status: 'matched',
      fields: mapped.fields,
      confidence: APOLLO_MATCH_CONFIDENCE[key],
      fieldConfidence: mapped.fieldConfidence,
      credits,
      raw,
    };
  }

  async function matchPerson(
    plan: Extract<Plan, { kind: 'person' }>,
    asynchronous: boolean,
    callOptions: EnrichCallOptions,
  ): Promise<EnrichResult> {
    const { revealPersonalEmails } = readCallOptions(callOptions);
    const body = await call(
      peopleMatchResponseSchema,
      {
        method: 'POST',
        path: 'people/match',
        searchParams: {
          ...plan.params,
          reveal_personal_emails: revealPersonalEmails ? true : undefined,
          ...(asynchronous ? revealTracker.asyncParams() : {}),
        },
      },
      callOptions,
    );
    const found = body.person !== null && body.person !== undefined;
    const result = personResult(body.person, plan.key, found ? prices.person : 0, body);
    return asynchronous ? revealTracker.defer(result, body.person?.id, body.request_id) : result;
  }

  async function bulkMatch(
    plans: readonly Extract<Plan, { kind: 'person' }>[],
    asynchronous: boolean,
    callOptions: EnrichCallOptions,
  ): Promise<EnrichResult[]> {
    const { revealPersonalEmails } = readCallOptions(callOptions);
    const body = await call(
      peopleBulkMatchResponseSchema,
      {
        method: 'POST',
        path: 'people/bulk_match',
        searchParams: {
          reveal_personal_emails: revealPersonalEmails ? true : undefined,
          ...(asynchronous ? revealTracker.asyncParams() : {}),
        },
        json: { details: plans.map((plan) => plan.params) },
      },
      callOptions,
    );
    if (body.matches.length !== plans.length) {
      throw new ApiCallError('invalid_response', {
        providerId,
        status: 200,
        method: 'POST',
        url: `${baseUrl}/people/bulk_match`,
        message: `${providerId}: people/bulk_match answered ${body.matches.length} matches for ${plans.length} records`,
      });
    }
    const found = body.matches.filter((match) => match !== null).length;
    const reported = body.credits_consumed;
    // Waterfall answers omit credits_consumed: fall back to the price list.
    const perMatch =
      typeof reported === 'number' && reported >= 0 ? (found > 0 ? reported / found : 0) : prices.person;
    const perMiss = typeof reported === 'number' && reported > 0 && found === 0 ? reported / plans.length : 0;
    return body.matches.map((match, index) => {
      const result = personResult(
        match,
        plans[index]!.key,
        credit(match === null ? perMiss : perMatch),
        match,
      );
      return asynchronous ? revealTracker.defer(result, match?.id, body.request_id) : result;
    });
  }

  function organizationsBlocked(): ApiCallError {
    return new ApiCallError('invalid_request', {
      providerId,
      vendorCode: 'API_INACCESSIBLE',
      isRetryable: false,
      message: `${providerId}: the API key is not authorized for organization endpoints (key scope); company-only lookups are skipped`,
    });
  }

  async function guardOrganizations<T>(run: () => Promise<T>): Promise<T> {
    if (organizationsInaccessible) throw organizationsBlocked();
    try {
      return await run();
    } catch (error) {
      if (ApiCallError.isInstance(error) && error.status === 403 && error.vendorCode === 'API_INACCESSIBLE') {
        organizationsInaccessible = true;
      }
      throw error;
    }
  }

  function organizationResult(
    organization: Parameters<typeof mapOrganization>[0] | null | undefined,
    credits: number,
  ): EnrichResult {
    if (!organization) return { status: 'not_found', credits: 0 };
    const mapped = mapOrganization(organization);
    if (Object.keys(mapped.fields).length === 0) return { status: 'not_found', credits, raw: organization };
    return {
      status: 'matched',
      fields: mapped.fields,
      confidence: APOLLO_MATCH_CONFIDENCE.domain,
      fieldConfidence: mapped.fieldConfidence,
      credits,
      raw: organization,
    };
  }

  async function enrichOrganization(domain: string, callOptions: EnrichCallOptions): Promise<EnrichResult> {
    return guardOrganizations(async () => {
      const body = await call(
        organizationEnrichResponseSchema,
        { method: 'GET', path: 'organizations/enrich', searchParams: { domain } },
        callOptions,
      );
      return organizationResult(body.organization, prices.organization);
    });
  }

  async function bulkEnrichOrganizations(
    domains: readonly string[],
    callOptions: EnrichCallOptions,
  ): Promise<EnrichResult[]> {
    return guardOrganizations(async () => {
      const body = await call(
        organizationBulkEnrichResponseSchema,
        { method: 'POST', path: 'organizations/bulk_enrich', searchParams: { 'domains[]': domains } },
        callOptions,
      );
      const key = (domain: string) => {
        try {
          return normalizeDomain(domain);
        } catch {
          return domain.toLowerCase();
        }
      };
      const byDomain = new Map<string, NonNullable<(typeof body.organizations & object)[number]>>();
      for (const organization of body.organizations ?? []) {
        if (!organization) continue;
        const domain = organizationDomain(organization);
        if (domain !== undefined) byDomain.set(key(domain), organization);
      }
      const askedFor = new Map<string, number>();
      for (const domain of domains) askedFor.set(key(domain), (askedFor.get(key(domain)) ?? 0) + 1);
      return domains.map((domain) => {
        const organization = byDomain.get(key(domain));
        return organizationResult(
          organization,
          credit(prices.organization / (askedFor.get(key(domain)) ?? 1)),
        );
      });
    });
  }

  const provider: ApolloProvider = {
    specificationVersion: 'v1',
    providerId,
    capabilities: {
      lookups,
      maxBatchSize: APOLLO_MAX_BATCH_SIZE,
      rateLimits: apolloRateLimitPolicy(options.rateLimits),
      cost: { perRequest: 0, perMatch: prices.person, chargesMisses: false },
      priors: APOLLO_PRIORS,
    },
    limiterKey: () => {
      try {
        return createHash('sha256').update(apiKey()).digest('hex').slice(0, 16);
      } catch {
        return 'default';
      }
    },

    async doEnrich(request, callOptions) {
      readCallOptions(callOptions ?? {});
      const plan = planFor(request, 'request.input', providerId);
      if (plan.kind === 'company') return enrichOrganization(plan.domain, callOptions ?? {});
      return matchPerson(plan, revealTracker.wantsAsync(request), callOptions ?? {});
    },

    async doEnrichBatch(requests, callOptions) {
      if (!Array.isArray(requests) || requests.length > APOLLO_MAX_BATCH_SIZE) {
        throw new ValidationError(
          [
            {
              field: 'requests',
              reason: `must be an array of at most ${APOLLO_MAX_BATCH_SIZE} requests (Apollo's bulk limit), got ${Array.isArray(requests) ? requests.length : typeof requests}`,
            },
          ],
          { providerId },
        );
      }
      readCallOptions(callOptions ?? {});
      const plans = requests.map((request, index) =>
        planFor(request, `requests[${index}].input`, providerId),
      );
      const results: EnrichResult[] = new Array(requests.length);
      const groups = {
        sync: [] as number[],
        async: [] as number[],
        company: [] as number[],
      };
      plans.forEach((plan, index) => {
        if (plan.kind === 'company') groups.company.push(index);
        else groups[revealTracker.wantsAsync(requests[index]!) ? 'async' : 'sync'].push(index);
      });
      const options = callOptions ?? {};
      const personPlans = (indexes: number[]) =>
        indexes.map((index) => plans[index] as Extract<Plan, { kind: 'person' }>);
      const work: Promise<void>[] = [];
      for (const mode of ['sync', 'async'] as const) {
        const indexes = groups[mode];
        if (indexes.length === 0) continue;
        work.push(
          (indexes.length === 1
            ? matchPerson(personPlans(indexes)[0]!, mode === 'async', options).then((result) => [result])
            : bulkMatch(personPlans(indexes), mode === 'async', options)
          ).then((answers) => {
            indexes.forEach((index, position) => {
              results[index] = answers[position]!;
            });
          }),
        );
      }
      if (groups.company.length > 0) {
        const domains = groups.company.map(
          (index) => (plans[index] as Extract<Plan, { kind: 'company' }>).domain,
        );
        work.push(
          (domains.length === 1
            ? enrichOrganization(domains[0]!, options).then((result) => [result])
            : bulkEnrichOrganizations(domains, options)
          ).then((answers) => {
            groups.company.forEach((index, position) => {
              results[index] = answers[position]!;
            });
          }),
        );
      }
      await Promise.all(work);
      return results;
    },

    doHandleWebhook: async (request) => revealTracker.handleWebhook(request),

    pendingCount: () => revealTracker.pendingCount(),

    close: async () => {
      revealTracker.close();
    },
  };
  return provider;
}

/**
 * The default Apollo provider: `APOLLO_API_KEY` is read at the first call,
 * default plan limits, no reveals. Use {@link createApollo} for settings.
 */
export const apollo: ApolloProvider = createApollo();
