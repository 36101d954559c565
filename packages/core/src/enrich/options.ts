import { z } from 'zod';
import type { Cache } from '../contracts/cache.js';
import { type Clock, systemClock } from '../contracts/clock.js';
import type { EnrichmentProviderV1 } from '../contracts/enrichment-provider.js';
import { isLeadField, type LeadField } from '../contracts/fields.js';
import type { Lead } from '../contracts/lead.js';
import type { LimiterRegistryOptions } from '../limits/index.js';
import { parseOptions } from '../options/parse-options.js';
import { createMemoryCache } from '../stores/memory-cache.js';
import {
  createObserver,
  type ObservabilityOptions,
  type Observer,
  observabilityOptionsShape,
} from '../telemetry/index.js';
import { DEFAULT_WEBHOOK_MAX_BODY_BYTES } from '../webhooks/raw-body.js';
import { DEFAULT_MIN_FIELDS_PER_CREDIT, type WaterfallStrategy } from './strategy.js';

/** How field values from several providers are merged. */
export type MergePolicy = 'first' | 'highestConfidence';

/** Options of {@link createEnrichmentEngine}. */
export interface EnrichmentEngineOptions extends ObservabilityOptions {
  /** Providers, in the order the waterfall tries them. Ids must be unique. */
  readonly providers: readonly EnrichmentProviderV1[];
  /** Fields to fill when a call does not say. Default: every field some provider can supply. */
  readonly fields?: readonly LeadField[];
  /** A field counts as filled at or above this confidence. Default 0.5. */
  readonly minConfidence?: number;
  /**
   * `first` (default): the first provider (by order) to fill a field at or
   * above `minConfidence` keeps it. `highestConfidence`: a later provider's
   * value replaces an earlier one when it is more confident.
   */
  readonly mergePolicy?: MergePolicy;
  /**
   * Provider order per field, by provider id, such as
   * `{ email: ['apollo'], 'company.headcount': ['clearbit', 'apollo'] }`.
   * Providers not listed follow in the main order.
   */
  readonly fieldOrder?: Partial<Record<LeadField, readonly string[]>>;
  /**
   * How the next provider is picked for a lead. `fixed-order`: the order of
   * `providers` (and `fieldOrder`), each provider asked while it can supply a
   * missing field. `cost-aware`: the provider with the most expected missing
   * fields per credit, from hit rates learned during the run per provider,
   * field and kind of lead (starting from each provider's
   * `capabilities.priors`); a lead is done when no provider is worth its cost
   * (`costAware.minFieldsPerCredit`). `fieldOrder` entries are asked first
   * under both. Default `fixed-order`.
   */
  readonly strategy?: WaterfallStrategy;
  /** Settings of the `cost-aware` strategy. */
  readonly costAware?: {
    /**
     * Least expected missing fields a call must fill per credit it is expected
     * to cost: lower spends more for the last few fields, higher stops sooner.
     * A call whose answer is cached or in flight costs nothing and is always
     * worth it. Default 0.2 (one credit for a fifth of a field).
     */
    readonly minFieldsPerCredit?: number;
    /** Most kinds of lead (provider, lookup, earlier miss) whose rates are learned; memory stays bounded. Default 256. */
    readonly maxContexts?: number;
  };
  /** Credit budgets. A call that could pass one is not made, and the outcome says so. */
  readonly budgets?: {
    /** Most credits spent on one lead. */
    readonly perLead?: number;
    /** Most credits spent in this engine's lifetime (one run). */
    readonly perRun?: number;
  };
  /** Leads to leave alone: return `true` (or a reason) to skip a lead. */
  readonly skip?: (lead: Lead) => boolean | string;
  /** Result cache. Default: an in-memory LRU. `false` turns caching off (not recommended: you pay twice). */
  readonly cache?: Cache | false;
  /** How long matches stay cached, in ms. Default 30 days. */
  readonly cacheTtlMs?: number;
  /** How long misses stay cached, in ms. Default 1 day. */
  readonly notFoundTtlMs?: number;
  /**
   * Limiter settings: pass `connection` (a Bottleneck Redis or IORedis
   * connection) so several processes share each provider's quota. The
   * limiters read the engine's `now` unless `limits.now` says otherwise.
   */
  readonly limits?: Omit<LimiterRegistryOptions, 'onEvent'>;
  /** Retries of 5xx, timeouts and network errors (never 429: the limiter owns those). */
  readonly retry?: {
    /** Retries after the first attempt. Default 3. */
    readonly retries?: number;
    /** Backoff before the first retry, in ms (doubles each retry, with jitter). Default 1 000. */
    readonly minTimeoutMs?: number;
    /** Longest backoff, in ms. Default 30 000. */
    readonly maxTimeoutMs?: number;
  };
  /** Circuit breaker per provider. Default: opens after 5 consecutive failures for 30 s. */
  readonly breaker?: {
    /**
     * Consecutive failed calls that open a provider's circuit. Counted: 5xx,
     * timeouts, network errors, invalid responses, 429s the limiter gave up on,
     * and errors that are not leadpipe errors. Default 5.
     */
    readonly failureThreshold?: number;
    /** How long an open circuit stays open before one probe call, in ms. Default 30 000. */
    readonly coolDownMs?: number;
  };
  /**
   * Spill-over (off by default): when a provider's queue would make a lead
   * wait longer than `maxQueueWaitMs`, the next capable provider takes it.
   */
  readonly spillOver?:
    | {
        /** Longest estimated wait for a provider's limiter, in ms, before another provider takes the lead. */
        readonly maxQueueWaitMs: number;
      }
    | false;
  /** How long a lead waits for company before a batch call goes out, in ms. Default 10. */
  readonly batchLingerMs?: number;
  /** How long to wait for a webhook after a `pending` answer, in ms. Default 120 s. */
  readonly pendingTimeoutMs?: number;
  /**
   * Largest webhook body `handleWebhook` reads, in bytes; a larger one is
   * answered 413 before the provider parses it or checks its signature.
   * Default 1 MiB (`DEFAULT_WEBHOOK_MAX_BODY_BYTES`).
   */
  readonly webhookMaxBodyBytes?: number;
  /** How long a provider out of quota stays out when the vendor gave no reset, in ms. Default 1 hour. */
  readonly quotaCoolDownMs?: number;
  /** Options passed to each provider, keyed by provider id. */
  readonly providerOptions?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Told when an event listener throws. Default: ignored. */
  readonly onListenerError?: (error: unknown, event: string) => void;
  /**
   * The clock, in epoch ms: provenance timestamps, quota cool-downs, and the
   * engine's circuit breakers, limiters and pending webhooks all read it.
   * Default `Date.now`.
   */
  readonly now?: Clock;
}

/** Options of one `enrich` call. */
export interface EnrichOptions {
  /** Fields wanted for this lead; default the engine's `fields`. */
  readonly fields?: readonly LeadField[];
  /** Cancels queued and in-flight work for this lead. */
  readonly signal?: AbortSignal;
}

/** Options of `enrichMany`. */
export interface EnrichManyOptions {
  /** Most leads in flight at once. Whole number, at least 1. Default 16. */
  readonly concurrency?: number;
  /** Fields wanted for every lead; default the engine's `fields`. */
  readonly fields?: readonly LeadField[];
  /** Cancels the run: no more leads are read and `enrichMany` rejects with an `aborted` error. */
  readonly signal?: AbortSignal;
}

/** The engine's options, checked and with every default filled in. */
export interface ResolvedEngineOptions {
  /** The providers, in waterfall order. */
  readonly providers: readonly EnrichmentProviderV1[];
  /** Fields wanted when a call does not say. */
  readonly defaultFields: readonly LeadField[];
  /** A field counts as filled at or above this confidence. */
  readonly minConfidence: number;
  /** How values of several providers merge. */
  readonly mergePolicy: MergePolicy;
  /** Provider order per field. */
  readonly fieldOrder: Partial<Record<LeadField, readonly string[]>>;
  /** How the next provider is picked. */
  readonly strategy: WaterfallStrategy;
  /** Settings of the cost-aware strategy. */
  readonly costAware: { readonly minFieldsPerCredit: number; readonly maxContexts: number };
  /** Credit budgets (each absent when unlimited). */
  readonly budgets: { readonly perLead?: number; readonly perRun?: number };
  /** The skip rule, when there is one. */
  readonly skip: ((lead: Lead) => boolean | string) | undefined;
  /** The answer cache, or `undefined` when caching is off. */
  readonly cache: Cache | undefined;
  /** TTL of cached matches, in ms. */
  readonly cacheTtlMs: number;
  /** TTL of cached misses, in ms. */
  readonly notFoundTtlMs: number;
  /** Limiter registry settings, the clock included. */
  readonly limits: Omit<LimiterRegistryOptions, 'onEvent'>;
  /** Retry settings (withRetry fills its own defaults). */
  readonly retry: EnrichmentEngineOptions['retry'];
  /** Circuit breaker settings. */
  readonly breaker: { readonly failureThreshold: number; readonly coolDownMs: number };
  /** Spill-over threshold, or `undefined` when off. */
  readonly spillOver: { readonly maxQueueWaitMs: number } | undefined;
  /** Batch linger, in ms. */
  readonly batchLingerMs: number;
  /** Webhook wait after a `pending` answer, in ms. */
  readonly pendingTimeoutMs: number;
  /** Largest webhook body read, in bytes. */
  readonly webhookMaxBodyBytes: number;
  /** Quota cool-down when the vendor gave no reset, in ms. */
  readonly quotaCoolDownMs: number;
  /** Per-provider options passed to each call. */
  readonly providerOptions: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** Told when a listener throws. */
  readonly onListenerError: ((error: unknown, event: string) => void) | undefined;
  /** The logger and error hook (silent by default). */
  readonly observer: Observer;
  /** The engine's clock. */
  readonly now: Clock;
}

const CONTEXT = { name: 'createEnrichmentEngine' } as const;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null;

const milliseconds = () =>
  z
    .number({ error: 'must be a number of milliseconds' })
    .finite('must be a finite number of milliseconds')
    .min(0, 'must be at least 0');

const leadFieldSchema = z.custom<LeadField>((value) => typeof value === 'string' && isLeadField(value), {
  error: (issue) => `${JSON.stringify(issue.input)} is not a Lead field`,
});

const providerSchema = z.custom<EnrichmentProviderV1>(
  (value) => isObject(value) && value.specificationVersion === 'v1' && typeof value.providerId === 'string',
  {
    error: (issue) =>
      `unsupported specificationVersion ${JSON.stringify(isObject(issue.input) ? issue.input.specificationVersion : undefined)} (this @leadpipe/core supports "v1"; upgrade the adapter or core)`,
  },
);

const functionSchema = <T>(what: string) =>
  z.custom<T>((value) => typeof value === 'function', { error: `must be a function ${what}` });

const clockSchema = z.custom<Clock>(
  (value) => typeof value === 'function' && Number.isFinite((value as () => unknown)()),
  {
    error:
      'must be a Clock: a function returning milliseconds since the epoch (a number, not a Date), such as Date.now',
  },
);

const cacheSchema = z.union(
  [
    z.literal(false),
    z.custom<Cache>(
      (value) =>
        isObject(value) &&
        typeof value.get === 'function' &&
        typeof value.set === 'function' &&
        typeof value.delete === 'function',
    ),
  ],
  { error: 'must be a Cache (get, set and delete) or false' },
);

const budgetSchema = z
  .number({ error: 'must be a non-negative number' })
  .min(0, 'must be a non-negative number')
  .optional();

const engineOptionsSchema = z
  .object({
    providers: z
      .array(providerSchema, { error: 'must list at least one provider' })
      .min(1, 'must list at least one provider'),
    fields: z.array(leadFieldSchema).optional(),
    minConfidence: z
      .number({ error: 'must be between 0 and 1' })
      .min(0, 'must be between 0 and 1')
      .max(1, 'must be between 0 and 1')
      .optional(),
    mergePolicy: z.enum(['first', 'highestConfidence']).optional(),
    fieldOrder: z.record(z.string(), z.array(z.string()).readonly().optional()).optional(),
    strategy: z.enum(['fixed-order', 'cost-aware'], 'must be "fixed-order" or "cost-aware"').optional(),
    costAware: z
      .object(
        {
          minFieldsPerCredit: z
            .number({ error: 'must be a non-negative number of fields per credit' })
            .finite('must be a non-negative number of fields per credit')
            .min(0, 'must be a non-negative number of fields per credit')
            .optional(),
          maxContexts: z
            .number({ error: 'must be a whole number, at least 1' })
            .int('must be a whole number, at least 1')
            .min(1, 'must be a whole number, at least 1')
            .optional(),
        },
        { error: 'must be an object' },
      )
      .strict()
      .optional(),
    budgets: z.object({ perLead: budgetSchema, perRun: budgetSchema }).optional(),
    skip: functionSchema<(lead: Lead) => boolean | string>('of the lead').optional(),
    cache: cacheSchema.optional(),
    cacheTtlMs: milliseconds().optional(),
    notFoundTtlMs: milliseconds().optional(),
    limits: z
      .custom<Omit<LimiterRegistryOptions, 'onEvent'>>(isObject, { error: 'must be an object' })
      .optional(),
    retry: z
      .object({
        retries: z.number().int('must be a whole number').min(0, 'must be at least 0').optional(),
        minTimeoutMs: milliseconds().optional(),
        maxTimeoutMs: milliseconds().optional(),
      })
      .optional(),
    breaker: z
      .object({
        failureThreshold: z.number().int('must be a whole number').min(1, 'must be at least 1').optional(),
        coolDownMs: milliseconds().optional(),
      })
      .optional(),
    spillOver: z.union([z.literal(false), z.object({ maxQueueWaitMs: milliseconds() })]).optional(),
    batchLingerMs: milliseconds().optional(),
    pendingTimeoutMs: milliseconds().optional(),
    webhookMaxBodyBytes: z
      .number({ error: 'must be a whole number of bytes' })
      .int('must be a whole number of bytes')
      .min(1, 'must be at least 1')
      .optional(),
    quotaCoolDownMs: milliseconds().optional(),
    // Each provider's options pass through as given (not copied), so a provider may receive class instances.
    providerOptions: z
      .record(
        z.string(),
        z.custom<Readonly<Record<string, unknown>>>(isObject, { error: 'must be an object' }),
      )
      .optional(),
    onListenerError: functionSchema<(error: unknown, event: string) => void>('of the error').optional(),
    ...observabilityOptionsShape,
    now: clockSchema.optional(),
  })
  .superRefine((options, context) => {
    const seen = new Set<string>();
    options.providers.forEach((provider, index) => {
      if (seen.has(provider.providerId)) {
        context.addIssue({
          code: 'custom',
          path: ['providers', index],
          message: `duplicate id "${provider.providerId}"`,
        });
      }
      seen.add(provider.providerId);
    });
    for (const [field, ids] of Object.entries(options.fieldOrder ?? {})) {
      if (!isLeadField(field)) {
        context.addIssue({ code: 'custom', path: ['fieldOrder', field], message: 'is not a Lead field' });
      }
      (ids ?? []).forEach((id, index) => {
        if (!seen.has(id)) {
          context.addIssue({
            code: 'custom',
            path: ['fieldOrder', field, index],
            message: `unknown provider "${id}"`,
          });
        }
      });
    }
  });

/**
 * Check the engine's options (a `ConfigurationError` naming every wrong option
 * and why) and fill in the defaults.
 */
export function resolveEngineOptions(options: EnrichmentEngineOptions): ResolvedEngineOptions {
  const parsed = parseOptions(engineOptionsSchema, options, CONTEXT);
  const now = parsed.now ?? systemClock;
  const providers = parsed.providers;
  return {
    providers,
    defaultFields: parsed.fields ?? [
      ...new Set(providers.flatMap((p) => p.capabilities.lookups.flatMap((l) => l.supplies))),
    ],
    minConfidence: parsed.minConfidence ?? 0.5,
    mergePolicy: parsed.mergePolicy ?? 'first',
    fieldOrder: (parsed.fieldOrder ?? {}) as Partial<Record<LeadField, readonly string[]>>,
    strategy: parsed.strategy ?? 'fixed-order',
    costAware: {
      minFieldsPerCredit: parsed.costAware?.minFieldsPerCredit ?? DEFAULT_MIN_FIELDS_PER_CREDIT,
      maxContexts: parsed.costAware?.maxContexts ?? 256,
    },
    budgets: parsed.budgets ?? {},
    skip: parsed.skip,
    cache: parsed.cache === false ? undefined : (parsed.cache ?? createMemoryCache()),
    cacheTtlMs: parsed.cacheTtlMs ?? 30 * 24 * 3_600_000,
    notFoundTtlMs: parsed.notFoundTtlMs ?? 24 * 3_600_000,
    limits: { ...parsed.limits, now: parsed.limits?.now ?? now },
    retry: parsed.retry,
    breaker: {
      failureThreshold: parsed.breaker?.failureThreshold ?? 5,
      coolDownMs: parsed.breaker?.coolDownMs ?? 30_000,
    },
    spillOver: parsed.spillOver === false ? undefined : parsed.spillOver,
    batchLingerMs: parsed.batchLingerMs ?? 10,
    pendingTimeoutMs: parsed.pendingTimeoutMs ?? 120_000,
    webhookMaxBodyBytes: parsed.webhookMaxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES,
    quotaCoolDownMs: parsed.quotaCoolDownMs ?? 3_600_000,
    providerOptions: parsed.providerOptions ?? {},
    onListenerError: parsed.onListenerError,
    observer: createObserver(parsed),
    now,
  };
}

const wantedFieldsSchema = z.object({
  fields: z.array(leadFieldSchema, { error: 'must be an array of Lead fields' }),
});
const concurrencySchema = z
  .number({ error: 'must be a positive integer' })
  .int('must be a positive integer')
  .min(1, 'must be a positive integer');

/**
 * Check the fields one `enrich` call asks for: a `ConfigurationError` naming
 * each one that is not a Lead field. Valid lists (every call of a run) take
 * the fast path and never build a zod parse.
 */
export function checkWantedFields(fields: readonly LeadField[]): void {
  if (Array.isArray(fields) && fields.every((field) => typeof field === 'string' && isLeadField(field)))
    return;
  parseOptions(wantedFieldsSchema, { fields }, { name: 'enrich' });
}

/** Check `enrichMany`'s concurrency; returns it, or the default 16. */
export function resolveConcurrency(concurrency: number | undefined): number {
  if (concurrency === undefined) return 16;
  return parseOptions(z.object({ concurrency: concurrencySchema }), { concurrency }, { name: 'enrichMany' })
    .concurrency;
}
