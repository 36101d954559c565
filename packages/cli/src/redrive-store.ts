import {
  type DeadLetterEntry,
  type FileDeadLetterQueue,
  type Lead,
  LeadpipeError,
  type LeadStoreV1,
  redactSecrets,
  type ValidationIssue,
} from '@leadpipe/core';
import type { RedriveCommandOptions } from './args.js';
import { type CliIo, EXIT_CODES, type ExitCode, records, writeJsonReport } from './io.js';
import { openStore, type StoreLocation, storeOption } from './store.js';

/** The dead-letter `target` of the leads a pipeline's store step failed to upsert (`pipeline/store-stage.ts`). */
export const STORE_TARGET = 'leadStore';

/** Leads per upsert when redriving. */
const BATCH = 500;

/** What a redrive to the lead store did: the `--report` JSON. */
interface StoreRedriveReport {
  /** Always `leadStore`. */
  readonly target: typeof STORE_TARGET;
  /** Entries sent. */
  readonly sent: number;
  /** Leads the store created. */
  readonly created: number;
  /** Leads the store merged into a stored one. */
  readonly updated: number;
  /** Leads the store held already, as given. */
  readonly unchanged: number;
  /** Entries the store refused (bad lead): still in the file with the reasons. */
  readonly refused: number;
  /** Entries whose upsert failed again (the store down): still in the file with the new error. */
  readonly failed: number;
  /** Entries left in the file, for any reason. */
  readonly left: number;
}

/** The lead a `leadStore` entry holds (`record.properties.lead`, JSON), or why it holds none. */
function leadOf(entry: DeadLetterEntry): Lead | string {
  const text = entry.record.properties.lead;
  if (typeof text !== 'string') return 'the record holds no lead (record.properties.lead)';
  try {
    const lead = JSON.parse(text) as unknown;
    if (typeof lead === 'object' && lead !== null && !Array.isArray(lead)) return lead as Lead;
  } catch {
    // Reported below.
  }
  return 'record.properties.lead is not a lead as JSON';
}

/** The entry again, with one more attempt and the new error. */
function failedAgain(
  entry: DeadLetterEntry,
  message: string,
  retryable: boolean,
  at: string,
): DeadLetterEntry {
  return {
    ...entry,
    attempts: entry.attempts + 1,
    lastFailedAt: at,
    error: { code: 'adapter_error', message: redactSecrets(message), retryable },
  };
}

/** Send one batch; counts go into `counts`. */
async function sendBatch(
  store: LeadStoreV1,
  queue: FileDeadLetterQueue,
  batch: readonly DeadLetterEntry[],
  counts: { created: number; updated: number; unchanged: number; refused: number; failed: number },
): Promise<void> {
  const at = new Date().toISOString();
  const sendable: { entry: DeadLetterEntry; lead: Lead }[] = [];
  for (const entry of batch) {
    const lead = leadOf(entry);
    if (typeof lead === 'string') {
      counts.refused += 1;
      await queue.put(failedAgain(entry, lead, false, at));
    } else sendable.push({ entry, lead });
  }
  if (sendable.length === 0) return;
  let outcomes: Awaited<ReturnType<LeadStoreV1['upsert']>>;
  try {
    outcomes = await store.upsert(sendable.map((item) => item.lead));
  } catch (error) {
    const retryable = LeadpipeError.isInstance(error) ? error.isRetryable : false;
    const message = `upsert failed again: ${error instanceof Error ? error.message : String(error)}`;
    for (const { entry } of sendable) await queue.put(failedAgain(entry, message, retryable, at));
    counts.failed += sendable.length;
    return;
  }
  const done: string[] = [];
  for (const [index, { entry }] of sendable.entries()) {
    const outcome = outcomes[index];
    if (outcome === undefined || outcome.status === 'rejected') {
      const issues: readonly ValidationIssue[] = outcome?.issues ?? [
        { field: 'lead', reason: 'refused by the store' },
      ];
      counts.refused += 1;
      const reason = issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ');
      await queue.put(failedAgain(entry, `refused by the store: ${reason}`, false, at));
      continue;
    }
    counts[outcome.status] += 1;
    done.push(entry.id);
  }
  if (done.length > 0) await queue.remove(done);
}

function summary(
  options: RedriveCommandOptions,
  location: StoreLocation,
  report: StoreRedriveReport,
  skipped: number,
): string {
  const written = report.created + report.updated + report.unchanged;
  const lines = [
    `Redrive of ${options.input} to the lead store ${location.display}: ${records(report.sent)} sent`,
    `  stored: ${written} (${report.created} created, ${report.updated} updated, ${report.unchanged} unchanged)`,
    `  refused: ${report.refused}${report.refused > 0 ? ', still in the file with the reasons' : ''}`,
    `  failed again: ${report.failed}${report.failed > 0 ? ', still in the file with the new error' : ''}`,
  ];
  if (skipped > 0) {
    lines.push(`  left alone: ${skipped} (${options.retryableOnly ? 'not retryable, or ' : ''}for a CRM)`);
  }
  lines.push(
    report.left > 0
      ? `  dead letters: ${options.input} (${records(report.left)})`
      : `  dead letters: none left (file removed)`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * `leadpipe redrive <file> --store <store>`: upsert the leads of the
 * file's `leadStore` entries (the ones `enrich --store` dead-lettered when
 * the store's upsert failed) into the store, in batches. Entries the store
 * takes leave the file; entries it refuses or fails on again stay, with the
 * new error and one more attempt. Resolves with the exit code and the
 * entries left in the file.
 */
export async function redriveToStore(
  options: RedriveCommandOptions,
  queue: FileDeadLetterQueue,
  total: number,
  io: CliIo,
): Promise<{ code: ExitCode; left: number }> {
  const issues: ValidationIssue[] = [];
  const location = options.store ?? storeOption(undefined, io.env, io.cwd, issues, true);
  if (location === undefined) {
    for (const issue of issues) {
      io.stderr.write(
        `leadpipe: ${issue.field}: ${issue.reason.replace(/^is required/, 'is required for records of the lead store')}\n`,
      );
    }
    return { code: EXIT_CODES.usage, left: total };
  }
  const wanted: DeadLetterEntry[] = [];
  let cursor: string | undefined;
  do {
    const page = await queue.list(cursor === undefined ? { limit: 500 } : { cursor, limit: 500 });
    for (const entry of page.entries) {
      if (entry.target === STORE_TARGET && (!options.retryableOnly || entry.error.retryable))
        wanted.push(entry);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  if (!options.quiet) {
    io.stderr.write(
      `leadpipe: sending ${wanted.length} of ${total} dead letters in ${options.input} to the lead store ${location.display}\n`,
    );
  }
  const opened = io.store ?? (await openStore(location));
  const counts = { created: 0, updated: 0, unchanged: 0, refused: 0, failed: 0 };
  let sent = 0;
  try {
    for (let start = 0; start < wanted.length; start += BATCH) {
      if (io.signal?.aborted) break;
      const batch = wanted.slice(start, start + BATCH);
      await sendBatch(opened.leads, queue, batch, counts);
      sent += batch.length;
    }
  } finally {
    if (opened !== io.store) await opened.close();
  }
  const left = await queue.size();
  const report: StoreRedriveReport = { target: STORE_TARGET, sent, ...counts, left };
  if (options.report !== undefined) await writeJsonReport(options.report, report);
  io.stdout.write(summary(options, location, report, total - sent));
  if (counts.failed > 0) return { code: EXIT_CODES.failed, left };
  return { code: counts.refused > 0 ? EXIT_CODES.finishedWithProblems : EXIT_CODES.done, left };
}
