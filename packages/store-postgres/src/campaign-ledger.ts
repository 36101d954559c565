import type { CampaignClaimResult, CampaignStoreV1 } from '@leadpipe/core/adapter-kit';
import { checkLimit, checkOneOf, checkTime, SUPPRESSION_REASONS } from './campaign-checks.js';
import { listSendsSql } from './campaign-queries.js';
import { type Row, SEND_COLUMNS, sendOf, suppressionKey, suppressionOf } from './campaign-rows.js';
import type { SqlDatabase } from './sql-client.js';

/** The send ledger, mailbox counters and suppressions of a {@link CampaignStoreV1}. */
export type CampaignLedger = Pick<
  CampaignStoreV1,
  | 'claimSend'
  | 'markSent'
  | 'markFailed'
  | 'resolveClaim'
  | 'reopenSend'
  | 'getSend'
  | 'listSends'
  | 'mailboxUsage'
  | 'suppress'
  | 'getSuppression'
>;

/**
 * The ledger on the `campaign_sends`, `campaign_mailbox_days`,
 * `campaign_mailboxes` and `campaign_suppressions` tables of `schema` (quoted).
 *
 * A claim is one transaction: it takes a transaction-level advisory lock on
 * the mailbox (claims of one mailbox take turns, so its daily cap and minimum
 * gap hold across processes), reads the suppression, the ledger row and the
 * counters, and writes the row and the counters. The row is written with
 * `INSERT ... ON CONFLICT ... WHERE status IN ('retry', 'not_sent')`, so two
 * claims of one key through different mailboxes still have one winner.
 */
export function createCampaignLedgerOn(database: SqlDatabase, schema: string): CampaignLedger {
  const sends = `${schema}.campaign_sends`;
  const days = `${schema}.campaign_mailbox_days`;
  const mailboxes = `${schema}.campaign_mailboxes`;
  const suppressions = `${schema}.campaign_suppressions`;

  /** Move a `claimed` row on; false when the row is not `claimed`. */
  const settle = async (ledgerKey: string, set: string, values: unknown[]): Promise<boolean> => {
    const { rows } = await database.query(
      `UPDATE ${sends} SET ${set} WHERE ledger_key = $1 AND status = 'claimed' RETURNING 1`,
      [ledgerKey, ...values],
    );
    return rows.length > 0;
  };

  return {
    async claimSend(claim): Promise<CampaignClaimResult> {
      checkTime('at', claim.at);
      const email = claim.email.toLowerCase();
      const { cap } = claim;
      return database.transaction(async (session) => {
        await session.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [
          `leadpipe.campaign.mailbox.${schema}.${cap.mailbox}`,
        ]);
        const suppressed = await session.query<Row>(
          `SELECT reason, source, at FROM ${suppressions} WHERE email_sha256 = $1`,
          [suppressionKey(email)],
        );
        if (suppressed.rows[0] !== undefined) {
          return { status: 'suppressed', suppression: suppressionOf(suppressed.rows[0], email) };
        }
        const existing = await session.query<Row>(
          `SELECT ${SEND_COLUMNS} FROM ${sends} WHERE ledger_key = $1`,
          [claim.ledgerKey],
        );
        const before = existing.rows[0];
        if (before !== undefined && before.status !== 'retry' && before.status !== 'not_sent') {
          return { status: 'exists', send: sendOf(before) };
        }
        const usage = await session.query<Row>(
          `SELECT (SELECT sent FROM ${days} WHERE mailbox = $1 AND day = $2) AS sent, (SELECT last_sent_at FROM ${mailboxes} WHERE mailbox = $1) AS last_sent_at`,
          [cap.mailbox, cap.day],
        );
        const sentToday = Number(usage.rows[0]?.sent ?? 0);
        const last = usage.rows[0]?.last_sent_at;
        const lastSentAt = last === null || last === undefined ? undefined : Number(last);
        const capped =
          cap.dailyCap !== undefined && sentToday >= cap.dailyCap
            ? 'dailyCap'
            : cap.minGapMs !== undefined && lastSentAt !== undefined && claim.at - lastSentAt < cap.minGapMs
              ? 'minGap'
              : undefined;
        if (capped !== undefined) {
          return {
            status: 'capped',
            cap: capped,
            sentToday,
            ...(lastSentAt === undefined ? {} : { lastSentAt }),
          };
        }
        const written = await session.query<Row>(
          `INSERT INTO ${sends} AS s (ledger_key, enrollment_id, campaign_id, step_id, lead_id, email, mailbox, variant, status, attempts, claimed_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'claimed', 1, $9)
           ON CONFLICT (ledger_key) DO UPDATE SET status = 'claimed', attempts = s.attempts + 1, claimed_at = EXCLUDED.claimed_at,
             email = EXCLUDED.email, mailbox = EXCLUDED.mailbox, variant = EXCLUDED.variant
           WHERE s.status IN ('retry', 'not_sent')
           RETURNING ${SEND_COLUMNS}`,
          [
            claim.ledgerKey,
            claim.enrollmentId,
            claim.campaignId,
            claim.stepId,
            claim.leadId,
            email,
            cap.mailbox,
            claim.variant ?? null,
            claim.at,
          ],
        );
        const send = written.rows[0];
        if (send === undefined) {
          // Another mailbox's claim of the same key won meanwhile.
          const now = await session.query<Row>(`SELECT ${SEND_COLUMNS} FROM ${sends} WHERE ledger_key = $1`, [
            claim.ledgerKey,
          ]);
          return { status: 'exists', send: sendOf(now.rows[0]!) };
        }
        await session.query(
          `INSERT INTO ${days} (mailbox, day, sent) VALUES ($1, $2, 1) ON CONFLICT (mailbox, day) DO UPDATE SET sent = ${days}.sent + 1`,
          [cap.mailbox, cap.day],
        );
        await session.query(
          `INSERT INTO ${mailboxes} (mailbox, last_sent_at) VALUES ($1, $2) ON CONFLICT (mailbox) DO UPDATE SET last_sent_at = EXCLUDED.last_sent_at`,
          [cap.mailbox, claim.at],
        );
        return { status: 'claimed', send: sendOf(send) };
      });
    },

    markSent: (ledgerKey, messageId, at) => {
      checkTime('at', at);
      return settle(ledgerKey, `status = 'sent', message_id = $2, sent_at = $3`, [messageId, at]);
    },

    markFailed: (ledgerKey, error, retryable) =>
      settle(ledgerKey, `status = $2, error_code = $3, error_message = $4`, [
        retryable ? 'retry' : 'failed',
        error.code,
        error.message,
      ]),

    resolveClaim: (ledgerKey, outcome) => {
      if (!outcome.sent) return settle(ledgerKey, `status = 'not_sent'`, []);
      checkTime('at', outcome.at);
      return settle(ledgerKey, `status = 'sent', message_id = $2, sent_at = $3`, [
        outcome.messageId,
        outcome.at,
      ]);
    },

    async reopenSend(ledgerKey) {
      const { rows } = await database.query(
        `UPDATE ${sends} SET status = 'not_sent' WHERE ledger_key = $1 AND status = 'failed' RETURNING 1`,
        [ledgerKey],
      );
      return rows.length > 0;
    },

    async getSend(ledgerKey) {
      const { rows } = await database.query<Row>(
        `SELECT ${SEND_COLUMNS} FROM ${sends} WHERE ledger_key = $1`,
        [ledgerKey],
      );
      return rows[0] === undefined ? undefined : sendOf(rows[0]);
    },

    async listSends(query = {}) {
      if (query.claimedBefore !== undefined) checkTime('claimedBefore', query.claimedBefore);
      const limit = query.limit ?? 100;
      checkLimit('limit', limit);
      const { rows } = await database.query<Row>(listSendsSql(schema), [
        query.status ?? null,
        query.claimedBefore ?? null,
        query.enrollmentId ?? null,
        limit,
      ]);
      return rows.map(sendOf);
    },

    async mailboxUsage(mailbox, day) {
      const { rows } = await database.query<Row>(
        `SELECT (SELECT sent FROM ${days} WHERE mailbox = $1 AND day = $2) AS sent, (SELECT last_sent_at FROM ${mailboxes} WHERE mailbox = $1) AS last_sent_at`,
        [mailbox, day],
      );
      const last = rows[0]?.last_sent_at;
      return {
        sentToday: Number(rows[0]?.sent ?? 0),
        ...(last === null || last === undefined ? {} : { lastSentAt: Number(last) }),
      };
    },

    async suppress(suppression) {
      checkTime('at', suppression.at);
      checkOneOf('reason', suppression.reason, SUPPRESSION_REASONS);
      await database.query(
        `INSERT INTO ${suppressions} (email_sha256, reason, source, at) VALUES ($1, $2, $3, $4) ON CONFLICT (email_sha256) DO NOTHING`,
        [suppressionKey(suppression.email), suppression.reason, suppression.source, suppression.at],
      );
    },

    async getSuppression(email) {
      const { rows } = await database.query<Row>(
        `SELECT reason, source, at FROM ${suppressions} WHERE email_sha256 = $1`,
        [suppressionKey(email)],
      );
      return rows[0] === undefined ? undefined : suppressionOf(rows[0], email);
    },
  };
}
