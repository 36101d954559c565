import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  ConfigurationError,
  compactResultLog,
  createFileCheckpointStore,
  createFileDeadLetterQueue,
  createLeadPipeline,
  type DuplicatesWriter,
  type FileDeadLetterQueue,
  formatReport,
  type LeadStoreV1,
  PipelineAbortedError,
  type PipelineProgress,
  type PipelineReport,
  type RejectsWriter,
  ValidationError,
} from '@leadpipe/core';
import {
  ENRICH_HELP,
  type EnrichCommandOptions,
  type FileFormat,
  MAIN_HELP,
  type ProviderName,
  parseCommandLine,
  REDRIVE_HELP,
} from './args.js';
import { runCampaign } from './campaign.js';
import { type Connections, connect, missingKeys, registerKeys } from './connections.js';
import { emulateFaults, startEmulatedVendors } from './emulate.js';
import { inputProblems, openDuplicates, openOutput, openRejects, readInput } from './files.js';
import { checkInput, forgetInput, recordInput } from './input-check.js';
import {
  type CliIo,
  EXIT_CODES,
  type ExitCode,
  problemText,
  records,
  removeIfEmpty,
  writeJsonReport,
} from './io.js';
import { runLeads } from './leads.js';
import { count, createProgressDisplay, type ProgressDisplay, type ProgressExtras } from './progress.js';
import { createQuotaTracker, type QuotaUse } from './quota.js';
import { runRedrive } from './redrive.js';
import { runServe } from './serve.js';
import { openStore } from './store.js';
import { runSubmit } from './submit.js';
import { SUBMIT_HELP } from './submit-args.js';
import { runWorker } from './worker.js';
import { WORKER_HELP } from './worker-args.js';

/** The version of `@leadpipe/cli`, from its package.json. */
export function cliVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const version = (JSON.parse(text) as { version?: unknown }).version;
  return typeof version === 'string' ? version : '0.0.0';
}

/** Count the rows of the input in the background, for the ETA; `undefined` until done (or if it fails). */
function countRows(path: string, format: FileFormat, signal: AbortSignal): { total(): number | undefined } {
  let total: number | undefined;
  (async () => {
    let count = 0;
    for await (const _row of readInput(path, format)) {
      if (signal.aborted) return;
      count += 1;
    }
    total = count;
  })().catch(() => undefined);
  return { total: () => total };
}

/** The exit code of a run: a resumed run's includes the rows the earlier runs rejected or dead-lettered. */
function exitCodeOf(report: PipelineReport): ExitCode {
  if (report.status === 'aborted') return EXIT_CODES.interrupted;
  if (report.status !== 'completed') return EXIT_CODES.failed;
  return report.total.rejected > 0 || report.total.deadLettered > 0
    ? EXIT_CODES.finishedWithProblems
    : EXIT_CODES.done;
}

/**
 * The providers of a run without `--providers`: every one whose keys are set
 * (all of them when none is, so the missing keys are named), or under
 * `--emulate` every one the emulators serve.
 */
function defaultProviders(options: EnrichCommandOptions, io: CliIo): readonly ProviderName[] {
  if (options.emulate) {
    const served = io.emulators?.urls;
    return served === undefined
      ? options.providers
      : options.providers.filter((name) => served[name] !== undefined);
  }
  const usable = options.providers.filter((name) => missingKeys([name], undefined, io.env).length === 0);
  return usable.length > 0 ? usable : options.providers;
}

async function enrich(given: EnrichCommandOptions, io: CliIo, display: ProgressDisplay): Promise<ExitCode> {
  const { stderr } = io;
  const options = given.providersGiven ? given : { ...given, providers: defaultProviders(given, io) };
  // Refuse an input that cannot be run before anything is written.
  const problems = await inputProblems(options);
  if (problems.length > 0) {
    for (const line of problems) stderr.write(`${line}\n`);
    return EXIT_CODES.usage;
  }
  registerKeys(io.env);
  if (!options.emulate) {
    const missing = missingKeys(options.providers, options.crm, io.env);
    if (missing.length > 0) {
      for (const key of missing) {
        stderr.write(`leadpipe: missing key: set ${key.variable} (needed by ${key.neededBy})\n`);
      }
      if (!options.providersGiven) {
        stderr.write(
          'leadpipe: set the keys of at least one provider, or name the providers with --providers\n',
        );
      }
      stderr.write('leadpipe: or try it with --emulate: no keys, no network\n');
      return EXIT_CODES.usage;
    }
  }

  const faults = options.emulate ? emulateFaults(io.env) : undefined;
  const emulators = options.emulate
    ? (io.emulators ?? (await startEmulatedVendors(faults === undefined ? {} : { faults })))
    : undefined;
  try {
    const connections = connect(options.providers, options.crm, io.env, emulators);
    try {
      return await runPipeline(options, io, connections, display);
    } finally {
      await connections.close();
    }
  } finally {
    // Emulators the caller handed in are the caller's to stop.
    if (emulators !== undefined && emulators !== io.emulators) await emulators.close();
  }
}

function describeRun(options: EnrichCommandOptions): string {
  const mode = [options.emulate ? 'emulated vendors' : undefined, options.dryRun ? 'dry run' : undefined]
    .filter((part) => part !== undefined)
    .join(', ');
  return `leadpipe: enriching ${options.input} with ${options.providers.join(' > ')}${options.crm ? `, syncing to ${options.crm}` : ''}${options.store ? `, storing in ${options.store.display}` : ''}${mode === '' ? '' : ` (${mode})`}\n`;
}

function summarize(
  report: PipelineReport,
  options: EnrichCommandOptions,
  quotas: Readonly<Record<string, QuotaUse>>,
  deadLetters: number,
): string {
  const lines = [formatReport(report)];
  const used = Object.entries(quotas);
  if (used.length > 0) {
    lines.push(
      `  quota use: ${used.map(([id, use]) => `${id} ${count(use.used)}/${count(use.limit)} per ${use.window}`).join(', ')}`,
    );
  }
  lines.push(`  output: ${options.out}`);
  if (options.store !== undefined && !options.dryRun) lines.push(`  lead store: ${options.store.display}`);
  if (report.total.rejected > 0) lines.push(`  rejects: ${options.rejects}`);
  if (report.total.duplicates > 0) lines.push(`  duplicates merged: ${options.duplicates}`);
  if (deadLetters > 0) lines.push(`  dead letters: ${options.deadLetters} (${records(deadLetters)})`);
  if (options.report !== undefined) lines.push(`  report: ${options.report}`);
  return `${lines.join('\n')}\n`;
}

/** The files a run writes besides its output, opened for it. */
interface SideFiles {
  readonly resume: boolean;
  /** The input's fingerprint (its SHA-256), when known. */
  readonly fingerprint: string | undefined;
  readonly rejects: RejectsWriter;
  readonly duplicates: DuplicatesWriter;
  readonly deadLetters: FileDeadLetterQueue;
  /** The lead store of `--store`, open for the run. */
  readonly store: LeadStoreV1 | undefined;
}

async function runPipeline(
  options: EnrichCommandOptions,
  io: CliIo,
  connections: Connections,
  display: ProgressDisplay,
): Promise<ExitCode> {
  // Without a checkpoint there is nothing to resume: start over, replacing the output instead of appending to it.
  const resume = options.resume && existsSync(options.checkpoint);
  if (options.resume && !resume && !options.quiet) {
    io.stderr.write(`leadpipe: no checkpoint at ${options.checkpoint}; starting from the first row\n`);
  }
  for (const path of [options.out, options.checkpoint, options.rejects, options.deadLetters]) {
    await mkdir(dirname(path), { recursive: true });
  }
  if (options.cache !== undefined) await mkdir(dirname(options.cache), { recursive: true });
  // The whole input is checked, not only its first rows: a change anywhere makes a resume wrong.
  let fingerprint: string | undefined;
  if (resume) {
    const check = await checkInput(options.input, options.checkpoint);
    if (check.kind === 'changed') {
      io.stderr.write(
        `leadpipe: --resume: ${options.input} changed since the interrupted run (first change at line ${check.line}); run without --resume to start over (paid answers are kept)\n`,
      );
      return EXIT_CODES.usage;
    }
    if (check.kind === 'same') fingerprint = check.fingerprint;
  } else {
    fingerprint = await recordInput(options.input, options.checkpoint);
    if (!options.quiet) io.stderr.write(answersNotice(options));
  }
  // A resumed run adds to the rejects and dead letters of the run it finishes; a fresh run starts new files.
  const rejects = openRejects(options, resume);
  const duplicates = openDuplicates(options, resume);
  const deadLetters = createFileDeadLetterQueue(options.deadLetters, { fresh: !resume });
  let store: Awaited<ReturnType<typeof openStore>> | undefined;
  try {
    if (options.store !== undefined) store = io.store ?? (await openStore(options.store));
    return await runWith(
      options,
      io,
      connections,
      { resume, fingerprint, rejects, duplicates, deadLetters, store: store?.leads },
      display,
    );
  } finally {
    if (store !== io.store) await store?.close();
    await rejects.close();
    await removeIfEmpty(options.rejects);
    await duplicates.close();
    await removeIfEmpty(options.duplicates);
    const empty = (await deadLetters.size().catch(() => 1)) === 0;
    await deadLetters.close();
    if (empty) await rm(options.deadLetters, { force: true });
  }
}

async function runWith(
  options: EnrichCommandOptions,
  io: CliIo,
  connections: Connections,
  files: SideFiles,
  display: ProgressDisplay,
): Promise<ExitCode> {
  const { stdout, stderr } = io;
  const { resume } = files;
  const quota = createQuotaTracker();
  const live = !options.quiet && stderr.isTTY === true;
  const pipeline = createLeadPipeline({
    enrichment: {
      providers: connections.providers.map((provider) => quota.track(provider)),
      fields: options.fields,
    },
    ...(connections.crm ? { crms: [connections.crm] } : {}),
    ...(files.store === undefined ? {} : { store: files.store }),
    ...(connections.batchSize === undefined ? {} : { batchSize: connections.batchSize }),
    checkpoints: createFileCheckpointStore(
      options.checkpoint,
      options.cache === undefined ? {} : { resultsPath: options.cache },
    ),
    ...(options.columns === undefined ? {} : { columns: options.columns }),
    rejects: files.rejects,
    duplicates: files.duplicates,
    deadLetters: files.deadLetters,
    dryRun: options.dryRun,
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    progressIntervalMs: io.progressIntervalMs ?? (live ? 100 : 1_000),
  });
  const controller = new AbortController();
  const onAbort = () => controller.abort(io.signal?.reason);
  if (io.signal?.aborted) onAbort();
  io.signal?.addEventListener('abort', onAbort, { once: true });
  const counter = countRows(options.input, options.inputFormat, controller.signal);
  let last: PipelineProgress | undefined;
  const extras = (): ProgressExtras => {
    const providers: Record<string, { calls: number; credits: number }> = {};
    for (const [id, entry] of Object.entries(pipeline.enrichment?.stats().providers ?? {})) {
      providers[id] = { calls: entry.calls, credits: entry.credits };
    }
    return { total: counter.total(), providers, quotas: quota.snapshot() };
  };
  if (!options.quiet) {
    pipeline.on('pipeline.progress', (progress) => {
      last = progress;
      display.update(progress, extras());
    });
    stderr.write(describeRun(options));
  }

  let report: PipelineReport;
  try {
    report = await pipeline.run(readInput(options.input, options.inputFormat), {
      signal: controller.signal,
      resume,
      fresh: options.fresh,
      ...(files.fingerprint === undefined ? {} : { fingerprint: files.fingerprint }),
      output: await openOutput(options, resume),
    });
  } catch (error) {
    if (!PipelineAbortedError.isInstance<PipelineReport>(error)) {
      display.finish(last, extras());
      stderr.write(`leadpipe: the run failed: ${problemText(error)}\n`);
      return ValidationError.isInstance(error) || ConfigurationError.isInstance(error)
        ? EXIT_CODES.usage
        : EXIT_CODES.failed;
    }
    report = error.report;
  } finally {
    controller.abort();
    io.signal?.removeEventListener('abort', onAbort);
    await pipeline.close();
  }
  display.finish(last, extras());

  if (options.report !== undefined) await writeJsonReport(options.report, report);
  stdout.write(summarize(report, options, quota.snapshot(), await files.deadLetters.size()));
  if (report.status === 'completed') {
    const kept = await settleCheckpoint(options);
    if (kept !== undefined && !options.quiet) stderr.write(kept);
  }
  const code = exitCodeOf(report);
  if (report.status === 'aborted') {
    stderr.write(
      `leadpipe: interrupted; ${count(report.counts.done + report.counts.rejected + report.counts.deadLettered)} rows are checkpointed, ${count(report.counts.unfinished)} were not finished. Run the same command with --resume to finish.\n`,
    );
  } else if (code === EXIT_CODES.finishedWithProblems) {
    stderr.write(
      `leadpipe: finished with ${count(report.total.rejected)} rejected and ${count(report.total.deadLettered)} dead-lettered rows${report.resumed ? ' (earlier runs included)' : ''} (exit code 3)\n`,
    );
  }
  return code;
}

/** Where the run's answers are read from and written to. */
function answersPath(options: EnrichCommandOptions): string {
  return options.cache ?? `${options.checkpoint}.results`;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** What a run that starts from the first row does with the answers earlier runs paid for: said before it starts. */
function answersNotice(options: EnrichCommandOptions): string {
  const path = answersPath(options);
  const bytes = sizeOf(path);
  if (bytes === 0) return '';
  if (options.fresh) return `leadpipe: --fresh: discarding the answers earlier runs paid for (${path})\n`;
  return `leadpipe: reusing the answers earlier runs paid for (${path}); --fresh discards them\n`;
}

/**
 * After a completed run: the checkpoint is not needed any more and goes;
 * the answers go with it, unless they are kept in a `--cache` file, which
 * is compacted (one line per answer still valid). Returns what to say.
 */
async function settleCheckpoint(options: EnrichCommandOptions): Promise<string | undefined> {
  await rm(options.checkpoint, { force: true });
  await forgetInput(options.checkpoint);
  if (options.cache === undefined) {
    await rm(`${options.checkpoint}.results`, { force: true });
    return undefined;
  }
  const compaction = await compactResultLog(options.cache);
  return `leadpipe: ${compaction.answers.toLocaleString('en-US')} answers kept in ${options.cache} for later runs (${compaction.bytesBefore.toLocaleString('en-US')} bytes compacted to ${compaction.bytesAfter.toLocaleString('en-US')})\n`;
}

/**
 * Run the `leadpipe` command line (`argv` without `node` and the script)
 * and resolve with its exit code; never throws and never calls
 * `process.exit`. See {@link EXIT_CODES}.
 *
 * @example
 * ```ts
 * const code = await runCli(['enrich', 'leads.csv', '--emulate', '--crm', 'hubspot'], {
 *   stdout: process.stdout,
 *   stderr: process.stderr,
 *   env: process.env,
 *   cwd: process.cwd(),
 * });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const display = createProgressDisplay(io.stderr);
  const onStop = () => display.note(stoppingText(io.signal?.reason, argv[0]));
  if (io.signal?.aborted) onStop();
  else io.signal?.addEventListener('abort', onStop, { once: true });
  try {
    return await runCommand(argv, io, display);
  } finally {
    io.signal?.removeEventListener('abort', onStop);
  }
}

async function runCommand(argv: readonly string[], io: CliIo, display: ProgressDisplay): Promise<ExitCode> {
  try {
    const command = parseCommandLine(argv, io.cwd, io.env);
    switch (command.kind) {
      case 'help':
        io.stdout.write(
          command.topic === 'enrich'
            ? ENRICH_HELP
            : command.topic === 'redrive'
              ? REDRIVE_HELP
              : command.topic === 'worker'
                ? WORKER_HELP
                : command.topic === 'submit'
                  ? SUBMIT_HELP
                  : MAIN_HELP,
        );
        return EXIT_CODES.done;
      case 'version':
        io.stdout.write(`${cliVersion()}\n`);
        return EXIT_CODES.done;
      case 'enrich':
        return await enrich(command.options, io, display);
      case 'redrive':
        return await runRedrive(command.options, io);
      case 'worker':
        return await runWorker(command.options, io);
      case 'submit':
        return await runSubmit(command.options, io, display);
      case 'leads':
        if (command.leads.kind === 'help') {
          io.stdout.write(command.leads.text);
          return EXIT_CODES.done;
        }
        return await runLeads(command.leads.command, io);
      case 'campaign':
        if (command.campaign.kind === 'help') {
          io.stdout.write(command.campaign.text);
          return EXIT_CODES.done;
        }
        return await runCampaign(command.campaign.command, io);
      case 'serve':
        return await runServe(command.argv, io);
    }
  } catch (error) {
    if (ValidationError.isInstance(error) || ConfigurationError.isInstance(error)) {
      for (const line of problemText(error).split('\n')) io.stderr.write(`leadpipe: ${line}\n`);
      io.stderr.write('Run leadpipe --help for usage.\n');
      return EXIT_CODES.usage;
    }
    io.stderr.write(`leadpipe: ${problemText(error)}\n`);
    return EXIT_CODES.failed;
  }
}

/** What the command says when its signal stops it (the reason names the signal, such as `SIGTERM`). */
function stoppingText(reason: unknown, command: string | undefined): string {
  const why = reason instanceof Error && reason.message !== '' ? ` (${reason.message})` : '';
  if (command === 'submit')
    return `leadpipe: stopping${why}: no longer following the run; its queued batches stay queued and the workers go on\n`;
  if (command === 'serve')
    return 'leadpipe: stopping the server: requests in flight finish, then connections close\n';
  if (command === 'worker')
    return `leadpipe: stopping${why}: no more batches are taken, running ones finish (or are handed back past --grace-ms)\n`;
  return `leadpipe: stopping${why}: no more rows are read, calls in flight are aborted, finished rows are checkpointed; a second Ctrl-C or SIGTERM quits at once\n`;
}
