import { createMemoryCampaignStore } from '@leadpipe/campaigns';
import {
  type CampaignStoreV1,
  createCrmSync,
  createLeadPipeline,
  createMemoryDeadLetterQueue,
  createMemoryLeadStore,
  type DeadLetterQueue,
  type LeadInput,
  type LeadStoreV1,
  type PipelineReport,
} from '@leadpipe/core';
import { createHubspot, hubspotDescriptor } from '@leadpipe/crm-hubspot';
import { clearbitDescriptor, createClearbit } from '@leadpipe/provider-clearbit';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import {
  campaignsFromStore,
  createRunTracker,
  type DashboardSources,
  deadLettersFrom,
  type RunTracker,
} from '../src/index.js';

/** Everything the dashboard shows, built from the real things: emulated vendors over HTTP, core's stores, the campaign store. */
export interface World {
  readonly sources: DashboardSources;
  readonly emulators: RunningEmulators;
  readonly tracker: RunTracker;
  /** The finished run's report. */
  readonly report: PipelineReport;
  /** The dead-letter queue (three HubSpot records that failed while HubSpot was unreachable, one lead-store entry). */
  readonly queue: DeadLetterQueue;
  readonly campaignStore: CampaignStoreV1;
  readonly leadStore: LeadStoreV1;
  /** Lets the second, still running, run finish. */
  finishRunning(): Promise<PipelineReport>;
  close(): Promise<void>;
}

/** Rows of the running run before it waits for {@link World.finishRunning}. */
export const RUNNING_FIRST_ROWS = 3;
/** Rows of the running run in all. */
export const RUNNING_TOTAL_ROWS = 8;

export async function buildWorld(): Promise<World> {
  const emulators = await startEmulators({
    vendors: ['clearbit', 'hubspot'],
    seed: 7,
    // Clearbit queues lookups of unknown people and answers later, on the emulator's clock: run it 60 times faster.
    timeScale: 60,
    truth: { seed: 7, people: 400, companies: 60 },
  });
  const connection = (id: 'clearbit' | 'hubspot') => ({
    urls: emulators.urls[id]!,
    credentials: emulators.credentials[id]!,
    timeScale: 60,
  });
  const clearbit = createClearbit(clearbitDescriptor.emulatorSettings(connection('clearbit')));
  const people = emulators.truth.people.slice(0, 6 + RUNNING_TOTAL_ROWS);
  const leads: LeadInput[] = [
    ...people.slice(0, 6).map((person) => ({ email: person.email })),
    { email: 'nobody@unknown-dashboard-domain.example' },
  ];

  const leadStore = createMemoryLeadStore();
  const tracker = createRunTracker({ providers: [clearbit] });
  const fields = ['title', 'company.name', 'company.headcount'] as const;
  const finished = createLeadPipeline({
    enrichment: { providers: [clearbit], fields: [...fields] },
    store: leadStore,
  });
  const run = finished.run(leads);
  tracker.track(finished, run, { id: 'signups', label: 'signups.csv', totalRows: leads.length });
  const report = await run;

  // A run that stops half-way until the test lets it go on: shown as running, with progress.
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const later = people.slice(6, 6 + RUNNING_TOTAL_ROWS);
  async function* source(): AsyncGenerator<LeadInput> {
    for (const [index, person] of later.entries()) {
      if (index === RUNNING_FIRST_ROWS) await gate;
      yield { email: person.email };
    }
  }
  const runningPipeline = createLeadPipeline({ enrichment: { providers: [clearbit], fields: [...fields] } });
  const running = runningPipeline.run(source());
  tracker.track(runningPipeline, running, {
    id: 'import-2',
    label: 'import.ndjson',
    totalRows: RUNNING_TOTAL_ROWS,
  });
  const runningDone = Promise.resolve(running);
  // Wait until the first rows are through (polled, up to a minute on a loaded machine): its snapshot then shows them.
  for (let tries = 0; running.snapshot().counts.done < RUNNING_FIRST_ROWS && tries < 2400; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
  }

  // Dead letters: HubSpot unreachable (a closed port), then redriven to the emulated HubSpot.
  const queue = createMemoryDeadLetterQueue();
  const hubspotSettings = hubspotDescriptor.emulatorSettings(connection('hubspot'));
  const unreachable = createHubspot({ ...hubspotSettings, baseUrl: 'http://127.0.0.1:9' });
  const failing = createCrmSync({
    crms: [{ adapter: unreachable, mapping: hubspotDescriptor.defaultMapping }],
    deadLetters: queue,
    retry: { retries: 0 },
  });
  const stored = await leadStore.query({ limit: 3 });
  const enriched = await Promise.all(stored.leads.map((lead) => leadStore.get(lead.id)));
  await failing.sync(enriched.filter((lead) => lead !== undefined));
  await failing.close();
  await unreachable.close?.();
  await queue.put({
    id: 'store-1',
    target: 'leadStore',
    object: 'lead',
    idProperty: 'email',
    record: { key: 'late@example.com', properties: {} },
    leadIds: ['l-store-1'],
    error: { code: 'server_error', message: 'the store was down <b>briefly</b>', retryable: true },
    attempts: 1,
    firstFailedAt: '2026-12-06T10:00:00.000Z',
    lastFailedAt: '2026-12-06T10:00:00.000Z',
  });
  const hubspot = createHubspot(hubspotSettings);
  const redriveSync = createCrmSync({
    crms: [{ adapter: hubspot, mapping: hubspotDescriptor.defaultMapping }],
    deadLetters: queue,
  });

  // A campaign with sends and their events, in the campaign store.
  const campaignStore = createMemoryCampaignStore();
  const day = '2026-12-06';
  const at = Date.parse('2026-12-06T09:00:00Z');
  for (const [index, person] of people.slice(0, 4).entries()) {
    const enrollmentId = `e${index}`;
    await campaignStore.enroll({
      id: enrollmentId,
      campaignId: 'welcome',
      campaignVersion: 1,
      leadId: `lead-${index}`,
      status: 'active',
      stepId: 'intro',
      version: 1,
      enrolledAt: at,
      attempts: 0,
      trigger: 'lead.created',
    });
    const ledgerKey = `welcome:${enrollmentId}:intro`;
    await campaignStore.claimSend({
      ledgerKey,
      enrollmentId,
      campaignId: 'welcome',
      stepId: 'intro',
      leadId: `lead-${index}`,
      email: person.email.toLowerCase(),
      at,
      cap: { mailbox: 'sales@acme.example', day },
    });
    await campaignStore.markSent(ledgerKey, `m-${index}`, at);
    const events = ['email.delivered', 'email.opened', 'email.clicked', 'email.replied'].slice(0, 4 - index);
    for (const type of events) {
      await campaignStore.recordEvent({
        id: `${type}-${index}`,
        type,
        leadId: `lead-${index}`,
        at: at + 1000,
        ledgerKey,
      });
    }
  }

  const sources: DashboardSources = {
    runs: tracker,
    campaigns: campaignsFromStore(campaignStore, [
      {
        id: 'welcome',
        steps: [
          { id: 'intro', type: 'email' },
          { id: 'wait', type: 'wait' },
          { id: 'nudge', type: 'email' },
        ],
      },
    ]),
    deadLetters: deadLettersFrom(queue, redriveSync),
    leads: leadStore,
  };

  let closed = false;
  const finishRunning = async () => {
    release();
    return runningDone;
  };
  return {
    sources,
    emulators,
    tracker,
    report,
    queue,
    campaignStore,
    leadStore,
    finishRunning,
    async close() {
      if (closed) return;
      closed = true;
      await finishRunning();
      await runningPipeline.close();
      await finished.close();
      await redriveSync.close();
      await hubspot.close?.();
      await clearbit.close?.();
      await campaignStore.close();
      await leadStore.close();
      await emulators.close();
    },
  };
}
