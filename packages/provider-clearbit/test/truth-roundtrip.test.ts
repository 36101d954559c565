/**
 * The round trip from the ground truth to Lead fields, through the vendor:
 * the testkit's Clearbit emulator encodes truth values the way Clearbit does
 * (`employment.role` slugs, coarse seniority buckets, `tech` slugs) and this
 * adapter decodes them over HTTP. With a coverage that knows every record and
 * every field without errors, what comes back must score as the truth, so a
 * faithful answer counts as correct when runs are scored.
 */
import type { EnrichResult, LeadFieldPatch } from '@leadpipe/core';
import {
  CLEARBIT_COVERAGE,
  fullCoverage,
  type RunningEmulators,
  startEmulators,
  type TruthCompany,
  type TruthPerson,
  technologyKey,
  valueMatches,
} from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClearbit } from '../src/index.js';

const TRUTH = { seed: 11, people: 800, companies: 150 } as const;
/** Levels Clearbit does not grade: `employment.seniority` is `null` below manager. */
const UNGRADED = ['senior', 'entry', 'intern'];

/** Run `work` over `items`, at most `limit` at a time, keeping the order. */
async function inPool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function fieldsOf(result: EnrichResult, what: string): LeadFieldPatch {
  if (result.status !== 'matched') throw new Error(`${what}: expected a match, got ${result.status}`);
  return result.fields;
}

let running: RunningEmulators;
let people: { person: TruthPerson; fields: LeadFieldPatch }[];
let companies: { company: TruthCompany; fields: LeadFieldPatch }[];

beforeAll(async () => {
  running = await startEmulators({
    vendors: ['clearbit'],
    seed: TRUTH.seed,
    truth: TRUTH,
    limits: { clearbit: { perMinute: 100_000 } },
    vendorOptions: {
      clearbit: {
        // Every record indexed already: no 202 to wait out.
        queuedShare: 0,
        // Every field Clearbit's profile lists (it lists no phone), never wrong.
        coverage: fullCoverage(CLEARBIT_COVERAGE),
      },
    },
  });
  const provider = createClearbit({
    apiKey: running.credentials.clearbit!.apiKey,
    baseUrl: running.urls.clearbit!.baseUrl,
  });
  const truth = running.truth;
  people = await inPool(truth.people, 25, async (person) => {
    const result = await provider.doEnrich(
      { leadId: person.id, input: { email: person.email }, fields: ['department', 'seniority'] },
      {},
    );
    return { person, fields: fieldsOf(result, person.email) };
  });
  companies = await inPool(truth.companies, 25, async (company) => {
    const result = await provider.doEnrich(
      { leadId: company.id, input: { 'company.domain': company.domain }, fields: ['company.technologies'] },
      {},
    );
    return { company, fields: fieldsOf(result, company.domain) };
  });
});
afterAll(() => running?.close());

describe('lookups', () => {
  it('asked the emulator over HTTP once per person and per company, each answered 200', () => {
    const lookups = running.emulators.clearbit!.requests.all();
    expect(lookups.filter((request) => request.path === '/v2/combined/find')).toHaveLength(TRUTH.people);
    expect(lookups.filter((request) => request.path === '/v2/companies/find')).toHaveLength(TRUTH.companies);
    expect(lookups.filter((request) => request.status !== 200)).toEqual([]);
  });
});

describe('departments', () => {
  it('gives every person the truth department exactly', () => {
    for (const { person, fields } of people) expect(fields.department, person.email).toBe(person.department);
  });
});

describe('seniority', () => {
  it('gives the truth level whenever Clearbit grades it, and none for the levels it does not', () => {
    let graded = 0;
    for (const { person, fields } of people) {
      if (UNGRADED.includes(person.seniority)) {
        expect(fields.seniority, `${person.email}: ${person.title}`).toBeUndefined();
        continue;
      }
      graded++;
      expect(fields.seniority, `${person.email}: ${person.title}`).toBe(person.seniority);
    }
    expect(graded).toBeGreaterThan(250);
  });
});

describe('technologies', () => {
  const expectScoresAsTruth = (company: TruthCompany, names: readonly string[] | undefined) => {
    expect(names, company.domain).toBeDefined();
    expect(names!.map(technologyKey).sort(), company.domain).toEqual(
      company.technologies.map(technologyKey).sort(),
    );
    expect(valueMatches('company.technologies', company.technologies, names), company.domain).toBe(true);
  };

  it('gives every company, looked up by domain, technologies that score as the truth list', () => {
    for (const { company, fields } of companies) expectScoresAsTruth(company, fields['company.technologies']);
  });

  it('gives every person, looked up by email, their company technologies scoring as the truth list', () => {
    for (const { person, fields } of people) {
      expectScoresAsTruth(running.truth.companyOf(person), fields['company.technologies']);
    }
  });

  it("brings a punctuated name such as 'Node.js', sent as a slug, back as one name scoring as it", () => {
    const punctuated = companies.filter(({ company }) => company.technologies.includes('Node.js'));
    expect(punctuated.length).toBeGreaterThan(0);
    for (const { company, fields } of punctuated) {
      const names = fields['company.technologies'] ?? [];
      const matching = names.filter((name) => technologyKey(name) === technologyKey('Node.js'));
      expect(matching, company.domain).toHaveLength(1);
    }
  });
});
