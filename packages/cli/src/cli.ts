#!/usr/bin/env node
/**
 * The `leadpipe` executable: runs {@link runCli} on the process's arguments
 * and streams. The first Ctrl-C (SIGINT) or SIGTERM (what `timeout`,
 * `docker stop`, systemd and Kubernetes send) stops the run cleanly: no
 * more rows are read, calls in flight are aborted, finished rows stay
 * checkpointed for `--resume`, the summary is printed, and the process
 * exits 130 (SIGINT) or 143 (SIGTERM). A second signal quits at once with
 * the same code, without waiting for the checkpoint.
 */
import { EXIT_CODES } from './io.js';
import { runCli } from './run.js';

// Output piped into a command that stopped reading (\`| head\`): stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

/** Exit codes after a signal: 128 + its number, as shells report it. */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

const controller = new AbortController();
let stoppedBy: keyof typeof SIGNAL_EXIT_CODES | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stoppedBy !== undefined) {
      process.stderr.write(`leadpipe: ${signal} again: quitting at once\n`);
      process.exit(SIGNAL_EXIT_CODES[signal]);
    }
    stoppedBy = signal;
    controller.abort(new Error(signal));
  });
}

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode =
      code === EXIT_CODES.interrupted && stoppedBy !== undefined ? SIGNAL_EXIT_CODES[stoppedBy] : code;
  },
  (error: unknown) => {
    process.stderr.write(`leadpipe: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
