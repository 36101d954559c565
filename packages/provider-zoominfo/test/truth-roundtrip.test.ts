import type { LeadField } from '@leadpipe/core';
import { fullCoverage, startEmulatorBackend, valueMatches, ZOOMINFO_COVERAGE } from '@leadpipe/testkit';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createZoomInfo } from '../src/index.js';

vi.stubEnv('ZOOMINFO_API', '');
// Full coverage, no wrong values, every field entitled: a faithful adapter must give back the truth.
const server = await startEmulatorBackend('zoominfo', {
  truth: { people: 200, companies: 40 },
  options: { coverage: fullCoverage(ZOOMINFO_COVERAGE), deniedOutputFields: [] },
});
afterAll(() => server.close());
const truth = server.emulator.truth;

describe.each(['gtm', 'legacy'] as const)('zoominfo %s against the ground truth', (api) => {
  // One provider per API: ZoomInfo allows one legacy sign-in per second.
  const shared = createZoomInfo({
    api,
    ...(api === 'gtm'
      ? { clientId: server.credentials.clientId, clientSecret: server.credentials.clientSecret }
      : { username: server.credentials.username, password: server.credentials.password }),
    baseUrl: server.urls.baseUrl,
  });
  const provider = () => shared;

  it('every contact field mapped from a batch of 25 equals the truth', async () => {
    const people = truth.people.slice(0, 25);
    const results = await provider().doEnrichBatch(
      people.map((person) => ({ leadId: person.id, input: { email: person.email }, fields: [] })),
      {},
    );
    const fields = Object.keys(ZOOMINFO_COVERAGE.fields).filter(
      (field) => field !== 'company.technologies',
    ) as LeadField[];
    results.forEach((result, index) => {
      expect(result.status).toBe('matched');
      if (result.status !== 'matched') return;
      const expected = truth.personFields(people[index]!);
      for (const field of fields) {
        const value = result.fields[field];
        expect(value, `${field} of ${people[index]!.email}`).toBeDefined();
        expect(
          valueMatches(field, expected[field], value),
          `${field}: ${JSON.stringify(value)} for ${JSON.stringify(expected[field])} (${expected.title})`,
        ).toBe(true);
      }
    });
  });

  it('company enrich by domain gives back the company, technologies included', async () => {
    const companies = truth.companies.slice(0, 10);
    const results = await provider().doEnrichBatch(
      companies.map((company) => ({
        leadId: company.id,
        input: { 'company.domain': company.domain },
        fields: [],
      })),
      {},
    );
    results.forEach((result, index) => {
      expect(result.status).toBe('matched');
      if (result.status !== 'matched') return;
      const expected = truth.companyFields(companies[index]!);
      for (const field of Object.keys(expected) as LeadField[]) {
        expect(valueMatches(field, expected[field], result.fields[field]), field).toBe(true);
      }
    });
  });
});
