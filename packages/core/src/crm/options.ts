import { z } from 'zod';
import type { CrmAdapterV1 } from '../contracts/crm-adapter.js';
import { ValidationError } from '../contracts/errors.js';
import type { ProviderLimiter } from '../limits/index.js';
import { parseOptions } from '../options/parse-options.js';
import { observabilityOptionsShape } from '../telemetry/index.js';
import { type CrmFieldMapping, defineFieldMapping, isFieldMapping } from './mapping.js';
import type { CrmBackoff } from './retry-policy.js';
import type { CrmSyncOptions, CrmSyncTarget } from './types.js';

/** One configured CRM, checked: its adapter, its mapping and its batch size. */
export interface ResolvedTarget {
  /** The CRM adapter. */
  readonly adapter: CrmAdapterV1;
  /** The checked mapping. */
  readonly mapping: CrmFieldMapping;
  /** A limiter passed in for this CRM, if any. */
  readonly limiter: ProviderLimiter | undefined;
  /** The adapter's `maxBatchSize`. */
  readonly batchSize: number;
}

/** {@link CrmSyncOptions}, checked and defaulted. */
export interface ResolvedCrmSyncOptions {
  /** The configured CRMs, in order. */
  readonly targets: readonly ResolvedTarget[];
  /** Batches in flight at once per CRM. */
  readonly concurrency: number;
  /** Whole-call failures in a row that take a CRM down. */
  readonly downAfter: number;
  /** Backoff of the upsert loop, with defaults. */
  readonly backoff: CrmBackoff;
}

const integerAtLeast = (min: number) => {
  const reason = `must be an integer of at least ${min}`;
  return z.number(reason).int(reason).min(min, reason);
};
const nonNegative = z.number('must be a number of at least 0').min(0, 'must be a number of at least 0');

function resolveTargets(crms: readonly unknown[], ctx: z.RefinementCtx): ResolvedTarget[] {
  const seen = new Set<string>();
  const targets: ResolvedTarget[] = [];
  const issue = (path: (string | number)[], message: string): void => {
    ctx.addIssue({ code: 'custom', path, message });
  };
  crms.forEach((candidate, index) => {
    const target = candidate as CrmSyncTarget | undefined;
    const adapter = target?.adapter;
    if (!target) {
      issue([index], 'must be a CRM target ({ adapter, mapping })');
      return;
    }
    if (adapter?.specificationVersion !== 'v1' || typeof adapter.adapterId !== 'string') {
      issue([index, 'adapter'], 'must be a CrmAdapterV1 (specificationVersion "v1")');
      return;
    }
    const batchSize = adapter.capabilities?.maxBatchSize;
    if (!(Number.isInteger(batchSize) && batchSize >= 1)) {
      issue([index, 'adapter', 'capabilities', 'maxBatchSize'], 'must be a positive integer');
      return;
    }
    let mapping: CrmFieldMapping;
    try {
      mapping = isFieldMapping(target.mapping) ? target.mapping : defineFieldMapping(target.mapping);
    } catch (error) {
      if (!ValidationError.isInstance(error)) throw error;
      for (const problem of error.issues) issue([index, 'mapping', problem.field], problem.reason);
      return;
    }
    if (!adapter.capabilities.objects.includes(mapping.object)) {
      issue(
        [index, 'mapping', 'object'],
        `"${mapping.object}" is not one of ${adapter.adapterId}'s objects (${adapter.capabilities.objects.join(', ')})`,
      );
    }
    const id = `${adapter.adapterId}\u0000${mapping.object}`;
    if (seen.has(id)) issue([index], `${adapter.adapterId} / ${mapping.object} is listed twice`);
    seen.add(id);
    targets.push({ adapter, mapping, limiter: target.limiter, batchSize });
  });
  return targets;
}

/** Batches in flight per CRM when `concurrency` is not set. */
export const DEFAULT_CRM_CONCURRENCY = 2;

const optionsSchema = z.object({
  crms: z
    .array(z.unknown(), 'must list at least one CRM')
    .min(1, 'must list at least one CRM')
    .transform((crms, ctx) => resolveTargets(crms, ctx)),
  concurrency: integerAtLeast(1).default(DEFAULT_CRM_CONCURRENCY),
  ...observabilityOptionsShape,
  downAfter: integerAtLeast(1).default(3),
  retry: z
    .object({
      retries: integerAtLeast(0).default(3),
      minTimeoutMs: nonNegative.default(1000),
      maxTimeoutMs: nonNegative.default(30_000),
    })
    .default({ retries: 3, minTimeoutMs: 1000, maxTimeoutMs: 30_000 }),
});

/**
 * Check the options of `createCrmSync` with zod (through `parseOptions`):
 * throws a `ConfigurationError` naming every wrong setting, such as
 * `crms.1: crm-a / contacts is listed twice`.
 */
export function resolveCrmSyncOptions(options: CrmSyncOptions): ResolvedCrmSyncOptions {
  const parsed = parseOptions(optionsSchema, options, { name: 'createCrmSync' });
  return {
    targets: parsed.crms,
    concurrency: parsed.concurrency,
    downAfter: parsed.downAfter,
    backoff: parsed.retry,
  };
}
