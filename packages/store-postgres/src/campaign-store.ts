import {
  type CampaignEnrollment,
  type CampaignEnrollmentStatus,
  type CampaignStats,
  type CampaignStepStats,
  type CampaignStoreV1,
  ValidationError,
} from '@leadpipe/core/adapter-kit';
import {
  checkCount,
  checkLimit,
  checkOneOf,
  checkTime,
  ENROLLMENT_STATUSES,
  SUPPRESSION_REASONS,
} from './campaign-checks.js';
import { createCampaignLedgerOn } from './campaign-ledger.js';
import { dueSql, eventsSinceSql } from './campaign-queries.js';
import {
  deadLetterOf,
  ENROLLMENT_COLUMNS,
  enrollmentOf,
  enrollmentValues,
  eventOf,
  type Row,
  suppressionKey,
} from './campaign-rows.js';
import type { SqlDatabase } from './sql-client.js';

/** Event types counted per step by `stats`, and the counter each one feeds. */
const EVENT_STATS: readonly (readonly [string, keyof CampaignStepStats])[] = [
  ['email.delivered', 'delivered'],
  ['email.opened', 'opened'],
  ['email.clicked', 'clicked'],
  ['email.replied', 'replied'],
  ['email.bounced', 'bounced'],
  ['email.unsubscribed', 'unsubscribed'],
];

function checkEnrollment(enrollment: CampaignEnrollment): void {
  checkOneOf('status', enrollment.status, ENROLLMENT_STATUSES);
  checkCount('version', enrollment.version);
  checkCount('campaignVersion', enrollment.campaignVersion);
  checkCount('attempts', enrollment.attempts);
  checkTime('enrolledAt', enrollment.enrolledAt);
  if (enrollment.nextRunAt !== undefined) checkTime('nextRunAt', enrollment.nextRunAt);
  if (enrollment.stepStartedAt !== undefined) checkTime('stepStartedAt', enrollment.stepStartedAt);
}

/**
 * The {@link CampaignStoreV1} on the `campaign_*` tables of `schema` (quoted,
 * migration 4). Every method is one statement or one transaction, so it holds
 * under concurrent callers in several processes:
 * - `enroll` is one `INSERT ... ON CONFLICT DO NOTHING` on the unique
 *   (campaign, lead) key;
 * - `updateEnrollment` is one compare-and-set `UPDATE ... WHERE version = $n`:
 *   of two engines that read the same due row, one moves it on;
 * - `due` and `nextWakeAt` read the partial index on `next_run_at` of active
 *   enrollments;
 * - `claimSend` checks the suppression, the ledger row and the mailbox caps
 *   and writes the claim in one transaction (see `createCampaignLedgerOn`);
 * - `recordEvent` stores the event, exits enrollments and suppresses in one
 *   transaction, only when the event id is new.
 * `close` closes the whole store (as `leads.close` does).
 */
export function createPostgresCampaignStoreOn(
  database: SqlDatabase,
  schema: string,
  onClose: () => Promise<void>,
): CampaignStoreV1 {
  const enrollments = `${schema}.campaign_enrollments`;
  const events = `${schema}.campaign_events`;
  const sends = `${schema}.campaign_sends`;
  const deadLetters = `${schema}.campaign_dead_letters`;
  const timers = `${schema}.campaign_timers`;
  const ledger = createCampaignLedgerOn(database, schema);

  const enrollmentById = async (id: string): Promise<CampaignEnrollment | undefined> => {
    const { rows } = await database.query<Row>(
      `SELECT ${ENROLLMENT_COLUMNS} FROM ${enrollments} WHERE id = $1`,
      [id],
    );
    return rows[0] === undefined ? undefined : enrollmentOf(rows[0]);
  };

  return {
    specificationVersion: 'v1',
    ...ledger,

    async enroll(enrollment) {
      checkEnrollment(enrollment);
      const inserted = await database.query<Row>(
        `INSERT INTO ${enrollments} (${ENROLLMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::jsonb)
         ON CONFLICT DO NOTHING RETURNING ${ENROLLMENT_COLUMNS}`,
        enrollmentValues(enrollment),
      );
      if (inserted.rows[0] !== undefined)
        return { created: true, enrollment: enrollmentOf(inserted.rows[0]) };
      const { rows } = await database.query<Row>(
        `SELECT ${ENROLLMENT_COLUMNS} FROM ${enrollments} WHERE campaign_id = $1 AND lead_id = $2`,
        [enrollment.campaignId, enrollment.leadId],
      );
      if (rows[0] !== undefined) return { created: false, enrollment: enrollmentOf(rows[0]) };
      throw new ValidationError([{ field: 'id', reason: `enrollment id ${enrollment.id} is taken` }]);
    },

    getEnrollment: enrollmentById,

    async enrollmentsOfLead(leadId) {
      const { rows } = await database.query<Row>(
        `SELECT ${ENROLLMENT_COLUMNS} FROM ${enrollments} WHERE lead_id = $1 ORDER BY enrolled_at, id`,
        [leadId],
      );
      return rows.map(enrollmentOf);
    },

    async updateEnrollment(next) {
      checkEnrollment(next);
      const values = enrollmentValues(next);
      if (next.status !== 'active') values[7] = null; // A final enrollment has no nextRunAt.
      const { rows } = await database.query(
        `UPDATE ${enrollments} SET campaign_version = $3, status = $5, step_id = $6, version = $7, next_run_at = $8,
           enrolled_at = $9, step_started_at = $10, attempts = $11, reason = $12, trigger = $13, data = $14::jsonb
         WHERE id = $1 AND campaign_id = $2 AND lead_id = $4 AND version = $7 - 1 RETURNING 1`,
        values,
      );
      return rows.length > 0;
    },

    async due(now, limit) {
      checkTime('now', now);
      checkLimit('limit', limit);
      const { rows } = await database.query<Row>(dueSql(schema), [now, limit]);
      return rows.map(enrollmentOf);
    },

    async nextWakeAt() {
      const { rows } = await database.query<Row>(
        `SELECT least(
           (SELECT min(next_run_at) FROM ${enrollments} WHERE status = 'active' AND next_run_at IS NOT NULL),
           (SELECT min(run_at) FROM ${timers})) AS at`,
      );
      const at = rows[0]?.at;
      return at === null || at === undefined ? undefined : Number(at);
    },

    async recordEvent(event, options = {}) {
      checkTime('at', event.at);
      const suppress = options.suppress;
      if (suppress !== undefined) {
        checkTime('suppress.at', suppress.at);
        checkOneOf('suppress.reason', suppress.reason, SUPPRESSION_REASONS);
      }
      return database.transaction(async (session) => {
        const stored = await session.query(
          `INSERT INTO ${events} (id, type, lead_id, at, ledger_key, data) VALUES ($1, $2, $3, $4, $5, $6::jsonb)
           ON CONFLICT (id) DO NOTHING RETURNING 1`,
          [
            event.id,
            event.type,
            event.leadId,
            event.at,
            event.ledgerKey ?? null,
            event.data === undefined ? null : JSON.stringify(event.data),
          ],
        );
        if (stored.rows.length === 0) return { recorded: false, exited: [] };
        const exits = Object.entries(options.exit ?? {});
        let exited: CampaignEnrollment[] = [];
        if (exits.length > 0) {
          const { rows } = await session.query<Row>(
            `UPDATE ${enrollments} AS e SET status = 'exited', reason = x.reason, version = e.version + 1, next_run_at = NULL
             FROM (SELECT key AS campaign_id, value AS reason FROM jsonb_each_text($2::jsonb)) AS x
             WHERE e.lead_id = $1 AND e.status = 'active' AND e.campaign_id = x.campaign_id
             RETURNING ${ENROLLMENT_COLUMNS.split(', ')
               .map((column) => `e.${column}`)
               .join(', ')}`,
            [event.leadId, JSON.stringify(Object.fromEntries(exits))],
          );
          exited = rows
            .map(enrollmentOf)
            .sort((a, b) => a.enrolledAt - b.enrolledAt || (a.id < b.id ? -1 : 1));
        }
        if (suppress !== undefined) {
          await session.query(
            `INSERT INTO ${schema}.campaign_suppressions (email_sha256, reason, source, at) VALUES ($1, $2, $3, $4) ON CONFLICT (email_sha256) DO NOTHING`,
            [suppressionKey(suppress.email), suppress.reason, suppress.source, suppress.at],
          );
        }
        return { recorded: true, exited };
      });
    },

    async eventsSince(leadId, since, types) {
      checkTime('since', since);
      const { rows } = await database.query<Row>(eventsSinceSql(schema), [
        leadId,
        since,
        types === undefined ? null : JSON.stringify(types),
      ]);
      return rows.map(eventOf);
    },

    async putDeadLetter(letter) {
      checkTime('at', letter.at);
      checkCount('attempts', letter.attempts);
      await database.query(
        `INSERT INTO ${deadLetters} (id, enrollment_id, campaign_id, step_id, code, message, attempts, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET enrollment_id = EXCLUDED.enrollment_id, campaign_id = EXCLUDED.campaign_id,
           step_id = EXCLUDED.step_id, code = EXCLUDED.code, message = EXCLUDED.message, attempts = EXCLUDED.attempts, at = EXCLUDED.at`,
        [
          letter.id,
          letter.enrollmentId,
          letter.campaignId,
          letter.stepId,
          letter.code,
          letter.message,
          letter.attempts,
          letter.at,
        ],
      );
    },

    async listDeadLetters(campaignId) {
      const { rows } = await database.query<Row>(
        `SELECT id, enrollment_id, campaign_id, step_id, code, message, attempts, at FROM ${deadLetters}
         WHERE ($1::text IS NULL OR campaign_id = $1) ORDER BY at, id`,
        [campaignId ?? null],
      );
      return rows.map(deadLetterOf);
    },

    async removeDeadLetter(id) {
      const { rows } = await database.query(`DELETE FROM ${deadLetters} WHERE id = $1 RETURNING 1`, [id]);
      return rows.length > 0;
    },

    async setTimer(timer) {
      checkTime('runAt', timer.runAt);
      await database.query(
        `INSERT INTO ${timers} (key, run_at) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET run_at = EXCLUDED.run_at`,
        [timer.key, timer.runAt],
      );
    },

    async dueTimers(now) {
      checkTime('now', now);
      const { rows } = await database.query<Row>(
        `SELECT key, run_at FROM ${timers} WHERE run_at <= $1 ORDER BY run_at, key`,
        [now],
      );
      return rows.map((row) => ({ key: String(row.key), runAt: Number(row.run_at) }));
    },

    async removeTimer(key, runAt) {
      checkTime('runAt', runAt);
      const { rows } = await database.query(
        `DELETE FROM ${timers} WHERE key = $1 AND run_at = $2 RETURNING 1`,
        [key, runAt],
      );
      return rows.length > 0;
    },

    async stats(campaignId): Promise<CampaignStats> {
      const byStatus: Record<CampaignEnrollmentStatus, number> = {
        active: 0,
        completed: 0,
        exited: 0,
        failed: 0,
      };
      const exitedByReason: Record<string, number> = {};
      let enrolled = 0;
      const counted = await database.query<Row>(
        `SELECT status, reason, count(*)::text AS n FROM ${enrollments} WHERE campaign_id = $1 GROUP BY status, reason`,
        [campaignId],
      );
      for (const row of counted.rows) {
        const n = Number(row.n);
        const status = row.status as CampaignEnrollmentStatus;
        enrolled += n;
        byStatus[status] += n;
        if (status === 'exited' && row.reason !== null && row.reason !== undefined) {
          const reason = String(row.reason);
          exitedByReason[reason] = (exitedByReason[reason] ?? 0) + n;
        }
      }
      const eventCounts = EVENT_STATS.map(
        ([, name], index) =>
          `count(*) FILTER (WHERE EXISTS (SELECT 1 FROM ${events} AS v WHERE v.ledger_key = s.ledger_key AND v.type = $${index + 2}))::text AS ${name}`,
      ).join(', ');
      const perStep = await database.query<Row>(
        `SELECT s.step_id, count(*) FILTER (WHERE s.status = 'sent')::text AS sent, count(*) FILTER (WHERE s.status = 'failed')::text AS failed,
           ${eventCounts}
         FROM ${sends} AS s WHERE s.campaign_id = $1 GROUP BY s.step_id`,
        [campaignId, ...EVENT_STATS.map(([type]) => type)],
      );
      const steps: Record<string, CampaignStepStats> = {};
      for (const row of perStep.rows) {
        steps[String(row.step_id)] = {
          sent: Number(row.sent),
          failed: Number(row.failed),
          delivered: Number(row.delivered),
          opened: Number(row.opened),
          clicked: Number(row.clicked),
          replied: Number(row.replied),
          bounced: Number(row.bounced),
          unsubscribed: Number(row.unsubscribed),
        };
      }
      return { enrolled, byStatus, exitedByReason, steps };
    },

    close: onClose,
  };
}
