import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLead, createMemoryLeadStore, mentionsEmail } from '@leadpipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CampaignDefinition,
  campaignEraseTarget,
  createCampaignEngine,
  createMemoryCampaignStore,
  ledgerKeyOf,
} from '../src/index.js';
import { createTestEmailProvider, startTestVendor, type TestVendor } from './support.js';

const folder = mkdtempSync(join(tmpdir(), 'campaign-erase-'));
let vendor: TestVendor;
beforeAll(async () => {
  vendor = await startTestVendor();
});
afterAll(async () => {
  await vendor.close();
  rmSync(folder, { recursive: true, force: true });
});

const campaign: CampaignDefinition = {
  id: 'erase-welcome',
  triggers: [{ type: 'event', event: 'lead.created' }],
  steps: [
    { id: 'hello', type: 'email', template: { subject: 'Hi', text: 'Hello {{ first_name }}' } },
    { id: 'pause', type: 'wait', durationMs: 86_400_000 },
    { id: 'again', type: 'email', template: { subject: 'Again', text: 'Hello again' } },
  ],
};

describe('leads.erase reaching a memory campaign store (campaignEraseTarget)', () => {
  it("removes the person's enrollments, sends, events and dead letters, rewrites the journal without them, keeps the suppression", async () => {
    const file = join(folder, 'campaigns.ndjson');
    const campaigns = createMemoryCampaignStore({ file });
    const leads = createMemoryLeadStore({ eraseTargets: [campaignEraseTarget(campaigns)] });
    const engine = createCampaignEngine({
      campaigns: [campaign],
      store: campaigns,
      leads,
      email: createTestEmailProvider(vendor.url),
      senders: [{ email: 'sales@acme.example', postalAddress: 'Acme Inc, 1 Main St, Springfield' }],
      unsubscribe: { baseUrl: 'https://acme.example/u', secret: 'erase-test-secret-123456' },
    });
    await leads.upsert([
      createLead({ email: 'Ada@acme.com', firstName: 'Ada' }),
      createLead({ email: 'bob@acme.com', firstName: 'Bob' }),
    ]);
    const ada = (await leads.getByEmail('ada@acme.com'))!;
    const bob = (await leads.getByEmail('bob@acme.com'))!;
    for (const lead of [ada, bob]) await engine.handleLeadEvent({ type: 'lead.created', lead });
    await engine.runDue();
    expect(vendor.messages.map((message) => message.to.email).sort()).toEqual([
      'ada@acme.com',
      'bob@acme.com',
    ]);

    // Ada unsubscribes through her link; a custom event and a dead letter name her; Bob's data mentions her too.
    const adaMessage = vendor.messages.find((message) => message.to.email === 'ada@acme.com')!;
    const link = /^<(.+)>$/.exec(adaMessage.headers?.['List-Unsubscribe'] ?? '')![1]!;
    expect((await engine.handleUnsubscribe({ method: 'POST', url: link })).status).toBe(200);
    await engine.publish({ id: 'note-ada', type: 'note', leadId: ada.id, data: { by: 'crm' } });
    await engine.publish({ id: 'note-bob-cc', type: 'note', leadId: bob.id, data: { cc: 'ADA@acme.com' } });
    await engine.publish({
      id: 'note-bob-nada',
      type: 'note',
      leadId: bob.id,
      data: { cc: 'nada@acme.com' },
    });
    const [adaEnrollment] = await campaigns.enrollmentsOfLead(ada.id);
    const [bobEnrollment] = await campaigns.enrollmentsOfLead(bob.id);
    for (const [enrollment, id] of [
      [adaEnrollment!, 'dl-ada'],
      [bobEnrollment!, 'dl-bob'],
    ] as const) {
      await campaigns.putDeadLetter({
        id,
        enrollmentId: enrollment.id,
        campaignId: campaign.id,
        stepId: 'again',
        code: 'template_error',
        message: 'failed',
        attempts: 1,
        at: 1,
      });
    }
    await campaigns.putDeadLetter({
      id: 'dl-named',
      enrollmentId: 'elsewhere',
      campaignId: campaign.id,
      stepId: 'again',
      code: 'refused',
      message: 'The provider refused ada@acme.com',
      attempts: 1,
      at: 2,
    });
    expect(mentionsEmail(readFileSync(file, 'utf8'), 'ada@acme.com')).toBe(true);

    const report = await leads.erase('ADA@acme.com');
    expect(report.removed).toMatchObject({
      leads: 1,
      campaignEnrollments: 1,
      campaignSends: 1,
      // her lead.created, unsubscribe and note, and Bob's event naming her address
      campaignEvents: 4,
      campaignDeadLetters: 2,
    });
    expect(await campaigns.enrollmentsOfLead(ada.id)).toEqual([]);
    expect(await campaigns.getSend(ledgerKeyOf(adaEnrollment!.id, 'hello'))).toBe(undefined);
    expect(await campaigns.eventsSince(ada.id, 0)).toEqual([]);
    expect((await campaigns.eventsSince(bob.id, 0)).map((event) => event.type)).toEqual([
      'lead.created',
      'note',
    ]);
    expect((await campaigns.eventsSince(bob.id, 0)).map((event) => event.data)).toEqual([
      undefined,
      { cc: 'nada@acme.com' },
    ]);
    expect((await campaigns.listDeadLetters()).map((letter) => letter.id)).toEqual(['dl-bob']);
    expect(await campaigns.getSend(ledgerKeyOf(bobEnrollment!.id, 'hello'))).toMatchObject({
      status: 'sent',
    });
    // The suppression stays, under a hash: neither her address nor her lead id is left in the journal.
    expect(await campaigns.getSuppression('Ada@Acme.com')).toMatchObject({
      email: 'ada@acme.com',
      reason: 'unsubscribed',
    });
    const journal = readFileSync(file, 'utf8').toLowerCase();
    expect(mentionsEmail(journal, 'ada@acme.com'), journal).toBe(false);
    expect(journal).not.toContain(ada.id);
    expect(journal).toContain('bob@acme.com');
    const stats = await engine.stats(campaign.id);
    expect([stats.enrolled, stats.steps.hello?.sent]).toEqual([1, 1]);

    // A restart reads the rewritten journal: same state.
    const reopened = createMemoryCampaignStore({ file });
    expect(await reopened.enrollmentsOfLead(ada.id)).toEqual([]);
    expect((await reopened.enrollmentsOfLead(bob.id)).map((enrollment) => enrollment.id)).toEqual([
      bobEnrollment!.id,
    ]);
    expect((await reopened.getSuppression('ada@acme.com'))?.reason).toBe('unsubscribed');
    expect(
      (await reopened.mailboxUsage('sales@acme.example', new Date().toISOString().slice(0, 10))).lastSentAt,
    ).toBeDefined();

    // Ada comes back as a new lead: enrolled again, never emailed.
    await leads.upsert([createLead({ email: 'ada@acme.com', firstName: 'Ada' })]);
    const again = (await leads.getByEmail('ada@acme.com'))!;
    await engine.handleLeadEvent({ type: 'lead.created', lead: again });
    await engine.runDue();
    expect((await campaigns.enrollmentsOfLead(again.id))[0]).toMatchObject({
      status: 'exited',
      reason: 'suppressed.unsubscribed',
    });
    expect(vendor.messages.filter((message) => message.to.email === 'ada@acme.com')).toHaveLength(1);
    // Erasing again finds nothing left of her but the new enrollment, and leaves the journal alone when nothing goes.
    expect((await leads.erase('ada@acme.com')).removed).toMatchObject({
      campaignEnrollments: 1,
      campaignSends: 0,
    });
    const before = readFileSync(file, 'utf8');
    expect(await campaigns.erase({ email: 'nobody@acme.com', leadIds: [] })).toEqual({
      campaignEnrollments: 0,
      campaignSends: 0,
      campaignEvents: 0,
      campaignDeadLetters: 0,
    });
    expect(readFileSync(file, 'utf8')).toBe(before);
    await campaigns.close();
    await expect(campaigns.erase({ email: 'bob@acme.com', leadIds: [bob.id] })).rejects.toThrow(/closed/);
    await engine.close();
  });

  it('replays suppressions journaled with the address in clear under their hash', async () => {
    const file = join(folder, 'old.ndjson');
    writeFileSync(
      file,
      `${JSON.stringify([{ t: 'suppression', v: { email: 'old@acme.com', reason: 'complained', source: 'x', at: 1 } }])}\n`,
    );
    const store = createMemoryCampaignStore({ file });
    expect(await store.getSuppression('OLD@acme.com')).toEqual({
      email: 'old@acme.com',
      reason: 'complained',
      source: 'x',
      at: 1,
    });
  });
});
