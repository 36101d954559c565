import { type EventLogTable, logEvents, type SafeEventBus } from '@leadpipe/core';
import {
  errorTypeOf,
  type Observer,
  type startRunSpan,
  TelemetryAttributes,
} from '@leadpipe/core/adapter-kit';
import type { CampaignEngineEvents } from './events.js';

/** A span as `startRunSpan` returns it (the campaigns package reaches OpenTelemetry only through core). */
export type CampaignSpan = ReturnType<typeof startRunSpan>;

/** Span names and attributes of the campaign engine. */
export const CampaignTelemetry = {
  /** One wake-up handled: an enrollment's run of due steps, or a time trigger enrolling its audience. */
  runSpan: 'leadpipe.campaign.run',
  /** One step of one enrollment executed. */
  stepSpan: 'leadpipe.campaign.step',
  /** What woke the engine: `enrollment`, `cron` or `at`. */
  wakeUp: 'leadpipe.campaign.wake_up',
  /** The campaign id. */
  campaign: 'leadpipe.campaign.id',
  /** The enrollment id. */
  enrollment: 'leadpipe.campaign.enrollment.id',
  /** The step id. */
  step: 'leadpipe.campaign.step.id',
  /** The step type (`email`, `webhook`, `wait`...). */
  stepType: 'leadpipe.campaign.step.type',
  /** The attempt of the step, from 1. */
  attempt: 'leadpipe.campaign.step.attempt',
  /** Steps executed in a run. */
  steps: 'leadpipe.campaign.steps',
  /** The outcome of a step or run (`leadpipe.outcome`). */
  outcome: TelemetryAttributes.outcome,
} as const;

/** SpanStatusCode.ERROR of `@opentelemetry/api` (a stable enum value; the package is reached through core only). */
const SPAN_STATUS_ERROR = 2;

/**
 * Mark a step or run span failed with a campaign error code (`template_error`, a vendor's code): status `ERROR`
 * with the code as description and `error.type`. Never the message: a vendor's message may quote the address.
 */
export function markSpanFailedWith(span: CampaignSpan, code: string): void {
  span.setStatus({ code: SPAN_STATUS_ERROR, message: code });
  span.setAttribute(TelemetryAttributes.errorType, code);
}

/** How engine events are logged when a `logger` is given: level, message, payload fields left out. */
const CAMPAIGN_LOG_TABLE: EventLogTable<CampaignEngineEvents> = {
  'enrollment.created': ['debug', 'lead enrolled'],
  'enrollment.completed': ['debug', 'enrollment completed'],
  'enrollment.exited': ['debug', 'enrollment exited'],
  'step.completed': ['debug', 'campaign step completed'],
  'email.sent': ['debug', 'campaign email sent'],
  'email.suppressed': ['debug', 'campaign email suppressed'],
  'email.deferred': ['debug', 'campaign email deferred'],
  'webhook.called': ['debug', 'campaign webhook called'],
  'send.reconciled': ['debug', 'claimed send reconciled from provider events'],
  'step.retrying': ['info', 'campaign step retrying'],
  // The message is left out: a vendor's refusal may quote the address.
  'enrollment.failed': ['warn', 'campaign step failed for good; dead-lettered', ['message']],
  'send.needsReview': ['warn', 'claimed send left for review'],
};

/**
 * Log the engine's events through the observer with core's `logEvents`, one line per event at the level of the
 * table, with the payload's ids and counts as context plus `event`. `engine.error` is logged at `error` with the
 * error's code only. Does nothing without a logger.
 */
export function logCampaignEvents(bus: SafeEventBus<CampaignEngineEvents>, observer: Observer): void {
  if (!observer.logging) return;
  logEvents(bus, observer, CAMPAIGN_LOG_TABLE);
  bus.on('engine.error', ({ key, error }) => {
    observer.log(
      'error',
      { event: 'engine.error', key, code: errorTypeOf(error) },
      'campaign wake-up failed; it comes again',
    );
  });
}

/**
 * What `onError` receives when a step of an enrollment fails for good (permanently, or once its retries ran out): the
 * enrollment is `failed` and the step is in the dead-letter queue. It carries ids and the code, never the vendor's
 * message (which may quote the address): that stays in the dead letter (`engine.deadLetters()`).
 */
export class CampaignStepError extends Error {
  /** The leadpipe or vendor error code, such as `template_error`, `invalid_request` or `server_error`. */
  readonly code: string;
  /** The campaign. */
  readonly campaignId: string;
  /** The step. */
  readonly stepId: string;
  /** The enrollment. */
  readonly enrollmentId: string;
  /** The lead (its id). */
  readonly leadId: string;
  /** Attempts made. */
  readonly attempts: number;

  /** @param details - the ids, the code and the attempts of the failed step. */
  constructor(details: CampaignStepErrorDetails) {
    super(
      `Step ${details.stepId} of campaign ${details.campaignId} failed for good (${details.code}) after ${details.attempts} attempt(s); enrollment ${details.enrollmentId} dead-lettered`,
    );
    this.name = 'CampaignStepError';
    this.code = details.code;
    this.campaignId = details.campaignId;
    this.stepId = details.stepId;
    this.enrollmentId = details.enrollmentId;
    this.leadId = details.leadId;
    this.attempts = details.attempts;
  }
}

/** What a {@link CampaignStepError} is made of. */
export interface CampaignStepErrorDetails {
  /** The error code. */
  readonly code: string;
  /** The campaign. */
  readonly campaignId: string;
  /** The step. */
  readonly stepId: string;
  /** The enrollment. */
  readonly enrollmentId: string;
  /** The lead (its id). */
  readonly leadId: string;
  /** Attempts made. */
  readonly attempts: number;
}
