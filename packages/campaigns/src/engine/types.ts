import type { CampaignJsonValue, EmailAddress, LeadStoreFilter } from '@leadpipe/core';
import type { Condition } from '../definition/condition.js';
import type { EventMatch } from '../definition/match.js';
import type { SendingWindow } from '../schedule/window.js';

/**
 * A condition over a lead (and the enrollment's trigger data under `data.`):
 * the definition module's condition language, such as
 * `{ field: 'company.headcount', op: '>=', value: 200 }` or `all` / `any`
 * lists. Write it as a string (`company.headcount >= 200`) through
 * `parseCondition` or a campaign file.
 */
export type CampaignCondition = Condition;

/**
 * What enrolls a lead:
 * - `event`: an event of this type about the lead (`lead.created`, `lead.updated`, `lead.enriched`, `crm.synced`, `email.opened`, a custom type);
 * - `condition`: on lead events, `when` became true (was false before: a threshold crossing such as `company.headcount >= 200`);
 * - `changed`: on lead events, the field's value changed (a new `title`);
 * - `cron`: on a cron schedule in a time zone, every lead of `audience` (a lead store query filter);
 * - `at`: once, at a time, every lead of `audience`.
 */
export type CampaignTrigger =
  | {
      /** An event trigger. */
      readonly type: 'event';
      /** The event type. */
      readonly event: string;
      /**
       * Only events whose data passes this filter enroll: a condition over the event's data and `type`
       * (`properties.crm = hubspot`) or an equality map (`{ 'properties.crm': 'hubspot' }`).
       */
      readonly match?: EventMatch;
    }
  | {
      /** A condition trigger. */
      readonly type: 'condition';
      /** The condition that must become true. */
      readonly when: CampaignCondition;
    }
  | {
      /** A field-change trigger. */
      readonly type: 'changed';
      /** The field whose change enrolls. */
      readonly field: string;
    }
  | {
      /** A cron trigger. */
      readonly type: 'cron';
      /** Cron pattern. */
      readonly cron: string;
      /** IANA zone the pattern is read in. */
      readonly timeZone: string;
      /** Leads to enroll, as a lead store filter. Default: every lead. */
      readonly audience?: LeadStoreFilter;
    }
  | {
      /** A one-off trigger. */
      readonly type: 'at';
      /** ISO 8601 time. */
      readonly at: string;
      /** Leads to enroll, as a lead store filter. Default: every lead. */
      readonly audience?: LeadStoreFilter;
    };

/** An email's content, as Liquid templates. */
export interface CampaignEmailTemplate {
  /** Subject template. */
  readonly subject: string;
  /** HTML body template. */
  readonly html?: string;
  /** Plain-text body template. */
  readonly text?: string;
}

/** One A/B variant of an email step. */
export interface CampaignEmailVariant extends CampaignEmailTemplate {
  /** Variant id, such as `a`. */
  readonly id: string;
  /** Relative weight of the split. Default 1. */
  readonly weight?: number;
}

/** Fields every step has. */
interface StepBase {
  /** Unique within the campaign: letters, digits, `_` and `-`. It names the step in the send ledger. */
  readonly id: string;
  /** The step run after this one, or {@link END_OF_CAMPAIGN}. Default: the next in the list (the end of the campaign after the last). */
  readonly next?: string;
}

/** Send one email. */
export interface CampaignEmailStep extends StepBase {
  /** Step type. */
  readonly type: 'email';
  /** The content (or give `variants`). */
  readonly template?: CampaignEmailTemplate;
  /** A/B variants, split by weight, deterministically by enrollment id. */
  readonly variants?: readonly CampaignEmailVariant[];
  /** Sender: one of the engine's `senders` by its email; default the first. */
  readonly from?: string;
  /** Marketing mail carries List-Unsubscribe headers and a body link. Default true. */
  readonly marketing?: boolean;
}

/** Call a webhook: a signed JSON POST with an `Idempotency-Key`. */
export interface CampaignWebhookStep extends StepBase {
  /** Step type. */
  readonly type: 'webhook';
  /** The https (or http, for local tests) URL. */
  readonly url: string;
  /** Signing secret: the body is signed with HMAC-SHA256 (`X-Leadpipe-Signature: t=<ms>,v1=<hex>` over `<t>.<body>`). */
  readonly secret: string;
  /** Time allowed, in ms. Default 10 000. */
  readonly timeoutMs?: number;
}

/** Update fields of the lead in the lead store. */
export interface CampaignUpdateLeadStep extends StepBase {
  /** Step type. */
  readonly type: 'updateLead';
  /** Custom fields to set (written with provenance `campaign:<id>`). */
  readonly custom: Readonly<Record<string, CampaignJsonValue>>;
}

/** Set properties of the lead's record in a CRM. */
export interface CampaignCrmStep extends StepBase {
  /** Step type. */
  readonly type: 'crm';
  /** The CRM: a key of the engine's `crms`. */
  readonly crm: string;
  /** CRM object type, such as `contacts`. */
  readonly object: string;
  /** The unique id property, such as `email`. */
  readonly idProperty: string;
  /** The lead field whose value is the record key. Default `email`. */
  readonly keyField?: string;
  /** Properties to write. */
  readonly properties: Readonly<Record<string, string | number | boolean>>;
}

/** Wait: a duration, N business days, or until a time. */
export interface CampaignWaitStep extends StepBase {
  /** Step type. */
  readonly type: 'wait';
  /** A duration in ms. */
  readonly durationMs?: number;
  /** Business days (weekends and holidays skipped, in the recipient's zone; same wall-clock time). */
  readonly businessDays?: number;
  /** An ISO 8601 time (without an offset: in the recipient's zone), or `HH:mm`: its next occurrence there. */
  readonly until?: string;
}

/** Wait for an event about the lead, with a timeout. Stored events since enrollment count. */
export interface CampaignWaitForEventStep extends StepBase {
  /** Step type. */
  readonly type: 'waitForEvent';
  /** Event types that end the wait. */
  readonly events: readonly string[];
  /** Only events whose data passes this filter end the wait (see {@link CampaignExitRule.match}). */
  readonly match?: EventMatch;
  /** How long to wait, from when the step began, in ms. */
  readonly timeoutMs: number;
  /** Step after the event. Default `next`. */
  readonly onEvent?: string;
  /** Step after the timeout. Default `next`. */
  readonly onTimeout?: string;
}

/** Go one way or the other. */
export interface CampaignBranchStep extends StepBase {
  /** Step type. */
  readonly type: 'branch';
  /** The condition. */
  readonly if: CampaignCondition;
  /** Step when it holds. (Not `then`: an object with a `then` is taken for a promise.) */
  readonly whenTrue: string;
  /** Step when it does not. Default `next`. */
  readonly whenFalse?: string;
}

/** End the enrollment. */
export interface CampaignExitStep extends StepBase {
  /** Step type. */
  readonly type: 'exit';
  /** The exit reason. Default `exit_step`. */
  readonly reason?: string;
}

/** One step of a sequence. */
export type CampaignStep =
  | CampaignEmailStep
  | CampaignWebhookStep
  | CampaignUpdateLeadStep
  | CampaignCrmStep
  | CampaignWaitStep
  | CampaignWaitForEventStep
  | CampaignBranchStep
  | CampaignExitStep;

/** When sends may go out, read by the engine's timing (the schedule module). */
export interface CampaignSendingPolicy {
  /** The campaign's zone: for mailbox days and recipients whose zone is unknown. Default `UTC`. */
  readonly timeZone?: string;
  /** Where a recipient's zone comes from: the lead's location, else the campaign's (`lead`, default), or always the campaign's. */
  readonly recipientTimeZone?: 'lead' | 'campaign';
  /**
   * Sending windows in the recipient's local time: days (`mon`..`sun`) and
   * hours `HH:mm`-`HH:mm`. Absent: any time (unless holidays are given, then
   * any time of Monday to Friday). Business-day waits count the windows' days.
   */
  readonly windows?: readonly SendingWindow[];
  /** Dates (`YYYY-MM-DD`, recipient's zone) nothing is sent on and no business day is counted. */
  readonly holidays?: readonly string[];
  /** Most sends per mailbox per day (counted in the campaign's zone). */
  readonly dailyCapPerMailbox?: number;
  /** Least time between two sends of a mailbox, in ms. */
  readonly minGapMs?: number;
}

/**
 * A campaign: a trigger, an audience condition and a sequence of steps.
 * This is the engine's view; the definition module's zod schema (JSON/YAML)
 * produces it.
 */
export interface CampaignDefinition {
  /** Stable id: letters, digits, `_` and `-`. */
  readonly id: string;
  /** Version of the definition; enrollments keep the one they started on. Default 1. */
  readonly version?: number;
  /** What enrolls leads (any of them). */
  readonly triggers: readonly CampaignTrigger[];
  /** Leads must meet this to be enrolled. */
  readonly audience?: CampaignCondition;
  /** The steps, run in order unless a step names its `next`. */
  readonly steps: readonly CampaignStep[];
  /**
   * Event types that exit an enrollment, checked before every step and
   * applied as they arrive. Default: `email.replied`, `email.bounced`,
   * `email.unsubscribed`, `email.complained`, `meeting.booked`. The exit
   * reason is the event type. A rule `{ event, match }` exits only on events
   * whose data passes `match`.
   */
  readonly exitOn?: readonly (string | CampaignExitRule)[];
  /** When sends may go out. */
  readonly sending?: CampaignSendingPolicy;
}

/** An exit rule with a filter: events of this type exit only when their data passes `match`. */
export interface CampaignExitRule {
  /** The event type, such as `meeting.booked` or `crm.synced`. */
  readonly event: string;
  /**
   * A filter on the event's data and `type`: a condition (`properties.stage = customer`) or an equality map
   * (`{ 'properties.stage': 'customer' }`). Absent: every event of the type exits.
   */
  readonly match?: EventMatch;
}

/** A sender: a mailbox, its own limits, and the postal address every marketing email carries (CAN-SPAM). */
export interface CampaignSender extends EmailAddress {
  /** The sender's physical postal address, printed in every marketing email. Required. */
  readonly postalAddress: string;
  /** Where replies go. */
  readonly replyTo?: EmailAddress;
  /**
   * Most sends of this mailbox per day, over every campaign that sends from it (counted in the sending campaign's
   * zone). Overrides the campaign's `sending.dailyCapPerMailbox`.
   */
  readonly dailyCap?: number;
  /** Least time between two sends of this mailbox, in ms. Overrides the campaign's `sending.minGapMs`. */
  readonly minGapMs?: number;
}

/** The default exit events. */
export const DEFAULT_EXIT_EVENTS: readonly string[] = [
  'email.replied',
  'email.bounced',
  'email.unsubscribed',
  'email.complained',
  'meeting.booked',
];

/** A step target (`next`, `whenTrue`, `whenFalse`, `onEvent`, `onTimeout`) that completes the enrollment. */
export const END_OF_CAMPAIGN = '$end';
