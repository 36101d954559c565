import type {
  EnrichmentProviderV1,
  ProviderCostModel,
  ProviderHitRatePriors,
} from '../contracts/enrichment-provider.js';
import type { LeadField, LeadFieldPatch } from '../contracts/fields.js';
import { suppliableFields } from './plan.js';

/**
 * How the waterfall picks the next provider for a lead.
 *
 * - `fixed-order`: the providers in the order given (and `fieldOrder` per field), each asked while it can supply
 *   a missing field.
 * - `cost-aware`: the provider with the most expected missing fields per credit, from hit rates learned during the
 *   run (starting from each provider's declared `priors`); the lead is done when no provider's expected gain is
 *   worth its cost (`costAware.minFieldsPerCredit`).
 */
export type WaterfallStrategy = 'fixed-order' | 'cost-aware';

/** Default share of lookups expected to match, and of fields a match carries, when a provider declares none. */
export const DEFAULT_PRIOR_SHARE = 0.7;
/** Default strength of a provider's priors, in observations. */
const DEFAULT_PRIOR_WEIGHT = 10;
/** Default least expected missing fields filled per credit for a call to be worth it. */
export const DEFAULT_MIN_FIELDS_PER_CREDIT = 0.2;

/** A Beta distribution over a rate: `alpha` hits and `beta` misses, priors included. */
export interface Beta {
  /** Hits, the prior's pseudo-hits included. */
  readonly alpha: number;
  /** Misses, the prior's pseudo-misses included. */
  readonly beta: number;
}

/** The mean of a Beta: the expected rate. 0.5 when it holds no weight at all. */
export function betaMean(beta: Beta): number {
  const total = beta.alpha + beta.beta;
  return total > 0 ? beta.alpha / total : 0.5;
}

/** The Beta prior with mean `share` worth `weight` observations (`share` clamped to [0, 1]). */
export function betaPrior(share: number, weight: number): Beta {
  const mean = Math.min(1, Math.max(0, share));
  return { alpha: mean * weight, beta: (1 - mean) * weight };
}

/**
 * `beta` after one more observation (`hit` or not), scaled down so it never
 * weighs more than `maxWeight` observations: the estimate stays bounded and
 * keeps following the provider when its rates drift.
 */
export function betaObserve(beta: Beta, hit: boolean, maxWeight: number): Beta {
  let alpha = beta.alpha + (hit ? 1 : 0);
  let miss = beta.beta + (hit ? 0 : 1);
  const total = alpha + miss;
  if (total > maxWeight) {
    alpha *= maxWeight / total;
    miss *= maxWeight / total;
  }
  return { alpha, beta: miss };
}

/** One provider the cost-aware waterfall may ask next for a lead, with what it expects of it. */
export interface Candidate {
  /** The provider's id. */
  readonly providerId: string;
  /** Its position in the main order: breaks ties. */
  readonly order: number;
  /** The missing fields this request could fill. */
  readonly fields: readonly LeadField[];
  /** Expected share of such requests that match. */
  readonly matchRate: number;
  /** Per field of `fields`: expected share of matches that fill it. Absent counts as 0. */
  readonly fieldRates: Readonly<Partial<Record<LeadField, number>>>;
  /**
   * Expected share of matches that fill every one of `fields` they were asked
   * for: how much a record's fields come together. Default: as if each field
   * came on its own (the product of `fieldRates`).
   */
  readonly completeRate?: number;
  /** What the provider charges. */
  readonly cost: ProviderCostModel;
  /** The answer is cached or already being fetched for another lead: it costs nothing. */
  readonly free: boolean;
}

/** Expected number of missing fields the candidate fills: match rate times the sum of its field rates. */
export function expectedGain(candidate: Candidate): number {
  let sum = 0;
  for (const field of candidate.fields) sum += candidate.fieldRates[field] ?? 0;
  return candidate.matchRate * sum;
}

/**
 * Expected credits the candidate costs: nothing when its answer is free,
 * else the per-request price plus the per-match price, the latter weighed by
 * the match rate unless misses are billed too.
 */
export function expectedCost(candidate: Candidate): number {
  if (candidate.free) return 0;
  const { perRequest, perMatch, chargesMisses } = candidate.cost;
  return perRequest + perMatch * (chargesMisses ? 1 : candidate.matchRate);
}

/** Expected missing fields filled per credit; `Infinity` for a free candidate that may fill any, 0 for none. */
export function fieldsPerCredit(candidate: Candidate): number {
  const gain = expectedGain(candidate);
  if (gain <= 0) return 0;
  const cost = expectedCost(candidate);
  return cost <= 0 ? Number.POSITIVE_INFINITY : gain / cost;
}

/** How many providers the look-ahead of {@link lookaheadValue} plans beyond the first: 3. */
const LOOKAHEAD_DEPTH = 3;

type MissingChance = ReadonlyMap<LeadField, number>;

/** The value of the best continuation from a state: ask one of `remaining` next, or stop (0). */
function bestContinuation(
  remaining: readonly Candidate[],
  chance: MissingChance,
  minFieldsPerCredit: number,
  depth: number,
): number {
  if (depth <= 0) return 0;
  let best = 0;
  for (const candidate of remaining) {
    const value = askValue(candidate, remaining, chance, minFieldsPerCredit, depth, false);
    if (value > best) best = value;
  }
  return best;
}

/**
 * The expected net value of asking `candidate` in a state where each field is
 * still missing with its `chance`, then continuing as well as possible.
 * `certain`: the candidate's fields are known to be missing (the first ask).
 *
 * A match either fills every field asked (the candidate's complete rate) or
 * fills each on its own, at rates that keep each field's overall rate; a miss
 * changes nothing. The three branches are planned apart, so that a provider
 * whose records come whole makes the ones after it unneeded more often.
 */
function askValue(
  candidate: Candidate,
  remaining: readonly Candidate[],
  chance: MissingChance,
  minFieldsPerCredit: number,
  depth: number,
  certain: boolean,
): number {
  const of = (field: LeadField) => chance.get(field) ?? 1;
  let allFilled = 1;
  let gainIfMatch = 0;
  let independent = 1;
  let lowest = 1;
  for (const field of candidate.fields) {
    const missing = of(field);
    const rate = candidate.fieldRates[field] ?? 0;
    allFilled *= 1 - missing;
    gainIfMatch += missing * rate;
    independent *= rate;
    lowest = Math.min(lowest, rate);
  }
  // A provider is asked only while one of its fields is missing; its price is weighed by that chance.
  const asked = certain ? 1 : 1 - allFilled;
  if (asked <= 0 || gainIfMatch <= 0) return Number.NEGATIVE_INFINITY;
  const complete = Math.min(candidate.completeRate ?? independent, lowest);
  const afterComplete = new Map(chance);
  const afterPartial = new Map(chance);
  for (const field of candidate.fields) {
    const rate = candidate.fieldRates[field] ?? 0;
    const partialRate = complete < 1 ? Math.max(0, (rate - complete) / (1 - complete)) : rate;
    afterComplete.set(field, 0);
    afterPartial.set(field, of(field) * (1 - partialRate));
  }
  const rest = remaining.filter((other) => other !== candidate);
  const match = candidate.matchRate;
  const next = (state: MissingChance) => bestContinuation(rest, state, minFieldsPerCredit, depth - 1);
  return (
    match * gainIfMatch -
    minFieldsPerCredit * expectedCost(candidate) * asked +
    match * complete * next(afterComplete) +
    match * (1 - complete) * next(afterPartial) +
    (1 - match) * next(chance)
  );
}

/**
 * The expected net value, in fields, of asking `first` now and then going on
 * as well as possible with the `others` (up to {@link LOOKAHEAD_DEPTH} more):
 * expected missing fields filled, less `minFieldsPerCredit` fields for every
 * credit expected to be spent. A look ahead, so that a provider whose answer
 * leaves a field only a dear lookup can fill (a contact lookup without
 * technologies) loses to one that leaves less to buy afterwards.
 *
 * The plan branches on whether each provider matches (a lead one provider
 * does not know is often one nobody knows, and a miss leaves every field
 * missing); given those, providers are taken to answer independently, and
 * the fields of one answer too. A later provider is asked only while one of
 * its fields is missing: its price is weighed by that chance. A free
 * candidate (cached or in flight) costs nothing.
 */
export function lookaheadValue(
  first: Candidate,
  others: readonly Candidate[],
  minFieldsPerCredit: number,
): number {
  return askValue(first, [first, ...others], new Map(), minFieldsPerCredit, LOOKAHEAD_DEPTH + 1, true);
}

/**
 * The candidates worth asking, best first. Worth asking: an expected gain
 * above 0 and at least `minFieldsPerCredit` expected missing fields per
 * expected credit; when none is, the lead is done. Best: the highest
 * {@link lookaheadValue} (what asking it first, then going on as well as
 * possible, is expected to fill, less what it is expected to cost), then the most fields
 * per credit, then the main order.
 */
export function rankCandidates(candidates: readonly Candidate[], minFieldsPerCredit: number): Candidate[] {
  const worth = candidates.filter(
    (candidate) => expectedGain(candidate) > 0 && fieldsPerCredit(candidate) >= minFieldsPerCredit,
  );
  return worth
    .map((candidate) => ({
      candidate,
      value: lookaheadValue(
        candidate,
        candidates.filter((other) => other !== candidate),
        minFieldsPerCredit,
      ),
      ratio: fieldsPerCredit(candidate),
    }))
    .sort((a, b) => b.value - a.value || b.ratio - a.ratio || a.candidate.order - b.candidate.order)
    .map((entry) => entry.candidate);
}

/**
 * Which of the provider's lookups a request with `input` uses, as a key of
 * the kind of lead: the shared lookup's required fields when `input` is
 * narrowed to them (a company by domain), else the first lookup the lead can
 * use that supplies a missing field (a person by email, by LinkedIn URL...).
 */
export function lookupKind(
  provider: EnrichmentProviderV1,
  input: LeadFieldPatch,
  flat: LeadFieldPatch,
  missing: readonly LeadField[],
  known: ReadonlySet<string>,
): string {
  if (input !== flat) return `shared:${Object.keys(input).sort().join('+')}`;
  const lookup = provider.capabilities.lookups.find(
    (candidate) =>
      candidate.requires.every((field) => known.has(field)) &&
      candidate.supplies.some((field) => missing.includes(field)),
  );
  return `lead:${lookup ? lookup.requires.join('+') : ''}`;
}

/**
 * The missing fields a request with `input` can fill: those of the shared
 * lookup when the input was narrowed to it, else every missing field the
 * provider can supply from what is known.
 */
export function fillableFields(
  provider: EnrichmentProviderV1,
  input: LeadFieldPatch,
  flat: LeadFieldPatch,
  missing: readonly LeadField[],
  known: ReadonlySet<string>,
): LeadField[] {
  if (input !== flat) {
    const narrowed = Object.keys(input);
    const lookup = provider.capabilities.lookups.find(
      (candidate) =>
        candidate.preferWhenSufficient === true &&
        candidate.requires.length === narrowed.length &&
        candidate.requires.every((field) => narrowed.includes(field)),
    );
    if (lookup) return missing.filter((field) => lookup.supplies.includes(field));
  }
  const supplied = suppliableFields(provider, known);
  return missing.filter((field) => supplied.has(field));
}

/** What the engine has learned about one provider for one kind of lead. */
export interface LearnedRates {
  /** Rate of lookups that match. */
  readonly match: Beta;
  /** Per field: rate of matches that fill it, when it was missing. */
  readonly fields: ReadonlyMap<LeadField, Beta>;
  /** Rate of matches that fill every missing field they were asked for. */
  readonly complete: Beta;
}

/** Options of {@link HitRateModel}. */
export interface HitRateModelOptions {
  /** Most kinds of lead (provider, lookup, earlier miss) remembered; others use the priors alone. Default 256. */
  readonly maxContexts?: number;
  /** Most observations one rate weighs; older ones fade beyond. Default 2,000. */
  readonly maxWeight?: number;
}

interface MutableRates {
  match: Beta;
  complete: Beta;
  readonly fields: Map<LeadField, Beta>;
  readonly priors: ProviderHitRatePriors | undefined;
}

/**
 * The cost-aware waterfall's learning state: per provider and kind of lead,
 * Beta estimates of its match rate and of each field's fill rate, starting
 * from the provider's declared priors and updated with every answer.
 *
 * Bounded: at most `maxContexts` kinds of lead, each with one rate per Lead
 * field at most, each weighing at most `maxWeight` observations. Safe under
 * concurrency: reads and updates are synchronous (no await between reading a
 * rate and writing it back), so leads enriched together only ever add to it.
 */
export class HitRateModel {
  readonly #contexts = new Map<string, MutableRates>();
  readonly #maxContexts: number;
  readonly #maxWeight: number;

  /** @param options - see {@link HitRateModelOptions}. */
  constructor(options: HitRateModelOptions = {}) {
    this.#maxContexts = options.maxContexts ?? 256;
    this.#maxWeight = options.maxWeight ?? 2_000;
  }

  /** Kinds of lead remembered so far. */
  get size(): number {
    return this.#contexts.size;
  }

  /** The context key of a provider, a lookup kind and whether another provider already missed the lead. */
  static key(providerId: string, lookup: string, missedBefore: boolean): string {
    return `${providerId}\u0000${lookup}\u0000${missedBefore ? 1 : 0}`;
  }

  /** What is known for `key` (the priors alone when nothing was observed). */
  rates(key: string, priors: ProviderHitRatePriors | undefined): LearnedRates {
    return this.#contexts.get(key) ?? this.#fromPriors(priors);
  }

  /** The expected match rate and per-field fill rates of `fields` for `key`. */
  expect(
    key: string,
    priors: ProviderHitRatePriors | undefined,
    fields: readonly LeadField[],
  ): { matchRate: number; fieldRates: Partial<Record<LeadField, number>>; completeRate: number } {
    const rates = this.rates(key, priors);
    const fieldRates: Partial<Record<LeadField, number>> = {};
    for (const field of fields)
      fieldRates[field] = betaMean(rates.fields.get(field) ?? fieldPrior(priors, field));
    return { matchRate: betaMean(rates.match), fieldRates, completeRate: betaMean(rates.complete) };
  }

  /**
   * Record an answer for `key`: whether it matched and, for a match, which of
   * the `asked` (missing) fields it filled.
   */
  observe(
    key: string,
    priors: ProviderHitRatePriors | undefined,
    matched: boolean,
    asked: readonly LeadField[],
    filled: ReadonlySet<LeadField>,
  ): void {
    let rates = this.#contexts.get(key);
    if (rates === undefined) {
      if (this.#contexts.size >= this.#maxContexts) return;
      rates = this.#fromPriors(priors);
      this.#contexts.set(key, rates);
    }
    rates.match = betaObserve(rates.match, matched, this.#maxWeight);
    if (!matched) return;
    rates.complete = betaObserve(
      rates.complete,
      asked.every((field) => filled.has(field)),
      this.#maxWeight,
    );
    for (const field of asked) {
      const current = rates.fields.get(field) ?? fieldPrior(rates.priors, field);
      rates.fields.set(field, betaObserve(current, filled.has(field), this.#maxWeight));
    }
  }

  #fromPriors(priors: ProviderHitRatePriors | undefined): MutableRates {
    return {
      match: betaPrior(priors?.match ?? DEFAULT_PRIOR_SHARE, priorWeight(priors)),
      // Nothing is declared about how fields come together: an even prior, learned quickly.
      complete: betaPrior(0.5, priorWeight(priors)),
      fields: new Map(),
      priors,
    };
  }
}

function priorWeight(priors: ProviderHitRatePriors | undefined): number {
  const weight = priors?.weight;
  return weight !== undefined && Number.isFinite(weight) && weight > 0 ? weight : DEFAULT_PRIOR_WEIGHT;
}

function fieldPrior(priors: ProviderHitRatePriors | undefined, field: LeadField): Beta {
  return betaPrior(priors?.fields?.[field] ?? DEFAULT_PRIOR_SHARE, priorWeight(priors));
}
