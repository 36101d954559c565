import { randomUUID } from 'node:crypto';
import {
  ApiCallError,
  type CampaignDeadLetter,
  type CampaignEnrollment,
  type CampaignJsonValue,
  type CampaignQueueV1,
  type CampaignSend,
  type CampaignStats,
  type CampaignStoreV1,
  type CampaignSuppression,
  type CampaignWakeUp,
  type Clock,
  ConfigurationError,
  type CrmAdapterV1,
  createLimiterRegistry,
  type EmailEvent,
  type EmailMessage,
  type EmailProviderV1,
  type EmailSendResult,
  type Lead,
  LeadpipeError,
  type LeadStoreRecord,
  type LeadStoreV1,
  type LimiterRegistry,
  SafeEventBus,
  systemClock,
} from '@leadpipe/core';
import { computeHmac, createHttpClient, registerSecret } from '@leadpipe/core/adapter-kit';
import { conditionBecameTrue, evaluateCondition } from '../definition/condition.js';
import { pickVariant } from '../definition/variants.js';
import { createInProcessQueue, type InProcessCampaignQueue } from '../queue/in-process-queue.js';
import {
  createTemplateRenderer,
  leadTemplateVariables,
  type TemplateRenderer,
} from '../templates/renderer.js';
import { checkCampaigns } from './check-campaigns.js';
import type { CampaignEngineEvents, EnrollmentEventBase } from './events.js';
import { type CampaignTiming, createScheduleTiming } from './timing.js';
import {
  type CampaignDefinition,
  type CampaignEmailStep,
  type CampaignEmailVariant,
  type CampaignSender,
  type CampaignStep,
  DEFAULT_EXIT_EVENTS,
  END_OF_CAMPAIGN,
} from './types.js';
import {
  confirmationPage,
  createUnsubscribeToken,
  type UnsubscribeRequest,
  type UnsubscribeResponse,
  unsubscribePage,
  unsubscribeUrl,
  verifyUnsubscribeToken,
} from './unsubscribe.js';

/** Retries of 5xx, network errors and timeouts of non-email steps, with exponential backoff and jitter. */
export interface CampaignRetryOptions {
  /** Retries after the first attempt, before the step goes to the dead-letter queue. Default 5. */
  readonly retries?: number;
  /** Backoff before the first retry, in ms (doubles each retry). Default 60 000. */
  readonly minDelayMs?: number;
  /** Longest backoff, in ms. Default 3 600 000. */
  readonly maxDelayMs?: number;
}

/** Options of {@link createCampaignEngine}. */
export interface CampaignEngineOptions {
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
  /** Unique event id (duplicates are ignored). Default: type, lead id and `updatedAt`. */
  readonly id?: string;
  /** When (epoch ms). Default now. */
  readonly at?: number;
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
  /** Handle one wake-up (what the queue calls). */
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

/** A step's outcome: how the enrollment changes. */
type Transition =
  | { readonly kind: 'advance'; readonly to: string | undefined }
  | { readonly kind: 'reschedule'; readonly at: number }
  | { readonly kind: 'exit'; readonly reason: string }
  | { readonly kind: 'fail'; readonly code: string; readonly message: string }
  | {
      readonly kind: 'retry';
      readonly code: string;
      readonly message: string;
      readonly retryAfterMs?: number;
    };

/** What conditions read: the lead, with the trigger's data under `data`. */
function conditionSubject(
  lead: object,
  data: Readonly<Record<string, CampaignJsonValue>> | undefined,
): object {
  return data === undefined ? lead : { ...lead, data };
}

/** The variant of an email step for an enrollment: a weighted split (weight 1 when unset), the same every time. */
function variantOf(variants: readonly CampaignEmailVariant[], enrollmentId: string, stepId: string) {
  return pickVariant(
    variants.map((variant) => ({ ...variant, weight: variant.weight ?? 1 })),
    variantKeyOf(enrollmentId, stepId),
  );
}

/** The key an email step's A/B variant is picked by (`pickVariant(variants, variantKeyOf(enrollmentId, stepId))`). */
export function variantKeyOf(enrollmentId: string, stepId: string): string {
  return `${enrollmentId}\u0000${stepId}`;
}

/** The send ledger key of (enrollment, step). */
export function ledgerKeyOf(enrollmentId: string, stepId: string): string {
  return `enr-${enrollmentId}-s${stepId}`;
}

const SUPPRESSING: Readonly<Record<string, CampaignSuppression['reason']>> = {
  'email.bounced': 'bounced',
  'email.complained': 'complained',
  'email.unsubscribed': 'unsubscribed',
};

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));

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
  const random = options.random ?? Math.random;
  const retries = options.retry?.retries ?? 5;
  const minDelayMs = options.retry?.minDelayMs ?? 60_000;
  const maxDelayMs = options.retry?.maxDelayMs ?? 3_600_000;
  const recheckMs = options.recheckMs ?? 300_000;
  const renderer = options.renderer ?? createTemplateRenderer({ unsubscribe: 'none' });
  const ownLimiters = options.limiters === undefined;
  const limiters = options.limiters ?? createLimiterRegistry({ now });
  const events = new SafeEventBus<CampaignEngineEvents>();
  const campaigns = new Map(options.campaigns.map((campaign) => [campaign.id, campaign]));
  const senders = options.senders ?? [];
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
  const running = new Set<string>();
  let processing = false;

  const exitTypes = (campaign: CampaignDefinition) => campaign.exitOn ?? DEFAULT_EXIT_EVENTS;
  /** The campaigns an event type exits, with the reason (the type). */
  const exitMap = (type: string): Record<string, string> => {
    const map: Record<string, string> = {};
    for (const campaign of campaigns.values())
      if (exitTypes(campaign).includes(type)) map[campaign.id] = type;
    return map;
  };
  const base = (enrollment: CampaignEnrollment): EnrollmentEventBase => ({
    campaignId: enrollment.campaignId,
    enrollmentId: enrollment.id,
    leadId: enrollment.leadId,
  });
  const wakeKey = (enrollment: CampaignEnrollment) => `enr-${enrollment.id}-v${enrollment.version}`;
  const stepAfter = (campaign: CampaignDefinition, step: CampaignStep): string | undefined => {
    if (step.next !== undefined) return step.next;
    const index = campaign.steps.findIndex((candidate) => candidate.id === step.id);
    return campaign.steps[index + 1]?.id;
  };
  const backoff = (attempt: number) =>
    Math.min(maxDelayMs, minDelayMs * 2 ** Math.max(0, attempt - 1)) * (0.5 + random() / 2);

  const enrollLead = async (
    campaign: CampaignDefinition,
    lead: LeadStoreRecord,
    trigger: string,
    data?: Readonly<Record<string, CampaignJsonValue>>,
  ): Promise<boolean> => {
    if (
      campaign.audience !== undefined &&
      !evaluateCondition(campaign.audience, { current: conditionSubject(lead, data) })
    )
      return false;
    const at = now();
    const first = campaign.steps[0] as CampaignStep;
    const result = await store.enroll({
      id: randomUUID(),
      campaignId: campaign.id,
      campaignVersion: campaign.version ?? 1,
      leadId: lead.id,
      status: 'active',
      stepId: first.id,
      version: 1,
      nextRunAt: at,
      enrolledAt: at,
      stepStartedAt: at,
      attempts: 0,
      trigger,
      ...(data === undefined ? {} : { data }),
    });
    if (!result.created) return false;
    events.emit('enrollment.created', { ...base(result.enrollment), trigger });
    await queue.enqueue({ key: wakeKey(result.enrollment), runAt: at });
    return true;
  };

  /** Wake the lead's enrollments waiting for this event type (they re-check stored events at once). */
  const wakeWaiters = async (leadId: string, type: string): Promise<void> => {
    for (const enrollment of await store.enrollmentsOfLead(leadId)) {
      if (enrollment.status !== 'active') continue;
      const step = campaigns
        .get(enrollment.campaignId)
        ?.steps.find((candidate) => candidate.id === enrollment.stepId);
      if (step?.type !== 'waitForEvent' || !step.events.includes(type)) continue;
      const at = now();
      if ((enrollment.nextRunAt ?? 0) <= at) continue;
      const next: CampaignEnrollment = { ...enrollment, nextRunAt: at, version: enrollment.version + 1 };
      if (await store.updateEnrollment(next)) await queue.enqueue({ key: wakeKey(next), runAt: at });
    }
  };

  const emitExits = (exited: readonly CampaignEnrollment[]) => {
    for (const enrollment of exited)
      events.emit('enrollment.exited', { ...base(enrollment), reason: enrollment.reason ?? 'exited' });
  };

  const enrollOnEvent = async (
    type: string,
    lead: LeadStoreRecord,
    data?: Readonly<Record<string, CampaignJsonValue>>,
  ) => {
    for (const campaign of campaigns.values()) {
      if (campaign.triggers.some((trigger) => trigger.type === 'event' && trigger.event === type)) {
        await enrollLead(campaign, lead, type, data);
      }
    }
  };

  // ---- steps -------------------------------------------------------------------------------

  const senderOf = (step: CampaignEmailStep): CampaignSender =>
    senders.find((sender) => sender.email === step.from) ?? (senders[0] as CampaignSender);

  const variablesOf = (lead: Lead, enrollment: CampaignEnrollment, sender: CampaignSender) => ({
    ...leadTemplateVariables(lead as Parameters<typeof leadTemplateVariables>[0]),
    data: enrollment.data ?? {},
    company_name: lead.company?.name,
    company_domain: lead.company?.domain,
    campaign_id: enrollment.campaignId,
    sender: { name: sender.name, email: sender.email, postal_address: sender.postalAddress },
  });

  const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

  /** Resolve an existing ledger row into a transition, or undefined when a claim may be made. */
  const fromLedger = (
    send: CampaignSend,
    enrollment: CampaignEnrollment,
    campaign: CampaignDefinition,
    step: CampaignStep,
    at: number,
  ): Transition | undefined => {
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
        events.emit('send.needsReview', {
          ...base(enrollment),
          stepId: step.id,
          ledgerKey: send.ledgerKey,
          claimedAt: send.claimedAt,
        });
        return { kind: 'reschedule', at: at + recheckMs };
      default:
        return undefined;
    }
  };

  const runEmail = async (
    enrollment: CampaignEnrollment,
    campaign: CampaignDefinition,
    step: CampaignEmailStep,
    lead: Lead,
    at: number,
  ): Promise<Transition> => {
    const provider = options.email as EmailProviderV1;
    if (lead.email === undefined)
      return { kind: 'fail', code: 'no_email', message: 'The lead has no email address' };
    const policy = campaign.sending ?? {};
    const ledgerKey = ledgerKeyOf(enrollment.id, step.id);
    const existing = await store.getSend(ledgerKey);
    if (existing !== undefined) {
      const settled = fromLedger(existing, enrollment, campaign, step, at);
      if (settled !== undefined) return settled;
    }
    const sendAt = timing.nextSendTime({ at, lead, policy });
    if (sendAt > at) return { kind: 'reschedule', at: sendAt };
    const sender = senderOf(step);
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
    const variant =
      step.variants === undefined ? undefined : variantOf(step.variants, enrollment.id, step.id);
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
    if (link !== undefined) {
      if (html !== undefined)
        html += `\n<p style="font-size:12px;color:#666">${escapeHtml(sender.postalAddress)}<br><a href="${escapeHtml(link)}">Unsubscribe</a></p>`;
      if (text !== undefined) text += `\n\n--\n${sender.postalAddress}\nUnsubscribe: ${link}`;
    }
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
        ...(policy.dailyCapPerMailbox === undefined ? {} : { dailyCap: policy.dailyCapPerMailbox }),
        ...(policy.minGapMs === undefined ? {} : { minGapMs: policy.minGapMs }),
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
      return fromLedger(claim.send, enrollment, campaign, step, at) ?? { kind: 'reschedule', at };
    }
    if (claim.status === 'capped') {
      const until = Math.max(
        at + 1,
        timing.afterCap({
          cap: claim.cap,
          at,
          ...(claim.lastSentAt === undefined ? {} : { lastSentAt: claim.lastSentAt }),
          lead,
          policy,
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
  };

  const runWebhook = async (
    enrollment: CampaignEnrollment,
    campaign: CampaignDefinition,
    step: Extract<CampaignStep, { type: 'webhook' }>,
    lead: Lead,
  ): Promise<Transition> => {
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
  };

  const runStep = async (
    enrollment: CampaignEnrollment,
    campaign: CampaignDefinition,
    step: CampaignStep,
    at: number,
  ): Promise<Transition> => {
    const lead = await leads.get(enrollment.leadId);
    if (lead === undefined) return { kind: 'exit', reason: 'lead_missing' };
    const subject = { current: conditionSubject(lead, enrollment.data) };
    const started = enrollment.stepStartedAt ?? enrollment.enrolledAt;
    switch (step.type) {
      case 'email':
        return runEmail(enrollment, campaign, step, lead, at);
      case 'webhook':
        return runWebhook(enrollment, campaign, step, lead);
      case 'updateLead': {
        const [outcome] = await leads.upsert([
          { ...lead, custom: { ...(lead.custom ?? {}), ...step.custom } },
        ]);
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
        const found = await store.eventsSince(enrollment.leadId, enrollment.enrolledAt, step.events);
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
  };

  /** Write a transition; resolves with the new state, or undefined when the enrollment moved on meanwhile. */
  const apply = async (
    enrollment: CampaignEnrollment,
    step: CampaignStep,
    transition: Transition,
    at: number,
  ): Promise<CampaignEnrollment | undefined> => {
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
          const retryAt = at + Math.max(transition.retryAfterMs ?? 0, backoff(attempt));
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
    if (failure !== undefined)
      events.emit('enrollment.failed', {
        ...base(next),
        stepId: step.id,
        code: failure.code,
        message: failure.message,
      });
    return next;
  };

  const runEnrollment = async (id: string, expectedVersion: number | undefined): Promise<void> => {
    if (running.has(id)) return;
    running.add(id);
    try {
      for (let hop = 0; hop < 100; hop++) {
        const enrollment = await store.getEnrollment(id);
        if (enrollment?.status !== 'active') return;
        if (hop === 0 && expectedVersion !== undefined && enrollment.version !== expectedVersion) return;
        const at = now();
        if (enrollment.nextRunAt === undefined || enrollment.nextRunAt > at) return;
        const campaign = campaigns.get(enrollment.campaignId);
        const step = campaign?.steps.find((candidate) => candidate.id === enrollment.stepId);
        if (campaign === undefined || step === undefined) {
          const missing: Transition = {
            kind: 'fail',
            code: 'step_missing',
            message: `Campaign ${enrollment.campaignId} has no step ${enrollment.stepId}`,
          };
          await apply(
            enrollment,
            step ?? ({ id: enrollment.stepId, type: 'exit' } as CampaignStep),
            missing,
            at,
          );
          return;
        }
        // Exit rules, checked before every step against every event stored since enrollment.
        const exits = await store.eventsSince(enrollment.leadId, enrollment.enrolledAt, exitTypes(campaign));
        let transition: Transition;
        if (exits.length > 0) transition = { kind: 'exit', reason: (exits[0] as { type: string }).type };
        else {
          transition = await runStep(enrollment, campaign, step, at);
        }
        const next = await apply(enrollment, step, transition, at);
        if (next?.status !== 'active' || next.nextRunAt === undefined) return;
        if (next.nextRunAt > now()) {
          await queue.enqueue({ key: wakeKey(next), runAt: next.nextRunAt });
          return;
        }
      }
    } finally {
      running.delete(id);
    }
  };

  const fireAudience = async (
    campaign: CampaignDefinition,
    trigger: string,
    where: CampaignDefinition['triggers'][number],
  ) => {
    const audience = where.type === 'cron' || where.type === 'at' ? where.audience : undefined;
    let cursor: string | undefined;
    do {
      const page = await leads.query({
        ...(audience === undefined ? {} : { where: audience }),
        limit: 100,
        ...(cursor === undefined ? {} : { cursor }),
      });
      for (const record of page.leads) {
        const lead = await leads.get(record.id);
        if (lead !== undefined) await enrollLead(campaign, lead, trigger);
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  };

  const timeTriggers = () =>
    [...campaigns.values()].flatMap((campaign) =>
      campaign.triggers.flatMap((trigger, index) =>
        trigger.type === 'cron' || trigger.type === 'at'
          ? [{ campaign, trigger, key: `${campaign.id}-t${index}` }]
          : [],
      ),
    );

  const engine: CampaignEngine = {
    on: (event, listener) => events.on(event, listener),

    async start() {
      for (const { trigger, key } of timeTriggers()) {
        if (trigger.type === 'cron')
          await queue.schedule(key, { cron: trigger.cron, timeZone: trigger.timeZone });
        else if (trigger.type === 'at' && Date.parse(trigger.at) > now())
          await queue.enqueue({ key: `at-${key}`, runAt: Date.parse(trigger.at) });
      }
      if (!processing) {
        processing = true;
        queue.process((wakeUp) => engine.handleWakeUp(wakeUp));
      }
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
      if (enrollmentKey !== null) return runEnrollment(enrollmentKey[1] as string, Number(enrollmentKey[2]));
      for (const { campaign, trigger, key } of timeTriggers()) {
        if (wakeUp.key === `cron-${key}` || wakeUp.key === `at-${key}`)
          await fireAudience(campaign, wakeUp.key, trigger);
      }
    },

    async enroll(campaignId, leadId, enrollOptions = {}) {
      const campaign = campaigns.get(campaignId);
      if (campaign === undefined)
        throw new ConfigurationError('invalid_configuration', {
          issues: [{ field: 'campaignId', reason: `names no campaign ("${campaignId}")` }],
        });
      const lead = await leads.get(leadId);
      if (lead === undefined) return false;
      return enrollLead(campaign, lead, enrollOptions.trigger ?? 'manual', enrollOptions.data);
    },

    async handleLeadEvent(event) {
      const at = event.at ?? now();
      const recorded = await store.recordEvent(
        {
          id: event.id ?? `${event.type}-${event.lead.id}-${event.lead.updatedAt ?? at}`,
          type: event.type,
          leadId: event.lead.id,
          at,
        },
        { exit: exitMap(event.type) },
      );
      if (!recorded.recorded) return;
      emitExits(recorded.exited);
      await wakeWaiters(event.lead.id, event.type);
      await enrollOnEvent(event.type, event.lead);
      for (const campaign of campaigns.values()) {
        for (const trigger of campaign.triggers) {
          if (trigger.type === 'condition') {
            if (conditionBecameTrue(trigger.when, event.previous, event.lead))
              await enrollLead(campaign, event.lead, `${event.type}:condition`);
          } else if (
            trigger.type === 'changed' &&
            // A first value counts as a change: compare with an empty lead when there was none before.
            conditionBecameTrue({ field: trigger.field, op: 'changed' }, event.previous ?? {}, event.lead)
          ) {
            await enrollLead(campaign, event.lead, `${event.type}:changed:${trigger.field}`);
          }
        }
      }
    },

    async publish(event) {
      const recorded = await store.recordEvent(
        {
          id: event.id,
          type: event.type,
          leadId: event.leadId,
          at: event.at ?? now(),
          ...(event.data === undefined ? {} : { data: event.data }),
        },
        { exit: exitMap(event.type) },
      );
      if (!recorded.recorded) return;
      emitExits(recorded.exited);
      await wakeWaiters(event.leadId, event.type);
      if (
        [...campaigns.values()].some((campaign) =>
          campaign.triggers.some((trigger) => trigger.type === 'event' && trigger.event === event.type),
        )
      ) {
        const lead = await leads.get(event.leadId);
        if (lead !== undefined) await enrollOnEvent(event.type, lead, event.data);
      }
    },

    async ingestEmailEvents(emailEvents) {
      for (const event of emailEvents) {
        const send = event.ledgerKey === undefined ? undefined : await store.getSend(event.ledgerKey);
        if (send?.status === 'claimed' && event.type !== 'deferred') {
          // Any event of the message proves the provider accepted it: the claim was sent, never send it again.
          const messageId = event.messageId ?? `reconciled-${event.eventId}`;
          if (
            await store.resolveClaim(send.ledgerKey, {
              sent: true,
              messageId,
              at: Date.parse(event.occurredAt) || now(),
            })
          ) {
            const enrollment = await store.getEnrollment(send.enrollmentId);
            if (enrollment !== undefined) {
              events.emit('send.reconciled', {
                ...base(enrollment),
                stepId: send.stepId,
                ledgerKey: send.ledgerKey,
                messageId,
              });
              if (enrollment.status === 'active' && enrollment.stepId === send.stepId) {
                const next: CampaignEnrollment = {
                  ...enrollment,
                  nextRunAt: now(),
                  version: enrollment.version + 1,
                };
                if (await store.updateEnrollment(next))
                  await queue.enqueue({ key: wakeKey(next), runAt: now() });
              }
            }
          }
        }
        const leadId = send?.leadId ?? (await leads.getByEmail(event.email))?.id;
        if (leadId === undefined) {
          // No lead to attach it to: still honour what stops mail to the address.
          const reason = SUPPRESSING[`email.${event.type}`];
          if (reason !== undefined && (event.type !== 'bounced' || event.bounce !== 'soft'))
            await store.suppress({ email: event.email, reason, source: 'email-events', at: now() });
          continue;
        }
        const type =
          event.type === 'bounced' && event.bounce === 'soft' ? 'email.softBounced' : `email.${event.type}`;
        const reason = SUPPRESSING[type];
        const recorded = await store.recordEvent(
          {
            id: `email-${event.eventId}`,
            type,
            leadId,
            at: Date.parse(event.occurredAt) || now(),
            ...(event.ledgerKey === undefined ? {} : { ledgerKey: event.ledgerKey }),
          },
          {
            exit: exitMap(type),
            ...(reason === undefined
              ? {}
              : { suppress: { email: event.email, reason, source: 'email-events', at: now() } }),
          },
        );
        if (!recorded.recorded) continue;
        emitExits(recorded.exited);
        await wakeWaiters(leadId, type);
        const lead = [...campaigns.values()].some((campaign) =>
          campaign.triggers.some((trigger) => trigger.type === 'event' && trigger.event === type),
        )
          ? await leads.get(leadId)
          : undefined;
        if (lead !== undefined) await enrollOnEvent(type, lead);
      }
    },

    async handleUnsubscribe(request) {
      if (options.unsubscribe === undefined)
        return unsubscribePage(404, 'Not found', '<p>Unsubscribing is not set up.</p>');
      let url: URL;
      try {
        url = new URL(request.url, options.unsubscribe.baseUrl);
      } catch {
        return unsubscribePage(400, 'Invalid link', '<p>This unsubscribe link is not valid.</p>');
      }
      const claims = verifyUnsubscribeToken(url.searchParams.get('token') ?? '', options.unsubscribe.secret);
      if (claims === undefined)
        return unsubscribePage(400, 'Invalid link', '<p>This unsubscribe link is not valid.</p>');
      const method = request.method.toUpperCase();
      if (method === 'GET' || method === 'HEAD') return confirmationPage(url.toString(), claims.email);
      if (method !== 'POST')
        return { ...unsubscribePage(405, 'Method not allowed', ''), headers: { allow: 'GET, POST' } };
      const at = now();
      const suppression: CampaignSuppression = {
        email: claims.email,
        reason: 'unsubscribed',
        source: 'unsubscribe-link',
        at,
      };
      // Effective at once: the suppression is stored before the answer, and every later claim checks it.
      await store.suppress(suppression);
      const send = claims.ledgerKey === undefined ? undefined : await store.getSend(claims.ledgerKey);
      const leadId = send?.leadId ?? (await leads.getByEmail(claims.email))?.id;
      if (leadId !== undefined) {
        const recorded = await store.recordEvent(
          {
            id: `unsubscribe-${claims.email}`,
            type: 'email.unsubscribed',
            leadId,
            at,
            ...(claims.ledgerKey === undefined ? {} : { ledgerKey: claims.ledgerKey }),
          },
          { exit: exitMap('email.unsubscribed'), suppress: suppression },
        );
        emitExits(recorded.exited);
      }
      return unsubscribePage(200, 'Unsubscribed', '<p>You will not receive these emails any more.</p>');
    },

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
      if (enrollment?.status === 'active') {
        const next: CampaignEnrollment = { ...enrollment, nextRunAt: now(), version: enrollment.version + 1 };
        if (await store.updateEnrollment(next)) await queue.enqueue({ key: wakeKey(next), runAt: now() });
      }
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
    },
  };
  return engine;
}
