import type {
  EnrichCallOptions,
  EnrichmentProviderV1,
  EnrichNotFound,
  EnrichPending,
  EnrichRequest,
  EnrichResult,
  ProviderCostModel,
  ProviderHitRatePriors,
  ProviderLookup,
  WebhookResolution,
} from '../contracts/enrichment-provider.js';
import { ApiCallError, ConfigurationError } from '../contracts/errors.js';
import { isLeadField, type LeadFieldPatch } from '../contracts/fields.js';
import type { RateLimitPolicy } from '../contracts/rate-limit.js';
import type { InboundWebhookRequest } from '../contracts/webhook.js';
import { validateEnrichResult } from './validate-result.js';

/**
 * What a `defineProvider` enrich function may return: a full result, or the
 * shorthand `null` for not found, or `{ fields, confidence? }` for a match.
 */
export type DefinedEnrichAnswer =
  | EnrichResult
  | null
  | {
      /** Field values found. Validated by the engine before use. */
      readonly fields: LeadFieldPatch;
      /** Overall confidence of the match, 0..1. Default the provider's `defaultConfidence`. */
      readonly confidence?: number;
      /** Credits this call cost. Default `cost.perRequest + cost.perMatch`. */
      readonly credits?: number;
      /** The vendor's payload, for audit and debugging. */
      readonly raw?: unknown;
    };

/** Settings of {@link defineProvider}. */
export interface DefineProviderSettings {
  /** Stable provider id, such as `internal-crm`. */
  readonly id: string;
  /** The lookups the provider offers (what it needs, what it supplies). */
  readonly lookups: readonly ProviderLookup[];
  /** Limits to respect. Default: 10 requests in flight, no windows. */
  readonly rateLimits?: RateLimitPolicy;
  /** What calls cost. Default: free. */
  readonly cost?: Partial<ProviderCostModel>;
  /** Expected hit rates, the cost-aware waterfall's starting point (shares between 0 and 1). Default: none. */
  readonly priors?: ProviderHitRatePriors;
  /** Confidence of matches that do not say. Default 0.8. */
  readonly defaultConfidence?: number;
  /** Look one lead up. */
  readonly enrich: (request: EnrichRequest, options: EnrichCallOptions) => Promise<DefinedEnrichAnswer>;
  /** Look several leads up in one call (answers in request order). Enables batching. */
  readonly enrichBatch?: (
    requests: readonly EnrichRequest[],
    options: EnrichCallOptions,
  ) => Promise<readonly DefinedEnrichAnswer[]>;
  /** Most requests per `enrichBatch` call. Required with `enrichBatch`. */
  readonly maxBatchSize?: number;
  /** Verify and parse webhooks that resolve pending lookups. */
  readonly handleWebhook?: (request: InboundWebhookRequest) => Promise<readonly WebhookResolution[]>;
  /** Identifies the credential in use, for per-key limits (never return the secret itself). */
  readonly limiterKey?: () => string;
}

function toResult(
  id: string,
  answer: DefinedEnrichAnswer,
  cost: ProviderCostModel,
  defaultConfidence: number,
): EnrichResult {
  let result: EnrichResult;
  if (answer === null) {
    const notFound: EnrichNotFound = {
      status: 'not_found',
      credits: cost.perRequest + (cost.chargesMisses ? cost.perMatch : 0),
    };
    result = notFound;
  } else if ('status' in answer) {
    result = answer as EnrichResult | EnrichPending;
  } else {
    result = {
      status: 'matched',
      fields: answer.fields,
      confidence: answer.confidence ?? defaultConfidence,
      credits: answer.credits ?? cost.perRequest + cost.perMatch,
      raw: answer.raw,
    };
  }
  // Throws on a malformed envelope. Field values pass through untouched: the
  // engine validates them again and reports each one it drops.
  validateEnrichResult(id, result);
  return result;
}

/**
 * Define an enrichment provider in a few lines, for a host app's own data
 * source. Settings are checked at once; every answer is validated with zod
 * before anything uses it (invalid field values are dropped).
 *
 * @example
 * ```ts
 * const internal = defineProvider({
 *   id: 'internal-api',
 *   lookups: [{ requires: ['email'], supplies: ['title', 'company.name'] }],
 *   rateLimits: { perSecond: 20, maxConcurrent: 5 },
 *   async enrich({ input }, { signal }) {
 *     const url = `https://people.internal/find?email=${encodeURIComponent(input.email ?? '')}`;
 *     const res = await fetch(url, { signal });
 *     if (res.status === 404) return null;
 *     const body = await res.json();
 *     return { fields: { title: body.title, 'company.name': body.company }, confidence: 0.9 };
 *   },
 * });
 * ```
 */
export function defineProvider(settings: DefineProviderSettings): EnrichmentProviderV1 {
  const problems: string[] = [];
  if (typeof settings.id !== 'string' || !/^[a-z0-9][a-z0-9._-]*$/i.test(settings.id)) {
    problems.push('id: must be a non-empty string of letters, digits, ".", "_" or "-"');
  }
  if (!Array.isArray(settings.lookups) || settings.lookups.length === 0) {
    problems.push('lookups: must list at least one lookup');
  } else {
    settings.lookups.forEach((lookup, index) => {
      for (const field of [...lookup.requires, ...lookup.supplies]) {
        if (!isLeadField(field)) problems.push(`lookups[${index}]: "${field}" is not a Lead field`);
      }
      if (lookup.supplies.length === 0) problems.push(`lookups[${index}].supplies: must not be empty`);
      if (lookup.preferWhenSufficient !== undefined && typeof lookup.preferWhenSufficient !== 'boolean') {
        problems.push(`lookups[${index}].preferWhenSufficient: must be a boolean`);
      }
    });
  }
  if (
    settings.enrichBatch &&
    !(Number.isInteger(settings.maxBatchSize) && (settings.maxBatchSize ?? 0) > 1)
  ) {
    problems.push('maxBatchSize: must be an integer above 1 when enrichBatch is given');
  }
  if (typeof settings.enrich !== 'function') problems.push('enrich: must be a function');
  const priors = settings.priors;
  if (priors !== undefined) {
    const isShare = (value: unknown) => typeof value === 'number' && value >= 0 && value <= 1;
    if (priors.match !== undefined && !isShare(priors.match))
      problems.push('priors.match: must be a share between 0 and 1');
    for (const [field, share] of Object.entries(priors.fields ?? {})) {
      if (!isLeadField(field)) problems.push(`priors.fields: "${field}" is not a Lead field`);
      else if (!isShare(share)) problems.push(`priors.fields.${field}: must be a share between 0 and 1`);
    }
    if (
      priors.weight !== undefined &&
      !(typeof priors.weight === 'number' && Number.isFinite(priors.weight) && priors.weight > 0)
    ) {
      problems.push('priors.weight: must be a positive number');
    }
  }
  if (problems.length > 0) {
    throw new ConfigurationError('invalid_configuration', {
      message: `defineProvider: ${problems.join('; ')}`,
      providerId: typeof settings.id === 'string' ? settings.id : undefined,
    });
  }
  const cost: ProviderCostModel = {
    perRequest: settings.cost?.perRequest ?? 0,
    perMatch: settings.cost?.perMatch ?? 0,
    chargesMisses: settings.cost?.chargesMisses ?? false,
  };
  const defaultConfidence = settings.defaultConfidence ?? 0.8;
  const enrichBatch = settings.enrichBatch;
  const handleWebhook = settings.handleWebhook;
  return {
    specificationVersion: 'v1',
    providerId: settings.id,
    capabilities: {
      lookups: settings.lookups,
      maxBatchSize: enrichBatch ? (settings.maxBatchSize ?? 1) : 1,
      rateLimits: settings.rateLimits ?? { maxConcurrent: 10 },
      cost,
      ...(priors ? { priors } : {}),
    },
    ...(settings.limiterKey ? { limiterKey: settings.limiterKey } : {}),
    async doEnrich(request, options) {
      return toResult(settings.id, await settings.enrich(request, options), cost, defaultConfidence);
    },
    ...(enrichBatch
      ? {
          async doEnrichBatch(requests: readonly EnrichRequest[], options: EnrichCallOptions) {
            const answers = await enrichBatch(requests, options);
            if (!Array.isArray(answers) || answers.length !== requests.length) {
              throw new ApiCallError('invalid_response', {
                message: `Provider "${settings.id}": enrichBatch must return one answer per request (${requests.length}), got ${Array.isArray(answers) ? answers.length : typeof answers}`,
                providerId: settings.id,
                isRetryable: false,
              });
            }
            return answers.map((answer) => toResult(settings.id, answer, cost, defaultConfidence));
          },
        }
      : {}),
    ...(handleWebhook
      ? {
          doHandleWebhook: (request: InboundWebhookRequest) =>
            handleWebhook(request).then((list) => [...list]),
        }
      : {}),
  };
}
