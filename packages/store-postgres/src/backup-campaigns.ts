import type { Section } from './backup-section.js';

// The campaign tables in a backup (format version 2). Epoch-ms bigints are written as strings, as positions are:
// node-postgres and PGlite then write the same line.

const nullableJsonb = (path: string) => `NULLIF((${path})::jsonb, 'null'::jsonb)`;

/** The backup sections of the campaign state of `schema` (quoted); `from` is the JSON source of an insert. */
export function campaignSections(schema: string, from: string): Section[] {
  return [
    {
      type: 'campaignEnrollment',
      select: `id, campaign_id AS "campaignId", campaign_version AS "campaignVersion", lead_id AS "leadId", status,
        step_id AS "stepId", version, next_run_at::text AS "nextRunAt", enrolled_at::text AS "enrolledAt",
        step_started_at::text AS "stepStartedAt", attempts, reason, trigger, data`,
      table: `${schema}.campaign_enrollments`,
      keys: [{ column: 'id', property: 'id', cast: 'text' }],
      insert: `INSERT INTO ${schema}.campaign_enrollments (id, campaign_id, campaign_version, lead_id, status, step_id, version,
          next_run_at, enrolled_at, step_started_at, attempts, reason, trigger, data)
        SELECT r->>'id', r->>'campaignId', (r->>'campaignVersion')::integer, r->>'leadId', r->>'status', r->>'stepId',
          (r->>'version')::integer, (r->>'nextRunAt')::bigint, (r->>'enrolledAt')::bigint, (r->>'stepStartedAt')::bigint,
          (r->>'attempts')::integer, r->>'reason', r->>'trigger', ${nullableJsonb("r->'data'")} ${from}`,
    },
    {
      type: 'campaignSend',
      select: `ledger_key AS "ledgerKey", enrollment_id AS "enrollmentId", campaign_id AS "campaignId", step_id AS "stepId",
        lead_id AS "leadId", email, mailbox, variant, status, attempts, claimed_at::text AS "claimedAt",
        sent_at::text AS "sentAt", message_id AS "messageId", error_code AS "errorCode", error_message AS "errorMessage"`,
      table: `${schema}.campaign_sends`,
      keys: [{ column: 'ledger_key', property: 'ledgerKey', cast: 'text' }],
      insert: `INSERT INTO ${schema}.campaign_sends (ledger_key, enrollment_id, campaign_id, step_id, lead_id, email, mailbox,
          variant, status, attempts, claimed_at, sent_at, message_id, error_code, error_message)
        SELECT r->>'ledgerKey', r->>'enrollmentId', r->>'campaignId', r->>'stepId', r->>'leadId', r->>'email', r->>'mailbox',
          r->>'variant', r->>'status', (r->>'attempts')::integer, (r->>'claimedAt')::bigint, (r->>'sentAt')::bigint,
          r->>'messageId', r->>'errorCode', r->>'errorMessage' ${from}`,
    },
    {
      type: 'campaignMailboxDay',
      select: `mailbox, day, sent`,
      table: `${schema}.campaign_mailbox_days`,
      keys: [
        { column: 'mailbox', property: 'mailbox', cast: 'text' },
        { column: 'day', property: 'day', cast: 'text' },
      ],
      insert: `INSERT INTO ${schema}.campaign_mailbox_days (mailbox, day, sent)
        SELECT r->>'mailbox', r->>'day', (r->>'sent')::integer ${from}`,
    },
    {
      type: 'campaignMailbox',
      select: `mailbox, last_sent_at::text AS "lastSentAt"`,
      table: `${schema}.campaign_mailboxes`,
      keys: [{ column: 'mailbox', property: 'mailbox', cast: 'text' }],
      insert: `INSERT INTO ${schema}.campaign_mailboxes (mailbox, last_sent_at)
        SELECT r->>'mailbox', (r->>'lastSentAt')::bigint ${from}`,
    },
    {
      type: 'campaignSuppression',
      select: `email_sha256 AS "emailSha256", reason, source, at::text AS at`,
      table: `${schema}.campaign_suppressions`,
      keys: [{ column: 'email_sha256', property: 'emailSha256', cast: 'text' }],
      insert: `INSERT INTO ${schema}.campaign_suppressions (email_sha256, reason, source, at)
        SELECT r->>'emailSha256', r->>'reason', r->>'source', (r->>'at')::bigint ${from}`,
    },
    {
      type: 'campaignEvent',
      select: `position::text AS position, id, type AS "eventType", lead_id AS "leadId", at::text AS at,
        ledger_key AS "ledgerKey", data`,
      table: `${schema}.campaign_events`,
      keys: [{ column: 'position', property: 'position', cast: 'bigint' }],
      insert: `INSERT INTO ${schema}.campaign_events (position, id, type, lead_id, at, ledger_key, data)
        SELECT (r->>'position')::bigint, r->>'id', r->>'eventType', r->>'leadId', (r->>'at')::bigint, r->>'ledgerKey',
          ${nullableJsonb("r->'data'")} ${from}`,
    },
    {
      type: 'campaignDeadLetter',
      select: `id, enrollment_id AS "enrollmentId", campaign_id AS "campaignId", step_id AS "stepId", code, message,
        attempts, at::text AS at`,
      table: `${schema}.campaign_dead_letters`,
      keys: [{ column: 'id', property: 'id', cast: 'text' }],
      insert: `INSERT INTO ${schema}.campaign_dead_letters (id, enrollment_id, campaign_id, step_id, code, message, attempts, at)
        SELECT r->>'id', r->>'enrollmentId', r->>'campaignId', r->>'stepId', r->>'code', r->>'message',
          (r->>'attempts')::integer, (r->>'at')::bigint ${from}`,
    },
    {
      type: 'campaignTimer',
      select: `key, run_at::text AS "runAt"`,
      table: `${schema}.campaign_timers`,
      keys: [{ column: 'key', property: 'key', cast: 'text' }],
      insert: `INSERT INTO ${schema}.campaign_timers (key, run_at)
        SELECT r->>'key', (r->>'runAt')::bigint ${from}`,
    },
  ];
}
