import type { LeadField } from '@leadpipe/core/adapter-kit';
import {
  checkGroundTruthOptions,
  type GroundTruthData,
  type GroundTruthOptions,
  generatePopulation,
} from './generate.js';
import { type ScorableLead, type ScoreReport, scoreLeads } from './score.js';

export {
  APOLLO_COVERAGE,
  CLEARBIT_COVERAGE,
  type CoverageOverrides,
  type CoverageProfile,
  createProviderView,
  fullCoverage,
  type ProviderView,
  resolveCoverage,
} from './coverage.js';
export {
  domainComparisonKey,
  type GroundTruthData,
  type GroundTruthOptions,
  headcountRangeOf,
  linkedinComparisonKey,
  type TruthCompany,
  type TruthPerson,
} from './generate.js';
export {
  departmentKey,
  type FieldScore,
  flattenScorableLead,
  type ScorableLead,
  type ScoreReport,
  technologyKey,
  valueMatches,
} from './score.js';

/** The ground truth: the population, its lookups, and scoring of enriched leads against it. */
export interface GroundTruth extends GroundTruthData {
  /**
   * Coverage and accuracy of enriched leads for the wanted fields, per field
   * and overall. Takes core `Lead` objects as they come out of `createLead`,
   * `applyLeadFields` or the enrichment engine (or the engine's outcomes,
   * which carry one as `lead`), or flat LeadField patches.
   *
   * @throws ConfigurationError naming the bad argument (`wantedFields[i]`, `leads`, `leads[i]`).
   */
  score(results: Iterable<ScorableLead>, wantedFields: readonly LeadField[]): ScoreReport;
}

const cache = new Map<string, GroundTruth>();

/**
 * Create (or reuse) the seeded ground-truth population: by default 20,000
 * people across 3,000 companies. The same options always give the same
 * population; populations are cached by options, so emulators and tests
 * built with the same seed share one.
 *
 * @throws ConfigurationError when a size is not a positive integer or the seed is not an integer.
 */
export function createGroundTruth(options: GroundTruthOptions = {}): GroundTruth {
  // Checked before the cache, so an unknown option is refused even when the population is cached.
  checkGroundTruthOptions(options);
  const key = `${options.seed ?? 1}|${options.people ?? 20_000}|${options.companies ?? 3_000}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const data = generatePopulation(options);
  const truth: GroundTruth = {
    ...data,
    score: (results, wantedFields) => scoreLeads(data, results, wantedFields),
  };
  cache.set(key, truth);
  return truth;
}
