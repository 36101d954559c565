/**
 * Campaign: a three-step sequence (email, wait 2 business days, follow-up; a reply ends it) over 50 leads,
 * sent through the testkit's SendGrid emulator, on an emulated clock that jumps to whatever is due next.
 *
 * Run: pnpm exec tsx --conditions=@leadpipe/source examples/campaign.ts
 */
import {
  type CampaignDefinition,
  createCampaignEngine,
  createMemoryCampaignStore,
} from '@leadpipe/campaigns';
import { createLead, createLimiterRegistry, createMemoryLeadStore } from '@leadpipe/core';
import { createSendgrid } from '@leadpipe/email-sendgrid';
import { startEmulators } from '@leadpipe/testkit';

const intro: CampaignDefinition = {
  id: 'intro',
  triggers: [],
  sending: {
    timeZone: 'America/New_York',
    windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' }],
  },
  steps: [
    {
      id: 'hello',
      type: 'email',
      template: { subject: 'Hi {{ first_name | default: "there" }}', text: 'Hello from Acme.' },
    },
    { id: 'pause', type: 'wait', businessDays: 2 },
    {
      id: 'followup',
      type: 'email',
      template: { subject: 'Any questions?', text: 'Just reply to this email.' },
    },
  ],
};

const vendors = await startEmulators({ vendors: ['sendgrid'] });
const leads = createMemoryLeadStore();
const store = createMemoryCampaignStore();
let now = Date.parse('2026-03-06T12:00:00Z'); // a Friday: the follow-ups go out on Tuesday
const engine = createCampaignEngine({
  campaigns: [intro],
  store,
  leads,
  now: () => now,
  limiters: createLimiterRegistry(),
  email: createSendgrid({
    apiKey: vendors.credentials.sendgrid?.apiKey,
    baseUrl: vendors.urls.sendgrid?.baseUrl,
  }),
  senders: [{ email: 'sales@acme.example', postalAddress: 'Acme Inc, 1 Main St, Springfield, USA' }],
  unsubscribe: { baseUrl: 'https://acme.example/unsubscribe', secret: 'a-long-example-secret' },
});
const people = Array.from({ length: 50 }, (_, i) =>
  createLead({ email: `lead${i}@example.com`, firstName: `Lee${i}` }),
);
// Every fifth lead replies to the first email (the host app reports it); a reply exits the sequence.
const repliers = new Set(people.filter((_, i) => i % 5 === 0).map((lead) => lead.id));
engine.on('email.sent', ({ stepId, leadId }) => {
  if (stepId === 'hello' && repliers.has(leadId))
    void engine.publish({ id: `reply-${leadId}`, type: 'email.replied', leadId });
});

await leads.upsert(people);
for (const lead of people) await engine.enroll('intro', lead.id);
for (let next = await store.nextWakeAt(); next !== undefined; next = await store.nextWakeAt()) {
  now = Math.max(now, next);
  await engine.runDue();
}
const stats = await engine.stats('intro');
const held = vendors.emulators.sendgrid?.emulator.messages().length;
console.log(`emulated clock at ${new Date(now).toISOString()}; SendGrid holds ${held} messages`);
for (const [step, counts] of Object.entries(stats.steps)) console.log(`${step}: ${counts.sent} sent`);
console.log(`enrolled ${stats.enrolled}, completed ${stats.byStatus.completed}`, stats.exitedByReason);
await engine.close();
await vendors.close();
