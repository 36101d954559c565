import { type CampaignEnrollment, type CrmAdapterV1, type Lead, LeadpipeError } from '@leadpipe/core';
import { computeHmac, createHttpClient } from '@leadpipe/core/adapter-kit';
import { evaluateCondition } from '../definition/condition.js';
import { eventMatches } from '../definition/match.js';
import {
  base,
  conditionSubject,
  describe,
  type EngineContext,
  ledgerKeyOf,
  stepAfter,
  type Transition,
} from './context.js';
import { runEmail } from './send-email.js';
import type { CampaignDefinition, CampaignStep } from './types.js';

/** Call a webhook step: an HMAC-signed JSON POST with an `Idempotency-Key`, retried on 5xx and network errors. */
async function runWebhook(
  context: EngineContext,
  enrollment: CampaignEnrollment,
  campaign: CampaignDefinition,
  step: Extract<CampaignStep, { type: 'webhook' }>,
  lead: Lead,
): Promise<Transition> {
  const { options, events, now } = context;
  const idempotencyKey = ledgerKeyOf(enrollment.id, step.id);
  const body = JSON.stringify({
    campaignId: campaign.id,
    enrollmentId: enrollment.id,
    stepId: step.id,
    idempotencyKey,
    lead,
    data: enrollment.data ?? {},
  });
  const timestamp = String(now());
  const signature = computeHmac({
    algorithm: 'sha256',
    secret: step.secret,
    payload: [timestamp, '.', body],
    encoding: 'hex',
  });
  const client = createHttpClient({
    providerId: `webhook-${campaign.id}-${step.id}`,
    baseUrl: new URL(step.url).origin,
    timeoutMs: step.timeoutMs ?? 10_000,
    now,
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
  try {
    const response = await client.request({
      method: 'POST',
      path: step.url,
      body,
      responseType: 'none',
      headers: {
        'content-type': 'application/json',
        'idempotency-key': idempotencyKey,
        'x-leadpipe-signature': `t=${timestamp},v1=${signature}`,
      },
    });
    events.emit('webhook.called', { ...base(enrollment), stepId: step.id, status: response.status });
    return { kind: 'advance', to: stepAfter(campaign, step) };
  } catch (error) {
    if (LeadpipeError.isInstance(error) && error.isRetryable) {
      return {
        kind: 'retry',
        code: error.code,
        message: error.message,
        ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
      };
    }
    return {
      kind: 'fail',
      code: LeadpipeError.isInstance(error) ? error.code : 'webhook_failed',
      message: describe(error),
    };
  }
}

/** Run one step of an enrollment; resolves with how the enrollment changes. */
export async function runStep(
  context: EngineContext,
  enrollment: CampaignEnrollment,
  campaign: CampaignDefinition,
  step: CampaignStep,
  at: number,
): Promise<Transition> {
  const { options, leads, store, timing } = context;
  const lead = await leads.get(enrollment.leadId);
  if (lead === undefined) return { kind: 'exit', reason: 'lead_missing' };
  const subject = { current: conditionSubject(lead, enrollment.data) };
  const started = enrollment.stepStartedAt ?? enrollment.enrolledAt;
  switch (step.type) {
    case 'email':
      return runEmail(context, enrollment, campaign, step, lead, at);
    case 'webhook':
      return runWebhook(context, enrollment, campaign, step, lead);
    case 'updateLead': {
      const [outcome] = await leads.upsert([{ ...lead, custom: { ...(lead.custom ?? {}), ...step.custom } }]);
      if (outcome?.status === 'rejected') {
        return {
          kind: 'fail',
          code: 'validation_failed',
          message: (outcome.issues ?? []).map((issue) => `${issue.field}: ${issue.reason}`).join('; '),
        };
      }
      return { kind: 'advance', to: stepAfter(campaign, step) };
    }
    case 'crm': {
      const crm = options.crms?.[step.crm] as CrmAdapterV1;
      const key = lead[(step.keyField ?? 'email') as keyof Lead];
      if (typeof key !== 'string' || key === '')
        return { kind: 'fail', code: 'no_key', message: `The lead has no ${step.keyField ?? 'email'}` };
      try {
        const [result] = await crm.doUpsert(
          {
            object: step.object,
            idProperty: step.idProperty,
            records: [{ key, properties: step.properties }],
          },
          {},
        );
        if (result?.status === 'failed') {
          return result.error.retryable
            ? { kind: 'retry', code: result.error.code, message: result.error.message }
            : { kind: 'fail', code: result.error.code, message: result.error.message };
        }
        return { kind: 'advance', to: stepAfter(campaign, step) };
      } catch (error) {
        if (LeadpipeError.isInstance(error) && error.isRetryable)
          return { kind: 'retry', code: error.code, message: error.message };
        return {
          kind: 'fail',
          code: LeadpipeError.isInstance(error) ? error.code : 'crm_failed',
          message: describe(error),
        };
      }
    }
    case 'wait': {
      const until = timing.waitUntil({ from: started, lead, step, policy: campaign.sending ?? {} });
      return until > at
        ? { kind: 'reschedule', at: until }
        : { kind: 'advance', to: stepAfter(campaign, step) };
    }
    case 'waitForEvent': {
      // Events stored since enrollment count, so one that came before the wait began is not lost.
      const found = (await store.eventsSince(enrollment.leadId, enrollment.enrolledAt, step.events)).filter(
        (event) => eventMatches(step.match, event.type, event.data),
      );
      if (found.length > 0) return { kind: 'advance', to: step.onEvent ?? stepAfter(campaign, step) };
      const deadline = started + step.timeoutMs;
      return deadline > at
        ? { kind: 'reschedule', at: deadline }
        : { kind: 'advance', to: step.onTimeout ?? stepAfter(campaign, step) };
    }
    case 'branch':
      return {
        kind: 'advance',
        to: evaluateCondition(step.if, subject)
          ? step.whenTrue
          : (step.whenFalse ?? stepAfter(campaign, step)),
      };
    case 'exit':
      return { kind: 'exit', reason: step.reason ?? 'exit_step' };
  }
}
