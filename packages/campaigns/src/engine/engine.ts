import {
  type CampaignDeadLetter,
  type CampaignEnrollment,
  type CampaignJsonValue,
  type CampaignQueueV1,
  type CampaignSend,
  type CampaignStats,
  type CampaignStoreV1,
  type CampaignWakeUp,
  type Clock,
  ConfigurationError,
  type CrmAdapterV1,
  createLimiterRegistry,
  type EmailEvent,
  type EmailProviderV1,
  type LeadStoreRecord,
  type LeadStoreV1,
  type LimiterRegistry,
  SafeEventBus,
  systemClock,
} from '@leadpipe/core';
import {
  createObserver,
  errorTypeOf,
  type ObservabilityOptions,
  registerSecret,
  startRunSpan,
  withSpan,
} from '@leadpipe/core/adapter-kit';
import { createInProcessQueue, type InProcessCampaignQueue } from '../queue/in-process-queue.js';
import { createTemplateRenderer, type TemplateRenderer } from '../templates/renderer.js';
import { checkCampaigns } from './check-campaigns.js';
import { type EngineContext, ledgerKeyOf, wakeKey, wakeNow } from './context.js';
import { enrollLead, fireAudience, timeTriggers } from './enrollment.js';
import type { CampaignEngineEvents } from './events.js';
import { handleUnsubscribe, ingestCustomEvent, ingestEmailEvents, ingestLeadEvent } from './ingest.js';
import { CampaignTelemetry, logCampaignEvents, markSpanFailedWith } from './observe.js';
import { createEnrollmentRunner } from './run.js';
import { type CampaignTiming, createScheduleTiming } from './timing.js';
import type { CampaignDefinition, CampaignSender } from './types.js';
import type { UnsubscribeRequest, UnsubscribeResponse } from './unsubscribe.js';

export { ledgerKeyOf, variantKeyOf } from './context.js';

/** Retries of 5xx, network errors and timeouts of non-email steps, with exponential backoff and jitter. */
export interface CampaignRetryOptions {
  /** Retries after the first attempt, before the step goes to the dead-letter queue. Default 5. */
  readonly retries?: number;
  /** Backoff before the first retry, in ms (doubles each retry). Default 60 000. */
  readonly minDelayMs?: number;
  /** Longest backoff, in ms. Default 3 600 000. */
  readonly maxDelayMs?: number;
}

/**
 * Options of {@link createCampaignEngine}. With `logger` (any pino-compatible logger) the engine logs its events
 * (ids, codes and counts, never addresses, template variables or secrets); `onError` is told about every step that
 * fails for good (a `CampaignStepError`, component `campaigns`) and every wake-up that failed.
 */
export interface CampaignEngineOptions extends ObservabilityOptions {
  /** The campaigns. Ids unique. */
  readonly campaigns: readonly CampaignDefinition[];
  /** Campaign state. */
  readonly store: CampaignStoreV1;
  /** Where leads are read (and `updateLead` steps write). */
  readonly leads: LeadStoreV1;
  /** The email provider; required when a campaign has an email step. */
  readonly email?: EmailProviderV1;
  /** Senders; required with email steps. The first is the default. Each needs a postal address (CAN-SPAM). */
  readonly senders?: readonly CampaignSender[];
  /**
   * The unsubscribe endpoint every marketing email links to (HTTPS) and the
   * secret its tokens are signed with (at least 16 characters). Required
   * with marketing email steps. Serve it with `engine.handleUnsubscribe`.
   */
  readonly unsubscribe?: {
    /** The HTTPS URL of the endpoint; the token is added as `token`. */
    readonly baseUrl: string;
    /** The token signing secret. */
    readonly secret: string;
  };
  /** CRM adapters by the name `crm` steps use. */
  readonly crms?: Readonly<Record<string, CrmAdapterV1>>;
  /** The scheduler driver. Default: the in-process timer over the store (`createInProcessQueue`). */
  readonly queue?: CampaignQueueV1;
  /** When steps run. Default: `createScheduleTiming()` (sending windows in the recipient's zone, business days, holidays). */
  readonly timing?: CampaignTiming;
  /**
   * Template rendering. Default: `createTemplateRenderer({ unsubscribe: 'none' })` (liquidjs, strict variables
   * and filters, HTML escaping, `default` fallbacks; the engine appends the unsubscribe link and postal address
   * itself). A missing variable without a fallback fails that step of that enrollment (`template_error`).
   */
  readonly renderer?: TemplateRenderer;
  /** Rate limiters, shared with the rest of the host (429s belong to them). Default: a new registry. */
  readonly limiters?: LimiterRegistry;
  /** Retries of failed steps. */
  readonly retry?: CampaignRetryOptions;
  /** How often a send whose outcome is unknown is looked at again, in ms. Default 300 000. */
  readonly recheckMs?: number;
  /** Clock (epoch ms). Default `Date.now`. */
  readonly now?: Clock;
  /** Random source for backoff jitter. Default `Math.random`. */
  readonly random?: () => number;
  /** The fetch webhook steps use. Default the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
}

/** A lead event the host reports (from the lead store's outbox, the enrichment engine, CRM sync). */
export interface CampaignLeadEvent {
  /** `lead.created`, `lead.updated`, `lead.enriched` or `crm.synced`. */
  readonly type: 'lead.created' | 'lead.updated' | 'lead.enriched' | 'crm.synced';
  /** The lead as it is now. */
  readonly lead: LeadStoreRecord;
  /** The lead before the change, for condition triggers (threshold crossings and field changes). */
  readonly previous?: LeadStoreRecord;
  /**
   * True when the event does not say what the lead was before (an outbox `lead.updated` written before its store
   * recorded changes): condition triggers then enroll when the condition holds now, and field-change triggers do
   * not fire. Default false: without `previous` the lead is new, so every field it has counts as a change.
   */
  readonly previousUnknown?: boolean;
  /** Unique event id (duplicates are ignored). Default: type, lead id and `updatedAt`. */
  readonly id?: string;
  /** When (epoch ms). Default now. */
  readonly at?: number;
  /**
   * What the event carried (such as `{ properties: { crm: 'hubspot' } }` for `crm.synced`): stored with it, read
   * by `match` filters of triggers, exit rules and waits, and the enrollment's data when it enrolls.
   */
  readonly data?: Readonly<Record<string, CampaignJsonValue>>;
}

/** A custom event about a lead: a reply the host detected, `meeting.booked`, anything the host app emits. */
export interface CampaignCustomEvent {
  /** Unique id: duplicates are ignored. */
  readonly id: string;
  /** The type, such as `meeting.booked`. */
  readonly type: string;
  /** The lead. */
  readonly leadId: string;
  /** When (epoch ms). Default now. */
  readonly at?: number;
  /** What it carried (becomes the enrollment's data when it enrolls). */
  readonly data?: Readonly<Record<string, CampaignJsonValue>>;
}

/** How a review of a claimed send was settled. */
export type CampaignReviewOutcome =
  | {
      /** It was sent. */
      readonly sent: true;
      /** The provider's message id. */
      readonly messageId: string;
    }
  | {
      /** It never left: it is sent on the next run. */
      readonly sent: false;
    };

/** The campaign engine. */
export interface CampaignEngine {
  /** Listen to an event; returns a function that stops listening. */
  on<E extends keyof CampaignEngineEvents>(
    event: E,
    listener: (payload: CampaignEngineEvents[E]) => void,
  ): () => void;
  /** Register time triggers with the queue and start processing wake-ups. */
  start(): Promise<void>;
  /** Run everything due now (the in-process queue only): for tests, scripts and benchmarks on a chosen clock. */
  runDue(): Promise<void>;
  /** Handle one wake-up (what the queue calls), in a `leadpipe.campaign.run` span with a `leadpipe.campaign.step` span per step executed. */
  handleWakeUp(wakeUp: CampaignWakeUp): Promise<void>;
  /** Enroll a lead by hand. Resolves with whether it was enrolled (false when already enrolled or outside the audience). */
  enroll(
    campaignId: string,
    leadId: string,
    options?: { readonly trigger?: string; readonly data?: Readonly<Record<string, CampaignJsonValue>> },
  ): Promise<boolean>;
  /** Report a lead event: stored, exits applied, waits woken, event and condition triggers evaluated. */
  handleLeadEvent(event: CampaignLeadEvent): Promise<void>;
  /** Report a custom event: stored, exits applied, waits woken, event triggers evaluated. */
  publish(event: CampaignCustomEvent): Promise<void>;
  /**
   * Ingest verified email events (from `EmailProviderV1.doParseEvents`):
   * settle claimed sends by ledger key, store them as `email.<type>`
   * events, apply exits, suppress hard bounces, complaints and unsubscribes.
   */
  ingestEmailEvents(events: readonly EmailEvent[]): Promise<void>;
  /** The unsubscribe endpoint: GET shows a confirmation page, POST (one-click, RFC 8058) unsubscribes at once. Idempotent. */
  handleUnsubscribe(request: UnsubscribeRequest): Promise<UnsubscribeResponse>;
  /** Claimed sends whose outcome is unknown, claimed at least `olderThanMs` ago (default 0): the review list. */
  reviewList(olderThanMs?: number): Promise<readonly CampaignSend[]>;
  /** Settle a claimed send by hand: sent (the enrollment moves on) or not sent (it is sent on the next run). */
  resolveReview(ledgerKey: string, outcome: CampaignReviewOutcome): Promise<boolean>;
  /** Dead letters, oldest first. */
  deadLetters(campaignId?: string): Promise<readonly CampaignDeadLetter[]>;
  /** Run a dead-lettered step again (the enrollment becomes active at that step). Resolves with false for an unknown id. */
  redrive(id: string): Promise<boolean>;
  /** Counts of a campaign: enrolled, by status, exited by reason, per step sent, delivered, opened, clicked, replied, bounced, unsubscribed, failed. */
  stats(campaignId: string): Promise<CampaignStats>;
  /** Stop the queue and the limiters the engine created. */
  close(): Promise<void>;
}

/**
 * Creates the campaign engine: enrollment from triggers, steps run at most
 * once per (enrollment, step) for sends, exits checked before every step,
 * suppression checked in the claim transaction, retries and a dead-letter
 * queue, and an unsubscribe endpoint. It depends only on a
 * `CampaignStoreV1` and a `CampaignQueueV1`.
 *
 * @example
 * ```ts
 * const engine = createCampaignEngine({ campaigns: [welcome], store, leads, email, senders, unsubscribe });
 * await engine.start();
 * await engine.handleLeadEvent({ type: 'lead.created', lead });
 * ```
 */
export function createCampaignEngine(options: CampaignEngineOptions): CampaignEngine {
  const timing = options.timing ?? createScheduleTiming();
  checkCampaigns(options, timing);
  const { store, leads } = options;
  const now = options.now ?? systemClock;
  const ownLimiters = options.limiters === undefined;
  const limiters = options.limiters ?? createLimiterRegistry({ now });
  const events = new SafeEventBus<CampaignEngineEvents>();
  const observer = createObserver(options);
  logCampaignEvents(events, observer);
  /** Errors already reported by `handleWakeUp`, so the queue's `engine.error` does not report them twice. */
  const reported = new WeakSet<object>();
  events.on('engine.error', ({ key, error }) => {
    if (typeof error === 'object' && error !== null && reported.has(error)) return;
    observer.report(
      error instanceof Error ? error : new Error(`campaign wake-up ${key} failed (${errorTypeOf(error)})`),
      { component: 'campaigns', code: errorTypeOf(error) },
    );
  });
  if (options.unsubscribe !== undefined) registerSecret(options.unsubscribe.secret);
  for (const campaign of options.campaigns) {
    for (const step of campaign.steps) if (step.type === 'webhook') registerSecret(step.secret);
  }
  const queue: CampaignQueueV1 =
    options.queue ??
    createInProcessQueue({
      store,
      nextCronTime: timing.nextCronTime,
      now,
      onError: (error, key) => events.emit('engine.error', { key, error }),
    });
  const context: EngineContext = {
    options,
    store,
    leads,
    timing,
    now,
    random: options.random ?? Math.random,
    retries: options.retry?.retries ?? 5,
    minDelayMs: options.retry?.minDelayMs ?? 60_000,
    maxDelayMs: options.retry?.maxDelayMs ?? 3_600_000,
    recheckMs: options.recheckMs ?? 300_000,
    renderer: options.renderer ?? createTemplateRenderer({ unsubscribe: 'none' }),
    limiters,
    events,
    campaigns: new Map(options.campaigns.map((campaign) => [campaign.id, campaign])),
    queue,
    observer,
  };
  const runEnrollment = createEnrollmentRunner(context);
  let processing = false;

  const engine: CampaignEngine = {
    on: (event, listener) => events.on(event, listener),

    async start() {
      for (const { trigger, key } of timeTriggers(context)) {
        if (trigger.type === 'cron')
          await queue.schedule(key, { cron: trigger.cron, timeZone: trigger.timeZone });
        else if (trigger.type === 'at' && Date.parse(trigger.at) > now())
          await queue.enqueue({ key: `at-${key}`, runAt: Date.parse(trigger.at) });
      }
      if (!processing) {
        processing = true;
        queue.process((wakeUp) => engine.handleWakeUp(wakeUp));
      }
      observer.log(
        'info',
        {
          event: 'engine.started',
          campaigns: context.campaigns.size,
          timeTriggers: timeTriggers(context).length,
        },
        'campaign engine started',
      );
    },

    async runDue() {
      const drain = (queue as Partial<InProcessCampaignQueue>).drain;
      if (drain === undefined)
        throw new ConfigurationError('invalid_configuration', {
          issues: [{ field: 'queue', reason: 'runDue needs the in-process queue' }],
        });
      await drain.call(queue, (wakeUp) => engine.handleWakeUp(wakeUp));
    },

    async handleWakeUp(wakeUp) {
      const enrollmentKey = /^enr-(.+)-v(\d+)$/.exec(wakeUp.key);
      const span = startRunSpan(CampaignTelemetry.runSpan, {
        [CampaignTelemetry.wakeUp]: enrollmentKey !== null ? 'enrollment' : (wakeUp.key.split('-')[0] ?? ''),
        ...(enrollmentKey === null ? {} : { [CampaignTelemetry.enrollment]: enrollmentKey[1] as string }),
      });
      try {
        await withSpan(span, async () => {
          if (enrollmentKey !== null) {
            const summary = await runEnrollment(enrollmentKey[1] as string, Number(enrollmentKey[2]));
            if (summary.campaignId !== undefined)
              span.setAttribute(CampaignTelemetry.campaign, summary.campaignId);
            span.setAttributes({
              [CampaignTelemetry.steps]: summary.steps,
              [CampaignTelemetry.outcome]: summary.outcome,
            });
            return;
          }
          for (const { campaign, trigger, key } of timeTriggers(context)) {
            if (wakeUp.key === `cron-${key}` || wakeUp.key === `at-${key}`) {
              span.setAttribute(CampaignTelemetry.campaign, campaign.id);
              observer.log(
                'info',
                { event: 'trigger.fired', campaignId: campaign.id, trigger: wakeUp.key },
                'campaign time trigger fired; enrolling its audience',
              );
              await fireAudience(context, campaign, wakeUp.key, trigger);
            }
          }
          span.setAttribute(CampaignTelemetry.outcome, 'ok');
        });
      } catch (error) {
        const code = errorTypeOf(error);
        markSpanFailedWith(span, code);
        if (typeof error === 'object' && error !== null) reported.add(error);
        observer.report(
          error instanceof Error ? error : new Error(`campaign wake-up ${wakeUp.key} failed (${code})`),
          { component: 'campaigns', code },
        );
        throw error;
      } finally {
        span.end();
      }
    },

    async enroll(campaignId, leadId, enrollOptions = {}) {
      const campaign = context.campaigns.get(campaignId);
      if (campaign === undefined)
        throw new ConfigurationError('invalid_configuration', {
          issues: [{ field: 'campaignId', reason: `names no campaign ("${campaignId}")` }],
        });
      const lead = await leads.get(leadId);
      if (lead === undefined) return false;
      return enrollLead(context, campaign, lead, enrollOptions.trigger ?? 'manual', enrollOptions.data);
    },

    handleLeadEvent: (event) => ingestLeadEvent(context, event),

    publish: (event) => ingestCustomEvent(context, event),

    ingestEmailEvents: (emailEvents) => ingestEmailEvents(context, emailEvents),

    handleUnsubscribe: (request) => handleUnsubscribe(context, request),

    reviewList: (olderThanMs = 0) =>
      store.listSends({ status: 'claimed', claimedBefore: now() - olderThanMs, limit: 1000 }),

    async resolveReview(ledgerKey, outcome) {
      const send = await store.getSend(ledgerKey);
      if (send === undefined) return false;
      const done = await store.resolveClaim(
        ledgerKey,
        outcome.sent ? { sent: true, messageId: outcome.messageId, at: now() } : { sent: false },
      );
      if (!done) return false;
      const enrollment = await store.getEnrollment(send.enrollmentId);
      if (enrollment?.status === 'active') await wakeNow(context, enrollment);
      return true;
    },

    deadLetters: (campaignId) => store.listDeadLetters(campaignId),

    async redrive(id) {
      const letter = (await store.listDeadLetters()).find((candidate) => candidate.id === id);
      if (letter === undefined) return false;
      const enrollment = await store.getEnrollment(letter.enrollmentId);
      if (enrollment !== undefined && (enrollment.status === 'failed' || enrollment.status === 'active')) {
        await store.reopenSend(ledgerKeyOf(enrollment.id, letter.stepId));
        const { reason: _reason, ...rest } = enrollment;
        const at = now();
        const next: CampaignEnrollment = {
          ...rest,
          status: 'active',
          stepId: letter.stepId,
          attempts: 0,
          nextRunAt: at,
          stepStartedAt: at,
          version: enrollment.version + 1,
        };
        if (!(await store.updateEnrollment(next))) return false;
        await queue.enqueue({ key: wakeKey(next), runAt: at });
      }
      await store.removeDeadLetter(id);
      return true;
    },

    stats: (campaignId) => store.stats(campaignId),

    async close() {
      await queue.close();
      if (ownLimiters) await limiters.disconnect();
      observer.log('info', { event: 'engine.closed' }, 'campaign engine closed');
    },
  };
  return engine;
}
