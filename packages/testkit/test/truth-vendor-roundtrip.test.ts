/**
 * What the emulators' vendor encoding of ground-truth values must keep for
 * the adapters to decode it back to something that scores as the truth:
 * one Clearbit role per department, Clearbit's slugs for technologies,
 * vendor department names that score as their own department only, and
 * technologies that stay distinct under `technologyKey`. The round trips
 * themselves run in the adapters' packages
 * (`packages/provider-*\/test/truth-roundtrip.test.ts`), over HTTP against
 * these emulators: adapters depend on the testkit, never the other way.
 */
import { describe, expect, it } from 'vitest';
import { createGroundTruth, technologyKey, valueMatches } from '../src/truth/index.js';
import { DEPARTMENTS, TECHNOLOGIES } from '../src/truth/words.js';
import { clearbitCompany, clearbitPerson } from '../src/vendors/clearbit/shapes.js';

const truth = createGroundTruth({ seed: 11, people: 800, companies: 150 });
const indexedAt = '2026-01-05T12:00:00.000Z';

describe('departments', () => {
  it('encodes every truth department as its own Clearbit role, one role per department', () => {
    for (const department of DEPARTMENTS) {
      const person = truth.people.find((item) => item.department === department.name)!;
      const body = clearbitPerson(person, { department: department.name }, indexedAt) as {
        employment: { role: string | null };
      };
      expect(body.employment.role, department.name).toBe(department.clearbitRole);
    }
    expect(new Set(DEPARTMENTS.map((department) => department.clearbitRole)).size).toBe(DEPARTMENTS.length);
  });

  it('scores every vendor name of a department as that department and as no other', () => {
    for (const department of DEPARTMENTS) {
      for (const name of [department.name, ...department.aliases]) {
        expect(valueMatches('department', department.name, name), name).toBe(true);
        for (const other of DEPARTMENTS.filter((item) => item !== department)) {
          expect(valueMatches('department', other.name, name), `${name} as ${other.name}`).toBe(false);
        }
      }
    }
  });
});

describe('technologies', () => {
  it("sends a company using 'Node.js' to Clearbit with the slug node_js", () => {
    const punctuated = truth.companies.find((company) => company.technologies.includes('Node.js'));
    expect(punctuated).toBeDefined();
    const body = clearbitCompany(punctuated!, truth.companyFields(punctuated!), indexedAt) as {
      tech: string[];
    };
    expect(body.tech).toContain('node_js');
    expect(body.tech).toHaveLength(punctuated!.technologies.length);
  });

  it('keeps every truth technology distinct after normalization', () => {
    expect(new Set(TECHNOLOGIES.map(technologyKey)).size).toBe(TECHNOLOGIES.length);
  });
});
