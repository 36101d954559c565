import {
  createEnrichmentEngine,
  createLead,
  type EnrichmentEngineOptions,
  type LeadField,
} from '@leadpipe/core';
import {
  createEmulatorClock,
  fullCoverage,
  startEmulatorBackend,
  ZOOMINFO_COVERAGE,
} from '@leadpipe/testkit';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createZoomInfo } from '../src/index.js';

// The core's cost-aware waterfall over two real ZoomInfo emulators (over HTTP) that know the same people
// differently: `sparse` has a record for half of them, with a title or a seniority one time in five; `rich` has
// every person with both. Neither has LinkedIn URLs. Both adapters declare ZoomInfo's priors, so only what the
// engine learns during the run tells them apart.
vi.stubEnv('ZOOMINFO_API', '');
const clock = createEmulatorClock(1);
const truth = { people: 400, companies: 60 };
const full = fullCoverage(ZOOMINFO_COVERAGE);
const rateLimits = { perSecond: 10_000, perHour: 1_000_000, perDay: 10_000_000 };
const sparseServer = await startEmulatorBackend('zoominfo', {
  truth,
  clock,
  options: {
    rateLimits,
    coverage: {
      ...full,
      personShare: 0.5,
      fields: { ...full.fields, title: 0.2, seniority: 0.2, linkedinUrl: 0 },
    },
  },
});
const richServer = await startEmulatorBackend('zoominfo', {
  truth,
  clock,
  options: { rateLimits, coverage: { ...full, fields: { ...full.fields, linkedinUrl: 0 } } },
});
afterAll(async () => {
  await sparseServer.close();
  await richServer.close();
});

function providers() {
  const build = (providerId: string, server: typeof sparseServer) =>
    createZoomInfo({
      api: 'gtm',
      providerId,
      clientId: server.credentials.clientId,
      clientSecret: server.credentials.clientSecret,
      baseUrl: server.urls.baseUrl,
      rateLimits,
    });
  // The sparse one first: the fixed order asks it for every lead.
  return [build('sparse', sparseServer), build('rich', richServer)];
}

const FIELDS: LeadField[] = ['title', 'seniority', 'linkedinUrl'];
const people = sparseServer.emulator.truth.people.slice(0, 150);

async function run(options: Partial<EnrichmentEngineOptions>) {
  const engine = createEnrichmentEngine({
    providers: providers(),
    fields: FIELDS,
    batchLingerMs: 0,
    ...options,
  });
  const skipped: { providerId: string; reason: string }[] = [];
  engine.on('provider.skipped', ({ providerId, reason }) => skipped.push({ providerId, reason }));
  const outcomes = [];
  // One lead at a time, so each lead sees what the ones before taught the engine.
  for (const person of people) outcomes.push(await engine.enrich(createLead({ email: person.email })));
  const stats = engine.stats();
  await engine.close();
  return { outcomes, stats, skipped };
}

describe('the cost-aware waterfall over real emulators', () => {
  // 300 sequential enrichments over HTTP: seconds on a quiet machine, more under load.
  it('learns to ask the provider that knows the leads first, and stops when nothing left is worth a credit', {
    timeout: 120_000,
  }, async () => {
    const fixed = await run({ strategy: 'fixed-order' });
    const aware = await run({ strategy: 'cost-aware', costAware: { minFieldsPerCredit: 0.2 } });

    // Fixed order: the sparse provider for every lead, then the rich one, then LinkedIn from nobody.
    expect(fixed.stats.providers.sparse!.requests).toBe(people.length);
    expect(fixed.outcomes.every((outcome) => outcome.attempts[0]!.providerId === 'sparse')).toBe(true);

    // Cost-aware: with equal priors it starts in the main order, learns that `sparse` seldom fills a field,
    // and then asks `rich` first for every lead.
    const firsts = aware.outcomes.map((outcome) => outcome.attempts[0]!.providerId);
    expect(firsts[0]).toBe('sparse');
    expect(firsts.slice(-40).every((id) => id === 'rich')).toBe(true);
    // Once `rich` has answered, only the LinkedIn URL is missing, which no answer has carried: `sparse` is not
    // worth a credit any more and is passed over as such.
    const late = aware.outcomes.slice(-40);
    expect(late.every((outcome) => outcome.attempts.length === 1)).toBe(true);
    expect(late.every((outcome) => outcome.missing.join() === 'linkedinUrl')).toBe(true);
    expect(aware.skipped.filter((skip) => skip.reason === 'not_worth_cost').length).toBeGreaterThanOrEqual(
      50,
    );

    // The same fields filled, for fewer credits and fewer calls.
    const filled = (result: typeof fixed) =>
      result.outcomes.reduce((sum, outcome) => sum + FIELDS.length - outcome.missing.length, 0);
    expect(filled(aware)).toBe(filled(fixed));
    expect(aware.stats.credits).toBeLessThan(fixed.stats.credits);
    expect(aware.stats.providers.sparse!.requests).toBeLessThan(people.length / 2);
  });
});
