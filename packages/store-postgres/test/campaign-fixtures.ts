import type { CampaignSendClaim } from '@leadpipe/core/adapter-kit';
import type { PostgresStore } from '../src/index.js';

const T0 = Date.parse('2026-12-07T09:00:00.000Z');

/** The claim of enrollment `c<index>`'s first step, sent to `p<index>@d<index % 7>.example`. */
export function claimFor(index: number, at = T0, leadId = `lead-${index}`): CampaignSendClaim {
  return {
    ledgerKey: `enr-c${index}-sfirst`,
    enrollmentId: `c${index}`,
    campaignId: 'welcome',
    stepId: 'first',
    leadId,
    email: `P${index}@d${index % 7}.example`,
    ...(index === 1 ? { variant: 'b' } : {}),
    at,
    cap: { mailbox: 'sales@acme.com', day: '2026-12-07', dailyCap: 100 },
  };
}

/**
 * Campaign state about three of `leadIds` (the leads `p0`, `p1`, `p2`): three enrollments (active, exited,
 * completed), a sent and a claimed ledger row, a delivered event, an unsubscribe that suppressed `p2`, a campaign
 * dead letter and a timer.
 */
export async function populateCampaigns(store: PostgresStore, leadIds: readonly string[]): Promise<void> {
  const campaigns = store.campaigns;
  const base = {
    campaignId: 'welcome',
    campaignVersion: 3,
    stepId: 'first',
    version: 1,
    enrolledAt: T0,
    attempts: 0,
    trigger: 'lead.created',
  } as const;
  await campaigns.enroll({
    ...base,
    id: 'c0',
    leadId: leadIds[0]!,
    status: 'active',
    nextRunAt: T0 + 60_000,
    stepStartedAt: T0,
    data: { quote: 'it\'s "quoted"\t\\ ü', n: 1.5, list: [null, true, { deep: 'x' }] },
  });
  await campaigns.enroll({
    ...base,
    id: 'c1',
    leadId: leadIds[1]!,
    status: 'exited',
    reason: 'email.replied',
  });
  await campaigns.enroll({ ...base, id: 'c2', leadId: leadIds[2]!, status: 'completed', attempts: 2 });
  await campaigns.claimSend(claimFor(0, T0, leadIds[0]));
  await campaigns.markSent('enr-c0-sfirst', 'msg-0', T0 + 5);
  await campaigns.claimSend(claimFor(1, T0 + 10, leadIds[1]));
  await campaigns.recordEvent({
    id: 'ev-delivered',
    type: 'email.delivered',
    leadId: leadIds[0]!,
    at: T0 + 20,
    ledgerKey: 'enr-c0-sfirst',
    data: { smtp: '250 ok' },
  });
  await campaigns.recordEvent(
    { id: 'ev-unsub', type: 'email.unsubscribed', leadId: leadIds[2]!, at: T0 + 30 },
    { suppress: { email: 'p2@d2.example', reason: 'unsubscribed', source: 'unsubscribe-link', at: T0 + 30 } },
  );
  await campaigns.putDeadLetter({
    id: 'cdl-1',
    enrollmentId: 'c1',
    campaignId: 'welcome',
    stepId: 'second',
    code: 'template_error',
    message: 'first_name is missing',
    attempts: 1,
    at: T0 + 40,
  });
  await campaigns.setTimer({ key: 'cron-digest', runAt: T0 + 86_400_000 });
}

/** Everything the campaign store answers about the state {@link populateCampaigns} wrote. */
export async function campaignSnapshot(store: PostgresStore) {
  const campaigns = store.campaigns;
  const enrollments = await Promise.all(['c0', 'c1', 'c2'].map((id) => campaigns.getEnrollment(id)));
  const later = T0 + 10 * 86_400_000;
  return {
    enrollments,
    ofLead: enrollments[0] === undefined ? [] : await campaigns.enrollmentsOfLead(enrollments[0].leadId),
    due: await campaigns.due(later, 10),
    nextWakeAt: await campaigns.nextWakeAt(),
    sends: await campaigns.listSends({ limit: 10 }),
    usage: await campaigns.mailboxUsage('sales@acme.com', '2026-12-07'),
    suppressed: await campaigns.getSuppression('P2@d2.example'),
    events: enrollments[0] === undefined ? [] : await campaigns.eventsSince(enrollments[0].leadId, 0),
    deadLetters: await campaigns.listDeadLetters(),
    timers: await campaigns.dueTimers(later),
    stats: await campaigns.stats('welcome'),
  };
}
