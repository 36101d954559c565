import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createSendgrid, SENDGRID_LEDGER_KEY_ARG } from '@leadpipe/email-sendgrid';
import { openPostgresStore, type PostgresStore } from '@leadpipe/store-postgres';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type CampaignEngine, createCampaignEngine, ledgerKeyOf } from '../src/index.js';
import {
  crashCampaign,
  dropSchemas,
  sendsPerKey,
  startWebhookReceiver,
  testDatabaseUrl,
  type WebhookReceiver,
} from './postgres-support.js';
import { leadOf } from './support.js';

/**
 * At most one send per (enrollment, step) on the PostgreSQL campaign store:
 * the engine runs in a child process, sends through @leadpipe/email-sendgrid
 * to the SendGrid emulator (in this process, answering after a latency so
 * sends are in flight), is SIGKILLed three times and restarted. The host's
 * webhook route (here, with an engine of its own on its own pool, never
 * started: a web server beside the workers) ingests the emulator's signed
 * events, which settle the claims a kill left behind.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
const child = fileURLToPath(new URL('./fixtures/campaign-pg-child.ts', import.meta.url));
const url = testDatabaseUrl();
const schema = `wt_campaigns_crash_${randomBytes(5).toString('hex')}`;
const LEADS = 60;

let emulators: RunningEmulators;
let receiver: WebhookReceiver;
let store: PostgresStore;
let webhookEngine: CampaignEngine;
let reconciled = 0;
let claimedAtKills = 0;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  emulators = await startEmulators({
    vendors: ['sendgrid'],
    seed: 31,
    faults: { latencyMs: { distribution: 'uniform', minMs: 5, maxMs: 40 } },
    vendorOptions: { sendgrid: { eventWebhook: { url: receiver.url, delayMs: 0 } } },
  });
  const credentials = emulators.emulators.sendgrid?.emulator.credentials;
  receiver.sendgrid = createSendgrid({
    apiKey: credentials?.apiKey,
    baseUrl: emulators.urls.sendgrid?.baseUrl,
    webhookPublicKey: credentials?.webhookPublicKey,
  });
  store = await openPostgresStore({ connection: url, schema, maxConnections: 2 });
  webhookEngine = createCampaignEngine({
    campaigns: [crashCampaign],
    store: store.campaigns,
    leads: store.leads,
    email: receiver.sendgrid,
    senders: [{ email: 'sales@acme.example', postalAddress: 'Acme Inc, 1 Main St, Springfield' }],
    unsubscribe: { baseUrl: 'https://acme.example/u', secret: 'child-unsubscribe-secret' },
  });
  webhookEngine.on('send.reconciled', () => {
    reconciled++;
  });
  receiver.onEvents = (events) => webhookEngine.ingestEmailEvents(events);
});
afterAll(async () => {
  await webhookEngine?.close();
  await store?.close();
  await emulators?.close();
  await receiver?.close();
  await dropSchemas(url, [schema]);
});

interface Run {
  readonly proc: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

function run(env: Record<string, string> = {}): Run {
  const credentials = emulators.emulators.sendgrid!.emulator.credentials;
  const proc = spawn(process.execPath, ['--import', tsxLoader, '--conditions=@leadpipe/source', child], {
    cwd: root,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      CAMPAIGN_DB: url,
      CAMPAIGN_SCHEMA: schema,
      CAMPAIGN_SENDGRID_URL: emulators.urls.sendgrid?.baseUrl ?? '',
      CAMPAIGN_SENDGRID_KEY: credentials.apiKey,
      CAMPAIGN_LEADS: String(LEADS),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      proc.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
  return { proc, done };
}

const stored = () => emulators.emulators.sendgrid!.emulator.messages().length;

/** Kill the child with SIGKILL once the emulator holds `messages` messages (sends are in flight then). */
async function killAt(current: Run, messages: number): Promise<void> {
  const deadline = Date.now() + 90_000;
  while (stored() < messages) {
    if (Date.now() > deadline)
      throw new Error(`the child never reached ${messages} messages (at ${stored()})`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  current.proc.kill('SIGKILL');
  const exit = await current.done;
  expect(exit.signal, exit.stderr).toBe('SIGKILL');
  claimedAtKills += (await store.campaigns.listSends({ status: 'claimed', limit: 1000 })).length;
  // Requests the dead child left in the emulator finish, and their events reach the webhook route.
  await new Promise((resolve) => setTimeout(resolve, 300));
  await emulators.emulators.sendgrid!.emulator.events.dispatcher.idle();
}

it('sends no step twice across three SIGKILLs and restarts on PostgreSQL; crashed claims are reconciled from the webhook or reviewed, never resent', {
  timeout: 240_000,
}, async () => {
  await killAt(run(), 15);
  await killAt(run(), 45);
  await killAt(run(), 80);
  // Every claim the emulator holds a message for was settled by the webhook; what is left never reached it.
  const unsent = await store.campaigns.listSends({ status: 'claimed', limit: 1000 });
  for (const send of unsent)
    expect(sendsPerKey(emulators).get(send.ledgerKey), send.ledgerKey).toBe(undefined);
  const last = await run({ CAMPAIGN_RESOLVE: '1' }).done;
  expect(last.code, last.stderr).toBe(0);
  const summary = JSON.parse(last.stdout.trim().split('\n').at(-1) ?? '{}') as {
    parked: string[];
    resolved: number;
  };
  await emulators.emulators.sendgrid!.emulator.events.dispatcher.idle();
  expect(receiver.refusals).toEqual([]);
  // The kills landed while sends were in flight: claims were left behind and settled by the webhook or by review.
  expect(claimedAtKills, 'claims in flight when the kills landed').toBeGreaterThan(0);
  expect(reconciled, 'claims settled from the webhook').toBeGreaterThan(0);
  // The review settled exactly the claims no event named (as not sent); they were then sent once.
  expect(summary.resolved, last.stdout).toBe(unsent.length);
  expect(summary.parked, last.stdout).toEqual([]);

  const perKey = sendsPerKey(emulators);
  const duplicates = [...perKey.entries()].filter(([, sends]) => sends > 1);
  expect(duplicates, JSON.stringify(duplicates)).toEqual([]);

  // No lost step: every lead got s1; every lead that did not reply got s2; repliers got no s2.
  for (let index = 0; index < LEADS; index++) {
    const lead = (await store.leads.getByEmail(leadOf(index).email!))!;
    const [enrollment] = await store.campaigns.enrollmentsOfLead(lead.id);
    expect(enrollment, `lead ${index}`).toBeDefined();
    const s1 = await store.campaigns.getSend(ledgerKeyOf(enrollment!.id, 's1'));
    const s2 = await store.campaigns.getSend(ledgerKeyOf(enrollment!.id, 's2'));
    expect([s1?.status, perKey.get(s1?.ledgerKey ?? '')], `lead ${index} s1`).toEqual(['sent', 1]);
    const replied = (await store.campaigns.eventsSince(lead.id, 0, ['email.replied'])).length > 0;
    if (replied) {
      expect(enrollment?.status, `lead ${index}`).toBe('exited');
      expect(perKey.get(ledgerKeyOf(enrollment!.id, 's2')), `no send after the reply to lead ${index}`).toBe(
        undefined,
      );
    } else {
      expect(enrollment?.status, `lead ${index}`).toBe('completed');
      expect([s2?.status, perKey.get(s2?.ledgerKey ?? '')], `lead ${index} s2`).toEqual(['sent', 1]);
    }
  }
  // The emulator holds nothing the ledger does not know as sent, with the same message id.
  for (const message of emulators.emulators.sendgrid!.emulator.messages()) {
    const send = await store.campaigns.getSend(message.customArgs[SENDGRID_LEDGER_KEY_ARG]!);
    expect([send?.status, send?.messageId], message.customArgs[SENDGRID_LEDGER_KEY_ARG]).toEqual([
      'sent',
      message.messageId,
    ]);
  }
});
