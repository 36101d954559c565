import { createHash } from 'node:crypto';

/** A variant with a split weight, as in an email step's `variants`. */
export interface WeightedVariant {
  /** The variant's id, unique in the step. */
  readonly id: string;
  /** Its share of the split, relative to the others (positive). */
  readonly weight: number;
}

/**
 * Picks an A/B variant for a key (such as `<enrollmentId>:<stepId>`) by weight, deterministically: the same key
 * always gets the same variant, so a retried or re-run step never switches variants, and over many keys the shares
 * follow the weights.
 *
 * @param variants - at least one variant with a positive weight.
 * @param key - a stable key for the recipient and step.
 * @returns the chosen variant.
 */
export function pickVariant<Variant extends WeightedVariant>(
  variants: readonly Variant[],
  key: string,
): Variant {
  const total = variants.reduce((sum, variant) => sum + Math.max(variant.weight, 0), 0);
  if (variants.length === 0 || !(total > 0) || !Number.isFinite(total)) {
    throw new RangeError('pickVariant needs at least one variant with a positive weight');
  }
  // 48 bits of SHA-256: uniform enough for a split, stable across processes and versions.
  const point = (createHash('sha256').update(key).digest().readUIntBE(0, 6) / 2 ** 48) * total;
  let cumulative = 0;
  for (const variant of variants) {
    if (variant.weight <= 0) continue;
    cumulative += variant.weight;
    if (point < cumulative) return variant;
  }
  return variants.filter((variant) => variant.weight > 0).at(-1) as Variant;
}
