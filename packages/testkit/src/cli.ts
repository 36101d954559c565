#!/usr/bin/env node
/**
 * The `leadpipe-emulator` command: serves the vendor emulators on 127.0.0.1,
 * prints one JSON line with each vendor's URLs and credentials, and runs
 * until SIGTERM or SIGINT.
 */
import { LeadpipeError } from '@leadpipe/core/adapter-kit';
import { CLI_HELP, parseCli } from './emulator/cli-options.js';
import type { VendorName } from './emulator/context.js';
import { startEmulators } from './emulator/server.js';

async function main(): Promise<void> {
  const options = parseCli(process.argv.slice(2));
  if (options === undefined) {
    process.stdout.write(CLI_HELP);
    return;
  }
  const running = await startEmulators(options);
  const vendors: Record<string, unknown> = {};
  for (const [vendor, urls] of Object.entries(running.urls)) {
    vendors[vendor] = { ...urls, credentials: running.credentials[vendor as VendorName] };
  }
  process.stdout.write(
    `${JSON.stringify({ vendors, seed: options.seed ?? 1, timeScale: options.timeScale ?? 1, pid: process.pid })}\n`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  const message = LeadpipeError.isInstance(error)
    ? error.message
    : error instanceof Error
      ? error.message
      : String(error);
  process.stderr.write(`leadpipe-emulator: ${message}\nRun leadpipe-emulator --help for usage.\n`);
  process.exit(2);
});
