/** Runs a `DELETE ... ` (without `RETURNING`) in the erase transaction and resolves with the rows it deleted. */
type CountDeleted = (statement: string, values: unknown[]) => Promise<number>;

/**
 * Erase a person from the campaign tables of `schema` (quoted), inside the
 * lead store's erase transaction: their enrollments (by lead id), the send
 * ledger rows addressed to them (by lead id or address), their stored events
 * (by lead id, by a ledger row of theirs, or naming the address in the
 * event's data) and the campaign dead letters of their enrollments (or
 * naming the address). Suppressions stay: they hold a SHA-256 of the address,
 * not the address, so an erased person who unsubscribed stays unsubscribed.
 * Mailbox counters and timers name nobody and stay.
 *
 * `pattern` is the address as a whole word (a POSIX regular expression, for
 * `~*`); `leadIds` a JSON array of the person's lead ids.
 */
export async function eraseCampaignState(
  count: CountDeleted,
  schema: string,
  address: string,
  pattern: string,
  leadIds: string,
): Promise<Record<string, number>> {
  const ids = `(SELECT jsonb_array_elements_text($1::jsonb))`;
  const theirSends = `(SELECT ledger_key FROM ${schema}.campaign_sends WHERE lead_id IN ${ids} OR email = $2)`;
  const theirEnrollments = `(SELECT id FROM ${schema}.campaign_enrollments WHERE lead_id IN ${ids})`;
  // Events and dead letters first: they are found through the ledger rows and enrollments deleted after them.
  const campaignEvents = await count(
    `DELETE FROM ${schema}.campaign_events WHERE lead_id IN ${ids} OR ledger_key IN ${theirSends} OR data::text ~* $3`,
    [leadIds, address, pattern],
  );
  const campaignDeadLetters = await count(
    `DELETE FROM ${schema}.campaign_dead_letters WHERE enrollment_id IN ${theirEnrollments} OR message ~* $2`,
    [leadIds, pattern],
  );
  const campaignSends = await count(
    `DELETE FROM ${schema}.campaign_sends WHERE lead_id IN ${ids} OR email = $2`,
    [leadIds, address],
  );
  const campaignEnrollments = await count(
    `DELETE FROM ${schema}.campaign_enrollments WHERE lead_id IN ${ids}`,
    [leadIds],
  );
  return { campaignEnrollments, campaignSends, campaignEvents, campaignDeadLetters };
}
