import { createEnrichmentEngine, createLead } from '@leadpipe/core';
import {
  createEmulatorClock,
  fullCoverage,
  startEmulatorBackend,
  ZOOMINFO_COVERAGE,
} from '@leadpipe/testkit';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createZoomInfo } from '../src/index.js';

vi.stubEnv('ZOOMINFO_API', '');
const clock = createEmulatorClock(1);
const server = await startEmulatorBackend('zoominfo', {
  truth: { people: 300, companies: 50 },
  clock,
  options: { coverage: fullCoverage(ZOOMINFO_COVERAGE), deniedOutputFields: [], quotas: { recordLimit: 40 } },
});
afterAll(() => server.close());
const emulator = server.emulator;
const fast = { perSecond: 10_000, perHour: 1_000_000, perDay: 10_000_000 };

function provider() {
  return createZoomInfo({
    api: 'gtm',
    clientId: server.credentials.clientId,
    clientSecret: server.credentials.clientSecret,
    baseUrl: server.urls.baseUrl,
    rateLimits: fast,
  });
}

describe('zoominfo under the waterfall engine', () => {
  it("the core's batching sends at most 25 inputs per call, and the mapped fields are the truth", async () => {
    const engine = createEnrichmentEngine({
      providers: [provider()],
      fields: ['title', 'company.name', 'company.headcount'],
      cache: false,
      batchLingerMs: 20,
    });
    const people = emulator.truth.people.slice(0, 30);
    const outcomes = await Promise.all(
      people.map((person) => engine.enrich(createLead({ email: person.email }))),
    );
    expect(outcomes.every((outcome) => outcome.status === 'enriched')).toBe(true);
    outcomes.forEach((outcome, index) => {
      const person = people[index]!;
      expect(outcome.lead.title).toBe(person.title);
      expect(outcome.lead.company?.name).toBe(emulator.truth.companyOf(person).name);
    });
    const sizes = emulator.requests
      .all()
      .filter((request) => request.path.endsWith('/contacts/enrich'))
      .map((request) => JSON.parse(request.body).data.attributes.matchPersonInput.length as number);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(25);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    expect(sizes.reduce((sum, size) => sum + size, 0)).toBe(30);
    await engine.close();
  });

  it('record-limit exhaustion takes the provider out until its reset: later leads are not sent', async () => {
    // 30 of the 40 records were spent above; these 25 run the limit out.
    const disabled: unknown[] = [];
    const engine = createEnrichmentEngine({
      providers: [provider()],
      fields: ['title'],
      cache: false,
      batchLingerMs: 20,
      retry: { retries: 0 },
    });
    engine.on('provider.disabled', (event) => disabled.push(event));
    const people = emulator.truth.people.slice(100, 125);
    await Promise.all(people.map((person) => engine.enrich(createLead({ email: person.email }))));
    expect(disabled.length).toBeGreaterThan(0);
    for (const event of disabled) {
      expect(event).toMatchObject({
        providerId: 'zoominfo',
        code: 'quota_exceeded',
        untilMs: expect.any(Number),
      });
    }
    const sent = emulator.requests
      .all()
      .filter((request) => request.path.endsWith('/contacts/enrich')).length;
    const later = await engine.enrich(createLead({ email: emulator.truth.people[200]!.email }));
    expect(later.status).not.toBe('enriched');
    expect(
      emulator.requests.all().filter((request) => request.path.endsWith('/contacts/enrich')).length,
    ).toBe(sent);
    await engine.close();
  });
});
