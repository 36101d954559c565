/**
 * Salesforce sync benchmark: 10,000 leads into the Salesforce emulator (a
 * real HTTP server on 127.0.0.1, its clock 20 times faster so Bulk jobs
 * finish in seconds), through leadpipe (`createCrmSync` + `createSalesforce`,
 * Bulk API 2.0 and Collections-only) and the way a user would with jsforce
 * (`bulk2.loadAndWaitForResults`, and `sobject().upsert` in chunks of 200).
 * Prints one JSON line per case: wall time, API calls (token requests
 * included), Bulk polls, and limit answers received (Salesforce's 403
 * `REQUEST_LIMIT_EXCEEDED`, its 429; goal 0), records in the org afterwards
 * and duplicates. Each case starts from an empty org, after a warm-up run of
 * every case with 300 leads (not printed), so the order of cases does not
 * decide the times.
 * Run: `pnpm exec tsx --conditions=@leadpipe/source packages/crm-salesforce/bench/sync.bench.ts`.
 */
import { createCrmSync, createLead, defineFieldMapping, type Lead } from '@leadpipe/core';
import { startEmulators } from '@leadpipe/testkit';
import jsforce from 'jsforce';
import { createSalesforce } from '../src/index.js';

const LEADS = 10_000;
const TIME_SCALE = 20;
const POLL_MS = 100;
const WARMUP_LEADS = 300;

const running = await startEmulators({
  vendors: ['salesforce'],
  seed: 5,
  timeScale: TIME_SCALE,
  maxRecordedRequests: 0,
  truth: { people: 10, companies: 5 },
  vendorOptions: { salesforce: { dailyApiRequests: 1_000_000 } },
});
const instance = running.emulators.salesforce;
const url = running.urls.salesforce?.baseUrl;
if (instance === undefined || url === undefined) throw new Error('the Salesforce emulator did not start');
const { credentials } = instance.emulator;

const mapping = defineFieldMapping({
  object: 'Lead',
  idProperty: { from: 'email', to: 'Lead_Key__c' },
  fields: [
    { from: 'firstName', to: 'FirstName' },
    { from: 'lastName', to: 'LastName' },
    { from: 'company.name', to: 'Company' },
    { from: 'title', to: 'Title' },
  ],
});

const allLeads: Lead[] = Array.from({ length: LEADS }, (_, index) =>
  createLead({
    email: `bench${index}@company-${index % 500}.example`,
    firstName: `First${index}`,
    lastName: `Last${index}`,
    title: `Title ${index % 40}`,
    company: { name: `Company ${index % 500}` },
  }),
);
const toRows = (leads: readonly Lead[]) =>
  leads.map((lead) => ({
    Lead_Key__c: lead.email ?? '',
    FirstName: lead.firstName ?? '',
    LastName: lead.lastName ?? '',
    Company: lead.company?.name ?? '',
    Title: lead.title ?? '',
  }));

function counter(name: string): number {
  return instance?.counters.get(`salesforce.${name}`) ?? 0;
}

type Case = (leads: readonly Lead[]) => Promise<{ deadLettered?: number } | undefined>;

async function measure(name: string, run: Case, leads: readonly Lead[], print: boolean): Promise<void> {
  instance?.reset();
  const before = {
    calls: counter('http.requests'),
    polls: counter('requests.jobs.get'),
    limits: counter('limit_exceeded') + counter('http.status.429'),
  };
  const started = performance.now();
  let error: string | undefined;
  let outcome: { deadLettered?: number } | undefined;
  try {
    outcome = await run(leads);
  } catch (failure) {
    error = failure instanceof Error ? failure.message : String(failure);
  }
  const stored = instance?.emulator.leads() ?? [];
  const keys = new Set(stored.map((lead) => String(lead.Lead_Key__c).toLowerCase()));
  if (!print) return;
  console.log(
    JSON.stringify({
      case: name,
      leads: leads.length,
      ms: Math.round(performance.now() - started),
      apiCalls: counter('http.requests') - before.calls,
      bulkPolls: counter('requests.jobs.get') - before.polls,
      limitErrors: counter('limit_exceeded') + counter('http.status.429') - before.limits,
      stored: stored.length,
      duplicates: stored.length - keys.size,
      ...(outcome?.deadLettered === undefined ? {} : { deadLettered: outcome.deadLettered }),
      ...(error === undefined ? {} : { error }),
    }),
  );
}

async function leadpipe(leads: readonly Lead[], settings: Parameters<typeof createSalesforce>[0]) {
  const adapter = createSalesforce({
    refreshToken: credentials.refreshToken,
    clientId: credentials.clientId,
    clientSecret: credentials.clientSecret,
    loginUrl: url,
    bulkPollIntervalMs: POLL_MS,
    bulkPollMaxIntervalMs: 1000,
    ...settings,
  });
  const sync = createCrmSync({ crms: [{ adapter, mapping }] });
  try {
    const report = await sync.sync(leads);
    return { deadLettered: report.crms[0]?.deadLettered ?? 0 };
  } finally {
    await sync.close();
  }
}

function jsforceConnection() {
  const conn = new jsforce.Connection({
    instanceUrl: url,
    accessToken: credentials.accessToken,
    version: '62.0',
  });
  conn.bulk2.pollInterval = POLL_MS;
  conn.bulk2.pollTimeout = 120_000;
  return conn;
}

const cases: [string, Case][] = [
  ['leadpipe: createCrmSync + Bulk API 2.0 (default settings)', (leads) => leadpipe(leads, {})],
  [
    'leadpipe: createCrmSync + sObject Collections only',
    (leads) => leadpipe(leads, { maxBatchSize: 200, bulkThreshold: 10_001 }),
  ],
  [
    'jsforce: bulk2.loadAndWaitForResults',
    async (leads) => {
      const conn = jsforceConnection();
      const results = await conn.bulk2.loadAndWaitForResults({
        object: 'Lead',
        operation: 'upsert',
        externalIdFieldName: 'Lead_Key__c',
        input: toRows(leads),
        pollInterval: POLL_MS,
        pollTimeout: 120_000,
      });
      return { deadLettered: results.failedResults.length + results.unprocessedRecords.length };
    },
  ],
  [
    'jsforce: sobject().upsert in chunks of 200',
    async (leads) => {
      const conn = jsforceConnection();
      const rows = toRows(leads);
      let failed = 0;
      for (let start = 0; start < rows.length; start += 200) {
        const saved = await conn.sobject('Lead').upsert(rows.slice(start, start + 200), 'Lead_Key__c');
        failed += saved.filter((result) => !result.success).length;
      }
      return { deadLettered: failed };
    },
  ],
];

// Warm the JIT and the emulator with a small run of every case, so the order of cases does not decide the times.
for (const [name, run] of cases) await measure(name, run, allLeads.slice(0, WARMUP_LEADS), false);
for (const [name, run] of cases) await measure(name, run, allLeads, true);

await running.close();
