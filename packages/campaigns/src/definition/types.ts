import type { DurationInput } from '../schedule/wait.js';
import type { SendingWindow } from '../schedule/window.js';
import type { Condition } from './condition.js';

/** The kinds of step, in the order they are documented. */
export const STEP_KINDS = [
  'email',
  'webhook',
  'updateLead',
  'updateCrm',
  'wait',
  'waitForEvent',
  'branch',
  'exit',
] as const;

/** One of {@link STEP_KINDS}. */
export type StepKind = (typeof STEP_KINDS)[number];

/** The built-in exit reasons, each backed by email or CRM events. */
export const EXIT_REASONS = ['reply', 'bounce', 'unsubscribe', 'complaint', 'meetingBooked'] as const;

/** One of {@link EXIT_REASONS}. */
export type ExitReason = (typeof EXIT_REASONS)[number];

/** An email template in Liquid, inline in a step or under the campaign's `templates`. */
export interface EmailTemplateSource {
  /** The subject line. */
  readonly subject: string;
  /** The HTML body; marketing mail must link `{{ unsubscribe_url }}`. */
  readonly html: string;
  /** The text body; derived from the HTML when absent. */
  readonly text?: string;
}

/** A template: the name of one in the campaign's `templates`, or one written inline. */
export type TemplateRef = string | EmailTemplateSource;

/** One A/B variant of an email step. */
export interface EmailVariant {
  /** The variant's id, unique in the step (reported in events). */
  readonly id: string;
  /** Its share of the split, relative to the other variants. */
  readonly weight: number;
  /** Its template. */
  readonly template: TemplateRef;
}

/** An email step: a template or A/B variants, from a mailbox. */
export interface EmailStep {
  /** The template, when there are no variants. */
  readonly template?: TemplateRef;
  /** Two or more variants with split weights, when there is no single template. */
  readonly variants?: readonly EmailVariant[];
  /** The mailbox to send from (a key of the campaign's `mailboxes`); absent: the sender's `from`. */
  readonly mailbox?: string;
  /** Transactional mail: no List-Unsubscribe headers and no unsubscribe link required. Default false. */
  readonly transactional: boolean;
}

/** A webhook step: POSTs to `url`, signed with the secret `secretRef` names, within `timeout`. */
export interface WebhookStep {
  /** The https URL (http only on localhost). */
  readonly url: string;
  /** The name of the signing secret the host resolves (such as an environment variable), never the secret. */
  readonly secretRef: string;
  /** How long to wait for an answer; default `10s`, at most 5 minutes. */
  readonly timeout: DurationInput;
}

/** Sets lead fields. */
export interface UpdateLeadStep {
  /** Field paths (such as `custom.nurture`) and their new values. */
  readonly set: Readonly<Record<string, unknown>>;
}

/** Sets CRM properties through a CRM adapter. */
export interface UpdateCrmStep {
  /** The CRM adapter's id, when the host has several. */
  readonly crm?: string;
  /** CRM property names and values. */
  readonly properties: Readonly<Record<string, unknown>>;
}

/** Waits for exactly one of a duration, a number of business days, or a time. */
export interface WaitStep {
  /** A length of time (calendar days keep the wall-clock time). */
  readonly duration?: DurationInput;
  /** A number of business days in the recipient's calendar. */
  readonly businessDays?: number;
  /** `HH:mm` (the next such local time) or an ISO 8601 date-time. */
  readonly until?: string;
}

/** Waits for an event, up to a timeout. Events stored since enrollment count too. */
export interface WaitForEventStep {
  /** The event name, such as `email.opened`. */
  readonly event: string;
  /** A condition the event must meet. */
  readonly match?: Condition;
  /** How long to wait. */
  readonly timeout: DurationInput;
  /** What to do when no event came: go on with the next step (default) or exit. */
  readonly onTimeout: 'continue' | 'exit';
}

/** Runs `then` when the condition holds for the lead, else `else`. */
export interface BranchStep {
  /** The condition, evaluated against the lead when the step runs. */
  readonly if: Condition;
  /** Steps when it holds. */
  readonly then: readonly CampaignStep[];
  /** Steps when it does not (may be empty). */
  readonly else: readonly CampaignStep[];
}

/** Ends the enrollment. */
export interface ExitStep {
  /** Why, for reports. */
  readonly reason?: string;
}

/** What every step has. */
export interface StepBase {
  /** A stable id, unique in the campaign (default: its position, such as `step-3` or `step-3-then-1`). */
  readonly id: string;
  /** A label for dashboards. */
  readonly name?: string;
}

/** A step that sends an email. */
export interface EmailCampaignStep extends StepBase {
  /** The kind. */
  readonly kind: 'email';
  /** The settings. */
  readonly email: EmailStep;
}
/** A step that calls a webhook. */
export interface WebhookCampaignStep extends StepBase {
  /** The kind. */
  readonly kind: 'webhook';
  /** The settings. */
  readonly webhook: WebhookStep;
}
/** A step that updates the lead. */
export interface UpdateLeadCampaignStep extends StepBase {
  /** The kind. */
  readonly kind: 'updateLead';
  /** The settings. */
  readonly updateLead: UpdateLeadStep;
}
/** A step that updates CRM properties. */
export interface UpdateCrmCampaignStep extends StepBase {
  /** The kind. */
  readonly kind: 'updateCrm';
  /** The settings. */
  readonly updateCrm: UpdateCrmStep;
}
/** A step that waits. */
export interface WaitCampaignStep extends StepBase {
  /** The kind. */
  readonly kind: 'wait';
  /** The settings. */
  readonly wait: WaitStep;
}
/** A step that waits for an event. */
export interface WaitForEventCampaignStep extends StepBase {
  /** The kind. */
  readonly kind: 'waitForEvent';
  /** The settings. */
  readonly waitForEvent: WaitForEventStep;
}
/** A step that branches. */
export interface BranchCampaignStep extends StepBase {
  /** The kind. */
  readonly kind: 'branch';
  /** The settings. */
  readonly branch: BranchStep;
}
/** A step that ends the enrollment. */
export interface ExitCampaignStep extends StepBase {
  /** The kind. */
  readonly kind: 'exit';
  /** The settings. */
  readonly exit: ExitStep;
}

/** One step of a campaign, tagged with its kind; its settings are under the key named like the kind. */
export type CampaignStep =
  | EmailCampaignStep
  | WebhookCampaignStep
  | UpdateLeadCampaignStep
  | UpdateCrmCampaignStep
  | WaitCampaignStep
  | WaitForEventCampaignStep
  | BranchCampaignStep
  | ExitCampaignStep;

/** Enrolls leads on a cron schedule (every lead in the audience) or once at a time. */
export interface TimeTrigger {
  /** The kind. */
  readonly kind: 'time';
  /** A cron expression with its zone (the campaign's when not given), or one instant. */
  readonly time:
    | {
        /** The cron expression. */
        readonly cron: string;
        /** The IANA zone it is read in. */
        readonly timeZone: string;
      }
    | {
        /** An ISO 8601 date-time with an offset. */
        readonly at: string;
      };
}

/** Enrolls a lead when an event about it arrives. */
export interface EventTrigger {
  /** The kind. */
  readonly kind: 'event';
  /** The event. */
  readonly event: {
    /** Its name, such as `lead.created`, `crm.synced` or a host app's own. */
    readonly name: string;
    /** A condition the event must meet. */
    readonly match?: Condition;
  };
}

/** Enrolls a lead when a condition becomes true on an update (a threshold crossed, a field changed). */
export interface ConditionTrigger {
  /** The kind. */
  readonly kind: 'condition';
  /** The condition and the events it is evaluated on. */
  readonly condition: {
    /** The condition, such as `company.headcount >= 200` or `title changed`. */
    readonly when: Condition;
    /** The events that re-evaluate it; default `lead.updated` and `lead.enriched`. */
    readonly events: readonly string[];
  };
}

/** A campaign's trigger, tagged with its kind. */
export type CampaignTrigger = TimeTrigger | EventTrigger | ConditionTrigger;

/** An exit rule: a custom event, with an optional condition on it. */
export interface CustomExitRule {
  /** The event name. */
  readonly event: string;
  /** A condition the event must meet. */
  readonly match?: Condition;
}

/** An exit rule: a built-in reason or a custom event. */
export type ExitRule = ExitReason | CustomExitRule;

/** An address with an optional display name. */
export interface NamedAddress {
  /** The email address. */
  readonly email: string;
  /** The display name. */
  readonly name?: string;
}

/** The sender of a campaign. */
export interface CampaignSender {
  /** The From address. */
  readonly from: string | NamedAddress;
  /** The Reply-To address. */
  readonly replyTo?: string;
  /** The physical postal address every commercial email carries (CAN-SPAM); required. */
  readonly postalAddress: string;
  /** The https base of unsubscribe links and the List-Unsubscribe header. */
  readonly unsubscribeBaseUrl: string;
}

/** A sending mailbox with its own limits. */
export interface CampaignMailbox {
  /** Its address. */
  readonly from: string;
  /** Its display name. */
  readonly name?: string;
  /** The most sends per day (overrides `caps.dailyPerMailbox`). */
  readonly dailyCap?: number;
  /** The least time between sends (overrides `caps.minGap`). */
  readonly minGap?: DurationInput;
}

/** Campaign-wide mailbox limits. */
export interface CampaignCaps {
  /** The most sends per mailbox per day. */
  readonly dailyPerMailbox?: number;
  /** The least time between two sends from one mailbox. */
  readonly minGap?: DurationInput;
}

/** A checked campaign with every default filled in. */
export interface Campaign {
  /** The campaign's id. */
  readonly id: string;
  /** A display name. */
  readonly name?: string;
  /** The campaign's zone: for cron triggers without their own and recipients whose zone is unknown. */
  readonly timeZone: string;
  /** Where a recipient's zone comes from: the lead's location (default) or always the campaign's zone. */
  readonly recipientTimeZone: 'lead' | 'campaign';
  /** What enrolls leads. */
  readonly trigger: CampaignTrigger;
  /** Who may enroll; absent: every lead. */
  readonly audience?: Condition;
  /** The sequence. */
  readonly steps: readonly CampaignStep[];
  /** What ends an enrollment, checked before every step. */
  readonly exitOn: readonly ExitRule[];
  /** The sender. */
  readonly sender: CampaignSender;
  /** Named mailboxes email steps may send from. */
  readonly mailboxes?: Readonly<Record<string, CampaignMailbox>>;
  /** Named templates email steps refer to. */
  readonly templates: Readonly<Record<string, EmailTemplateSource>>;
  /** When sends are allowed, in the recipient's zone (default Monday to Friday, 09:00-17:00). */
  readonly sendingWindows: readonly SendingWindow[];
  /** Dates (`YYYY-MM-DD`, recipient's zone) with no sends and no business day counted. */
  readonly holidays: readonly string[];
  /** Mailbox limits. */
  readonly caps: CampaignCaps;
}
