import type { CampaignEnrollment } from '@leadpipe/core';
import { errorTypeOf, startRunSpan, withSpan } from '@leadpipe/core/adapter-kit';
import { base, type EngineContext, exitsOn, exitTypes, type Transition, wakeKey } from './context.js';
import { type CampaignSpan, CampaignStepError, CampaignTelemetry, markSpanFailedWith } from './observe.js';
import { runStep } from './steps.js';
import { type CampaignDefinition, type CampaignStep, END_OF_CAMPAIGN } from './types.js';

/** Backoff before retry `attempt`: exponential from `minDelayMs`, capped at `maxDelayMs`, with jitter. */
const backoff = (context: EngineContext, attempt: number): number =>
  Math.min(context.maxDelayMs, context.minDelayMs * 2 ** Math.max(0, attempt - 1)) *
  (0.5 + context.random() / 2);

/** Write a transition; resolves with the new state, or undefined when the enrollment moved on meanwhile. */
async function apply(
  context: EngineContext,
  enrollment: CampaignEnrollment,
  step: CampaignStep,
  transition: Transition,
  at: number,
): Promise<CampaignEnrollment | undefined> {
  const { store, events, retries } = context;
  const version = enrollment.version + 1;
  const { nextRunAt: _previous, reason: _reason, ...rest } = enrollment;
  let next: CampaignEnrollment;
  let failure: { code: string; message: string } | undefined;
  switch (transition.kind) {
    case 'advance':
      next =
        transition.to === undefined || transition.to === END_OF_CAMPAIGN
          ? { ...rest, status: 'completed', version, attempts: 0 }
          : { ...rest, stepId: transition.to, stepStartedAt: at, nextRunAt: at, attempts: 0, version };
      break;
    case 'reschedule':
      next = { ...rest, nextRunAt: transition.at, version };
      break;
    case 'exit':
      next = { ...rest, status: 'exited', reason: transition.reason, version };
      break;
    case 'retry': {
      const attempt = enrollment.attempts + 1;
      if (attempt > retries) {
        failure = { code: transition.code, message: `${transition.message} (after ${attempt} attempts)` };
        next = { ...rest, status: 'failed', reason: transition.code, attempts: attempt, version };
      } else {
        const retryAt = at + Math.max(transition.retryAfterMs ?? 0, backoff(context, attempt));
        next = { ...rest, attempts: attempt, nextRunAt: retryAt, version };
        events.emit('step.retrying', {
          ...base(enrollment),
          stepId: step.id,
          code: transition.code,
          attempt,
          retryAt,
        });
      }
      break;
    }
    case 'fail':
      failure = transition;
      next = {
        ...rest,
        status: 'failed',
        reason: transition.code,
        attempts: enrollment.attempts + 1,
        version,
      };
      break;
  }
  if (failure !== undefined) {
    // The dead letter is written first: a crash in between leaves a letter for an active enrollment, which redrive handles.
    await store.putDeadLetter({
      id: `dlq-${enrollment.id}-s${step.id}`,
      enrollmentId: enrollment.id,
      campaignId: enrollment.campaignId,
      stepId: step.id,
      code: failure.code,
      message: failure.message,
      attempts: next.attempts,
      at,
    });
  }
  if (!(await store.updateEnrollment(next))) return undefined;
  if (transition.kind === 'advance')
    events.emit('step.completed', { ...base(enrollment), stepId: step.id, type: step.type });
  if (next.status === 'completed') events.emit('enrollment.completed', base(next));
  if (next.status === 'exited')
    events.emit('enrollment.exited', { ...base(next), reason: next.reason ?? 'exited' });
  if (failure !== undefined) {
    events.emit('enrollment.failed', {
      ...base(next),
      stepId: step.id,
      code: failure.code,
      message: failure.message,
    });
    context.observer.report(
      new CampaignStepError({
        code: failure.code,
        campaignId: next.campaignId,
        stepId: step.id,
        enrollmentId: next.id,
        leadId: next.leadId,
        attempts: next.attempts,
      }),
      { component: 'campaigns', code: failure.code, leadId: next.leadId },
    );
  }
  return next;
}

/** The outcome of a step (`leadpipe.outcome` of its span) from its transition and the state it led to. */
function stepOutcome(transition: Transition, next: CampaignEnrollment | undefined): string {
  if (next === undefined) return 'superseded';
  if (next.status === 'failed') return 'failed';
  switch (transition.kind) {
    case 'advance':
      return 'ok';
    case 'reschedule':
      return 'waiting';
    case 'exit':
      return 'exited';
    case 'retry':
      return 'retrying';
    case 'fail':
      return 'failed';
  }
}

/** Run one step and write its transition inside a `leadpipe.campaign.step` span (the email send nests under it). */
async function tracedStep(
  context: EngineContext,
  enrollment: CampaignEnrollment,
  campaign: CampaignDefinition,
  step: CampaignStep,
  at: number,
): Promise<CampaignEnrollment | undefined> {
  const span: CampaignSpan = startRunSpan(CampaignTelemetry.stepSpan, {
    [CampaignTelemetry.campaign]: campaign.id,
    [CampaignTelemetry.enrollment]: enrollment.id,
    [CampaignTelemetry.step]: step.id,
    [CampaignTelemetry.stepType]: step.type,
    [CampaignTelemetry.attempt]: enrollment.attempts + 1,
  });
  try {
    const transition = await withSpan(span, () => runStep(context, enrollment, campaign, step, at));
    const next = await apply(context, enrollment, step, transition, at);
    const outcome = stepOutcome(transition, next);
    span.setAttribute(CampaignTelemetry.outcome, outcome);
    if (outcome === 'failed' && (transition.kind === 'fail' || transition.kind === 'retry'))
      markSpanFailedWith(span, transition.code);
    return next;
  } catch (error) {
    markSpanFailedWith(span, errorTypeOf(error));
    throw error;
  } finally {
    span.end();
  }
}

/** What a run of an enrollment did: its campaign, the steps executed and how it ended (`leadpipe.outcome`). */
export interface EnrollmentRunSummary {
  /** The campaign, when the enrollment was found. */
  readonly campaignId?: string;
  /** Steps executed. */
  readonly steps: number;
  /** `waiting`, `completed`, `exited`, `failed`, or `skipped` (stale wake-up, not due, not active). */
  readonly outcome: string;
}

/**
 * Run an enrollment's due steps, one after another, until one waits, the enrollment ends, or 100 hops. Exit rules
 * are checked before every step. A wake-up of a stale version (or one already running here) does nothing.
 */
export function createEnrollmentRunner(
  context: EngineContext,
): (id: string, expectedVersion: number | undefined) => Promise<EnrollmentRunSummary> {
  const { store, campaigns, queue, now } = context;
  const running = new Set<string>();
  return async (id, expectedVersion) => {
    if (running.has(id)) return { steps: 0, outcome: 'skipped' };
    running.add(id);
    let steps = 0;
    let campaignId: string | undefined;
    const summary = (outcome: string): EnrollmentRunSummary => ({
      ...(campaignId === undefined ? {} : { campaignId }),
      steps,
      outcome: steps === 0 && outcome === 'active' ? 'skipped' : outcome === 'active' ? 'waiting' : outcome,
    });
    try {
      for (let hop = 0; hop < 100; hop++) {
        const enrollment = await store.getEnrollment(id);
        if (enrollment === undefined) return summary('skipped');
        campaignId = enrollment.campaignId;
        if (enrollment.status !== 'active') return summary(steps === 0 ? 'skipped' : enrollment.status);
        if (hop === 0 && expectedVersion !== undefined && enrollment.version !== expectedVersion)
          return summary('skipped');
        const at = now();
        if (enrollment.nextRunAt === undefined || enrollment.nextRunAt > at) return summary('active');
        const campaign = campaigns.get(enrollment.campaignId);
        const step = campaign?.steps.find((candidate) => candidate.id === enrollment.stepId);
        if (campaign === undefined || step === undefined) {
          const missing: Transition = {
            kind: 'fail',
            code: 'step_missing',
            message: `Campaign ${enrollment.campaignId} has no step ${enrollment.stepId}`,
          };
          const next = await apply(
            context,
            enrollment,
            step ?? ({ id: enrollment.stepId, type: 'exit' } as CampaignStep),
            missing,
            at,
          );
          return summary(next?.status ?? 'skipped');
        }
        // Exit rules, checked before every step against every event stored since enrollment.
        const exit = (
          await store.eventsSince(enrollment.leadId, enrollment.enrolledAt, exitTypes(campaign))
        ).find((event) => exitsOn(campaign, event.type, event.data));
        let next: CampaignEnrollment | undefined;
        if (exit !== undefined)
          next = await apply(context, enrollment, step, { kind: 'exit', reason: exit.type }, at);
        else {
          steps++;
          next = await tracedStep(context, enrollment, campaign, step, at);
        }
        if (next === undefined) return summary('skipped');
        if (next.status !== 'active') return summary(next.status);
        if (next.nextRunAt === undefined) return summary('active');
        if (next.nextRunAt > now()) {
          await queue.enqueue({ key: wakeKey(next), runAt: next.nextRunAt });
          return summary('active');
        }
      }
      return summary('active');
    } finally {
      running.delete(id);
    }
  };
}
