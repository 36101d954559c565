import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LeadpipeError, redactSecrets, ValidationError } from '@leadpipe/core';
import type { PostgresStore } from '@leadpipe/store-postgres';
import type { Environment } from './connections.js';
import type { EmulatedVendors } from './emulate.js';
import type { CliOutput } from './progress.js';

/** Exit codes of the `leadpipe` command. */
export const EXIT_CODES = {
  /** Every row done (`redrive`: every record sent was written). */
  done: 0,
  /** The run failed: an error it could not go on from (a CRM down, an unreadable input mid-run). */
  failed: 1,
  /** Bad usage: unknown flag, bad value, missing file or key. */
  usage: 2,
  /** The run finished, but some rows were rejected or dead-lettered (`redrive`: some records were refused again). */
  finishedWithProblems: 3,
  /**
   * The run was stopped (Ctrl-C, SIGTERM, or the caller's `signal`): finished
   * rows are checkpointed; `--resume` finishes the rest. 130 is 128 + SIGINT,
   * as shells report it; the `leadpipe` executable exits 143 (128 + SIGTERM)
   * when SIGTERM stopped it.
   */
  interrupted: 130,
} as const;

/** One of {@link EXIT_CODES}. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** Where `runCli` reads and writes, so it runs the same in a process and in a test. */
export interface CliIo {
  /** The summary goes here. */
  readonly stdout: CliOutput;
  /** Progress (live on a terminal, log lines otherwise) and errors go here. */
  readonly stderr: CliOutput;
  /** Environment variables (keys). */
  readonly env: Environment;
  /** Directory relative paths are resolved against. */
  readonly cwd: string;
  /** Stops the run (Ctrl-C): finished rows stay checkpointed for `--resume`. */
  readonly signal?: AbortSignal;
  /**
   * Emulators already running (started with `emulatorOptions()`), used by
   * `--emulate` instead of starting (and stopping) its own: to look at their
   * state afterwards, or to share them between runs.
   */
  readonly emulators?: EmulatedVendors;
  /**
   * A store already open (such as `openPostgresStore(...)`), used by any
   * command given `--store` instead of opening that one (and not closed by
   * it): to share one embedded store between runs, as tests do.
   */
  readonly store?: PostgresStore;
  /** Shortest time between two progress updates, in ms. Default 100 on a terminal, 1,000 otherwise. */
  readonly progressIntervalMs?: number;
}

/** A problem as the command says it: every issue of a `ValidationError`, scrubbed of secrets. */
export function problemText(error: unknown): string {
  if (ValidationError.isInstance(error)) {
    return error.issues.map((issue) => `${issue.field}: ${issue.reason}`).join('\n');
  }
  if (LeadpipeError.isInstance(error)) return error.message;
  return redactSecrets(error instanceof Error ? error.message : String(error));
}

/** Remove a side file nothing was written to, so an empty file does not suggest there were problems. */
export async function removeIfEmpty(path: string): Promise<void> {
  try {
    if ((await stat(path)).size === 0) await rm(path, { force: true });
  } catch {
    // Gone already, or not ours to remove.
  }
}

/** Write a report as indented JSON, creating its folder. */
export async function writeJsonReport(path: string, report: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}

/** `1 record`, `2 records`. */
export function records(count: number): string {
  return `${count} ${count === 1 ? 'record' : 'records'}`;
}
