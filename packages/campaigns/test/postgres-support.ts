import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmailEvent } from '@leadpipe/core';
import type { SendgridProvider } from '@leadpipe/email-sendgrid';
import type { RunningEmulators } from '@leadpipe/testkit';
import pg from 'pg';
import type { CampaignDefinition } from '../src/index.js';

/** The campaign of the SIGKILL test's child (and of the parent's webhook engine). */
export const crashCampaign: CampaignDefinition = {
  id: 'pg-crash',
  triggers: [],
  steps: [
    { id: 's1', type: 'email', template: { subject: 'First', text: 'Hello {{ first_name }}' } },
    { id: 'pause', type: 'wait', durationMs: 300 },
    { id: 's2', type: 'email', template: { subject: 'Second', text: 'Again {{ first_name }}' } },
  ],
};

/**
 * The database these integration tests use: `LEADPIPE_STORE_TEST_DATABASE`
 * (an existing database, so side-by-side runs never drop each other's
 * schemas), else `leadpipe_store_test` (made by scripts/integration-setup.ts).
 * Each test uses a schema of its own that is not `lp_t_*`, which a concurrent
 * run's setup drops.
 */
export function testDatabaseUrl(): string {
  const url = new URL(process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
  url.pathname = `/${process.env.LEADPIPE_STORE_TEST_DATABASE ?? 'leadpipe_store_test'}`;
  return url.toString();
}

/** Drop the test's schemas. */
export async function dropSchemas(url: string, schemas: readonly string[]): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The host's SendGrid webhook route: raw body and headers into the provider's verifier, then `onEvents`. */
export interface WebhookReceiver {
  /** The route's URL. */
  readonly url: string;
  /** Refused deliveries (verifier codes). */
  readonly refusals: string[];
  /** Every verified event, in arrival order. */
  readonly events: EmailEvent[];
  /** Where verified events go (set per test). */
  onEvents: (events: readonly EmailEvent[]) => Promise<void>;
  /** Set once the emulator runs: the verifier. */
  sendgrid: SendgridProvider | undefined;
  /** Stop the server. */
  close(): Promise<void>;
}

/** Start a webhook receiver on a free port. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const receiver: WebhookReceiver = {
    url: '',
    refusals: [],
    events: [],
    onEvents: async () => {},
    sendgrid: undefined,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      try {
        const events = await (receiver.sendgrid as SendgridProvider).doParseEvents({
          method: request.method ?? 'POST',
          url: request.url ?? '/',
          headers: request.headers,
          rawBody: Buffer.concat(chunks),
        });
        await receiver.onEvents(events);
        receiver.events.push(...events);
        response.writeHead(200).end();
      } catch (error) {
        receiver.refusals.push(
          typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : String(error),
        );
        response.writeHead(500).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (receiver as { url: string }).url =
    `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/sendgrid`;
  return receiver;
}

/** Sends per ledger key in the emulator's stored messages. */
export function sendsPerKey(emulators: RunningEmulators): Map<string, number> {
  const perKey = new Map<string, number>();
  for (const message of emulators.emulators.sendgrid?.emulator.messages() ?? []) {
    const key = message.customArgs.leadpipe_ledger_key ?? '';
    perKey.set(key, (perKey.get(key) ?? 0) + 1);
  }
  return perKey;
}
