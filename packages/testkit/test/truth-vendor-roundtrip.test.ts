/**
 * The emulators encode ground-truth values the way each vendor does, and the
 * adapters decode them. These tests run that round trip through the adapters'
 * own mapping code, so scoring an adapter's output against the truth counts
 * a faithful answer as correct. The adapters are imported by relative path:
 * they depend on the testkit, so the testkit cannot depend on them.
 */
import { SENIORITY_LEVELS } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import {
  departmentName,
  mapPerson as mapApolloPerson,
  mapOrganization,
} from '../../provider-apollo/src/apollo-mapping.js';
import { apolloOrganizationSchema, apolloPersonSchema } from '../../provider-apollo/src/apollo-schemas.js';
import {
  clearbitCompanySchema,
  clearbitPersonSchema,
  mapPerson as mapClearbitPerson,
  mapCompany,
  mapRole,
} from '../../provider-clearbit/src/clearbit-mapping.js';
import { createGroundTruth, departmentKey, technologyKey, valueMatches } from '../src/truth/index.js';
import { DEPARTMENTS, TECHNOLOGIES } from '../src/truth/words.js';
import { apolloOrganization, apolloPerson } from '../src/vendors/apollo/shapes.js';
import { clearbitCompany, clearbitPerson } from '../src/vendors/clearbit/shapes.js';

const truth = createGroundTruth({ seed: 11, people: 800, companies: 150 });
const indexedAt = '2026-01-05T12:00:00.000Z';

function viaClearbit(index: number) {
  const person = truth.people[index]!;
  const body = clearbitPerson(person, truth.personFields(person), indexedAt);
  return { person, fields: mapClearbitPerson(clearbitPersonSchema.parse(body)).fields };
}

function viaApollo(index: number) {
  const person = truth.people[index]!;
  const body = apolloPerson(person, truth.companyOf(person), truth.personFields(person), {
    omitEmail: false,
  });
  return { person, fields: mapApolloPerson(apolloPersonSchema.parse(body)).fields };
}

describe('departments', () => {
  it('encodes every truth department as a Clearbit role the adapter maps back to exactly', () => {
    for (const department of DEPARTMENTS) {
      const person = truth.people.find((item) => item.department === department.name)!;
      const body = clearbitPerson(person, { department: department.name }, indexedAt) as {
        employment: { role: string | null };
      };
      expect(body.employment.role, department.name).toBe(department.clearbitRole);
      expect(mapRole(body.employment.role), department.name).toBe(department.name);
    }
  });

  it('gives every person the truth department through the Clearbit adapter', () => {
    for (let index = 0; index < truth.people.length; index++) {
      const { person, fields } = viaClearbit(index);
      expect(fields.department, person.id).toBe(person.department);
    }
  });

  it('encodes every truth department as an Apollo slug whose adapter name scores as the same department', () => {
    for (const department of DEPARTMENTS) {
      const name = departmentName(`master_${department.slug}`)!;
      // Apollo's taxonomy differs from Clearbit's for some departments: those names are the aliases.
      expect([department.name, ...department.aliases], department.name).toContain(name);
      expect(valueMatches('department', department.name, name), name).toBe(true);
      expect(departmentKey(name)).toBe(departmentKey(department.name));
      const others = DEPARTMENTS.filter((other) => other !== department);
      for (const other of others) expect(valueMatches('department', other.name, name), name).toBe(false);
    }
  });

  it('scores every person as correct on department through the Apollo adapter', () => {
    for (let index = 0; index < 300; index++) {
      const { person, fields } = viaApollo(index);
      expect(valueMatches('department', person.department, fields.department), person.id).toBe(true);
    }
  });
});

describe('seniority', () => {
  it('maps Clearbit buckets refined by the title back to the truth level whenever Clearbit grades it', () => {
    let graded = 0;
    for (let index = 0; index < truth.people.length; index++) {
      const { person, fields } = viaClearbit(index);
      if (['senior', 'entry', 'intern'].includes(person.seniority)) {
        expect(fields.seniority, person.title).toBeUndefined();
        continue;
      }
      graded++;
      expect(fields.seniority, person.title).toBe(person.seniority);
    }
    expect(graded).toBeGreaterThan(250);
  });

  it('round-trips every level through Apollo exactly', () => {
    const seen = new Set<string>();
    for (let index = 0; index < truth.people.length; index++) {
      const { person, fields } = viaApollo(index);
      expect(fields.seniority, person.title).toBe(person.seniority);
      seen.add(person.seniority);
    }
    expect([...seen].sort()).toEqual([...SENIORITY_LEVELS].sort());
  });
});

describe('technologies', () => {
  it('sends Clearbit slugs that the adapter turns into names scoring as the truth list', () => {
    const punctuated = truth.companies.find((company) => company.technologies.includes('Node.js'))!;
    const body = clearbitCompany(punctuated, truth.companyFields(punctuated), indexedAt) as {
      tech: string[];
    };
    expect(body.tech).toContain('node_js');
    for (const company of truth.companies) {
      const values = truth.companyFields(company);
      const mapped = mapCompany(clearbitCompanySchema.parse(clearbitCompany(company, values, indexedAt)));
      const names = mapped['company.technologies']!;
      expect(names.map(technologyKey).sort(), company.domain).toEqual(
        company.technologies.map(technologyKey).sort(),
      );
      expect(valueMatches('company.technologies', values['company.technologies'], names)).toBe(true);
    }
  });

  it('sends Apollo names the adapter keeps exactly', () => {
    for (const company of truth.companies.slice(0, 100)) {
      const values = truth.companyFields(company);
      const mapped = mapOrganization(
        apolloOrganizationSchema.parse(apolloOrganization(company, values)),
      ).fields;
      expect(mapped['company.technologies']).toEqual(company.technologies);
    }
  });

  it('keeps every truth technology distinct after normalization', () => {
    expect(new Set(TECHNOLOGIES.map(technologyKey)).size).toBe(TECHNOLOGIES.length);
  });
});
