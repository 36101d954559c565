/**
 * Issue 13 §4, three cases in one process, one JSON line each (the exactly-once case is exactly-once.bench.ts):
 *
 *   lateness            the bench sequence (email, wait 2 business days, email; every tenth lead replies between
 *                       the steps) over BENCH_LATENESS_ENROLLMENTS leads (default 10,000) enrolled at random times
 *                       inside Monday's window, sent through the SendGrid emulator on a shortened clock: emulated
 *                       time runs BENCH_SCALE (default 60) times faster than real time while there is work, and
 *                       jumps ahead while there is none. p50 / p99 of (send time - scheduled time) in emulated ms,
 *                       where the send time is when the provider accepted it; the sends accepted outside the window
 *                       (`outsideWindow`) and those claimed outside it (`claimedOutsideWindow`: the engine's own
 *                       decision; a send claimed at 16:59:59 and accepted a real second later is a minute late at 60x).
 *   provider-limit      BENCH_LIMIT_SENDS first emails (default 1,500) with the emulated SendGrid allowing
 *                       BENCH_LIMIT_PER_SECOND mail sends a second (default 50, below what the engine does on a
 *                       loaded machine, so the limit binds) and the adapter told the same: the steady achieved rate
 *                       (after the first second's burst) over the allowed one, and the 429s the emulator answered.
 *   scheduler-overhead  BENCH_OVERHEAD_ENROLLMENTS first emails (default 10,000) through the engine with an instant
 *                       in-process provider, beside a bare loop over the same memory store that only reads due rows,
 *                       claims, marks them sent and moves the enrollment on.
 *
 *   pnpm exec tsx --conditions=@leadpipe/source packages/campaigns/bench/campaign.bench.ts [lateness|provider-limit|scheduler-overhead]
 */
import { performance } from 'node:perf_hooks';
import {
  type CampaignEnrollment,
  type CampaignStoreV1,
  createLimiterRegistry,
  createMemoryLeadStore,
  type EmailProviderV1,
} from '@leadpipe/core';
import { createSendgrid } from '@leadpipe/email-sendgrid';
import { startEmulators } from '@leadpipe/testkit';
import {
  type CampaignDefinition,
  createCampaignEngine,
  createInProcessQueue,
  createMemoryCampaignStore,
  createScheduleTiming,
  isAllowedTime,
} from '../src/index.js';
import {
  BENCH_CALENDAR,
  BENCH_CAMPAIGN,
  BENCH_ENGINE,
  BENCH_START,
  benchLead,
  indexOfLead,
  printLine,
  quantile,
  REPLY_DELAY_MS,
  replies,
} from './support.js';

const only = process.argv[2];
const number = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const timing = createScheduleTiming();

/** One email, no wait: the first step of the bench sequence alone. */
const ONE_EMAIL: CampaignDefinition = { ...BENCH_CAMPAIGN, steps: BENCH_CAMPAIGN.steps.slice(0, 1) };

/** The store, with the scheduled time (the enrollment's `nextRunAt` when its send was claimed) and the send time of every ledger key. */
function recording(store: CampaignStoreV1) {
  const scheduled = new Map<string, number>();
  const claimed = new Map<string, number>();
  const sent = new Map<string, number>();
  const wrapped: CampaignStoreV1 = Object.create(store, {
    claimSend: {
      value: async (claim: Parameters<CampaignStoreV1['claimSend']>[0]) => {
        const enrollment = await store.getEnrollment(claim.enrollmentId);
        const result = await store.claimSend(claim);
        if (result.status === 'claimed') claimed.set(claim.ledgerKey, claim.at);
        if (result.status === 'claimed' && enrollment?.nextRunAt !== undefined)
          scheduled.set(claim.ledgerKey, enrollment.nextRunAt);
        return result;
      },
    },
    markSent: {
      value: async (ledgerKey: string, messageId: string, at: number) => {
        const marked = await store.markSent(ledgerKey, messageId, at);
        if (marked) sent.set(ledgerKey, at);
        return marked;
      },
    },
  });
  return { store: wrapped, scheduled, claimed, sent };
}

async function lateness(): Promise<void> {
  const total = number('BENCH_LATENESS_ENROLLMENTS', 10_000);
  const scale = number('BENCH_SCALE', 60);
  const running = await startEmulators({
    vendors: ['sendgrid'],
    maxRecordedRequests: 0,
    limits: { sendgrid: { limit: 100_000, windowMs: 1000 } },
  });
  // The shortened clock: emulated = offset + real * scale; idle stretches are skipped by moving the offset.
  let offset = BENCH_START + 3_600_000 - performance.now() * scale;
  const now = () => Math.floor(offset + performance.now() * scale);
  const recorded = recording(createMemoryCampaignStore());
  const store = recorded.store;
  const leads = createMemoryLeadStore();
  const all = Array.from({ length: total }, (_, index) => benchLead(index));
  await leads.upsert(all);
  const engine = createCampaignEngine({
    campaigns: [BENCH_CAMPAIGN],
    store,
    leads,
    ...BENCH_ENGINE,
    email: createSendgrid({
      apiKey: running.credentials.sendgrid?.apiKey ?? '',
      baseUrl: running.urls.sendgrid?.baseUrl ?? '',
      rateLimit: { limit: 5000, intervalMs: 1000 },
    }),
    queue: createInProcessQueue({
      store,
      nextCronTime: timing.nextCronTime,
      now,
      batchSize: 200,
      concurrency: 16,
    }),
    timing,
    now,
    limiters: createLimiterRegistry(),
  });
  const pending: { at: number; leadId: string }[] = [];
  engine.on('email.sent', ({ stepId, leadId }) => {
    if (stepId === 's1' && replies(indexOfLead(leadId))) pending.push({ at: now() + REPLY_DELAY_MS, leadId });
  });
  // Enrollments at random times inside Monday's window (09:00-17:00 UTC), each enrolled at its time.
  const windowOpens = BENCH_START + 3_600_000;
  let seed = 42;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const arrivals = all
    .map((lead) => ({ leadId: lead.id, at: windowOpens + Math.floor(random() * 8 * 3_600_000) }))
    .sort((a, b) => a.at - b.at);
  let next = 0;
  const started = performance.now();
  for (;;) {
    while (next < arrivals.length && (arrivals[next]?.at ?? 0) <= now()) {
      const arrival = arrivals[next++];
      if (arrival !== undefined) await engine.enroll(BENCH_CAMPAIGN.id, arrival.leadId);
    }
    pending.sort((a, b) => a.at - b.at);
    while (pending.length > 0 && (pending[0]?.at ?? 0) <= now()) {
      const reply = pending.shift();
      if (reply !== undefined)
        await engine.publish({
          id: `reply-${reply.leadId}`,
          type: 'email.replied',
          leadId: reply.leadId,
          at: now(),
        });
    }
    await engine.runDue();
    const due = Math.min(
      (await store.nextWakeAt()) ?? Number.POSITIVE_INFINITY,
      arrivals[next]?.at ?? Number.POSITIVE_INFINITY,
      pending[0]?.at ?? Number.POSITIVE_INFINITY,
    );
    if (!Number.isFinite(due)) break;
    // Nothing to do until `due`: jump there.
    if (due > now()) offset += due - now();
  }
  const realSeconds = (performance.now() - started) / 1000;
  await engine.close();
  const late: number[] = [];
  let outsideWindow = 0;
  let claimedOutsideWindow = 0;
  for (const [key, at] of recorded.sent) {
    const scheduledAt = recorded.scheduled.get(key);
    if (scheduledAt !== undefined) late.push(at - scheduledAt);
    if (!isAllowedTime(at, BENCH_CALENDAR)) outsideWindow++;
    if (!isAllowedTime(recorded.claimed.get(key) ?? at, BENCH_CALENDAR)) claimedOutsideWindow++;
  }
  late.sort((a, b) => a - b);
  const stats = await engine.stats(BENCH_CAMPAIGN.id);
  await running.close();
  printLine({
    case: 'lateness',
    p50Ms: quantile(late, 0.5),
    p99Ms: quantile(late, 0.99),
    maxMs: late.at(-1),
    outsideWindow,
    claimedOutsideWindow,
    sends: recorded.sent.size,
    enrollments: total,
    exitedOnReply: stats.exitedByReason['email.replied'] ?? 0,
    scale,
    realSeconds: Number(realSeconds.toFixed(1)),
  });
}

async function providerLimit(): Promise<void> {
  const total = number('BENCH_LIMIT_SENDS', 1500);
  const perSecond = number('BENCH_LIMIT_PER_SECOND', 50);
  const running = await startEmulators({
    vendors: ['sendgrid'],
    maxRecordedRequests: 0,
    limits: { sendgrid: { limit: perSecond, windowMs: 1000 } },
  });
  const store = createMemoryCampaignStore();
  const leads = createMemoryLeadStore();
  const all = Array.from({ length: total }, (_, index) => benchLead(index));
  await leads.upsert(all);
  const at = BENCH_START + 3_600_000;
  const engine = createCampaignEngine({
    campaigns: [ONE_EMAIL],
    store,
    leads,
    ...BENCH_ENGINE,
    email: createSendgrid({
      apiKey: running.credentials.sendgrid?.apiKey ?? '',
      baseUrl: running.urls.sendgrid?.baseUrl ?? '',
      rateLimit: { limit: perSecond, intervalMs: 1000 },
    }),
    queue: createInProcessQueue({
      store,
      nextCronTime: timing.nextCronTime,
      now: () => at,
      batchSize: 500,
      concurrency: 64,
    }),
    timing,
    now: () => at,
    limiters: createLimiterRegistry(),
  });
  for (const lead of all) await engine.enroll(ONE_EMAIL.id, lead.id);
  const times: number[] = [];
  engine.on('email.sent', () => times.push(performance.now()));
  const started = performance.now();
  // The window is in real time: the emulated clock stands still (every send is due at once).
  await engine.runDue();
  await engine.close();
  // The steady rate: the first second (a full window's burst) left out.
  const first = (times[0] ?? started) + 1000;
  const steady = times.filter((time) => time > first);
  const achieved = steady.length / (((times.at(-1) ?? first) - first) / 1000);
  printLine({
    case: 'provider-limit',
    allowedPerSecond: perSecond,
    achievedPerSecond: Number(achieved.toFixed(1)),
    ratio: Number((achieved / perSecond).toFixed(3)),
    '429s': running.counters.get('sendgrid.http.status.429'),
    sends: times.length,
    accepted: running.counters.get('sendgrid.accepted'),
  });
  await running.close();
}

/** A provider that accepts at once, in process. */
const instant: EmailProviderV1 = {
  specificationVersion: 'v1',
  providerId: 'instant',
  capabilities: { maxBatchSize: 1, rateLimits: {}, eventWebhook: false },
  async doSend(message) {
    return { ledgerKey: message.ledgerKey, status: 'accepted', messageId: `instant-${message.ledgerKey}` };
  },
};

async function schedulerOverhead(): Promise<void> {
  const total = number('BENCH_OVERHEAD_ENROLLMENTS', 10_000);
  const at = BENCH_START + 3_600_000;
  const leads = createMemoryLeadStore();
  const all = Array.from({ length: total }, (_, index) => benchLead(index));
  await leads.upsert(all);

  // The engine: render, exit checks, suppression and ledger claim, provider call, events, enrollment moved on.
  const store = createMemoryCampaignStore();
  const engine = createCampaignEngine({
    campaigns: [ONE_EMAIL],
    store,
    leads,
    ...BENCH_ENGINE,
    email: instant,
    queue: createInProcessQueue({
      store,
      nextCronTime: timing.nextCronTime,
      now: () => at,
      batchSize: 500,
      concurrency: 16,
    }),
    timing,
    now: () => at,
    limiters: createLimiterRegistry(),
  });
  for (const lead of all) await engine.enroll(ONE_EMAIL.id, lead.id);
  let sends = 0;
  engine.on('email.sent', () => sends++);
  let started = performance.now();
  await engine.runDue();
  const engineSeconds = (performance.now() - started) / 1000;
  await engine.close();

  // The bare loop: read due rows, claim, mark sent, complete the enrollment; nothing else.
  const bare = createMemoryCampaignStore();
  for (const lead of all) {
    await bare.enroll({
      id: `bare-${lead.id}`,
      campaignId: ONE_EMAIL.id,
      campaignVersion: 1,
      leadId: lead.id,
      status: 'active',
      stepId: 's1',
      version: 1,
      nextRunAt: at,
      enrolledAt: at,
      attempts: 0,
      trigger: 'bench',
    });
  }
  let marked = 0;
  started = performance.now();
  for (;;) {
    const due = await bare.due(at, 500);
    if (due.length === 0) break;
    for (const enrollment of due) {
      const ledgerKey = `enr-${enrollment.id}-ss1`;
      const claim = await bare.claimSend({
        ledgerKey,
        enrollmentId: enrollment.id,
        campaignId: enrollment.campaignId,
        stepId: 's1',
        leadId: enrollment.leadId,
        email: `${enrollment.leadId}@example.com`,
        at,
        cap: { mailbox: 'sales@acme.example', day: '2026-03-02' },
      });
      if (claim.status !== 'claimed') continue;
      await bare.markSent(ledgerKey, `bare-${ledgerKey}`, at);
      const { nextRunAt: _next, ...rest } = enrollment;
      const done: CampaignEnrollment = { ...rest, status: 'completed', version: enrollment.version + 1 };
      if (await bare.updateEnrollment(done)) marked++;
    }
  }
  const bareSeconds = (performance.now() - started) / 1000;
  const sendsPerSecond = sends / engineSeconds;
  const bareLoopPerSecond = marked / bareSeconds;
  printLine({
    case: 'scheduler-overhead',
    sendsPerSecond: Math.round(sendsPerSecond),
    bareLoopPerSecond: Math.round(bareLoopPerSecond),
    ratio: Number((sendsPerSecond / bareLoopPerSecond).toFixed(3)),
    enrollments: total,
    sends,
    bareMarked: marked,
  });
}

if (only === undefined || only === 'lateness') await lateness();
if (only === undefined || only === 'provider-limit') await providerLimit();
if (only === undefined || only === 'scheduler-overhead') await schedulerOverhead();
