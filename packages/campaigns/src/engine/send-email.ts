import {
  ApiCallError,
  type CampaignEnrollment,
  type CampaignSend,
  type EmailMessage,
  type EmailProviderV1,
  type EmailSendResult,
  type Lead,
  LeadpipeError,
} from '@leadpipe/core';
import { pickVariant } from '../definition/variants.js';
import { leadTemplateVariables } from '../templates/renderer.js';
import {
  base,
  describe,
  type EngineContext,
  ledgerKeyOf,
  stepAfter,
  type Transition,
  variantKeyOf,
} from './context.js';
import { withComplianceFooter } from './footer.js';
import type {
  CampaignDefinition,
  CampaignEmailStep,
  CampaignEmailVariant,
  CampaignSender,
  CampaignSendingPolicy,
  CampaignStep,
} from './types.js';
import { createUnsubscribeToken, unsubscribeUrl } from './unsubscribe.js';

/** The variant of an email step for an enrollment: a weighted split (weight 1 when unset), the same every time. */
function variantOf(variants: readonly CampaignEmailVariant[], enrollmentId: string, stepId: string) {
  return pickVariant(
    variants.map((variant) => ({ ...variant, weight: variant.weight ?? 1 })),
    variantKeyOf(enrollmentId, stepId),
  );
}

const senderOf = (senders: readonly CampaignSender[], step: CampaignEmailStep): CampaignSender =>
  senders.find((sender) => sender.email === step.from) ?? (senders[0] as CampaignSender);

const variablesOf = (lead: Lead, enrollment: CampaignEnrollment, sender: CampaignSender) => ({
  ...leadTemplateVariables(lead as Parameters<typeof leadTemplateVariables>[0]),
  data: enrollment.data ?? {},
  company_name: lead.company?.name,
  company_domain: lead.company?.domain,
  campaign_id: enrollment.campaignId,
  sender: { name: sender.name, email: sender.email, postal_address: sender.postalAddress },
});

/** Resolve an existing ledger row into a transition, or undefined when a claim may be made. */
function fromLedger(
  context: EngineContext,
  send: CampaignSend,
  enrollment: CampaignEnrollment,
  campaign: CampaignDefinition,
  step: CampaignStep,
  at: number,
): Transition | undefined {
  switch (send.status) {
    case 'sent':
      return { kind: 'advance', to: stepAfter(campaign, step) };
    case 'failed':
      return {
        kind: 'fail',
        code: send.error?.code ?? 'send_failed',
        message: send.error?.message ?? 'The provider refused the message',
      };
    case 'claimed':
      context.events.emit('send.needsReview', {
        ...base(enrollment),
        stepId: step.id,
        ledgerKey: send.ledgerKey,
        claimedAt: send.claimedAt,
      });
      return { kind: 'reschedule', at: at + context.recheckMs };
    default:
      return undefined;
  }
}

/** Thrown inside the limiter's task when the sending window closed while the send waited for its slot. */
class WindowClosed extends Error {
  constructor(readonly opensAt: number) {
    super(
      `The sending window closed while the send waited for the provider's rate limit; it opens again at ${new Date(opensAt).toISOString()}`,
    );
    this.name = 'WindowClosed';
  }
}

/** Send an email step: the ledger claim (with suppression and the mailbox cap), the provider call, the ledger mark. */
export async function runEmail(
  context: EngineContext,
  enrollment: CampaignEnrollment,
  campaign: CampaignDefinition,
  step: CampaignEmailStep,
  lead: Lead,
  at: number,
): Promise<Transition> {
  const { options, store, timing, renderer, events, limiters, now, recheckMs } = context;
  const provider = options.email as EmailProviderV1;
  if (lead.email === undefined)
    return { kind: 'fail', code: 'no_email', message: 'The lead has no email address' };
  const policy = campaign.sending ?? {};
  const ledgerKey = ledgerKeyOf(enrollment.id, step.id);
  const existing = await store.getSend(ledgerKey);
  if (existing !== undefined) {
    const settled = fromLedger(context, existing, enrollment, campaign, step, at);
    if (settled !== undefined) return settled;
  }
  const sendAt = timing.nextSendTime({ at, lead, policy });
  if (sendAt > at) return { kind: 'reschedule', at: sendAt };
  const sender = senderOf(options.senders ?? [], step);
  // The mailbox owns its cap and gap; the campaign's apply to mailboxes that set none.
  const dailyCap = sender.dailyCap ?? policy.dailyCapPerMailbox;
  const minGapMs = sender.minGapMs ?? policy.minGapMs;
  const capPolicy: CampaignSendingPolicy = {
    ...policy,
    ...(dailyCap === undefined ? {} : { dailyCapPerMailbox: dailyCap }),
    ...(minGapMs === undefined ? {} : { minGapMs }),
  };
  const marketing = step.marketing !== false;
  const link =
    marketing && options.unsubscribe !== undefined
      ? unsubscribeUrl(
          options.unsubscribe.baseUrl,
          createUnsubscribeToken(
            { email: lead.email, campaignId: campaign.id, ledgerKey },
            options.unsubscribe.secret,
          ),
        )
      : undefined;
  const variant = step.variants === undefined ? undefined : variantOf(step.variants, enrollment.id, step.id);
  const template = variant ?? (step.template as NonNullable<CampaignEmailStep['template']>);
  let subject: string;
  let html: string | undefined;
  let text: string | undefined;
  try {
    ({ subject, html, text } = renderer.render(
      {
        id: `${campaign.id}/${step.id}${variant === undefined ? '' : `/${variant.id}`}`,
        subject: template.subject,
        ...(template.html === undefined ? {} : { html: template.html }),
        ...(template.text === undefined ? {} : { text: template.text }),
      },
      {
        variables: variablesOf(lead, enrollment, sender),
        ...(link === undefined ? {} : { unsubscribeUrl: link }),
      },
    ));
  } catch (error) {
    return { kind: 'fail', code: 'template_error', message: `Step ${step.id}: ${describe(error)}` };
  }
  if (link !== undefined) ({ html, text } = withComplianceFooter({ html, text }, link, sender.postalAddress));
  const claim = await store.claimSend({
    ledgerKey,
    enrollmentId: enrollment.id,
    campaignId: campaign.id,
    stepId: step.id,
    leadId: lead.id,
    email: lead.email,
    ...(variant === undefined ? {} : { variant: variant.id }),
    at,
    cap: {
      mailbox: sender.email,
      day: timing.mailboxDay({ at, policy }),
      ...(capPolicy.dailyCapPerMailbox === undefined ? {} : { dailyCap: capPolicy.dailyCapPerMailbox }),
      ...(capPolicy.minGapMs === undefined ? {} : { minGapMs: capPolicy.minGapMs }),
    },
  });
  if (claim.status === 'suppressed') {
    events.emit('email.suppressed', {
      ...base(enrollment),
      stepId: step.id,
      reason: claim.suppression.reason,
    });
    return { kind: 'exit', reason: `suppressed.${claim.suppression.reason}` };
  }
  if (claim.status === 'exists') {
    return fromLedger(context, claim.send, enrollment, campaign, step, at) ?? { kind: 'reschedule', at };
  }
  if (claim.status === 'capped') {
    const until = Math.max(
      at + 1,
      timing.afterCap({
        cap: claim.cap,
        at,
        ...(claim.lastSentAt === undefined ? {} : { lastSentAt: claim.lastSentAt }),
        lead,
        policy: capPolicy,
      }),
    );
    events.emit('email.deferred', { ...base(enrollment), stepId: step.id, cap: claim.cap, until });
    return { kind: 'reschedule', at: until };
  }
  const message: EmailMessage = {
    ledgerKey,
    from: { email: sender.email, ...(sender.name === undefined ? {} : { name: sender.name }) },
    to: { email: lead.email, ...(lead.fullName === undefined ? {} : { name: lead.fullName }) },
    ...(sender.replyTo === undefined ? {} : { replyTo: sender.replyTo }),
    subject,
    ...(html === undefined ? {} : { html }),
    ...(text === undefined ? {} : { text }),
    ...(link === undefined
      ? {}
      : {
          headers: {
            'List-Unsubscribe': `<${link}>`,
            'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
          },
        }),
    tags: [campaign.id, step.id],
    metadata: {
      campaignId: campaign.id,
      stepId: step.id,
      ...(variant === undefined ? {} : { variant: variant.id }),
    },
  };
  const limiter = limiters.get(
    provider.providerId,
    provider.limiterKey?.() ?? provider.providerId,
    provider.capabilities.rateLimits,
  );
  let result: EmailSendResult;
  try {
    result = await limiter.schedule(async () => {
      // The limiter may have held the send past the window's close: check again at the real start.
      const startAt = now();
      const opensAt = timing.nextSendTime({ at: startAt, lead, policy });
      if (opensAt > startAt) throw new WindowClosed(opensAt);
      const outcome = await provider.doSend(message, { onRateLimit: (state) => limiter.update(state) });
      // A 429 reported as a result still belongs to the limiter: it waits and runs the task again.
      if (outcome.status === 'failed' && outcome.code === 'rate_limited') {
        throw new ApiCallError('rate_limited', {
          message: outcome.message,
          ...(outcome.retryAfterMs === undefined ? {} : { retryAfterMs: outcome.retryAfterMs }),
        });
      }
      return outcome;
    });
  } catch (error) {
    if (error instanceof WindowClosed) {
      // Never sent: release the claim (no attempt spent) and come back when the window opens again.
      await store.markFailed(ledgerKey, { code: 'outside_window', message: error.message }, true);
      events.emit('email.deferred', {
        ...base(enrollment),
        stepId: step.id,
        cap: 'window',
        until: error.opensAt,
      });
      return { kind: 'reschedule', at: error.opensAt };
    }
    if (
      LeadpipeError.isInstance(error) &&
      (error.code === 'rate_limited' || error.code === 'limiter_closed')
    ) {
      // Not accepted: release the claim and come back after the limiter's wait (no attempt spent).
      await store.markFailed(ledgerKey, { code: error.code, message: error.message }, true);
      return { kind: 'reschedule', at: at + (error.retryAfterMs ?? 60_000) };
    }
    if (LeadpipeError.isInstance(error) && error.isRetryable && error.code !== 'timeout') {
      await store.markFailed(ledgerKey, { code: error.code, message: error.message }, true);
      return { kind: 'retry', code: error.code, message: error.message };
    }
    if (LeadpipeError.isInstance(error) && !error.isRetryable && error.code !== 'aborted') {
      await store.markFailed(ledgerKey, { code: error.code, message: error.message }, false);
      return { kind: 'fail', code: error.code, message: error.message };
    }
    // A timeout or an unknown failure: the provider may have accepted it. Never resend on a guess.
    events.emit('send.needsReview', { ...base(enrollment), stepId: step.id, ledgerKey, claimedAt: at });
    return { kind: 'reschedule', at: at + recheckMs };
  }
  if (result.status === 'accepted') {
    await store.markSent(ledgerKey, result.messageId, now());
    events.emit('email.sent', {
      ...base(enrollment),
      stepId: step.id,
      ledgerKey,
      messageId: result.messageId,
      ...(variant === undefined ? {} : { variant: variant.id }),
    });
    return { kind: 'advance', to: stepAfter(campaign, step) };
  }
  await store.markFailed(ledgerKey, { code: result.code, message: result.message }, result.retryable);
  return result.retryable
    ? {
        kind: 'retry',
        code: result.code,
        message: result.message,
        ...(result.retryAfterMs === undefined ? {} : { retryAfterMs: result.retryAfterMs }),
      }
    : { kind: 'fail', code: result.code, message: result.message };
}
