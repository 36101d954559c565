#!/usr/bin/env node
/**
 * The `leadpipe` executable: runs {@link runCli} on the process's arguments
 * and streams. The first Ctrl-C stops the run cleanly (finished rows stay
 * checkpointed for `--resume`); a second one exits at once.
 */
import { runCli } from './run.js';

// Output piped into a command that stopped reading (\`| head\`): stop quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const controller = new AbortController();
let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write('\nleadpipe: stopping; press Ctrl-C again to quit at once\n');
  controller.abort(new Error('interrupted (SIGINT)'));
});

runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
}).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`leadpipe: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
