/**
 * Where campaign state lives: enrollments with their next-run index, the send
 * ledger, suppressions, stored events, dead letters, timers and per-mailbox
 * counters. The campaign engine depends only on this and on
 * `CampaignQueueV1`; a store on the lead store's database implements it with
 * the transactions named on each method.
 */

/** Where an enrollment stands. `active`: it runs at `nextRunAt`; the others are final unless redriven. */
export type CampaignEnrollmentStatus = 'active' | 'completed' | 'exited' | 'failed';

/** A JSON value, as enrollment data and event data hold. */
export type CampaignJsonValue =
  | string
  | number
  | boolean
  | null
  | readonly CampaignJsonValue[]
  | { readonly [key: string]: CampaignJsonValue };

/** One lead's run through one campaign. Unique per (campaignId, leadId). */
export interface CampaignEnrollment {
  /** Unique id, chosen by the engine (also the A/B split seed). */
  readonly id: string;
  /** The campaign. */
  readonly campaignId: string;
  /** The campaign definition version the enrollment started on. */
  readonly campaignVersion: number;
  /** The lead. */
  readonly leadId: string;
  /** Where it stands. */
  readonly status: CampaignEnrollmentStatus;
  /** The step it runs next (or ran last, once final). */
  readonly stepId: string;
  /**
   * Optimistic-concurrency version, 1 on enrollment, +1 on every update.
   * Wake-ups carry it; a stale one does nothing.
   */
  readonly version: number;
  /** When it runs next (epoch ms); present only while `active`. */
  readonly nextRunAt?: number;
  /** When it was enrolled (epoch ms). Stored events since then count for exits and waits. */
  readonly enrolledAt: number;
  /** When the current step started waiting (epoch ms), for wait-for-event timeouts. */
  readonly stepStartedAt?: number;
  /** Failed attempts of the current step (retries of 5xx and network errors). */
  readonly attempts: number;
  /** Why it exited (`replied`, `unsubscribed`, ...), when `exited`; why it failed, when `failed`. */
  readonly reason?: string;
  /** What triggered it (the event type, `cron:<id>`, ...). */
  readonly trigger: string;
  /** Data the trigger carried, available to templates and conditions. */
  readonly data?: Readonly<Record<string, CampaignJsonValue>>;
}

/** What {@link CampaignStoreV1.enroll} did. */
export interface CampaignEnrollResult {
  /** True when the enrollment was stored; false when the lead was already enrolled in the campaign. */
  readonly created: boolean;
  /** The stored enrollment: the new one, or the one already there. */
  readonly enrollment: CampaignEnrollment;
}

/**
 * A send ledger row's state:
 * - `claimed`: claimed before the provider call; left so by a crash, it needs reconciling and is never resent automatically;
 * - `sent`: the provider accepted it (its message id is kept);
 * - `retry`: the provider refused it retryably (5xx, network): a later claim may take it again;
 * - `failed`: refused permanently (400, 403...): never sent again unless redriven;
 * - `not_sent`: a review decided a crashed claim never reached the provider: a later claim may take it again.
 */
export type CampaignSendStatus = 'claimed' | 'sent' | 'retry' | 'failed' | 'not_sent';

/** One row of the send ledger: at most one send per (enrollment, step). */
export interface CampaignSend {
  /** `enr-<enrollmentId>-s<stepId>`: unique; carried with the message to the provider. */
  readonly ledgerKey: string;
  /** The enrollment. */
  readonly enrollmentId: string;
  /** The campaign. */
  readonly campaignId: string;
  /** The step. */
  readonly stepId: string;
  /** The lead. */
  readonly leadId: string;
  /** The recipient, normalized to lower case. */
  readonly email: string;
  /** The mailbox (sender) it was sent from. */
  readonly mailbox: string;
  /** The A/B variant, when the step has several. */
  readonly variant?: string;
  /** State. */
  readonly status: CampaignSendStatus;
  /** Claims so far (1 on the first). */
  readonly attempts: number;
  /** When last claimed (epoch ms). */
  readonly claimedAt: number;
  /** When marked sent (epoch ms). */
  readonly sentAt?: number;
  /** The provider's message id, once sent. */
  readonly messageId?: string;
  /** The last error's code and message, scrubbed, when it failed. */
  readonly error?: { readonly code: string; readonly message: string };
}

/** Why an address is suppressed. */
export type CampaignSuppressionReason = 'unsubscribed' | 'bounced' | 'complained' | 'do_not_contact';

/** One suppressed address: nothing is sent to it, by any campaign. */
export interface CampaignSuppression {
  /** The address, lower case. */
  readonly email: string;
  /** Why. */
  readonly reason: CampaignSuppressionReason;
  /** Where it came from (`unsubscribe-link`, `sendgrid`, `import`...). */
  readonly source: string;
  /** When (epoch ms). */
  readonly at: number;
}

/** A per-mailbox limit checked inside the claim transaction. */
export interface CampaignMailboxCap {
  /** The mailbox, such as `sales@acme.com`. */
  readonly mailbox: string;
  /** The counting day of the mailbox, such as `2026-12-07` in the campaign's zone. */
  readonly day: string;
  /** Most sends per day; absent means no daily cap. */
  readonly dailyCap?: number;
  /** Least time between two sends of the mailbox, in ms; absent means none. */
  readonly minGapMs?: number;
}

/** What the engine asks {@link CampaignStoreV1.claimSend} to claim. */
export interface CampaignSendClaim {
  /** The ledger key. */
  readonly ledgerKey: string;
  /** The enrollment. */
  readonly enrollmentId: string;
  /** The campaign. */
  readonly campaignId: string;
  /** The step. */
  readonly stepId: string;
  /** The lead. */
  readonly leadId: string;
  /** The recipient, lower case. Checked against suppressions in the same transaction. */
  readonly email: string;
  /** The A/B variant. */
  readonly variant?: string;
  /** When (epoch ms). */
  readonly at: number;
  /** The mailbox cap, checked and counted in the same transaction. */
  readonly cap: CampaignMailboxCap;
}

/**
 * What a claim did:
 * - `claimed`: the row is now `claimed` and the mailbox counted; call the provider;
 * - `suppressed`: the address is suppressed; nothing was written;
 * - `exists`: the row exists and may not be claimed again (`claimed`, `sent` or `failed`);
 * - `capped`: the mailbox is over its daily cap or inside its minimum gap; nothing was written.
 */
export type CampaignClaimResult =
  | { readonly status: 'claimed'; readonly send: CampaignSend }
  | { readonly status: 'suppressed'; readonly suppression: CampaignSuppression }
  | { readonly status: 'exists'; readonly send: CampaignSend }
  | {
      readonly status: 'capped';
      /** `dailyCap` or `minGap`. */
      readonly cap: 'dailyCap' | 'minGap';
      /** Sends of the mailbox that day. */
      readonly sentToday: number;
      /** The mailbox's last send (epoch ms), if any. */
      readonly lastSentAt?: number;
    };

/** A per-mailbox counter, as {@link CampaignStoreV1.mailboxUsage} reads it. */
export interface CampaignMailboxUsage {
  /** Sends that day. */
  readonly sentToday: number;
  /** The last send of the mailbox (epoch ms), any day. */
  readonly lastSentAt?: number;
}

/** An event about a lead, stored so exits and waits see events that came before they looked. */
export interface CampaignStoredEvent {
  /** Unique id: a second event with the same id is a duplicate and ignored. */
  readonly id: string;
  /** `email.replied`, `meeting.booked`, `lead.updated`, a custom type... */
  readonly type: string;
  /** The lead it is about. */
  readonly leadId: string;
  /** When it happened (epoch ms). */
  readonly at: number;
  /** The send it belongs to, for email events. */
  readonly ledgerKey?: string;
  /** What it carried. */
  readonly data?: Readonly<Record<string, CampaignJsonValue>>;
}

/** Options of {@link CampaignStoreV1.recordEvent}: state changes made in the same transaction. */
export interface CampaignRecordEventOptions {
  /**
   * Exit the lead's `active` enrollments in these campaigns, with the reason
   * for each (`{ 'welcome': 'replied' }`). Done in the same transaction as
   * storing the event, and only when the event is new.
   */
  readonly exit?: Readonly<Record<string, string>>;
  /** Suppress this address in the same transaction (a hard bounce, a complaint, an unsubscribe). */
  readonly suppress?: CampaignSuppression;
}

/** What {@link CampaignStoreV1.recordEvent} did. */
export interface CampaignRecordEventResult {
  /** False when an event with the same id was already stored (nothing changed). */
  readonly recorded: boolean;
  /** The enrollments it exited. */
  readonly exited: readonly CampaignEnrollment[];
}

/** A step that failed for good, kept for inspection and redrive. */
export interface CampaignDeadLetter {
  /** Unique id. */
  readonly id: string;
  /** The enrollment. */
  readonly enrollmentId: string;
  /** The campaign. */
  readonly campaignId: string;
  /** The step. */
  readonly stepId: string;
  /** The error's code (`invalid_request`, `template_error`...). */
  readonly code: string;
  /** The error's message, scrubbed of secrets. */
  readonly message: string;
  /** Attempts made. */
  readonly attempts: number;
  /** When (epoch ms). */
  readonly at: number;
}

/** A persisted one-shot timer (cron and one-off triggers): survives restarts. */
export interface CampaignTimer {
  /** Unique key, such as `cron:weekly-digest`. */
  readonly key: string;
  /** When it fires (epoch ms). */
  readonly runAt: number;
}

/** Per campaign and step counts. */
export interface CampaignStepStats {
  /** Sends marked sent. */
  readonly sent: number;
  /** Sends that failed for good. */
  readonly failed: number;
  /** Distinct sends with at least one `email.delivered` event. */
  readonly delivered: number;
  /** Distinct sends opened. */
  readonly opened: number;
  /** Distinct sends clicked. */
  readonly clicked: number;
  /** Distinct sends replied to. */
  readonly replied: number;
  /** Distinct sends bounced. */
  readonly bounced: number;
  /** Distinct sends followed by an unsubscribe. */
  readonly unsubscribed: number;
}

/** What {@link CampaignStoreV1.stats} answers for one campaign. */
export interface CampaignStats {
  /** Enrollments made. */
  readonly enrolled: number;
  /** Enrollments by status. */
  readonly byStatus: Readonly<Record<CampaignEnrollmentStatus, number>>;
  /** Exited enrollments by reason. */
  readonly exitedByReason: Readonly<Record<string, number>>;
  /** Per step id. */
  readonly steps: Readonly<Record<string, CampaignStepStats>>;
}

/** Options of {@link CampaignStoreV1.listSends}. */
export interface CampaignSendQuery {
  /** Only rows in this state. */
  readonly status?: CampaignSendStatus;
  /** Only rows claimed at or before this time (epoch ms): stale claims. */
  readonly claimedBefore?: number;
  /** Only rows of this enrollment. */
  readonly enrollmentId?: string;
  /** Most rows. Default 100. */
  readonly limit?: number;
}

/**
 * The campaign engine's state. Every method is atomic; the ones that say "in
 * one transaction" must stay atomic under concurrent callers in several
 * processes (a database transaction or a compare-and-set).
 */
export interface CampaignStoreV1 {
  /** Contract version. */
  readonly specificationVersion: 'v1';
  /**
   * Store a new enrollment unless the lead already has one in the campaign
   * (any status): unique on (campaignId, leadId), so an event that would
   * enroll a lead twice does not.
   */
  enroll(enrollment: CampaignEnrollment): Promise<CampaignEnrollResult>;
  /** One enrollment by id. */
  getEnrollment(id: string): Promise<CampaignEnrollment | undefined>;
  /** The lead's enrollments, any status. */
  enrollmentsOfLead(leadId: string): Promise<readonly CampaignEnrollment[]>;
  /**
   * Compare-and-set: replace the enrollment when its stored `version` is
   * `next.version - 1`. Resolves with false (changing nothing) when it moved
   * on or is gone. `nextRunAt` must be absent unless `status` is `active`.
   */
  updateEnrollment(next: CampaignEnrollment): Promise<boolean>;
  /** Active enrollments with `nextRunAt <= now`, earliest first, at most `limit`. */
  due(now: number, limit: number): Promise<readonly CampaignEnrollment[]>;
  /** The earliest `nextRunAt` of an active enrollment, or of a timer; undefined when none. */
  nextWakeAt(): Promise<number | undefined>;
  /**
   * In one transaction: if `claim.email` is suppressed, answer `suppressed`;
   * if the ledger row exists and is not `retry` or `not_sent`, answer
   * `exists`; if the mailbox is over `dailyCap` that day or its last send is
   * less than `minGapMs` ago, answer `capped`; else write the row `claimed`
   * (attempts + 1) and count the send against the mailbox.
   */
  claimSend(claim: CampaignSendClaim): Promise<CampaignClaimResult>;
  /** Mark a `claimed` row `sent` with the provider's message id. Resolves with false when the row is not `claimed`. */
  markSent(ledgerKey: string, messageId: string, at: number): Promise<boolean>;
  /**
   * Mark a `claimed` row `retry` (retryable) or `failed`. Resolves with false
   * when the row is not `claimed`.
   */
  markFailed(
    ledgerKey: string,
    error: { readonly code: string; readonly message: string },
    retryable: boolean,
  ): Promise<boolean>;
  /**
   * Settle a `claimed` row after a crash: `sent` with the message id found
   * (from the provider's events), or `not_sent` when a person decided it never
   * left. Resolves with false when the row is not `claimed`.
   */
  resolveClaim(
    ledgerKey: string,
    outcome: { sent: true; messageId: string; at: number } | { sent: false },
  ): Promise<boolean>;
  /**
   * Reopen a `failed` row (a redrive after the cause was fixed): it becomes
   * `not_sent`, so a later claim may take it. Resolves with false when the row
   * is not `failed`.
   */
  reopenSend(ledgerKey: string): Promise<boolean>;
  /** One ledger row. */
  getSend(ledgerKey: string): Promise<CampaignSend | undefined>;
  /** Ledger rows, oldest claim first. */
  listSends(query?: CampaignSendQuery): Promise<readonly CampaignSend[]>;
  /** The mailbox's counters for a day. */
  mailboxUsage(mailbox: string, day: string): Promise<CampaignMailboxUsage>;
  /** Suppress an address (idempotent: the first reason is kept). Effective for every later claim. */
  suppress(suppression: CampaignSuppression): Promise<void>;
  /** The suppression of an address, if any. */
  getSuppression(email: string): Promise<CampaignSuppression | undefined>;
  /**
   * In one transaction: store the event unless its id is known; when new,
   * exit the lead's active enrollments named in `options.exit` and write
   * `options.suppress`.
   */
  recordEvent(
    event: CampaignStoredEvent,
    options?: CampaignRecordEventOptions,
  ): Promise<CampaignRecordEventResult>;
  /** The lead's stored events at or after `since` (epoch ms), oldest first, optionally only these types. */
  eventsSince(
    leadId: string,
    since: number,
    types?: readonly string[],
  ): Promise<readonly CampaignStoredEvent[]>;
  /** Keep a dead letter (same id replaces). */
  putDeadLetter(letter: CampaignDeadLetter): Promise<void>;
  /** Dead letters, oldest first. */
  listDeadLetters(campaignId?: string): Promise<readonly CampaignDeadLetter[]>;
  /** Remove a dead letter; resolves with false when unknown. */
  removeDeadLetter(id: string): Promise<boolean>;
  /** Set a timer (same key replaces). */
  setTimer(timer: CampaignTimer): Promise<void>;
  /** Timers with `runAt <= now`, earliest first. */
  dueTimers(now: number): Promise<readonly CampaignTimer[]>;
  /** Remove a timer when its `runAt` is still `runAt` (so a replaced one stays); resolves with whether it was removed. */
  removeTimer(key: string, runAt: number): Promise<boolean>;
  /** Counts for one campaign, from the enrollments, the ledger and the stored events. */
  stats(campaignId: string): Promise<CampaignStats>;
  /** Release connections and files. */
  close(): Promise<void>;
}

/** The current campaign store contract. */
export type CampaignStore = CampaignStoreV1;
