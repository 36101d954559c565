import type { EnrichmentProviderV1 } from '../contracts/enrichment-provider.js';
import type { LeadField, LeadFieldPatch } from '../contracts/fields.js';
import type { ProviderSkipReason } from './events.js';

/** The fields `provider` can supply for a lead whose known fields are `known`. */
export function suppliableFields(provider: EnrichmentProviderV1, known: ReadonlySet<string>): Set<LeadField> {
  const fields = new Set<LeadField>();
  for (const lookup of provider.capabilities.lookups) {
    if (lookup.requires.every((field) => known.has(field)))
      for (const field of lookup.supplies) fields.add(field);
  }
  return fields;
}

/** The waterfall's order: the main one, and per field the providers to try first. */
export interface WaterfallOrder {
  /** Every provider, by id, in the main order. */
  readonly providers: ReadonlyMap<string, EnrichmentProviderV1>;
  /** Per field, provider ids to try before the main order. */
  readonly fieldOrder: Partial<Record<LeadField, readonly string[]>>;
}

/**
 * The next provider to ask: for the first missing field (in the order
 * wanted) that some untried provider can supply from what is known, the
 * first such provider by that field's order, then the main order.
 * `undefined` when no untried provider can supply any missing field.
 */
export function nextProvider(
  order: WaterfallOrder,
  missing: readonly LeadField[],
  known: ReadonlySet<string>,
  tried: ReadonlySet<string>,
): EnrichmentProviderV1 | undefined {
  for (const field of missing) {
    for (const providerId of [...(order.fieldOrder[field] ?? []), ...order.providers.keys()]) {
      if (tried.has(providerId)) continue;
      const provider = order.providers.get(providerId);
      if (provider && suppliableFields(provider, known).has(field)) return provider;
    }
  }
  return undefined;
}

/**
 * What to send `provider` for the `missing` fields: the whole lead (`flat`),
 * unless a lookup marked `preferWhenSufficient` that the lead can use supplies
 * every missing field the provider can. Then only that lookup's required
 * fields are sent, so the request, its cache entry and its credits are shared
 * by every lead with the same values: a company's fields asked by domain cost
 * one lookup per company, not one per person.
 */
export function requestInput(
  provider: EnrichmentProviderV1,
  missing: readonly LeadField[],
  known: ReadonlySet<string>,
  flat: LeadFieldPatch,
): LeadFieldPatch {
  const usable = provider.capabilities.lookups.filter((lookup) =>
    lookup.requires.every((field) => known.has(field)),
  );
  if (!usable.some((lookup) => lookup.preferWhenSufficient === true)) return flat;
  const sought = missing.filter((field) => usable.some((lookup) => lookup.supplies.includes(field)));
  const sufficient = usable.find(
    (lookup) =>
      lookup.preferWhenSufficient === true && sought.every((field) => lookup.supplies.includes(field)),
  );
  if (sufficient === undefined) return flat;
  const input: Record<string, unknown> = {};
  for (const field of sufficient.requires) input[field] = flat[field as keyof LeadFieldPatch];
  return input as LeadFieldPatch;
}

/**
 * Why the waterfall never reached `provider` for a lead: `missing_inputs`
 * when it supplies a field the lead was missing but lacks the inputs for it
 * (with what is known at the end), `no_missing_fields` otherwise.
 */
export function unreachedReason(
  provider: EnrichmentProviderV1,
  initiallyMissing: ReadonlySet<LeadField>,
  known: ReadonlySet<string>,
): 'missing_inputs' | 'no_missing_fields' {
  const usable = suppliableFields(provider, known);
  const wouldHelp = provider.capabilities.lookups.some((lookup) =>
    lookup.supplies.some((field) => initiallyMissing.has(field)),
  );
  const couldHaveHelped = [...initiallyMissing].some((field) => usable.has(field));
  return wouldHelp && !couldHaveHelped ? 'missing_inputs' : 'no_missing_fields';
}

/** The state of one provider that decides whether it may be called now. */
export interface ProviderAvailability {
  /** Set once the provider answered 401 or 403: out for the engine's lifetime. */
  readonly disabled: boolean;
  /** Epoch ms until which the provider is out of quota, if it is. */
  readonly unavailableUntil: number | undefined;
  /** Whether its circuit breaker is open. */
  readonly circuitOpen: boolean;
}

/** Why a provider may not be called at `nowMs`, or `undefined` when it may. */
export function unavailableReason(
  availability: ProviderAvailability,
  nowMs: number,
): ProviderSkipReason | undefined {
  if (availability.disabled) return 'disabled';
  if (availability.unavailableUntil !== undefined && nowMs < availability.unavailableUntil)
    return 'quota_exhausted';
  if (availability.circuitOpen) return 'circuit_open';
  return undefined;
}

/** The most a call to `provider` can cost: its per-request plus per-match price. */
export function costEstimate(provider: EnrichmentProviderV1): number {
  const cost = provider.capabilities.cost;
  return cost.perRequest + cost.perMatch;
}
