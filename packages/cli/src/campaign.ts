import { createHash, randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  type Campaign,
  createCampaignEngine,
  createInProcessQueue,
  createMemoryCampaignStore,
  createScheduleTiming,
  type EngineCampaign,
  loadCampaignFile,
  parseCampaign,
  toEngineCampaign,
} from '@leadpipe/campaigns';
import {
  ConfigurationError,
  createLeadPipeline,
  createLimiterRegistry,
  createMemoryLeadStore,
  type LeadStoreV1,
  type SourceRow,
} from '@leadpipe/core';
import { sendgridDescriptor } from '@leadpipe/email-sendgrid';
import type { CampaignCommand } from './campaign-args.js';
import { type CampaignProgress, createCampaignProgressDisplay, emulatedTime } from './campaign-progress.js';
import { emulatedSettings } from './connections.js';
import { emulateFaults, startEmulatedVendors } from './emulate.js';
import { readInput } from './files.js';
import { type CliIo, EXIT_CODES, type ExitCode } from './io.js';
import { count } from './progress.js';
import { openStore } from './store.js';

/** The environment variable the unsubscribe token secret is read from (default: a random one per run). */
const UNSUBSCRIBE_SECRET_VARIABLE = 'LEADPIPE_UNSUBSCRIBE_SECRET';

/** The longest emulated span a run covers before it stops (a sequence that never ends). */
const MAX_EMULATED_MS = 400 * 86_400_000;

/** Read and check a campaign file: JSON or YAML, or a module whose default export is the campaign. */
async function loadDefinition(file: string): Promise<Campaign> {
  const extension = extname(file).toLowerCase();
  if (extension === '.json' || extension === '.yaml' || extension === '.yml') return loadCampaignFile(file);
  let module: { default?: unknown; campaign?: unknown };
  try {
    module = (await import(pathToFileURL(file).href)) as typeof module;
  } catch (error) {
    throw new ConfigurationError('invalid_configuration', {
      message: `campaign ${file}: cannot load it: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
      issues: [{ field: 'file', reason: 'cannot be loaded as a module' }],
    });
  }
  return parseCampaign(module.default ?? module.campaign, { source: file });
}

/** A checked campaign file in the engine's terms. */
async function loadEngineCampaign(file: string): Promise<EngineCampaign> {
  return toEngineCampaign(await loadDefinition(file));
}

/** `leadpipe campaign check <file>`: the steps, or every problem with its path. */
async function check(file: string, io: CliIo): Promise<ExitCode> {
  let loaded: EngineCampaign;
  try {
    loaded = await loadEngineCampaign(file);
  } catch (error) {
    if (!ConfigurationError.isInstance(error)) throw error;
    io.stderr.write(`leadpipe: ${file} is not a valid campaign:\n`);
    const issues = error.issues ?? [];
    if (issues.length === 0) io.stderr.write(`  ${error.message}\n`);
    for (const issue of issues) io.stderr.write(`  ${issue.field}: ${issue.reason}\n`);
    return EXIT_CODES.usage;
  }
  const { campaign, senders } = loaded;
  io.stdout.write(`${file}: campaign ${campaign.id} is valid\n`);
  io.stdout.write(`  senders: ${senders.map((sender) => sender.email).join(', ')}\n`);
  for (const [index, step] of campaign.steps.entries())
    io.stdout.write(`  ${index + 1}. ${step.id} (${step.type})\n`);
  return EXIT_CODES.done;
}

/** Columns of an input file that are not lead values (as `leads import` skips them). */
const NOT_VALUES = /(__source|__confidence)$|^(id|leadpipe_row)$/;

async function* rowValues(
  path: string,
  format: 'csv' | 'tsv' | 'ndjson',
): AsyncGenerator<Record<string, unknown>> {
  for await (const row of readInput(path, format) as AsyncGenerator<SourceRow>) {
    const values: Record<string, unknown> = {};
    for (const [column, value] of Object.entries(row.values))
      if (!NOT_VALUES.test(column)) values[column] = value;
    yield values;
  }
}

/** Upsert `--leads` into the store; says how many. */
async function importLeads(
  leads: NonNullable<Extract<CampaignCommand, { kind: 'run' }>['leads']>,
  store: LeadStoreV1,
  io: CliIo,
): Promise<void> {
  const pipeline = createLeadPipeline({ store, batchSize: 500 });
  try {
    const report = await pipeline.run(rowValues(leads.path, leads.format));
    io.stderr.write(
      `leadpipe: imported ${leads.path}: ${count(report.counts.read)} read, ${count(report.counts.rejected)} rejected\n`,
    );
  } finally {
    await pipeline.close();
  }
}

/** A share of leads, chosen by a hash of the id (the same every run): `[0, 1)`. */
function shareOf(id: string, salt: string): number {
  return createHash('sha256').update(`${salt}:${id}`).digest().readUInt32BE(0) / 2 ** 32;
}

type RunCommand = Extract<CampaignCommand, { kind: 'run' }>;

/** `leadpipe campaign run <file> --emulate`. */
async function run(command: RunCommand, io: CliIo): Promise<ExitCode> {
  const { campaign, senders, unsubscribeBaseUrl } = await loadEngineCampaign(command.file);
  const faults = emulateFaults(io.env);
  const emulators =
    io.emulators ??
    (await startEmulatedVendors({ vendors: ['sendgrid'], ...(faults === undefined ? {} : { faults }) }));
  let opened: Awaited<ReturnType<typeof openStore>> | undefined;
  let email: ReturnType<typeof sendgridDescriptor.create> | undefined;
  let store: ReturnType<typeof createMemoryCampaignStore> | undefined;
  try {
    opened = command.store === undefined ? undefined : (io.store ?? (await openStore(command.store)));
    email = sendgridDescriptor.create(emulatedSettings(emulators, sendgridDescriptor));
    store = createMemoryCampaignStore(command.state === undefined ? {} : { file: command.state });
    const leads = opened?.leads ?? createMemoryLeadStore();
    if (command.leads !== undefined) await importLeads(command.leads, leads, io);

    // The emulated clock: it jumps to the next thing due, so days of waits take no real time.
    let emulatedNow = command.startAt;
    const clock = () => emulatedNow;
    const timing = createScheduleTiming();
    const queue = createInProcessQueue({
      store,
      nextCronTime: timing.nextCronTime,
      now: clock,
      batchSize: 200,
      concurrency: 16,
    });
    const engine = createCampaignEngine({
      campaigns: [campaign],
      senders,
      store,
      leads,
      email,
      queue,
      timing,
      now: clock,
      // Rate limits are the provider's, in real time: the emulated clock stands still while a batch is sent.
      limiters: createLimiterRegistry(),
      unsubscribe: {
        baseUrl: unsubscribeBaseUrl,
        secret: io.env[UNSUBSCRIBE_SECRET_VARIABLE] ?? randomBytes(24).toString('hex'),
      },
    });

    const firstEmail = campaign.steps.find((step) => step.type === 'email')?.id;
    const replies: { at: number; ledgerKey: string; messageId: string }[] = [];
    const figures = { leads: 0, enrolled: 0, sent: 0, replied: 0, exited: 0, completed: 0, failed: 0 };
    const errors: unknown[] = [];
    engine.on('enrollment.created', () => figures.enrolled++);
    engine.on('enrollment.exited', () => figures.exited++);
    engine.on('enrollment.completed', () => figures.completed++);
    engine.on('enrollment.failed', () => figures.failed++);
    engine.on('engine.error', ({ error }) => errors.push(error));
    engine.on('email.sent', (event) => {
      figures.sent++;
      if (event.stepId !== firstEmail || shareOf(event.leadId, campaign.id) >= command.replyRate) return;
      // A reply some hours after the first email (1 to 20, by lead): it lands before a wait of a day or more ends.
      const hours = 1 + Math.floor(shareOf(event.leadId, 'reply-delay') * 20);
      replies.push({
        at: emulatedNow + hours * 3_600_000,
        ledgerKey: event.ledgerKey,
        messageId: event.messageId,
      });
    });

    const started = Date.now();
    const display = createCampaignProgressDisplay(io.stderr, io.progressIntervalMs);
    const progress = (): CampaignProgress => ({
      ...figures,
      emulatedAt: emulatedNow,
      elapsedMs: Date.now() - started,
    });

    for await (const lead of leads.export({ fields: ['email'] })) {
      figures.leads++;
      await engine.enroll(campaign.id, lead.id, { trigger: 'leadpipe campaign run' });
      display.update(progress());
      if (io.signal?.aborted) break;
    }

    let stopped = false;
    for (;;) {
      if (io.signal?.aborted) {
        stopped = true;
        break;
      }
      const arrived = replies.filter((reply) => reply.at <= emulatedNow);
      if (arrived.length > 0) {
        replies.splice(0, replies.length, ...replies.filter((reply) => reply.at > emulatedNow));
        const events = [];
        for (const reply of arrived) {
          const send = await store.getSend(reply.ledgerKey);
          if (send === undefined) continue;
          events.push({
            eventId: `reply-${reply.ledgerKey}`,
            type: 'replied' as const,
            email: send.email,
            occurredAt: new Date(reply.at).toISOString(),
            ledgerKey: reply.ledgerKey,
            messageId: reply.messageId,
          });
        }
        await engine.ingestEmailEvents(events);
        figures.replied += events.length;
      }
      await engine.runDue();
      display.update(progress());
      // Claims whose outcome is unknown (a run that stopped mid-send) are never resent: when nothing else is left, stop.
      const parked = await engine.reviewList();
      if (parked.length > 0 && replies.length === 0) {
        const { byStatus } = await engine.stats(campaign.id);
        if (byStatus.active <= parked.length) {
          io.stderr.write(
            `leadpipe: ${count(parked.length)} sends claimed by an earlier run that stopped mid-send wait for review (the provider's events settle them, or engine.resolveReview); stopping here\n`,
          );
          break;
        }
      }
      const wake = await store.nextWakeAt();
      const nextReply = replies.reduce(
        (soonest, reply) => Math.min(soonest, reply.at),
        Number.POSITIVE_INFINITY,
      );
      const next = Math.min(wake ?? Number.POSITIVE_INFINITY, nextReply);
      if (!Number.isFinite(next)) break;
      if (next - command.startAt > MAX_EMULATED_MS) {
        io.stderr.write(
          `leadpipe: stopping at emulated ${emulatedTime(emulatedNow)}: the next step is due more than 400 days after the start\n`,
        );
        break;
      }
      // Something still due after a full drain failed in its handler: let a second of emulated time pass.
      emulatedNow = next > emulatedNow ? next : emulatedNow + 1000;
    }
    display.update(progress(), true);
    await engine.close();
    for (const error of errors.slice(0, 5))
      io.stderr.write(`leadpipe: engine error: ${error instanceof Error ? error.message : String(error)}\n`);

    const stats = await engine.stats(campaign.id);
    const span = emulatedNow - command.startAt;
    io.stdout.write(
      `Campaign ${campaign.id}: ${count(figures.leads)} leads, ${count(stats.enrolled)} enrolled; emulated ${emulatedTime(command.startAt)} to ${emulatedTime(emulatedNow)} (${(span / 86_400_000).toFixed(1)} days) in ${((Date.now() - started) / 1000).toFixed(1)}s${stopped ? ' (stopped)' : ''}\n`,
    );
    const rows = [['step', 'type', 'sent', 'replied', 'bounced', 'unsubscribed', 'failed']];
    for (const step of campaign.steps) {
      const s = stats.steps[step.id];
      if (step.type !== 'email' && s === undefined) continue;
      rows.push([
        step.id,
        step.type,
        ...[s?.sent, s?.replied, s?.bounced, s?.unsubscribed, s?.failed].map((value) => count(value ?? 0)),
      ]);
    }
    const widths =
      rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
    for (const row of rows) {
      io.stdout.write(
        `  ${row.map((cell, column) => (column < 2 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  ')}\n`,
      );
    }
    const reasons = Object.entries(stats.exitedByReason)
      .map(([reason, number]) => `${reason} ${count(number)}`)
      .join(', ');
    io.stdout.write(
      `Enrollments: ${count(stats.byStatus.completed)} completed, ${count(stats.byStatus.exited)} exited${reasons === '' ? '' : ` (${reasons})`}, ${count(stats.byStatus.failed)} failed, ${count(stats.byStatus.active)} active\n`,
    );
    if (command.state !== undefined) io.stdout.write(`State kept in ${command.state}\n`);
    if (stopped) return EXIT_CODES.interrupted;
    return stats.byStatus.failed > 0 || stats.byStatus.active > 0
      ? EXIT_CODES.finishedWithProblems
      : EXIT_CODES.done;
  } finally {
    await store?.close();
    await email?.close?.();
    if (opened !== undefined && opened !== io.store) await opened.close();
    if (emulators !== io.emulators) await emulators.close();
  }
}

/** Run a `leadpipe campaign` command. */
export async function runCampaign(command: CampaignCommand, io: CliIo): Promise<ExitCode> {
  return command.kind === 'check' ? check(command.file, io) : run(command, io);
}
