import { createHmac } from 'node:crypto';
import { type BusEvent, createInProcessEventBus, createLead, createMemoryLeadStore } from '@leadpipe/core';
import { hubspotDescriptor } from '@leadpipe/crm-hubspot';
import {
  createMemoryKeyStore,
  createServer,
  crmWebhookReceiver,
  type ServerLogger,
  type ServerOptions,
} from '../src/index.js';

/** The HubSpot app secret the tests sign with. */
export const HUBSPOT_SECRET = 'hubspot-client-secret-do-not-log-7f3a9c';

/** A logger that keeps every line it is given, as JSON text. */
export function recordingLogger(): ServerLogger & { readonly lines: string[] } {
  const lines: string[] = [];
  const keep = (level: string) => (fields: Record<string, unknown>, message: string) =>
    lines.push(JSON.stringify({ level, msg: message, ...fields }));
  return { lines, info: keep('info'), warn: keep('warn'), error: keep('error') };
}

/** HubSpot change events as HubSpot posts them. */
export function hubspotEvents(ids: readonly number[]): string {
  return JSON.stringify(
    ids.map((eventId) => ({
      eventId,
      subscriptionId: 1,
      portalId: 42,
      appId: 7,
      occurredAt: Date.now() - 1000,
      subscriptionType: 'contact.propertyChange',
      attemptNumber: 0,
      objectId: 1001,
      propertyName: 'firstname',
      propertyValue: `v${eventId}`,
      changeSource: 'CRM_UI',
    })),
  );
}

/** The headers HubSpot signs a delivery to `url` with (v3: method + URL + body + timestamp). */
export function hubspotHeaders(url: string, body: string, secret = HUBSPOT_SECRET): Record<string, string> {
  const timestamp = String(Date.now());
  const signature = createHmac('sha256', secret).update(`POST${url}${body}${timestamp}`).digest('base64');
  return {
    'content-type': 'application/json',
    'x-hubspot-signature-v3': signature,
    'x-hubspot-request-timestamp': timestamp,
  };
}

/** A server on a memory store with three leads, a key per scope, HubSpot webhooks and a recording bus. */
export async function testServer(overrides: Partial<ServerOptions> = {}) {
  const keys = createMemoryKeyStore();
  const read = await keys.create({ name: 'reader', scopes: ['read'] });
  const write = await keys.create({ name: 'writer', scopes: ['write'] });
  const admin = await keys.create({ name: 'admin', scopes: ['admin'] });
  const leads = createMemoryLeadStore();
  await leads.upsert([
    createLead({ email: 'ada@acme.com', firstName: 'Ada', title: 'VP Engineering' }),
    createLead({ email: 'bob@acme.com', firstName: 'Bob' }),
    createLead({ email: 'cy@other.io', firstName: 'Cy' }),
  ]);
  const bus = createInProcessEventBus();
  const published: BusEvent[] = [];
  await bus.subscribe({ name: 'test', types: ['#'], handler: async (event) => void published.push(event) });
  const hubspot = hubspotDescriptor.create({
    accessToken: 'pat-na1-test-token',
    webhookSecret: HUBSPOT_SECRET,
  });
  const logger = recordingLogger();
  const server = createServer({
    keys,
    leads,
    logger,
    webhooks: { receivers: [crmWebhookReceiver(hubspot)], bus },
    ...overrides,
  });
  return {
    server,
    keys,
    leads,
    bus,
    published,
    logger,
    read: read.key,
    write: write.key,
    admin: admin.key,
    hubspot,
  };
}
