import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '@leadpipe/core/adapter-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Campaign,
  type CampaignInput,
  createTemplateRenderer,
  defineCampaign,
  evaluateCondition,
  formatPath,
  loadCampaign,
  loadCampaignFile,
  mailboxLimits,
  NO_SENDS,
  nextAllowedTime,
  parseCampaign,
  planSend,
  recipientCalendar,
  resolveWait,
} from '../src/index.js';

const FOOTER = '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>';

const base: CampaignInput = {
  id: 'intro',
  timeZone: 'America/New_York',
  trigger: { event: { name: 'lead.created' } },
  sender: {
    from: { email: 'sales@acme.test', name: 'Acme Sales' },
    replyTo: 'replies@acme.test',
    postalAddress: '1 Main St, Springfield, IL 62701, USA',
    unsubscribeBaseUrl: 'https://acme.test/unsubscribe',
  },
  templates: {
    intro: { subject: 'Hi {{ first_name | default: "there" }}', html: `<p>Hello</p>${FOOTER}` },
  },
  steps: [{ email: { template: 'intro' } }],
};

const YAML = `
id: enterprise-intro
name: Enterprise intro
timeZone: Europe/Berlin
trigger:
  condition:
    when: company.headcount >= 200
audience:
  all:
    - email exists
    - field: location.countryCode
      op: "!="
      value: US
exitOn: [reply, bounce, unsubscribe, complaint, meetingBooked, { event: app.demo_booked }]
sender:
  from: sales@acme.test
  postalAddress: Hauptstrasse 1, 10115 Berlin, Germany
  unsubscribeBaseUrl: https://acme.test/u
mailboxes:
  jane: { from: jane@acme.test, dailyCap: 40, minGap: 5m }
sendingWindow:
  - { days: [mon, tue, wed, thu], start: "09:00", end: "12:00" }
  - { days: [mon, tue, wed, thu], start: "14:00", end: "17:00" }
holidays: ["2026-12-24", "2026-12-25", "2026-12-26"]
caps: { dailyPerMailbox: 50, minGap: 2m }
templates:
  first:
    subject: "Quick question, {{ first_name | default: 'there' }}"
    html: |
      <p>Hi {{ first_name | default: "there" }},</p>
      <p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>
    text: "Hi\\n{{ unsubscribe_url }}"
  bump:
    subject: "Re: quick question"
    html: '<p>Bumping this.</p><a href="{{ unsubscribe_url }}">Unsubscribe</a>'
steps:
  - id: first-touch
    email:
      variants:
        - { id: a, weight: 1, template: first }
        - { id: b, weight: 1, template: { subject: "Hello", html: '<p>B</p><a href="{{ unsubscribe_url }}">x</a>' } }
      mailbox: jane
  - wait: { businessDays: 2 }
  - waitForEvent: { event: email.opened, timeout: 3d, match: "data.stepId = first-touch" }
  - branch:
      if: "seniority = vp"
      then:
        - email: { template: bump }
        - updateCrm: { crm: hubspot, properties: { lifecyclestage: salesqualifiedlead } }
      else:
        - updateLead: { set: { custom.nurture: true } }
  - webhook: { url: https://hooks.acme.test/leadpipe, secretRef: ACME_WEBHOOK_SECRET }
  - wait: { until: "09:30" }
  - exit: { reason: sequence finished }
`;

function issuesOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as ConfigurationError).code).toBe('invalid_configuration');
    return (error as ConfigurationError).issues.map((issue) => `${issue.field}: ${issue.reason}`);
  }
  throw new Error('expected a ConfigurationError');
}

function withChange(change: (campaign: Record<string, unknown>) => void): unknown {
  const copy = structuredClone(base) as unknown as Record<string, unknown>;
  change(copy);
  return copy;
}

describe('loading a campaign', () => {
  it('loads a full YAML campaign with every step kind and fills the defaults', () => {
    const campaign = loadCampaign(YAML, { source: 'enterprise.yaml' });
    expect(campaign.trigger).toEqual({
      kind: 'condition',
      condition: {
        when: { field: 'company.headcount', op: '>=', value: 200 },
        events: ['lead.updated', 'lead.enriched'],
      },
    });
    expect(campaign.steps.map((step) => `${step.id}:${step.kind}`)).toEqual([
      'first-touch:email',
      'step-2:wait',
      'step-3:waitForEvent',
      'step-4:branch',
      'step-5:webhook',
      'step-6:wait',
      'step-7:exit',
    ]);
    const branch = campaign.steps[3];
    if (branch?.kind !== 'branch') throw new Error('expected a branch');
    expect(branch.branch.then.map((step) => `${step.id}:${step.kind}`)).toEqual([
      'step-4-then-1:email',
      'step-4-then-2:updateCrm',
    ]);
    expect(branch.branch.else[0]).toEqual({
      id: 'step-4-else-1',
      kind: 'updateLead',
      updateLead: { set: { 'custom.nurture': true } },
    });
    const webhook = campaign.steps[4];
    expect(webhook?.kind === 'webhook' && webhook.webhook.timeout).toBe('10s');
    const waitForEvent = campaign.steps[2];
    expect(waitForEvent?.kind === 'waitForEvent' && waitForEvent.waitForEvent).toEqual({
      event: 'email.opened',
      timeout: '3d',
      match: { field: 'data.stepId', op: '=', value: 'first-touch' },
      onTimeout: 'continue',
    });
    expect(campaign.exitOn.at(-1)).toEqual({ event: 'app.demo_booked' });
    expect(campaign.sendingWindows).toHaveLength(2);
    expect(campaign.recipientTimeZone).toBe('lead');
    expect(campaign.steps[6]).toEqual({ id: 'step-7', kind: 'exit', exit: { reason: 'sequence finished' } });
  });

  it('gives the schedule, templates and conditions what they take', () => {
    const campaign = loadCampaign(YAML);
    const calendar = {
      timeZone: campaign.timeZone,
      windows: campaign.sendingWindows,
      holidays: campaign.holidays,
    };
    // Wednesday 23 December 2026, 16:00 in Berlin + 2 business days (Mon-Thu; 24-26 holidays) = Tuesday 29 Dec 16:00.
    const wait = campaign.steps[1];
    if (wait?.kind !== 'wait') throw new Error('expected a wait');
    const end = resolveWait(
      new Date('2026-12-23T15:00:00Z'),
      wait.wait as { businessDays: number },
      calendar,
    );
    expect(end.toISOString()).toBe('2026-12-29T15:00:00.000Z');
    expect(nextAllowedTime(new Date('2026-12-30T11:30:00Z'), calendar).toISOString()).toBe(
      '2026-12-30T13:00:00.000Z',
    );
    const audience = campaign.audience;
    if (audience === undefined) throw new Error('expected an audience');
    expect(
      evaluateCondition(audience, { current: { email: 'a@b.test', location: { countryCode: 'DE' } } }),
    ).toBe(true);
    expect(
      evaluateCondition(audience, { current: { email: 'a@b.test', location: { countryCode: 'US' } } }),
    ).toBe(false);
    const template = campaign.templates.first;
    if (template === undefined) throw new Error('expected a template');
    const email = createTemplateRenderer().render(template, {
      variables: {},
      unsubscribeUrl: 'https://acme.test/u?t=1',
    });
    expect(email.subject).toBe('Quick question, there');
    expect(email.text).toBe('Hi\nhttps://acme.test/u?t=1');
  });

  it('derives each recipient calendar and mailbox limits from the campaign', () => {
    const campaign = loadCampaign(YAML);
    expect(recipientCalendar(campaign, { location: { countryCode: 'US', region: 'CA' } })).toEqual({
      timeZone: 'America/Los_Angeles',
      windows: campaign.sendingWindows,
      holidays: campaign.holidays,
    });
    expect(recipientCalendar(campaign, {}).timeZone).toBe('Europe/Berlin');
    const fixed = parseCampaign({ ...base, recipientTimeZone: 'campaign' });
    expect(recipientCalendar(fixed, { location: { countryCode: 'JP' } }).timeZone).toBe('America/New_York');
    expect(mailboxLimits(campaign, 'jane')).toEqual({
      timeZone: 'Europe/Berlin',
      dailyCap: 40,
      minGap: '5m',
    });
    expect(mailboxLimits(campaign, undefined)).toEqual({
      timeZone: 'Europe/Berlin',
      dailyCap: 50,
      minGap: '2m',
    });
    expect(mailboxLimits(fixed, undefined)).toEqual({ timeZone: 'America/New_York' });
    // A Californian lead at 08:00 Berlin time on Monday 7 Dec: the send waits for 09:00 in Los Angeles.
    const plan = planSend(
      new Date('2026-12-07T07:00:00Z'),
      recipientCalendar(campaign, { location: { countryCode: 'US', region: 'California' } }),
      mailboxLimits(campaign, 'jane'),
      NO_SENDS,
    );
    expect(plan.at.toISOString()).toBe('2026-12-07T17:00:00.000Z');
  });

  it('loads the same campaign from JSON and from a TypeScript object', async () => {
    const fromObject = defineCampaign(base);
    expect(loadCampaign(JSON.stringify(base), { format: 'json' })).toEqual(fromObject);
    expect(fromObject.steps[0]).toEqual({
      id: 'step-1',
      kind: 'email',
      email: { template: 'intro', transactional: false },
    });
    expect(fromObject.sendingWindows).toEqual([
      { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '09:00', end: '17:00' },
    ]);
    expect(fromObject.exitOn).toEqual(['reply', 'bounce', 'unsubscribe', 'complaint', 'meetingBooked']);
    expect(fromObject.trigger).toEqual({ kind: 'event', event: { name: 'lead.created' } });
  });

  describe('files', () => {
    let folder: string;
    beforeAll(async () => {
      folder = await mkdtemp(join(tmpdir(), 'leadpipe-campaigns-'));
    });
    afterAll(async () => {
      await rm(folder, { recursive: true, force: true });
    });

    it('reads .yaml and .json files, and names the file in errors', async () => {
      await writeFile(join(folder, 'a.yaml'), YAML);
      await writeFile(join(folder, 'b.json'), JSON.stringify(base));
      await writeFile(join(folder, 'c.json'), '{ "id": ');
      expect((await loadCampaignFile(join(folder, 'a.yaml'))).id).toBe('enterprise-intro');
      expect((await loadCampaignFile(join(folder, 'b.json'))).id).toBe('intro');
      await expect(loadCampaignFile(join(folder, 'c.json'))).rejects.toThrow(/^campaign .*c\.json: json: /);
      await expect(loadCampaignFile(join(folder, 'missing.yaml'))).rejects.toThrow(
        /file: cannot read .*ENOENT/,
      );
    });
  });
});

describe('errors that name the path', () => {
  it('names a nested step field in bracket form', () => {
    const yaml = YAML.replace('wait: { businessDays: 2 }', 'wait: { businessDays: 0 }');
    expect(issuesOf(() => loadCampaign(yaml))).toEqual([
      'steps[1].wait.businessDays: expected a positive integer',
    ]);
    const text = YAML.replace('wait: { businessDays: 2 }', 'wait: { businessDays: "two" }');
    expect(() => loadCampaign(text, { source: 'enterprise.yaml' })).toThrow(
      'campaign enterprise.yaml: steps[1].wait.businessDays: expected a positive integer',
    );
    expect(
      issuesOf(() =>
        parseCampaign(
          withChange(
            (campaign) =>
              (campaign.steps = [{ wait: { businessDays: 1.5 } }, { wait: { duration: 'soon' } }]),
          ),
        ),
      ),
    ).toEqual([
      'steps[0].wait.businessDays: expected a positive integer',
      'steps[1].wait.duration: expected a duration such as "2d", "30m" or "PT4H", got "soon"',
    ]);
  });

  it('requires the CAN-SPAM postal address and an https unsubscribe base', () => {
    expect(
      issuesOf(() =>
        parseCampaign(
          withChange((campaign) => {
            const sender = campaign.sender as Record<string, unknown>;
            delete sender.postalAddress;
            sender.unsubscribeBaseUrl = 'http://acme.test/u';
          }),
        ),
      ),
    ).toEqual([
      'sender.postalAddress: required: CAN-SPAM requires a valid physical postal address in every commercial email',
      'sender.unsubscribeBaseUrl: expected an https URL',
    ]);
    expect(
      issuesOf(() =>
        parseCampaign(
          withChange((campaign) => ((campaign.sender as Record<string, unknown>).postalAddress = '   ')),
        ),
      )[0],
    ).toMatch(/^sender\.postalAddress: expected a full postal address/);
  });

  it('checks step kinds, references, ids, unknown keys and templates', () => {
    expect(
      issuesOf(() =>
        parseCampaign(
          withChange((campaign) => {
            campaign.steps = [
              { id: 'x', email: { template: 'missing' } },
              { id: 'x', wait: { duration: '1d' }, exit: true },
              {},
              { email: { template: 'intro', mailbox: 'nobody' } },
              { email: { template: 'intro', variants: [] } },
              { webhook: { url: 'http://hooks.acme.test/x', secretRef: 'sk_live abc' } },
              { wait: { duration: '1d', until: '09:00' } },
              { waitForEvent: { event: 'email.replied' } },
              // biome-ignore lint/suspicious/noThenProperty: a branch is written { if, then, else }.
              { branch: { if: 'title ~ x', then: [{ exit: true }] } },
              { updateLead: { set: {} } },
            ];
            campaign.templates = {
              intro: { subject: 'Hi', html: `{{ name | shout }}${FOOTER}` },
              other: { subject: 'x', html: 'y', extra: 1 },
            };
          }),
        ),
      ),
    ).toEqual([
      'steps[1]: expected one step kind, got wait and exit',
      'steps[2]: expected one of email, webhook, updateLead, updateCrm, wait, waitForEvent, branch, exit',
      'steps[4].email.variants: expected at least two variants',
      'steps[4].email: expected either template or variants',
      'steps[5].webhook.url: expected an https URL (http only on localhost)',
      'steps[5].webhook.secretRef: expected the name of a secret (such as WEBHOOK_SECRET), never the secret itself',
      'steps[6].wait: expected exactly one of duration, businessDays or until',
      'steps[7].waitForEvent.timeout: required',
      'steps[8].branch.if: expected "field op value" such as "company.headcount >= 200", got "title ~ x"',
      'steps[9].updateLead.set: expected at least one field',
      'templates.other.extra: is not a known option',
    ]);
    expect(
      issuesOf(() =>
        parseCampaign(
          withChange((campaign) => {
            campaign.steps = [
              { id: 'x', email: { template: 'missing' } },
              { id: 'x', wait: { duration: '1d' } },
              { email: { template: 'intro', mailbox: 'nobody' } },
            ];
            campaign.templates = { intro: { subject: 'Hi', html: `{{ name | shout }}${FOOTER}` } };
          }),
        ),
      ),
    ).toEqual([
      'templates.intro.html: unknown filter "shout" (line 1, column 1)',
      'steps[0].email.template: no template "missing" in templates',
      'steps[1].id: duplicate step id "x" (also steps[0])',
      'steps[2].email.mailbox: no mailbox "nobody" in mailboxes',
    ]);
  });

  it('requires the unsubscribe link in marketing templates, not in transactional ones', () => {
    const noLink = (transactional: boolean) =>
      withChange((campaign) => {
        campaign.templates = { receipt: { subject: 'Receipt', html: '<p>Thanks</p>', text: 'Thanks' } };
        campaign.steps = [
          { email: { template: 'receipt', transactional } },
          { email: { template: 'receipt', transactional } },
        ];
      });
    expect(issuesOf(() => parseCampaign(noLink(false)))).toEqual([
      'templates.receipt.html: marketing email needs the unsubscribe link: add <a href="{{ unsubscribe_url }}">…</a> (or mark the step transactional)',
      'templates.receipt.text: marketing email needs the unsubscribe link: add {{ unsubscribe_url }}',
    ]);
    expect(parseCampaign(noLink(true)).steps).toHaveLength(2);
  });

  it('checks triggers: cron, zone, one-off time, exactly one kind', () => {
    const trigger = (value: unknown) => withChange((campaign) => (campaign.trigger = value));
    const cron = parseCampaign(trigger({ time: { cron: '0 9 * * 1' } })) as Campaign;
    expect(cron.trigger).toEqual({ kind: 'time', time: { cron: '0 9 * * 1', timeZone: 'America/New_York' } });
    expect(parseCampaign(trigger({ time: { at: '2026-12-01T09:00:00+01:00' } })).trigger).toEqual({
      kind: 'time',
      time: { at: '2026-12-01T09:00:00+01:00' },
    });
    expect(
      issuesOf(() => parseCampaign(trigger({ time: { cron: '0 25 * * *', timeZone: 'Mars/Base' } }))),
    ).toEqual([
      expect.stringMatching(/^trigger\.time\.cron: is not a valid cron expression/),
      'trigger.time.timeZone: "Mars/Base" is not a known IANA time zone',
    ]);
    expect(issuesOf(() => parseCampaign(trigger({ time: { at: '2026-12-01T09:00' } })))).toEqual([
      'trigger.time.at: expected an ISO 8601 date-time with an offset, such as 2026-12-01T09:00:00Z',
    ]);
    expect(
      issuesOf(() =>
        parseCampaign(trigger({ event: { name: 'lead.created' }, time: { cron: '* * * * *' } })),
      ),
    ).toEqual(['trigger: expected exactly one of time, event or condition']);
    expect(issuesOf(() => parseCampaign(trigger({ condition: {} })))).toEqual([
      'trigger.condition.when: required',
    ]);
  });

  it('checks the campaign zone, windows, holidays, caps and exit rules', () => {
    expect(
      issuesOf(() =>
        parseCampaign(
          withChange((campaign) => {
            campaign.timeZone = 'Europe/Atlantis';
            campaign.sendingWindow = { days: ['mon', 'funday'], start: '17:00', end: '09:00' };
            campaign.holidays = ['2026-13-01'];
            campaign.caps = { dailyPerMailbox: -1 };
            campaign.exitOn = ['reply', 'ghosted'];
          }),
        ),
      ),
    ).toEqual([
      'timeZone: "Europe/Atlantis" is not a known IANA time zone',
      'exitOn[1]: expected one of reply, bounce, unsubscribe, complaint, meetingBooked, or { event, match }',
      'sendingWindow.days[1]: expected one of mon, tue, wed, thu, fri, sat, sun',
      'holidays[0]: expected a date YYYY-MM-DD',
      'caps.dailyPerMailbox: expected a positive integer',
    ]);
    expect(
      issuesOf(() =>
        parseCampaign(withChange((campaign) => (campaign.sendingWindow = { start: '17:00', end: '09:00' }))),
      ),
    ).toEqual(['sendingWindow.end: must be after start (17:00)']);
  });

  it('reports YAML syntax errors and duplicate keys with the line', () => {
    expect(issuesOf(() => loadCampaign('id: a\nid: b\n'))[0]).toMatch(
      /^yaml: Map keys must be unique at line 2/,
    );
    expect(issuesOf(() => loadCampaign('steps: [\n'))[0]).toMatch(/^yaml: .*line/);
    expect(issuesOf(() => loadCampaign('- just\n- a list\n'))).toEqual([
      'campaign: Invalid input: expected object, received array',
    ]);
  });

  it('formats paths with brackets for indexes', () => {
    expect(formatPath(['steps', 2, 'wait', 'businessDays'])).toBe('steps[2].wait.businessDays');
    expect(formatPath([])).toBe('campaign');
  });
});
