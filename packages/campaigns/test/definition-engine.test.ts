import { createMemoryLeadStore } from '@leadpipe/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createCampaignEngine,
  createMemoryCampaignStore,
  END_OF_CAMPAIGN,
  loadCampaign,
  toEngineCampaign,
} from '../src/index.js';
import { createTestEmailProvider, leadOf, startTestVendor, type TestVendor } from './support.js';

// A campaign as a person writes it: YAML with a condition trigger, an audience, a sending window in the
// recipient's zone, a business-day wait and a nested branch.
const YAML = `
id: yaml-intro
timeZone: UTC
trigger:
  condition:
    when: company.headcount >= 200
audience: email exists
exitOn: [reply, unsubscribe]
sender:
  from: { email: sales@acme.test, name: Acme }
  postalAddress: Hauptstrasse 1, 10115 Berlin, Germany
  unsubscribeBaseUrl: https://acme.test/u
sendingWindow:
  - { days: [mon, tue, wed, thu, fri], start: "09:00", end: "17:00" }
templates:
  hello:
    subject: "Hi {{ first_name | default: 'there' }}"
    html: '<p>Hello {{ company.name }}</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>'
steps:
  - id: hello
    email: { template: hello }
  - wait: { businessDays: 1 }
  - branch:
      if: "title = CTO"
      then:
        - id: cto
          email:
            template: { subject: "For the CTO", html: '<p>Tech</p><a href="{{ unsubscribe_url }}">x</a>' }
      else:
        - id: other
          email:
            template: { subject: "For you", html: '<p>Other</p><a href="{{ unsubscribe_url }}">x</a>' }
`;

/** How many times `needle` occurs in `text`. */
const occurrences = (text: string, needle: string): number => text.split(needle).length - 1;

let vendor: TestVendor;
beforeAll(async () => {
  vendor = await startTestVendor();
});
afterAll(async () => {
  await vendor.close();
});
beforeEach(() => {
  vendor.reset();
});

describe('a YAML campaign through the engine', () => {
  it('loads, converts and runs: window in the recipient zone, business-day wait, flattened branch', async () => {
    const loaded = toEngineCampaign(loadCampaign(YAML, { source: 'intro.yaml' }));
    const branch = loaded.campaign.steps.find((step) => step.type === 'branch');
    expect(branch).toMatchObject({ whenTrue: 'cto', whenFalse: 'other' });
    expect(loaded.campaign.steps.find((step) => step.id === 'cto')?.next).toBe(END_OF_CAMPAIGN);
    expect(loaded.senders[0]).toMatchObject({ email: 'sales@acme.test', postalAddress: expect.any(String) });

    // Friday 2026-12-11, 12:00 UTC: 07:00 in New York, outside its window.
    const clock = { t: Date.parse('2026-12-11T12:00:00Z') };
    const now = () => clock.t;
    const leads = createMemoryLeadStore({ now });
    const engine = createCampaignEngine({
      campaigns: [loaded.campaign],
      store: createMemoryCampaignStore(),
      leads,
      email: createTestEmailProvider(vendor.url, { timeoutMs: 15_000 }),
      senders: loaded.senders,
      unsubscribe: { baseUrl: loaded.unsubscribeBaseUrl, secret: 'unsubscribe-secret-123456' },
      now,
    });
    const before = leadOf(81, {
      title: 'CTO',
      location: { countryCode: 'US', region: 'NY' },
      company: { name: 'Big & Co', headcount: 150 },
    });
    await leads.upsert([before]);
    const after = { ...before, company: { name: 'Big & Co', headcount: 250 } };
    await leads.upsert([after]);
    await engine.handleLeadEvent({ type: 'lead.updated', lead: after, previous: before });
    await engine.runDue();
    expect(vendor.messages).toHaveLength(0);
    // 09:00 in New York.
    clock.t = Date.parse('2026-12-11T14:00:00Z');
    await engine.runDue();
    expect(vendor.messages.map((message) => message.subject)).toEqual(['Hi Lead81']);
    expect(vendor.messages[0]?.html).toContain('Hello Big &amp; Co');
    expect(vendor.messages[0]?.html).toContain('Hauptstrasse 1');
    // The template links {{ unsubscribe_url }} (campaign files must): the engine adds no second link.
    const first = vendor.messages[0] as (typeof vendor.messages)[number];
    const link = /<(https:\/\/acme\.test\/u\?token=[^>]+)>/.exec(
      first.headers?.['List-Unsubscribe'] ?? '',
    )?.[1];
    expect(link).toBeDefined();
    expect(occurrences(first.html ?? '', 'acme.test/u?token=')).toBe(1);
    expect(occurrences(first.html ?? '', link as string)).toBe(1);
    expect(occurrences(first.text ?? '', 'acme.test/u?token=')).toBe(1);
    expect(occurrences(first.html ?? '', 'Hauptstrasse 1')).toBe(1);
    // One business day after Friday is Monday, same time; the branch sends the CTO mail and the campaign ends.
    clock.t = Date.parse('2026-12-13T14:00:00Z');
    await engine.runDue();
    expect(vendor.messages).toHaveLength(1);
    clock.t = Date.parse('2026-12-14T14:00:00Z');
    await engine.runDue();
    await engine.runDue();
    expect(vendor.messages.map((message) => message.subject)).toEqual(['Hi Lead81', 'For the CTO']);
    expect((await engine.stats('yaml-intro')).enrolled).toBe(1);
    await engine.close();
  });
});
