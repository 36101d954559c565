import { access, rm } from 'node:fs/promises';
import {
  ConfigurationError,
  type CrmSyncReport,
  createCrmSync,
  createFileDeadLetterQueue,
  type DeadLetterEntry,
  type FileDeadLetterQueue,
  LeadpipeError,
  redrive,
  ValidationError,
} from '@leadpipe/core';
import type { CrmName, RedriveCommandOptions } from './args.js';
import { connect, missingKeys, registerKeys } from './connections.js';
import { startEmulatedVendors } from './emulate.js';
import { type CliIo, EXIT_CODES, type ExitCode, problemText, records, writeJsonReport } from './io.js';
import { redriveToStore, STORE_TARGET } from './redrive-store.js';
import { CRM_NAMES } from './vendors.js';

/** Visit every entry of the queue, oldest first, reading it a page at a time. */
async function forEachEntry(
  queue: FileDeadLetterQueue,
  visit: (entry: DeadLetterEntry) => void,
): Promise<void> {
  let cursor: string | undefined;
  do {
    const page = await queue.list(cursor === undefined ? { limit: 500 } : { cursor, limit: 500 });
    for (const entry of page.entries) visit(entry);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
}

function isCrmName(value: string): value is CrmName {
  return (CRM_NAMES as readonly string[]).includes(value);
}

/** The CRM to send to: the one asked for, or the only one the entries were meant for. */
function chooseCrm(
  asked: CrmName | undefined,
  targets: ReadonlyMap<string, number>,
): CrmName | ValidationError {
  if (asked !== undefined) return asked;
  const names = [...targets.keys()];
  if (names.length === 1 && isCrmName(names[0]!)) return names[0];
  return new ValidationError([
    {
      field: '--crm',
      reason:
        names.length === 1
          ? `the records are for "${names[0]}", which is not a CRM this command knows; use ${CRM_NAMES.join(' or ')}`
          : `the records are for ${names.map((name) => `"${name}"`).join(', ')}: name the one to send to${targets.has(STORE_TARGET) ? ` (--store for "${STORE_TARGET}")` : ''}`,
    },
  ]);
}

function summarize(
  options: RedriveCommandOptions,
  crm: CrmName,
  report: CrmSyncReport,
  selected: number,
  skipped: number,
  left: number,
): string {
  const target = report.crms[0];
  const lines = [`Redrive of ${options.input} to ${crm}: ${records(selected)} sent`];
  if (target !== undefined) {
    const written = target.created + target.updated + target.unchanged;
    lines.push(
      `  written: ${written} (${target.created} created, ${target.updated} updated, ${target.unchanged} unchanged)`,
      `  refused again: ${target.failed}${target.failed > 0 ? ', still in the file with the new error' : ''}`,
    );
    if (target.error !== undefined) lines.push(`  ${target.adapterId} went down: ${target.error.message}`);
  }
  if (skipped > 0) {
    lines.push(
      `  left alone: ${skipped} (${options.retryableOnly ? 'not retryable, or ' : ''}for another CRM)`,
    );
  }
  lines.push(
    left > 0
      ? `  dead letters: ${options.input} (${records(left)})`
      : `  dead letters: none left (file removed)`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * `leadpipe redrive <file>`: send the records of a dead-letters file (a
 * `createFileDeadLetterQueue` file, as `leadpipe enrich` writes it) to the
 * CRM again through `redrive` from `@leadpipe/core`. Records the CRM takes
 * leave the file; records it refuses again stay, with the new error and one
 * more attempt. The file is removed once it is empty.
 */
export async function runRedrive(options: RedriveCommandOptions, io: CliIo): Promise<ExitCode> {
  const { stdout, stderr } = io;
  try {
    await access(options.input);
  } catch {
    stderr.write(`leadpipe: <file>: ${options.input} does not exist or cannot be read\n`);
    return EXIT_CODES.usage;
  }
  registerKeys(io.env);
  const queue = createFileDeadLetterQueue(options.input);
  let empty = false;
  try {
    let targets: Map<string, number>;
    try {
      targets = new Map();
      await forEachEntry(queue, (entry) => targets.set(entry.target, (targets.get(entry.target) ?? 0) + 1));
    } catch (error) {
      if (!LeadpipeError.isInstance(error)) throw error;
      stderr.write(`leadpipe: <file>: ${problemText(error)}\n`);
      return EXIT_CODES.usage;
    }
    const total = [...targets.values()].reduce((sum, count) => sum + count, 0);
    if (total === 0) {
      empty = true;
      stdout.write(`Redrive of ${options.input}: no dead letters to send\n`);
      return EXIT_CODES.done;
    }
    if (
      options.crm === undefined &&
      (options.store !== undefined || (targets.size === 1 && targets.has(STORE_TARGET)))
    ) {
      const outcome = await redriveToStore(options, queue, total, io);
      empty = outcome.left === 0;
      return outcome.code;
    }
    const crm = chooseCrm(options.crm, targets);
    if (crm instanceof ValidationError) {
      for (const issue of crm.issues) stderr.write(`leadpipe: ${issue.field}: ${issue.reason}\n`);
      return EXIT_CODES.usage;
    }
    if (!options.emulate) {
      const missing = missingKeys([], crm, io.env);
      if (missing.length > 0) {
        for (const key of missing) {
          stderr.write(`leadpipe: missing key: set ${key.variable} (needed by ${key.neededBy})\n`);
        }
        return EXIT_CODES.usage;
      }
    }

    const emulators = options.emulate ? (io.emulators ?? (await startEmulatedVendors())) : undefined;
    try {
      const connections = connect([], crm, io.env, emulators);
      try {
        const target = connections.crm!;
        const adapterId = target.adapter.adapterId;
        const wanted = (entry: DeadLetterEntry) =>
          entry.target === adapterId && (!options.retryableOnly || entry.error.retryable);
        let selected = 0;
        await forEachEntry(queue, (entry) => {
          if (wanted(entry)) selected += 1;
        });
        if (!options.quiet) {
          stderr.write(
            `leadpipe: sending ${selected} of ${total} dead letters in ${options.input} to ${crm}${options.emulate ? ' (emulated vendors)' : ''}\n`,
          );
        }
        const sync = createCrmSync({ crms: [target], deadLetters: queue });
        let report: CrmSyncReport;
        try {
          report = await redrive(queue, sync, wanted, io.signal ? { signal: io.signal } : {});
        } finally {
          await sync.close();
        }
        const left = await queue.size();
        empty = left === 0;
        if (options.report !== undefined) await writeJsonReport(options.report, report);
        stdout.write(summarize(options, crm, report, selected, total - selected, left));
        const outcome = report.crms[0];
        if (outcome?.status === 'down') return EXIT_CODES.failed;
        return (outcome?.failed ?? 0) > 0 ? EXIT_CODES.finishedWithProblems : EXIT_CODES.done;
      } finally {
        await connections.close();
      }
    } finally {
      if (emulators !== undefined && emulators !== io.emulators) await emulators.close();
    }
  } catch (error) {
    stderr.write(`leadpipe: the redrive failed: ${problemText(error)}\n`);
    return ValidationError.isInstance(error) || ConfigurationError.isInstance(error)
      ? EXIT_CODES.usage
      : EXIT_CODES.failed;
  } finally {
    await queue.close();
    if (empty) await rm(options.input, { force: true });
  }
}
