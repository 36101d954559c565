/**
 * The round trip from the ground truth to Lead fields, through the vendor:
 * the testkit's Apollo emulator encodes truth values the way Apollo does
 * (`master_<slug>` departments in Apollo's own taxonomy, seniority slugs,
 * `technology_names`) and this adapter decodes them over HTTP, through the
 * bulk endpoints. With a coverage that knows every record and every field
 * without errors, what comes back must score as the truth, so a faithful
 * answer counts as correct when runs are scored.
 */
import { type EnrichRequest, type EnrichResult, type LeadFieldPatch, SENIORITY_LEVELS } from '@leadpipe/core';
import {
  APOLLO_COVERAGE,
  departmentKey,
  fullCoverage,
  type RunningEmulators,
  startEmulators,
  type TruthCompany,
  type TruthPerson,
  valueMatches,
} from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APOLLO_MAX_BATCH_SIZE } from '../src/apollo-provider.js';
import { createApollo } from '../src/index.js';

const TRUTH = { seed: 11, people: 800, companies: 150 } as const;

/** `items` in chunks of `size`. */
function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let start = 0; start < items.length; start += size) out.push(items.slice(start, start + size));
  return out;
}

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

function fieldsOf(result: EnrichResult | undefined, what: string): LeadFieldPatch {
  if (result?.status !== 'matched') throw new Error(`${what}: expected a match, got ${result?.status}`);
  return result.fields;
}

let running: RunningEmulators;
let people: { person: TruthPerson; fields: LeadFieldPatch }[];
let companies: { company: TruthCompany; fields: LeadFieldPatch }[];

beforeAll(async () => {
  running = await startEmulators({
    vendors: ['apollo'],
    seed: TRUTH.seed,
    truth: TRUTH,
    // Bulk endpoints get a tenth of these: still far above the calls made here.
    limits: { apollo: { perMinute: 100_000, perHour: 100_000, perDay: 100_000 } },
    vendorOptions: {
      apollo: {
        coverage: fullCoverage(APOLLO_COVERAGE),
      },
    },
  });
  const provider = createApollo({
    apiKey: running.credentials.apollo!.apiKey,
    baseUrl: running.urls.apollo!.apiUrl,
  });
  const truth = running.truth;
  const enrichInBatches = async <T>(
    items: readonly T[],
    request: (item: T) => EnrichRequest,
    name: (item: T) => string,
  ): Promise<{ item: T; fields: LeadFieldPatch }[]> => {
    const batches = await inPool(chunks(items, APOLLO_MAX_BATCH_SIZE), 8, async (batch) => {
      const results = await provider.doEnrichBatch(batch.map(request), {});
      expect(results).toHaveLength(batch.length);
      return batch.map((item, index) => ({ item, fields: fieldsOf(results[index], name(item)) }));
    });
    return batches.flat();
  };
  people = (
    await enrichInBatches(
      truth.people,
      (person) => ({
        leadId: person.id,
        input: { email: person.email },
        fields: ['department', 'seniority', 'company.technologies'],
      }),
      (person) => person.email,
    )
  ).map(({ item, fields }) => ({ person: item, fields }));
  companies = (
    await enrichInBatches(
      truth.companies,
      (company) => ({
        leadId: company.id,
        input: { 'company.domain': company.domain },
        fields: ['company.technologies'],
      }),
      (company) => company.domain,
    )
  ).map(({ item, fields }) => ({ company: item, fields }));
});
afterAll(() => running?.close());

describe('lookups', () => {
  it('asked the emulator over HTTP in bulk calls of 10, each answered 200', () => {
    const requests = running.emulators.apollo!.requests.all();
    const calls = (path: string) => requests.filter((request) => request.path === path);
    expect(calls('/api/v1/people/bulk_match')).toHaveLength(Math.ceil(TRUTH.people / APOLLO_MAX_BATCH_SIZE));
    expect(calls('/api/v1/organizations/bulk_enrich')).toHaveLength(
      Math.ceil(TRUTH.companies / APOLLO_MAX_BATCH_SIZE),
    );
    expect(requests).toHaveLength(
      Math.ceil(TRUTH.people / APOLLO_MAX_BATCH_SIZE) + Math.ceil(TRUTH.companies / APOLLO_MAX_BATCH_SIZE),
    );
    expect(requests.filter((request) => request.status !== 200)).toEqual([]);
  });
});

describe('departments', () => {
  it('gives every person a department that scores as the truth one', () => {
    for (const { person, fields } of people) {
      expect(valueMatches('department', person.department, fields.department), person.email).toBe(true);
    }
  });

  it('brings back every department present in the truth', () => {
    const seen = new Set(people.map(({ fields }) => departmentKey(fields.department ?? '')));
    const inTruth = new Set(running.truth.people.map((person) => departmentKey(person.department)));
    expect([...seen].sort()).toEqual([...inTruth].sort());
  });
});

describe('seniority', () => {
  it('round-trips every level exactly, and every level of the core is seen', () => {
    const seen = new Set<string>();
    for (const { person, fields } of people) {
      expect(fields.seniority, `${person.email}: ${person.title}`).toBe(person.seniority);
      if (fields.seniority !== undefined) seen.add(fields.seniority);
    }
    expect([...seen].sort()).toEqual([...SENIORITY_LEVELS].sort());
  });
});

describe('technologies', () => {
  it('gives every company, looked up by domain, exactly the truth list', () => {
    for (const { company, fields } of companies) {
      expect(fields['company.technologies'], company.domain).toEqual(company.technologies);
    }
  });

  it("gives every person's organization exactly the truth list of their company", () => {
    for (const { person, fields } of people) {
      const company = running.truth.companyOf(person);
      expect(fields['company.technologies'], `${person.email} at ${company.domain}`).toEqual(
        company.technologies,
      );
    }
  });
});
