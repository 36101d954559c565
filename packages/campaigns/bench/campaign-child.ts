/**
 * The campaign process of the exactly-once benchmark: the bench sequence over BENCH_ENROLLMENTS leads, state in the
 * journaled memory store BENCH_STATE, sends to the SendGrid emulator at BENCH_SENDGRID_URL, on an emulated clock
 * that jumps to whatever is due next. Every tenth lead replies an emulated hour after its first email (the reply
 * time comes from the ledger, so it survives a kill). On start it ingests the provider's events in BENCH_EVENTS
 * (raw SendGrid events, as the Event Webhook delivers them: crashed claims the provider saw are settled as sent),
 * then settles the crashed claims the provider never saw as not sent (a person reviewing the list would). Prints
 * one JSON line and exits 0 once no enrollment is active. The parent SIGKILLs it mid-run.
 */
import { readFileSync } from 'node:fs';
import { createLimiterRegistry, createMemoryLeadStore, type EmailEvent } from '@leadpipe/core';
import { createSendgrid, toEmailEvent } from '@leadpipe/email-sendgrid';
import {
  createCampaignEngine,
  createInProcessQueue,
  createMemoryCampaignStore,
  createScheduleTiming,
  ledgerKeyOf,
} from '../src/index.js';
import { BENCH_CAMPAIGN, BENCH_ENGINE, BENCH_START, benchLead, REPLY_DELAY_MS, replies } from './support.js';

const file = process.env.BENCH_STATE ?? '';
const total = Number(process.env.BENCH_ENROLLMENTS ?? 10_000);
const startedAt = BENCH_START;

const store = createMemoryCampaignStore({ file });
const leads = createMemoryLeadStore();
const all = Array.from({ length: total }, (_, index) => benchLead(index));
await leads.upsert(all);

let now = startedAt;
const clock = () => now;
const timing = createScheduleTiming();
const engine = createCampaignEngine({
  campaigns: [BENCH_CAMPAIGN],
  store,
  leads,
  ...BENCH_ENGINE,
  email: createSendgrid({
    apiKey: process.env.BENCH_SENDGRID_KEY ?? '',
    baseUrl: process.env.BENCH_SENDGRID_URL ?? '',
    rateLimit: { limit: 5000, intervalMs: 1000 },
    timeoutMs: 30_000,
  }),
  queue: createInProcessQueue({
    store,
    nextCronTime: timing.nextCronTime,
    now: clock,
    batchSize: 500,
    concurrency: 32,
  }),
  timing,
  now: clock,
  limiters: createLimiterRegistry(),
});

// Settle what a crash left behind: from the provider's events, then (what the provider never saw) by review.
let reconciled = 0;
let resolved = 0;
engine.on('send.reconciled', () => {
  reconciled++;
});
if (process.env.BENCH_EVENTS !== undefined) {
  const raw = JSON.parse(readFileSync(process.env.BENCH_EVENTS, 'utf8')) as Record<string, unknown>[];
  const events = raw
    .map((event) => toEmailEvent(event))
    .filter((event): event is EmailEvent => event !== undefined);
  await engine.ingestEmailEvents(events);
  const seen = new Set(events.map((event) => event.ledgerKey));
  // Every claim still open was made by a killed process (this one has sent nothing yet).
  for (const send of await store.listSends({ status: 'claimed' })) {
    if (!seen.has(send.ledgerKey) && (await engine.resolveReview(send.ledgerKey, { sent: false })))
      resolved++;
  }
}

for (const lead of all) await engine.enroll(BENCH_CAMPAIGN.id, lead.id);
const repliers: { leadId: string; enrollmentId: string }[] = [];
for (const [index, lead] of all.entries()) {
  if (!replies(index)) continue;
  const [enrollment] = await store.enrollmentsOfLead(lead.id);
  if (enrollment !== undefined) repliers.push({ leadId: lead.id, enrollmentId: enrollment.id });
}
const replied = new Set<string>();

for (;;) {
  let nextReply = Number.POSITIVE_INFINITY;
  for (const { leadId, enrollmentId } of repliers) {
    if (replied.has(leadId)) continue;
    const first = await store.getSend(ledgerKeyOf(enrollmentId, 's1'));
    if (first?.status !== 'sent' || first.sentAt === undefined) continue;
    const at = first.sentAt + REPLY_DELAY_MS;
    if (at > now) {
      nextReply = Math.min(nextReply, at);
      continue;
    }
    await engine.publish({ id: `reply-${leadId}`, type: 'email.replied', leadId, at });
    replied.add(leadId);
  }
  await engine.runDue();
  const next = Math.min((await store.nextWakeAt()) ?? Number.POSITIVE_INFINITY, nextReply);
  if (!Number.isFinite(next)) break;
  now = next > now ? next : now + 1000;
}
const stats = await engine.stats(BENCH_CAMPAIGN.id);
await engine.close();
process.stdout.write(`${JSON.stringify({ reconciled, resolved, byStatus: stats.byStatus })}\n`);
process.exit(0);
