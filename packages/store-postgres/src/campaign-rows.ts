import { createHash } from 'node:crypto';
import type {
  CampaignDeadLetter,
  CampaignEnrollment,
  CampaignEnrollmentStatus,
  CampaignJsonValue,
  CampaignSend,
  CampaignSendStatus,
  CampaignStoredEvent,
  CampaignSuppression,
  CampaignSuppressionReason,
} from '@leadpipe/core/adapter-kit';

// Rows of the campaign tables and the contract's objects. Epoch-ms columns are bigint: node-postgres reads them as
// strings, PGlite as numbers, so every one goes through Number().

/** A row as either driver returns it. */
export type Row = Record<string, unknown>;

const num = (value: unknown): number => Number(value);
const optionalNumber = (value: unknown): number | undefined =>
  value === null || value === undefined ? undefined : Number(value);
const optionalText = (value: unknown): string | undefined =>
  value === null || value === undefined ? undefined : String(value);

/** The columns of `campaign_enrollments` that {@link enrollmentOf} reads. */
export const ENROLLMENT_COLUMNS =
  'id, campaign_id, campaign_version, lead_id, status, step_id, version, next_run_at, enrolled_at, step_started_at, attempts, reason, trigger, data';

/** The values of an INSERT of all {@link ENROLLMENT_COLUMNS}, `$1` to `$14`. */
export function enrollmentValues(enrollment: CampaignEnrollment): unknown[] {
  return [
    enrollment.id,
    enrollment.campaignId,
    enrollment.campaignVersion,
    enrollment.leadId,
    enrollment.status,
    enrollment.stepId,
    enrollment.version,
    enrollment.nextRunAt ?? null,
    enrollment.enrolledAt,
    enrollment.stepStartedAt ?? null,
    enrollment.attempts,
    enrollment.reason ?? null,
    enrollment.trigger,
    enrollment.data === undefined ? null : JSON.stringify(enrollment.data),
  ];
}

/** An enrollment from its row. */
export function enrollmentOf(row: Row): CampaignEnrollment {
  const nextRunAt = optionalNumber(row.next_run_at);
  const stepStartedAt = optionalNumber(row.step_started_at);
  const reason = optionalText(row.reason);
  const data = row.data as Readonly<Record<string, CampaignJsonValue>> | null;
  return {
    id: String(row.id),
    campaignId: String(row.campaign_id),
    campaignVersion: num(row.campaign_version),
    leadId: String(row.lead_id),
    status: row.status as CampaignEnrollmentStatus,
    stepId: String(row.step_id),
    version: num(row.version),
    ...(nextRunAt === undefined ? {} : { nextRunAt }),
    enrolledAt: num(row.enrolled_at),
    ...(stepStartedAt === undefined ? {} : { stepStartedAt }),
    attempts: num(row.attempts),
    ...(reason === undefined ? {} : { reason }),
    trigger: String(row.trigger),
    ...(data === null || data === undefined ? {} : { data }),
  };
}

/** The columns of `campaign_sends` that {@link sendOf} reads. */
export const SEND_COLUMNS =
  'ledger_key, enrollment_id, campaign_id, step_id, lead_id, email, mailbox, variant, status, attempts, claimed_at, sent_at, message_id, error_code, error_message';

/** A ledger row. */
export function sendOf(row: Row): CampaignSend {
  const variant = optionalText(row.variant);
  const sentAt = optionalNumber(row.sent_at);
  const messageId = optionalText(row.message_id);
  const code = optionalText(row.error_code);
  return {
    ledgerKey: String(row.ledger_key),
    enrollmentId: String(row.enrollment_id),
    campaignId: String(row.campaign_id),
    stepId: String(row.step_id),
    leadId: String(row.lead_id),
    email: String(row.email),
    mailbox: String(row.mailbox),
    ...(variant === undefined ? {} : { variant }),
    status: row.status as CampaignSendStatus,
    attempts: num(row.attempts),
    claimedAt: num(row.claimed_at),
    ...(sentAt === undefined ? {} : { sentAt }),
    ...(messageId === undefined ? {} : { messageId }),
    ...(code === undefined ? {} : { error: { code, message: String(row.error_message ?? '') } }),
  };
}

/**
 * The key a suppression is stored under: SHA-256 (hex) of the lower-cased
 * address. The table never holds the address itself, so erasing a person
 * leaves their suppression in force without keeping who they were in clear.
 */
export function suppressionKey(email: string): string {
  return createHash('sha256').update(email.toLowerCase()).digest('hex');
}

/** A suppression from its row, for the address it was looked up by (lower case). */
export function suppressionOf(row: Row, email: string): CampaignSuppression {
  return {
    email: email.toLowerCase(),
    reason: row.reason as CampaignSuppressionReason,
    source: String(row.source),
    at: num(row.at),
  };
}

/** The columns of `campaign_events` that {@link eventOf} reads. */
export const EVENT_COLUMNS = 'id, type, lead_id, at, ledger_key, data';

/** A stored event from its row. */
export function eventOf(row: Row): CampaignStoredEvent {
  const ledgerKey = optionalText(row.ledger_key);
  const data = row.data as Readonly<Record<string, CampaignJsonValue>> | null;
  return {
    id: String(row.id),
    type: String(row.type),
    leadId: String(row.lead_id),
    at: num(row.at),
    ...(ledgerKey === undefined ? {} : { ledgerKey }),
    ...(data === null || data === undefined ? {} : { data }),
  };
}

/** A campaign dead letter from its row. */
export function deadLetterOf(row: Row): CampaignDeadLetter {
  return {
    id: String(row.id),
    enrollmentId: String(row.enrollment_id),
    campaignId: String(row.campaign_id),
    stepId: String(row.step_id),
    code: String(row.code),
    message: String(row.message),
    attempts: num(row.attempts),
    at: num(row.at),
  };
}
