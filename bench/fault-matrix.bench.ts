/**
 * The fault matrix (issue 11 §10): every fault the emulators inject (`FAULT_KINDS`) at 5% and at 30% of requests,
 * 2,000 leads end to end through `createLeadPipeline` into HubSpot and into Salesforce, each CRM served over HTTP by
 * `startEmulators` with the fault on that CRM only. One run per (CRM, fault, rate), each with a fresh emulator and
 * a fresh pipeline, so no run sees another's records or counters.
 *
 * Prints one JSON line per run:
 * `{"bench":"fault-matrix","crm":"hubspot","fault":"serverError","rate":0.05,"leads":2000,"terminalShare":1,
 *   "lost":0,"crmDuplicates":0,"doneNotInCrm":0,"injected429s":0,"vendor429s":0,"seconds":12.3,...}`
 * - `terminalShare` (goal 1): rows that ended done, rejected or dead-lettered, over `leads`.
 * - `lost` (goal 0): rows the run read but neither finished nor counted `unfinished`: leads with no account at all.
 *   Rows a capped run never read are `notRead` (they lower `terminalShare`, they are not lost).
 * - `crmDuplicates` (goal 0): records in the CRM beyond one per key (HubSpot contacts by email, Salesforce Leads by
 *   `Lead_Key__c`, case-insensitive), read from the emulator's own store.
 * - `doneNotInCrm` (goal 0): rows the pipeline says are done whose key has no record in the CRM.
 * - `injected429s`: rate-limit answers the fault layer injected (`<crm>.faults.rateLimited`; Salesforce's are
 *   403 `REQUEST_LIMIT_EXCEEDED`, its rate-limit answer); `vendor429s`: refusals by the emulated vendor's own
 *   limits (`hubspot.429`, `salesforce.limit_exceeded`).
 * - `seconds`: wall time of the run. Extra keys: `done`, `rejected`, `deadLettered`, `unfinished`, `notRead`, `crmRecords`,
 *   `injectedFaults` (faults of the run's kind injected), `requests` (HTTP requests the CRM emulator received),
 *   `status` (the report's), `capped` (the run reached the cap and was aborted), `goals` (each goal met).
 *
 * Bounded runs. Each run gets `BENCH_RUN_CAP_S` (default 300) seconds of wall time; then its signal aborts it and it
 * is reported with what it finished (`capped: true`, `terminalShare` < 1). A run that does not settle within
 * 15 s of the abort is reported from `run.snapshot()` and left behind; the bench ends the process when every run
 * is printed, so nothing stuck can hang it. Worst case: runs × (cap + 15 s).
 *
 * Settings. Adapters are built from their descriptors' `emulatorSettings` (as `leadpipe --emulate` does) with
 * their default mappings, the CRM sync with its default retries, and a request timeout of `BENCH_TIMEOUT_MS`
 * (default 5,000) so a hung request costs seconds, not the adapters' default 30 s (HubSpot) or 120 s
 * (Salesforce); a hung request lasts `hangMs` 60 emulated seconds at most. The emulators run at time scale 1 and
 * their default limits. `latencyMs` is not a rate and is left out.
 *
 * Run: pnpm run bench fault-matrix
 * Env: BENCH_LEADS (default 2,000), BENCH_CRMS (default `hubspot,salesforce`), BENCH_FAULTS (default every kind
 * of `FAULT_KINDS`), BENCH_RATES (default `0.05,0.3`), BENCH_RUN_CAP_S (default 300), BENCH_TIMEOUT_MS (default
 * 5,000), BENCH_SEED (default 1). The correctness columns are valid on a loaded machine; `seconds` is not.
 */
import {
  ConfigurationError,
  type CrmAdapterDescriptor,
  type CrmAdapterV1,
  createLeadPipeline,
  type PipelineReport,
  registerSecret,
} from '../packages/core/src/index.js';
import { hubspotDescriptor } from '../packages/crm-hubspot/src/index.js';
import { salesforceDescriptor } from '../packages/crm-salesforce/src/index.js';
import {
  FAULT_KINDS,
  type FaultKind,
  type FaultOptions,
  type RunningEmulators,
  startEmulators,
} from '../packages/testkit/src/index.js';

type CrmName = 'hubspot' | 'salesforce';

function wholeNumber(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!(Number.isInteger(value) && value >= 1)) {
    throw new ConfigurationError('invalid_configuration', {
      issues: [{ field: name, reason: `must be a whole number of at least 1, got ${String(value)}` }],
    });
  }
  return value;
}

function list<T extends string>(name: string, known: readonly T[]): T[] {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return [...known];
  const items = raw.split(',').map((item) => item.trim());
  const unknown = items.filter((item) => !known.includes(item as T));
  if (unknown.length > 0) {
    throw new ConfigurationError('invalid_configuration', {
      issues: [
        { field: name, reason: `unknown ${unknown.join(', ')}; expected some of ${known.join(', ')}` },
      ],
    });
  }
  return items as T[];
}

const LEADS = wholeNumber('BENCH_LEADS', 2_000);
const RUN_CAP_MS = wholeNumber('BENCH_RUN_CAP_S', 300) * 1000;
const TIMEOUT_MS = wholeNumber('BENCH_TIMEOUT_MS', 5_000);
const SEED = wholeNumber('BENCH_SEED', 1);
const CRMS = list<CrmName>('BENCH_CRMS', ['hubspot', 'salesforce']);
const FAULTS = list<FaultKind>('BENCH_FAULTS', FAULT_KINDS);
const RATES = (process.env.BENCH_RATES ?? '0.05,0.3').split(',').map((item) => {
  const rate = Number(item);
  if (!(rate > 0 && rate <= 1)) {
    throw new ConfigurationError('invalid_configuration', {
      issues: [{ field: 'BENCH_RATES', reason: `each rate must be in (0, 1], got "${item}"` }],
    });
  }
  return rate;
});
/** How long a run may take to settle after its cap aborted it, before it is reported from its snapshot. */
const SETTLE_MS = 15_000;
/** How long a hung request hangs, emulated ms (the adapters' timeout ends it sooner). */
const HANG_MS = 60_000;

/** The emulator's fault settings injecting `kind` into a share `rate` of requests. */
const FAULT_SETTINGS: Readonly<Record<FaultKind, (rate: number) => FaultOptions>> = {
  serverError: (rate) => ({ serverErrorRate: rate }),
  // A burst of 5 starts with chance `rate`: about 5 × rate of the requests are refused while bursts are short.
  rateLimited: (rate) => ({ rateLimitBurst: { rate, length: 5 } }),
  hang: (rate) => ({ hangRate: rate, hangMs: HANG_MS }),
  connectionReset: (rate) => ({ connectionResetRate: rate }),
  malformedJson: (rate) => ({ malformedJsonRate: rate }),
  expiredToken: (rate) => ({ expiredTokenRate: rate }),
};

/** How a CRM is set up and its records counted. */
interface CrmUnderTest {
  readonly descriptor: CrmAdapterDescriptor<CrmAdapterV1, Record<string, unknown>>;
  /** The key of every record in the CRM (lower-cased), one entry per record. */
  readonly recordKeys: (emulators: RunningEmulators) => string[];
  /** Counter of the vendor's own rate-limit refusals. */
  readonly vendorLimitCounter: string;
}

const CRMS_UNDER_TEST: Readonly<Record<CrmName, CrmUnderTest>> = {
  hubspot: {
    descriptor: hubspotDescriptor as unknown as CrmUnderTest['descriptor'],
    recordKeys: (emulators) =>
      emulators.emulators
        .hubspot!.emulator.contacts()
        .map((contact) => String(contact.properties.email ?? '').toLowerCase()),
    vendorLimitCounter: 'hubspot.429',
  },
  salesforce: {
    descriptor: salesforceDescriptor as unknown as CrmUnderTest['descriptor'],
    recordKeys: (emulators) =>
      emulators.emulators
        .salesforce!.emulator.leads()
        .map((lead) => String((lead as Record<string, unknown>).Lead_Key__c ?? '').toLowerCase()),
    vendorLimitCounter: 'salesforce.limit_exceeded',
  },
};

const round = (value: number, digits = 4) => Math.round(value * 10 ** digits) / 10 ** digits;

async function runOnce(crm: CrmName, fault: FaultKind, rate: number): Promise<Record<string, unknown>> {
  const setup = CRMS_UNDER_TEST[crm];
  const emulators = await startEmulators({
    vendors: [crm],
    seed: SEED,
    truth: { seed: SEED, people: LEADS, companies: Math.max(10, Math.ceil(LEADS / 7)) },
    faults: FAULT_SETTINGS[fault](rate),
    maxRecordedRequests: 0,
  });
  const urls = emulators.urls[crm] as Readonly<Record<string, string>>;
  const credentials = emulators.credentials[crm] as Readonly<Record<string, string>>;
  for (const secret of Object.values(credentials)) registerSecret(secret);
  const adapter = setup.descriptor.create({
    ...setup.descriptor.emulatorSettings({ urls, credentials, timeScale: 1 }),
    timeoutMs: TIMEOUT_MS,
  });
  const truth = emulators.truth;
  const rows = truth.people.slice(0, LEADS).map((person) => ({
    Email: person.email,
    'First Name': person.firstName,
    'Last Name': person.lastName,
    Company: truth.companyOf(person).name,
  }));
  const pipeline = createLeadPipeline({
    crms: [{ adapter, mapping: setup.descriptor.defaultMapping }],
  });

  const started = performance.now();
  const signal = AbortSignal.timeout(RUN_CAP_MS);
  const run = pipeline.run(rows, { signal });
  /** Rows with a terminal result, by status; done rows keep their email to look them up in the CRM. */
  const finished = { done: 0, rejected: 0, deadLettered: 0 };
  const doneKeys: string[] = [];
  const consume = (async () => {
    for await (const result of run) {
      if (result.status === 'done') {
        finished.done++;
        doneKeys.push(String(result.lead.email ?? '').toLowerCase());
      } else if (result.status === 'rejected') finished.rejected++;
      else if (result.status === 'deadLettered') finished.deadLettered++;
    }
  })().catch(() => undefined);
  const settled = Promise.allSettled([run, consume]);
  const capped = new Promise<'stuck'>((resolve) => {
    const wait = () => setTimeout(() => resolve('stuck'), SETTLE_MS).unref();
    if (signal.aborted) wait();
    else signal.addEventListener('abort', wait, { once: true });
  });
  const outcome = await Promise.race([settled, capped]);
  const seconds = round((performance.now() - started) / 1000, 1);
  const stuck = outcome === 'stuck';
  const report: PipelineReport = run.snapshot();

  const keys = setup.recordKeys(emulators);
  const inCrm = new Set(keys);
  const terminal = finished.done + finished.rejected + finished.deadLettered;
  // Rows read but neither finished nor counted unfinished: gone without a word.
  const lost = report.counts.read - terminal - report.counts.unfinished;
  const line = {
    bench: 'fault-matrix',
    crm,
    fault,
    rate,
    leads: LEADS,
    terminalShare: round(terminal / LEADS),
    lost,
    crmDuplicates: keys.length - inCrm.size,
    doneNotInCrm: doneKeys.filter((key) => !inCrm.has(key)).length,
    injected429s: emulators.counters.get(`${crm}.faults.rateLimited`),
    vendor429s: emulators.counters.get(setup.vendorLimitCounter),
    seconds,
    done: finished.done,
    rejected: finished.rejected,
    deadLettered: finished.deadLettered,
    unfinished: report.counts.unfinished,
    notRead: LEADS - report.counts.read,
    crmRecords: keys.length,
    injectedFaults: emulators.counters.get(`${crm}.faults.${fault}`),
    requests: emulators.counters.get(`${crm}.http.requests`),
    status: stuck ? 'stuck' : report.status,
    capped: signal.aborted,
    goals: {
      allTerminal: terminal === LEADS,
      noneLost: lost === 0,
      noCrmDuplicates: keys.length === inCrm.size,
      everyDoneInCrm: doneKeys.every((key) => inCrm.has(key)),
    },
  };
  if (!stuck) await pipeline.close().catch(() => undefined);
  await Promise.resolve(adapter.close?.()).catch(() => undefined);
  await emulators.close();
  return line;
}

for (const crm of CRMS) {
  for (const fault of FAULTS) {
    for (const rate of RATES) console.log(JSON.stringify(await runOnce(crm, fault, rate)));
  }
}
// A run left behind after its cap (reported `stuck`) may still hold timers: end here.
process.exit(0);
