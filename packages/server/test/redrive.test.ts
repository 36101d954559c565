import { createCrmSync, createMemoryDeadLetterQueue } from '@leadpipe/core';
import { hubspotDescriptor } from '@leadpipe/crm-hubspot';
import { startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testServer } from './support.js';

describe('POST /v1/dead-letters/redrive against the HubSpot emulator', () => {
  let emulators: Awaited<ReturnType<typeof startEmulators>>;
  beforeAll(async () => {
    emulators = await startEmulators({ vendors: ['hubspot'] });
  });
  afterAll(async () => {
    await emulators.close();
  });

  it('sends the chosen dead letters again; those the CRM takes leave the queue, the others stay', async () => {
    const hubspot = hubspotDescriptor.create(
      hubspotDescriptor.emulatorSettings({
        urls: emulators.urls.hubspot!,
        credentials: emulators.credentials.hubspot!,
      }),
    );
    const deadLetters = createMemoryDeadLetterQueue();
    const failedAt = new Date().toISOString();
    for (const email of ['ada@acme.com', 'bob@acme.com'])
      await deadLetters.put({
        id: `dl-${email}`,
        target: 'hubspot',
        object: 'contacts',
        idProperty: 'email',
        record: { key: email, properties: { email, firstname: email.split('@')[0]! } },
        leadIds: [email],
        error: { code: 'server_error', message: 'HubSpot was down', retryable: true } as never,
        attempts: 1,
        firstFailedAt: failedAt,
        lastFailedAt: failedAt,
      });
    const crmSync = createCrmSync({
      crms: [{ adapter: hubspot, mapping: hubspotDescriptor.defaultMapping }],
      deadLetters,
    });
    const { server, write } = await testServer({ deadLetters, crmSync });
    try {
      const response = await server.app.request('/v1/dead-letters/redrive', {
        method: 'POST',
        headers: { authorization: `Bearer ${write}`, 'content-type': 'application/json' },
        body: JSON.stringify({ ids: ['dl-ada@acme.com'] }),
      });
      expect(response.status).toBe(200);
      expect(await deadLetters.size()).toBe(1);
      expect((await deadLetters.list()).entries.map((entry) => entry.id)).toEqual(['dl-bob@acme.com']);
      const contacts = emulators.emulators.hubspot?.emulator.contacts() ?? [];
      expect(
        contacts.map((contact) => (contact as { properties: { email?: string } }).properties.email),
      ).toContain('ada@acme.com');
    } finally {
      await crmSync.close();
      await hubspot.close();
    }
  });
});
