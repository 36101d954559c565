/**
 * Issue 13 §4, exactly once: BENCH_ENROLLMENTS (default 10,000) enrollments in the bench sequence (email, wait 2
 * business days, email; exit on reply; every tenth lead replies between the steps) on an emulated clock, in a child
 * process (bench/campaign-child.ts) SIGKILLed BENCH_KILLS times (default 2) while it sends, and restarted on its
 * journal. Sends are counted from the SendGrid emulator's stored messages, per ledger key (enrollment, step).
 * Prints
 * `{"bench":"campaign","case":"exactly-once","enrollments":N,"kills":2,"sends":n,"duplicateSends":0,"lostSteps":0,"sendsAfterExit":0}`.
 *
 *   pnpm exec tsx --conditions=@leadpipe/source packages/campaigns/bench/exactly-once.bench.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SENDGRID_LEDGER_KEY_ARG } from '@leadpipe/email-sendgrid';
import { startEmulators } from '@leadpipe/testkit';
import { createMemoryCampaignStore, ledgerKeyOf } from '../src/index.js';
import { BENCH_CAMPAIGN, benchLead, printLine } from './support.js';

const total = Number(process.env.BENCH_ENROLLMENTS ?? 10_000);
const kills = Number(process.env.BENCH_KILLS ?? 2);
const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
const child = fileURLToPath(new URL('./campaign-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'leadpipe-campaign-bench-'));
const state = join(dir, 'state.ndjson');

// The Event Webhook's receiver: every event the emulator posts (processed, delivered), kept for the next process.
const received: Record<string, unknown>[] = [];
const receiver = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    received.push(...(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>[]));
    response.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const running = await startEmulators({
  vendors: ['sendgrid'],
  maxRecordedRequests: 0,
  limits: { sendgrid: { limit: 100_000, windowMs: 1000 } },
  vendorOptions: {
    sendgrid: {
      eventWebhook: {
        url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`,
        autoEvents: ['processed'],
        delayMs: 0,
      },
    },
  },
});
const accepted = () => running.counters.get('sendgrid.accepted');
const sendgrid = running.emulators.sendgrid?.emulator;
if (sendgrid === undefined) throw new Error('the SendGrid emulator did not start');

interface Run {
  readonly proc: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
  readonly exited: () => boolean;
}

function start(env: Record<string, string>): Run {
  const proc = spawn(process.execPath, ['--import', tsxLoader, '--conditions=@leadpipe/source', child], {
    cwd: root,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      BENCH_STATE: state,
      BENCH_ENROLLMENTS: String(total),
      BENCH_SENDGRID_URL: running.urls.sendgrid?.baseUrl ?? '',
      BENCH_SENDGRID_KEY: running.credentials.sendgrid?.apiKey ?? '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let exited = false;
  proc.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      proc.on('exit', (code, signal) => {
        exited = true;
        resolve({ code, signal, stdout, stderr });
      });
    },
  );
  return { proc, done, exited: () => exited };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The provider's events so far, as its Event Webhook would have delivered them, written for the next process. */
async function eventsFile(run: number): Promise<string> {
  // Every accepted message gets its `processed` event, posted at once (delayMs 0).
  const deadline = Date.now() + 120_000;
  while (received.length < accepted() && Date.now() < deadline) await sleep(10);
  const path = join(dir, `events-${run}.json`);
  writeFileSync(path, JSON.stringify(received));
  return path;
}

// Kill points: spread over the expected sends (about 1.9 per enrollment), the first in the first step's burst.
const expected = total * 1.9;
let current = start({});
let killed = 0;
for (let kill = 1; kill <= kills; kill++) {
  const at = Math.floor((expected * kill) / (kills + 1));
  const deadline = Date.now() + 30 * 60_000;
  while (accepted() < at) {
    if (Date.now() > deadline || current.exited())
      throw new Error(`the child never reached ${at} messages: ${(await current.done).stderr}`);
    await sleep(5);
  }
  current.proc.kill('SIGKILL');
  const exit = await current.done;
  if (exit.signal !== 'SIGKILL') throw new Error(`the child ended before the kill: ${exit.stderr}`);
  killed++;
  current = start({ BENCH_EVENTS: await eventsFile(kill) });
}
const last = await current.done;
if (last.code !== 0) throw new Error(`the last run failed (${last.code}): ${last.stderr}`);

// Count every message the provider accepted, per (enrollment, step).
const perKey = new Map<string, number>();
for (const message of sendgrid.messages()) {
  const key = message.customArgs[SENDGRID_LEDGER_KEY_ARG] ?? '';
  perKey.set(key, (perKey.get(key) ?? 0) + 1);
}
let duplicateSends = 0;
for (const sends of perKey.values()) duplicateSends += sends - 1;

const store = createMemoryCampaignStore({ file: state });
let lostSteps = 0;
let sendsAfterExit = 0;
let replied = 0;
for (let index = 0; index < total; index++) {
  const lead = benchLead(index);
  const [enrollment] = await store.enrollmentsOfLead(lead.id);
  if (enrollment === undefined) {
    lostSteps += 2;
    continue;
  }
  const first = ledgerKeyOf(enrollment.id, 's1');
  const second = ledgerKeyOf(enrollment.id, 's2');
  if (perKey.get(first) === undefined) lostSteps++;
  const [reply] = await store.eventsSince(lead.id, 0, ['email.replied']);
  if (reply !== undefined) {
    replied++;
    const send = await store.getSend(second);
    if (perKey.get(second) !== undefined && (send === undefined || send.claimedAt >= reply.at))
      sendsAfterExit++;
  } else if (perKey.get(second) === undefined) lostSteps++;
}
await store.close();
const sends = sendgrid.messages().length;
await running.close();
receiver.close();
rmSync(dir, { recursive: true, force: true });

printLine({
  case: 'exactly-once',
  enrollments: total,
  kills: killed,
  sends,
  duplicateSends,
  lostSteps,
  sendsAfterExit,
  replied,
  campaign: BENCH_CAMPAIGN.id,
  lastRun: JSON.parse(last.stdout.trim().split('\n').at(-1) ?? '{}'),
});
