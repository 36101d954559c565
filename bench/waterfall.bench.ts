/**
 * Waterfall quality: coverage, accuracy and credits of every enrichment strategy against the emulators' shared
 * ground truth.
 *
 * 2,000 leads (people sampled from the seeded ground truth, plus 5% emails nobody knows), enriched through the
 * testkit's Apollo, Clearbit and ZoomInfo emulators over HTTP, at `fieldCorrelation` 0 and 0.8 (how much a record's
 * fields come and go together, each field's share unchanged). Per correlation, five strategies, each on a fresh
 * engine (no shared cache):
 *
 * 1. `best-single`: each provider alone; the one with the most correct values is reported.
 * 2. `every-provider`: every provider for every lead, merged field by field by confidence (`minConfidence: 1`,
 *    which no answer reaches, so nothing stops early).
 * 3. `fixed-order`: the waterfall in a fixed order (Apollo, ZoomInfo, Clearbit: the two that bill matches only
 *    first, Clearbit, which bills misses too, last), each asked only for what is still missing.
 * 4. `cost-aware`: the engine's `strategy: 'cost-aware'`: the provider with the most expected missing fields per
 *    credit next, from hit rates learned during the run, until none is worth its cost.
 * 5. `floor`: a clairvoyant that knows every answer before paying: the fewest credits that reach every provider's
 *    filled fields for each lead, choosing per lead which person lookups to buy and per company which company
 *    lookups by domain (one credit, shared by every lead at that company) to buy, exactly (every combination per
 *    company). What it buys is what the providers answered in the single runs (person lookups) and what their
 *    ground-truth views hold for the company (company lookups). It reaches every provider's coverage by
 *    definition; its accuracy is reported as every provider's. No strategy can spend less for that coverage.
 *    `personLookupFloor` in the goals line is the older, looser bound: per-person lookups only, company fields
 *    counted free.
 *
 * Each strategy prints one line
 * `{"bench":"waterfall-quality","strategy","fieldCorrelation","providers","leads","coverage","accuracy","credits","creditsVsAll","creditsVsFloor"}`,
 * scored with the ground truth's `score()` (coverage: filled over wanted, accuracy: correct over filled, over every
 * requested field the truth knows). Then per correlation a `waterfall-learning-curve` line (cost-aware credits per
 * lead over successive windows of the run, in the order leads finished, beside the fixed order's), a
 * `waterfall-single` line per provider,
 * and a `waterfall-goals` line: the cost-aware waterfall's coverage at least every provider's, its accuracy at
 * least the best single provider's, for at most 1.3 times the floor's credits.
 *
 * Env: `BENCH_LEADS` (2,000), `BENCH_FIELD_CORRELATIONS` (`0,0.8`), `BENCH_FIELDS` (`full` or `core`),
 * `BENCH_WINDOW` (leads per learning-curve window, 200), `BENCH_VERBOSE` (per-field figures on stderr).
 * The root `bench/` folder is no workspace package, so it imports the packages' sources by path.
 *
 * Run: pnpm exec tsx --conditions=@leadpipe/source bench/waterfall.bench.ts
 * (small: BENCH_LEADS=300 pnpm exec tsx --conditions=@leadpipe/source bench/waterfall.bench.ts)
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
import { createZoomInfo } from '../packages/provider-zoominfo/src/index.js';
import {
  flattenScorableLead,
  type ProviderView,
  type RunningEmulators,
  seededRandom,
  startEmulators,
  type TruthCompany,
} from '../packages/testkit/src/index.js';

const LEADS = Number(process.env.BENCH_LEADS ?? 2_000);
const CORRELATIONS = (process.env.BENCH_FIELD_CORRELATIONS ?? '0,0.8').split(',').map(Number);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 200);
/** `BENCH_MIN_FIELDS_PER_CREDIT` overrides the cost-aware threshold (default: the engine's). */
const MIN_FIELDS_PER_CREDIT =
  process.env.BENCH_MIN_FIELDS_PER_CREDIT === undefined
    ? undefined
    : Number(process.env.BENCH_MIN_FIELDS_PER_CREDIT);
const UNKNOWN_SHARE = 0.05;
const SEED = 1;
const TIME_SCALE = 1_000;
const CONCURRENCY = 32;
/** A large plan's limits, told to the emulators and the adapters alike, so limits do not dominate. */
const PLAN = { perMinute: 600_000, perHour: 6_000_000, perDay: 60_000_000 };
const ZOOMINFO_PLAN = { perSecond: 100_000, perHour: 6_000_000, perDay: 60_000_000 };
const PROVIDER_IDS = ['apollo', 'zoominfo', 'clearbit'] as const;
type ProviderId = (typeof PROVIDER_IDS)[number];
/** The fixed order: `BENCH_FIXED_ORDER` (comma-separated ids), default Apollo, ZoomInfo, Clearbit. */
const FIXED_ORDER = (process.env.BENCH_FIXED_ORDER?.split(',') ?? PROVIDER_IDS) as readonly ProviderId[];

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
  /** The same without revenue and technologies, the two company fields covered least. */
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
const FIELD_SET = process.env.BENCH_FIELDS ?? 'full';
const FIELDS: readonly LeadField[] = FIELD_SETS[FIELD_SET] ?? FIELD_SETS.full!;

type Built = Record<ProviderId, EnrichmentProviderV1>;

function buildProviders(emulators: RunningEmulators): Built {
  return {
    apollo: createApollo({
      apiKey: emulators.credentials.apollo!.apiKey,
      baseUrl: emulators.urls.apollo!.apiUrl,
      rateLimits: PLAN,
    }),
    zoominfo: createZoomInfo({
      api: 'gtm',
      clientId: emulators.credentials.zoominfo!.clientId,
      clientSecret: emulators.credentials.zoominfo!.clientSecret,
      baseUrl: emulators.urls.zoominfo!.baseUrl,
      rateLimits: { ...ZOOMINFO_PLAN, maxConcurrent: 32 },
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

interface CaseResult {
  readonly name: string;
  readonly coverage: number;
  readonly accuracy: number;
  readonly credits: number;
  readonly correct: number;
  /** Per lead (by email), the requested fields it ended with a value for. */
  readonly filled: ReadonlyMap<string, ReadonlySet<LeadField>>;
  /** Credits per lead, in the order the leads finished. */
  readonly creditsInOrder: readonly number[];
}

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

function filledFields(lead: Parameters<typeof flattenScorableLead>[0]): Set<LeadField> {
  const flat = flattenScorableLead(lead) as Record<string, unknown>;
  return new Set(FIELDS.filter((field) => flat[field] !== undefined));
}

async function runCase(
  emulators: RunningEmulators,
  name: string,
  emails: readonly string[],
  configure: (built: Built) => EnrichmentEngineOptions,
): Promise<CaseResult> {
  const built = buildProviders(emulators);
  const engine = createEnrichmentEngine(configure(built));
  const leads = [];
  const filled = new Map<string, ReadonlySet<LeadField>>();
  const creditsInOrder: number[] = [];
  for await (const outcome of engine.enrichMany(
    emails.map((email) => createLead({ email })),
    { concurrency: CONCURRENCY },
  )) {
    leads.push(outcome.lead);
    creditsInOrder.push(outcome.credits);
    filled.set(outcome.lead.email ?? '', filledFields(outcome.lead));
  }
  const stats = engine.stats();
  await engine.close();
  for (const provider of Object.values(built)) await provider.close?.();
  const report = emulators.truth.score(leads, FIELDS);
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
  return {
    name,
    coverage: report.coverage,
    accuracy: report.accuracy,
    credits: stats.credits,
    correct,
    filled,
    creditsInOrder,
  };
}

/** The sample: distinct people drawn with a seeded generator, and emails at domains nobody knows. */
function sampleEmails(emulators: RunningEmulators): string[] {
  const truth = emulators.truth;
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

const isCompanyField = (field: LeadField) => field.startsWith('company.');
const PERSON_FIELDS = new Set(FIELDS.filter((field) => !isCompanyField(field)));

/**
 * The clairvoyant floor: per company, every combination of company lookups (one credit per provider that has the
 * company), and per lead at it the fewest person lookups (one credit each, only providers that matched) that,
 * with those company lookups, cover every field `every-provider` filled for the lead. Exact.
 */
function clairvoyantFloor(
  emulators: RunningEmulators,
  emails: readonly string[],
  singles: Readonly<Record<ProviderId, CaseResult>>,
  everyProvider: CaseResult,
  views: Readonly<Record<ProviderId, ProviderView>>,
  companySupplies: Readonly<Record<ProviderId, ReadonlySet<LeadField>>>,
): { credits: number; uncoverable: number } {
  const truth = emulators.truth;
  const byCompany = new Map<TruthCompany, string[]>();
  for (const email of emails) {
    const person = truth.personByEmail(email);
    if (!person) continue;
    const company = truth.companyOf(person);
    byCompany.set(company, [...(byCompany.get(company) ?? []), email]);
  }
  const subsets = <T>(items: readonly T[]): T[][] => {
    const all: T[][] = [[]];
    for (const item of items) for (const subset of all.slice()) all.push([...subset, item]);
    return all;
  };
  const personSubsets = subsets(PROVIDER_IDS);
  let credits = 0;
  let uncoverable = 0;
  for (const [company, members] of byCompany) {
    const companyFields = Object.fromEntries(
      PROVIDER_IDS.map((id) => {
        const record = views[id].company(company) as Record<string, unknown> | null;
        const fields = new Set<LeadField>(
          record === null
            ? []
            : FIELDS.filter((field) => record[field] !== undefined && companySupplies[id].has(field)),
        );
        return [id, fields];
      }),
    ) as Record<ProviderId, Set<LeadField>>;
    let best = Number.POSITIVE_INFINITY;
    let bestUncoverable = 0;
    for (const bought of subsets(PROVIDER_IDS.filter((id) => companyFields[id].size > 0))) {
      const fromCompanies = new Set(bought.flatMap((id) => [...companyFields[id]]));
      let total = bought.length;
      let missed = 0;
      for (const email of members) {
        const target = [...(everyProvider.filled.get(email) ?? [])].filter(
          (field) => !fromCompanies.has(field),
        );
        if (target.length === 0) continue;
        let cheapest = Number.POSITIVE_INFINITY;
        for (const subset of personSubsets) {
          if (subset.length >= cheapest) continue;
          const got = new Set(subset.flatMap((id) => [...(singles[id].filled.get(email) ?? [])]));
          // A provider that found nothing for the lead is never bought: the clairvoyant knows it would miss.
          if (subset.some((id) => (singles[id].filled.get(email)?.size ?? 0) === 0)) continue;
          if (target.every((field) => got.has(field))) cheapest = subset.length;
        }
        if (cheapest === Number.POSITIVE_INFINITY) {
          missed += 1;
          cheapest = personSubsets.length; // cannot happen when the single runs and the views agree
        }
        total += cheapest;
      }
      if (total < best) {
        best = total;
        bestUncoverable = missed;
      }
    }
    credits += best;
    uncoverable += bestUncoverable;
  }
  return { credits, uncoverable };
}

/** The older bound: per-person lookups alone reaching every provider's person fields, company fields free. */
function personLookupFloor(
  emails: readonly string[],
  singles: Readonly<Record<ProviderId, CaseResult>>,
): number {
  let credits = 0;
  for (const email of emails) {
    const sets = PROVIDER_IDS.map(
      (id) => new Set([...(singles[id].filled.get(email) ?? [])].filter((field) => PERSON_FIELDS.has(field))),
    );
    const union = new Set(sets.flatMap((set) => [...set]));
    if (union.size === 0) continue;
    if (sets.some((set) => set.size === union.size)) credits += 1;
    else if (sets.some((a, i) => sets.some((b, j) => j > i && new Set([...a, ...b]).size === union.size)))
      credits += 2;
    else credits += 3;
  }
  return credits;
}

async function runCorrelation(fieldCorrelation: number): Promise<void> {
  const coverage = { fieldCorrelation };
  const emulators = await startEmulators({
    vendors: ['apollo', 'clearbit', 'zoominfo'],
    seed: SEED,
    timeScale: TIME_SCALE,
    limits: { apollo: PLAN, clearbit: { perMinute: PLAN.perMinute }, zoominfo: ZOOMINFO_PLAN },
    maxRecordedRequests: 0,
    vendorOptions: { apollo: { coverage }, clearbit: { coverage }, zoominfo: { coverage } },
  });
  try {
    const emails = sampleEmails(emulators);
    const base = { fields: FIELDS } as const;
    const singles = {} as Record<ProviderId, CaseResult>;
    for (const id of PROVIDER_IDS) {
      singles[id] = await runCase(emulators, `single:${id}`, emails, (built) => ({
        ...base,
        providers: [built[id]],
      }));
    }
    const everyProvider = await runCase(emulators, 'every-provider', emails, (built) => ({
      ...base,
      providers: PROVIDER_IDS.map((id) => built[id]),
      mergePolicy: 'highestConfidence',
      minConfidence: 1,
    }));
    // minConfidence 0.5 counts Apollo's company estimates (0.6-0.7) as filled; the more confident company metrics
    // of ZoomInfo and Clearbit replace them when those are called.
    const waterfall = { ...base, mergePolicy: 'highestConfidence', minConfidence: 0.5 } as const;
    const fixedOrder = await runCase(emulators, 'fixed-order', emails, (built) => ({
      ...waterfall,
      providers: FIXED_ORDER.map((id) => built[id]),
      strategy: 'fixed-order',
    }));
    const costAware = await runCase(emulators, 'cost-aware', emails, (built) => ({
      ...waterfall,
      providers: PROVIDER_IDS.map((id) => built[id]),
      strategy: 'cost-aware',
      ...(MIN_FIELDS_PER_CREDIT === undefined
        ? {}
        : { costAware: { minFieldsPerCredit: MIN_FIELDS_PER_CREDIT } }),
    }));

    const built = buildProviders(emulators);
    const companySupplies = Object.fromEntries(
      PROVIDER_IDS.map((id) => [
        id,
        new Set(
          built[id].capabilities.lookups
            .filter((lookup) => lookup.requires.length === 1 && lookup.requires[0] === 'company.domain')
            .flatMap((lookup) => lookup.supplies),
        ),
      ]),
    ) as Record<ProviderId, Set<LeadField>>;
    for (const provider of Object.values(built)) await provider.close?.();
    const views = Object.fromEntries(
      PROVIDER_IDS.map((id) => [
        id,
        (emulators.emulators[id]!.emulator as unknown as { view: ProviderView }).view,
      ]),
    ) as Record<ProviderId, ProviderView>;
    const floor = clairvoyantFloor(emulators, emails, singles, everyProvider, views, companySupplies);
    if (floor.uncoverable > 0)
      console.error(`floor: ${floor.uncoverable} leads not coverable by its lookups`);

    const best = PROVIDER_IDS.map((id) => singles[id]).reduce((top, candidate) =>
      candidate.correct > top.correct ? candidate : top,
    );
    const line = (strategy: string, result: { coverage: number; accuracy: number; credits: number }) =>
      console.log(
        JSON.stringify({
          bench: 'waterfall-quality',
          strategy,
          fieldCorrelation,
          providers: PROVIDER_IDS.length,
          leads: emails.length,
          coverage: round(result.coverage),
          accuracy: round(result.accuracy),
          credits: round(result.credits, 2),
          creditsVsAll: round(result.credits / everyProvider.credits),
          creditsVsFloor: round(result.credits / floor.credits),
        }),
      );
    line('best-single', best);
    line('every-provider', everyProvider);
    line('fixed-order', fixedOrder);
    line('cost-aware', costAware);
    line('floor', {
      coverage: everyProvider.coverage,
      accuracy: everyProvider.accuracy,
      credits: floor.credits,
    });

    const windows = (inOrder: readonly number[]) => {
      const perLead: number[] = [];
      for (let start = 0; start < inOrder.length; start += WINDOW) {
        const slice = inOrder.slice(start, start + WINDOW);
        perLead.push(round(slice.reduce((sum, credits) => sum + credits, 0) / slice.length, 3));
      }
      return perLead;
    };
    console.log(
      JSON.stringify({
        bench: 'waterfall-learning-curve',
        strategy: 'cost-aware',
        fieldCorrelation,
        leads: emails.length,
        windowLeads: WINDOW,
        creditsPerLead: windows(costAware.creditsInOrder),
        // The fixed order's own curve: its spend falls too as company answers fill the cache.
        fixedOrderCreditsPerLead: windows(fixedOrder.creditsInOrder),
        floorCreditsPerLead: round(floor.credits / emails.length, 3),
      }),
    );
    for (const id of PROVIDER_IDS) {
      const single = singles[id];
      console.log(
        JSON.stringify({
          bench: 'waterfall-single',
          provider: id,
          fieldCorrelation,
          coverage: round(single.coverage),
          accuracy: round(single.accuracy),
          credits: round(single.credits, 2),
          best: single === best,
        }),
      );
    }
    const goals = {
      coverageAtLeastEveryProvider: costAware.coverage >= everyProvider.coverage,
      accuracyAtLeastBestSingle: costAware.accuracy >= best.accuracy,
      creditsAtMost1_3xFloor: costAware.credits <= 1.3 * floor.credits,
    };
    console.log(
      JSON.stringify({
        bench: 'waterfall-goals',
        fieldCorrelation,
        bestSingle: best.name,
        ...goals,
        met: Object.values(goals).every(Boolean),
        costAwareVsFixedOrder: round(costAware.credits / fixedOrder.credits),
        personLookupFloorVsAll: round(personLookupFloor(emails, singles) / everyProvider.credits),
      }),
    );
  } finally {
    await emulators.close();
  }
}

for (const fieldCorrelation of CORRELATIONS) await runCorrelation(fieldCorrelation);
