import { ENROLLMENT_COLUMNS, EVENT_COLUMNS, SEND_COLUMNS } from './campaign-rows.js';

// The campaign store's hot reads, one function each so the EXPLAIN test plans the very statement the store runs.

/** Active enrollments due by `$1`, earliest first, at most `$2`: the partial index `campaign_enrollments_due_idx`. */
export function dueSql(schema: string): string {
  return `SELECT ${ENROLLMENT_COLUMNS} FROM ${schema}.campaign_enrollments
    WHERE status = 'active' AND next_run_at IS NOT NULL AND next_run_at <= $1
    ORDER BY next_run_at, id LIMIT $2`;
}

/** Events of lead `$1` at or after `$2`, of the types in the JSON array `$3` (or any when null), oldest first. */
export function eventsSinceSql(schema: string): string {
  return `SELECT ${EVENT_COLUMNS} FROM ${schema}.campaign_events
    WHERE lead_id = $1 AND at >= $2 AND ($3::jsonb IS NULL OR type IN (SELECT jsonb_array_elements_text($3::jsonb)))
    ORDER BY at, position`;
}

/** Ledger rows by status `$1`, claimed at or before `$2`, of enrollment `$3` (each null for any), at most `$4`. */
export function listSendsSql(schema: string): string {
  return `SELECT ${SEND_COLUMNS} FROM ${schema}.campaign_sends
    WHERE ($1::text IS NULL OR status = $1) AND ($2::bigint IS NULL OR claimed_at <= $2) AND ($3::text IS NULL OR enrollment_id = $3)
    ORDER BY claimed_at, ledger_key LIMIT $4`;
}
