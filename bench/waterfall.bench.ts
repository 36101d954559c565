/**
 * Waterfall figures against the emulators' shared ground truth.
 *
 * 2,000 leads (people sampled from the seeded ground truth, plus emails nobody knows), enriched by Apollo and
 * Clearbit (the testkit's emulators over HTTP) in three strategies side by side:
 *
 * 1. `single:<provider>`: each provider alone; the best one (most correct values) is marked `best: true`.
 * 2. `every-provider`: every provider for every lead, merged field by field by confidence (`minConfidence: 1`,
 *    which no answer reaches, so nothing stops early).
 * 3. `waterfall`: the providers in order, each asked only for what is still missing, confidence-based merging.
 *
 * Each prints one JSON line: `{case, leads, coverage, accuracy, credits, calls, httpCalls, creditsVsAll}` (calls:
 * lookups sent to providers; httpCalls: HTTP requests, Apollo batching up to 10 lookups in one), scored
 * with the ground truth's `score()` (coverage: filled over wanted, accuracy: correct over filled, over every
 * requested field the truth knows). A last line checks the goals: the waterfall's coverage at least that of
 * every provider, its accuracy at least the best single provider's, for at most 60% of every provider's credits,
 * with `personLookupFloorVsAll`: what a clairvoyant, knowing each answer before paying for it, must spend on
 * per-person lookups alone to reach every provider's coverage of the person fields (company fields counted free,
 * as shared lookups by domain could bring them). No strategy can spend less: a lower bound.
 * Every strategy runs on a fresh engine (no shared cache).
 *
 * In the waterfall, Clearbit declares its company lookup `preferWhenSufficient`: a lead that lacks only company
 * fields when Clearbit's turn comes is asked by domain, and one answer serves every lead at that company.
 *
 * `BENCH_FIELD_CORRELATION` (0 to 1, default 0: the testkit's default) sets both providers' `fieldCorrelation`,
 * how much a record's fields come and go together, each field's share unchanged.
 *
 * The root `bench/` folder is no workspace package, so it imports the packages' sources by path.
 *
 * Run: pnpm exec tsx --conditions=@leadpipe/source bench/waterfall.bench.ts
 */
import {
  createEnrichmentEngine,
  createLead,
  type EnrichmentEngineOptions,
  type EnrichmentProviderV1,
  type LeadField,
} from '../packages/core/src/index.js';
import { createApollo } from '../packages/provider-apollo/src/index.js';
import { createClearbit } from '../packages/provider-clearbit/src/index.js';
import { seededRandom, startEmulators } from '../packages/testkit/src/index.js';

const LEADS = Number(process.env.BENCH_LEADS ?? 2_000);
const UNKNOWN_SHARE = 0.05;
const SEED = 1;
const TIME_SCALE = 1_000;
const CONCURRENCY = 32;
/** A large plan's limits, told to both the emulators and the adapters, so limits do not dominate. */
const PLAN = { perMinute: 600_000, perHour: 6_000_000, perDay: 60_000_000 };

/**
 * What a sales team asks for. `phone` is left out: Apollo sells phones only through an asynchronous reveal
 * (a webhook, 8 credits a phone) and Clearbit has none, so no synchronous strategy could fill it.
 */
const FIELD_SETS: Readonly<Record<string, readonly LeadField[]>> = {
  full: [
    'title',
    'seniority',
    'department',
    'linkedinUrl',
    'location',
    'company.name',
    'company.industry',
    'company.headcount',
    'company.annualRevenue',
    'company.technologies',
  ],
  /** The same without revenue and technologies, the two fields Apollo's data covers least (45% and 55%). */
  core: [
    'title',
    'seniority',
    'department',
    'linkedinUrl',
    'location',
    'company.name',
    'company.industry',
    'company.headcount',
  ],
};
/** `BENCH_FIELDS=core` runs the smaller field set. */
const FIELD_SET = process.env.BENCH_FIELDS ?? 'full';
const FIELDS: readonly LeadField[] = FIELD_SETS[FIELD_SET] ?? FIELD_SETS.full!;

const FIELD_CORRELATION = Number(process.env.BENCH_FIELD_CORRELATION ?? 0);
const coverage = { fieldCorrelation: FIELD_CORRELATION };

const emulators = await startEmulators({
  vendors: ['apollo', 'clearbit'],
  seed: SEED,
  timeScale: TIME_SCALE,
  limits: { apollo: PLAN, clearbit: { perMinute: PLAN.perMinute } },
  maxRecordedRequests: 0,
  vendorOptions: { apollo: { coverage }, clearbit: { coverage } },
});
const truth = emulators.truth;

function providers(): { apollo: EnrichmentProviderV1 & { close(): void }; clearbit: EnrichmentProviderV1 } {
  return {
    apollo: createApollo({
      apiKey: emulators.credentials.apollo!.apiKey,
      baseUrl: emulators.urls.apollo!.apiUrl,
      rateLimits: PLAN,
    }),
    clearbit: createClearbit({
      apiKey: emulators.credentials.clearbit!.apiKey,
      baseUrl: emulators.urls.clearbit!.baseUrl,
      rateLimits: { perMinute: PLAN.perMinute },
      // Queued (202) lookups index after 30 emulated seconds: ask again on the emulated clock.
      queuedRetryDelayMs: Math.ceil(5_000 / TIME_SCALE),
      queuedMaxWaitMs: Math.ceil(120_000 / TIME_SCALE),
    }),
  };
}

/** The sample: distinct people drawn with a seeded generator, and emails at domains nobody knows. */
function sampleEmails(): string[] {
  const random = seededRandom(SEED * 7_919);
  const unknown = Math.round(LEADS * UNKNOWN_SHARE);
  const chosen = new Set<number>();
  while (chosen.size < LEADS - unknown) chosen.add(Math.floor(random() * truth.people.length));
  const emails = [...chosen].map((index) => truth.people[index]!.email);
  for (let index = 0; index < unknown; index++) {
    emails.splice(Math.floor(random() * emails.length), 0, `prospect${index}@nowhere-known-${index}.com`);
  }
  return emails;
}

interface CaseResult {
  readonly case: string;
  readonly leads: number;
  readonly coverage: number;
  readonly accuracy: number;
  readonly credits: number;
  readonly calls: number;
  readonly httpCalls: number;
  readonly correct: number;
  /** Per lead (by email), the requested fields it ended with a value for. */
  readonly filled: ReadonlyMap<string, ReadonlySet<string>>;
}

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

async function runCase(
  name: string,
  emails: readonly string[],
  configure: (built: ReturnType<typeof providers>) => EnrichmentEngineOptions,
): Promise<CaseResult> {
  const built = providers();
  const engine = createEnrichmentEngine(configure(built));
  const leads = [];
  const filled = new Map<string, ReadonlySet<string>>();
  for await (const outcome of engine.enrichMany(
    emails.map((email) => createLead({ email })),
    { concurrency: CONCURRENCY },
  )) {
    leads.push(outcome.lead);
    const missing = new Set<string>(outcome.missing);
    filled.set(outcome.lead.email ?? '', new Set(FIELDS.filter((field) => !missing.has(field))));
  }
  const stats = engine.stats();
  await engine.close();
  built.apollo.close();
  const report = truth.score(leads, FIELDS);
  let correct = 0;
  for (const field of FIELDS) correct += report.fields[field]?.correct ?? 0;
  if (process.env.BENCH_VERBOSE) {
    const perField = Object.fromEntries(
      FIELDS.map((field) => {
        const score = report.fields[field];
        return [field, score && { coverage: round(score.coverage, 3), accuracy: round(score.accuracy, 3) }];
      }),
    );
    console.error(name, JSON.stringify(perField), JSON.stringify(stats.providers));
  }
  const all = Object.values(stats.providers);
  return {
    case: name,
    leads: report.leads,
    coverage: report.coverage,
    accuracy: report.accuracy,
    credits: stats.credits,
    calls: all.reduce((sum, provider) => sum + provider.requests, 0),
    httpCalls: all.reduce((sum, provider) => sum + provider.calls, 0),
    correct,
    filled,
  };
}

/** The person fields among the requested ones: no company lookup can supply them. */
const PERSON_FIELDS = new Set<string>(['title', 'seniority', 'department', 'linkedinUrl', 'location']);

/**
 * Credits a clairvoyant must spend on per-person lookups to reach every provider's coverage of the requested
 * person fields: per lead, nothing when neither provider has any, one lookup when one provider alone has all
 * that either has, else two. Company fields are counted free. A lower bound for any real strategy.
 */
function personLookupFloor(apollo: CaseResult, clearbit: CaseResult): number {
  const personal = (filled: ReadonlySet<string> | undefined) =>
    new Set([...(filled ?? [])].filter((field) => PERSON_FIELDS.has(field)));
  let credits = 0;
  for (const email of emails) {
    const fromApollo = personal(apollo.filled.get(email));
    const fromClearbit = personal(clearbit.filled.get(email));
    const union = new Set([...fromApollo, ...fromClearbit]);
    if (union.size === 0) continue;
    credits += fromApollo.size === union.size || fromClearbit.size === union.size ? 1 : 2;
  }
  return credits;
}

const emails = sampleEmails();
const base = { fields: FIELDS } as const;

const singles = [
  await runCase('single:apollo', emails, ({ apollo }) => ({ ...base, providers: [apollo] })),
  await runCase('single:clearbit', emails, ({ clearbit }) => ({ ...base, providers: [clearbit] })),
];
const everyProvider = await runCase('every-provider', emails, ({ apollo, clearbit }) => ({
  ...base,
  providers: [apollo, clearbit],
  mergePolicy: 'highestConfidence',
  minConfidence: 1,
}));
const waterfall = await runCase('waterfall', emails, ({ apollo, clearbit }) => ({
  ...base,
  providers: [apollo, clearbit],
  // Apollo first: it bills matches only (Clearbit bills misses too) and is the stronger source of person fields.
  // Clearbit's more confident company metrics (0.95 against Apollo's 0.6-0.7 estimates) replace Apollo's when it
  // is called. minConfidence 0.5 counts Apollo's estimates as filled; raising it above 0.6 buys a little accuracy
  // with more Clearbit calls.
  mergePolicy: 'highestConfidence',
  minConfidence: 0.5,
}));

const best = singles.reduce((top, candidate) => (candidate.correct > top.correct ? candidate : top));
const print = (result: CaseResult, extra: Record<string, unknown> = {}) => {
  const { correct: _correct, filled: _filled, ...shown } = result;
  console.log(
    JSON.stringify({
      ...shown,
      coverage: round(result.coverage),
      accuracy: round(result.accuracy),
      credits: round(result.credits, 2),
      creditsVsAll: round(result.credits / everyProvider.credits),
      ...extra,
    }),
  );
};
for (const single of singles) print(single, { best: single === best });
print(everyProvider);
print(waterfall);
const floor = personLookupFloor(singles[0]!, singles[1]!);
const goals = {
  coverageAtLeastEveryProvider: waterfall.coverage >= everyProvider.coverage,
  accuracyAtLeastBestSingle: waterfall.accuracy >= best.accuracy,
  creditsAtMost60PercentOfEveryProvider: waterfall.credits <= 0.6 * everyProvider.credits,
};
console.log(
  JSON.stringify({
    case: 'goals',
    bestSingle: best.case,
    ...goals,
    met: Object.values(goals).every(Boolean),
    personLookupFloorVsAll: round(floor / everyProvider.credits),
    fieldCorrelation: FIELD_CORRELATION,
  }),
);
await emulators.close();
