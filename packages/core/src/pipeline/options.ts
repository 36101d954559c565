import { z } from 'zod';
import type { CheckpointStore } from '../contracts/checkpoint-store.js';
import { type Clock, systemClock } from '../contracts/clock.js';
import type { DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import { ConfigurationError, ValidationError, type ValidationIssue } from '../contracts/errors.js';
import { LEAD_FIELDS, type LeadField } from '../contracts/fields.js';
import type { LeadStoreV1 } from '../contracts/lead-store.js';
import type { CrmSyncOptions } from '../crm/index.js';
import { DEFAULT_CRM_CONCURRENCY } from '../crm/options.js';
import type { EnrichmentEngineOptions } from '../enrich/index.js';
import type { CountryCode } from '../lead/index.js';
import { parseOptions } from '../options/parse-options.js';
import { SpillingHash64Index } from '../stores/spilling-index.js';
import { observabilityOptionsShape } from '../telemetry/index.js';
import type { LeadPipelineOptions } from './types.js';

/** The pipeline's options after checking, with every default filled in. */
export interface PipelineSettings {
  /** The engine's options, when the pipeline enriches. */
  readonly enrichment: EnrichmentEngineOptions | undefined;
  /** Fields to fill: `fields`, else the engine's `fields`, else every field. */
  readonly fields: readonly LeadField[];
  /** CRMs to sync into (empty: no CRM stage). */
  readonly crms: NonNullable<CrmSyncOptions['crms']>;
  /** Other settings of the CRM sync. */
  readonly crmOptions: LeadPipelineOptions['crmOptions'];
  /** The lead store done leads are upserted into, when given. */
  readonly store: LeadStoreV1 | undefined;
  /** Where dead letters go, when given. */
  readonly deadLetters: DeadLetterQueue | undefined;
  /** The checkpoint store, when given. */
  readonly checkpoints: CheckpointStore | undefined;
  /** Leads enriched at once. */
  readonly concurrency: number;
  /** Leads per CRM batch. */
  readonly batchSize: number;
  /** CRM writes in flight: the CRM session's `concurrency`, so one setting bounds both. */
  readonly batchConcurrency: number;
  /** How long a partial CRM batch waits, in ms. */
  readonly batchLingerMs: number;
  /** How many rejects and dead letters the report lists. */
  readonly maxReportedRows: number;
  /** Rows finished between two checkpoint flushes. */
  readonly checkpointEvery: number;
  /** How long enrichments in flight may still answer after an abort, in ms. */
  readonly abortGraceMs: number;
  /** Shortest time between two progress events, in ms. */
  readonly progressIntervalMs: number;
  /** Rows hashed into the default input fingerprint. */
  readonly fingerprintRows: number;
  /** Whether CRM writes are skipped. */
  readonly dryRun: boolean;
  /** Country for phone numbers without a country code. */
  readonly defaultCountry: CountryCode | undefined;
  /** The clock. */
  readonly now: Clock;
}

const positiveInteger = z
  .number({ error: (issue) => `must be a positive integer, got ${String(issue.input)}` })
  .int({ error: (issue) => `must be a positive integer, got ${String(issue.input)}` })
  .min(1, { error: (issue) => `must be a positive integer, got ${String(issue.input)}` });
const nonNegativeInteger = z
  .number({ error: (issue) => `must be a non-negative integer, got ${String(issue.input)}` })
  .int({ error: (issue) => `must be a non-negative integer, got ${String(issue.input)}` })
  .min(0, { error: (issue) => `must be a non-negative integer, got ${String(issue.input)}` });
const leadField = z.string().refine((field) => (LEAD_FIELDS as readonly string[]).includes(field), {
  error: (issue) => `"${String(issue.input)}" is not a Lead field`,
});
const aFunction = (what: string) =>
  z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', {
    error: `must be ${what}`,
  });

/**
 * The checked part of {@link LeadPipelineOptions}; objects owned by other
 * modules (engine options, CRM targets, stores, the dedupe table) are checked
 * by those modules when they are built.
 */
const pipelineOptionsSchema = z.looseObject({
  ...observabilityOptionsShape,
  enrichment: z
    .custom<EnrichmentEngineOptions>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { enrich?: unknown }).enrich !== 'function' &&
        Array.isArray((value as { providers?: unknown }).providers),
      {
        error:
          'must be the engine options ({ providers, fields, ... }), not an engine: the pipeline builds the engine so that a resume pays no provider twice',
      },
    )
    .optional(),
  fields: z.array(leadField).optional(),
  concurrency: positiveInteger.default(16),
  batchSize: positiveInteger.optional(),
  batchLingerMs: nonNegativeInteger.default(100),
  maxReportedRows: nonNegativeInteger.default(100),
  checkpointEvery: positiveInteger.default(1_000),
  abortGraceMs: nonNegativeInteger.default(2_000),
  progressIntervalMs: nonNegativeInteger.default(1_000),
  fingerprintRows: positiveInteger.default(100),
  rejects: z
    .custom<unknown>(
      (value) =>
        typeof value === 'function' ||
        (typeof value === 'object' &&
          value !== null &&
          typeof (value as { write?: unknown }).write === 'function'),
      { error: 'must be a function or a rejects writer (createRejectsWriter)' },
    )
    .optional(),
  duplicates: z
    .custom<unknown>(
      (value) =>
        typeof value === 'function' ||
        (typeof value === 'object' &&
          value !== null &&
          typeof (value as { write?: unknown }).write === 'function'),
      { error: 'must be a function or a duplicates writer (createDuplicatesWriter)' },
    )
    .optional(),
  now: aFunction('a function returning epoch ms').optional(),
  onListenerError: aFunction('a function').optional(),
  dryRun: z.boolean({ error: 'must be true or false' }).optional(),
  store: z
    .custom<LeadStoreV1>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        (value as { specificationVersion?: unknown }).specificationVersion === 'v1' &&
        typeof (value as { upsert?: unknown }).upsert === 'function',
      { error: 'must be a lead store (LeadStoreV1, such as openPostgresStore(...).leads)' },
    )
    .optional(),
});

/**
 * Check the pipeline's options and fill in the defaults. Throws a
 * `ConfigurationError` (`invalid_configuration`) naming every wrong option
 * and why (through `parseOptions`); the dedupe table's options are checked
 * by building it, which the caller then owns.
 */
export function parsePipelineOptions(options: LeadPipelineOptions): {
  readonly settings: PipelineSettings;
  readonly dedupe: SpillingHash64Index;
} {
  const parsed = parseOptions(pipelineOptionsSchema, options ?? {}, { name: 'createLeadPipeline' });
  let dedupe: SpillingHash64Index;
  try {
    dedupe = new SpillingHash64Index(options.dedupe);
  } catch (error) {
    if (!ValidationError.isInstance(error)) throw error;
    const issues: ValidationIssue[] = error.issues.map((issue) => ({
      field: `dedupe.${issue.field}`,
      reason: issue.reason,
    }));
    throw new ConfigurationError('invalid_configuration', {
      issues,
      message: `createLeadPipeline: ${issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')}`,
    });
  }
  const crms = options.crms ?? [];
  const enrichment = parsed.enrichment;
  return {
    dedupe,
    settings: {
      enrichment,
      fields: options.fields ?? enrichment?.fields ?? LEAD_FIELDS,
      crms,
      crmOptions: options.crmOptions,
      store: options.store,
      deadLetters: options.deadLetters,
      checkpoints: options.checkpoints,
      concurrency: parsed.concurrency,
      batchSize:
        parsed.batchSize ??
        Math.max(
          options.store === undefined ? 1 : 100,
          ...crms.map((target) => target.adapter?.capabilities?.maxBatchSize ?? 1),
        ),
      batchConcurrency: options.crmOptions?.concurrency ?? DEFAULT_CRM_CONCURRENCY,
      batchLingerMs: parsed.batchLingerMs,
      maxReportedRows: parsed.maxReportedRows,
      checkpointEvery: parsed.checkpointEvery,
      abortGraceMs: parsed.abortGraceMs,
      progressIntervalMs: parsed.progressIntervalMs,
      fingerprintRows: parsed.fingerprintRows,
      dryRun: options.dryRun === true,
      defaultCountry: options.defaultCountry,
      now: options.now ?? systemClock,
    },
  };
}
