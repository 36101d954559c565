/**
 * Quickstart: a real waterfall over two in-process providers.
 *
 * "directory" knows people by email (titles, seniority, company names);
 * "firmographics" knows companies by domain (industry, headcount). The
 * engine asks each only for what is still missing, merges field by field
 * with provenance, and prints the enriched leads and the stats.
 *
 * Run: pnpm quickstart
 */
import { createEnrichmentEngine, createLead, defineProvider } from '@leadpipe/core';

const people: Record<string, { title: string; seniority: 'c_suite' | 'vp' | 'manager'; company: string }> = {
  'ada@analytical.io': {
    title: 'Chief Technology Officer',
    seniority: 'c_suite',
    company: 'Analytical Engines',
  },
  'grace@cobol.dev': { title: 'VP Engineering', seniority: 'vp', company: 'Cobol Systems' },
};
const companies: Record<string, { industry: string; headcount: number }> = {
  'analytical.io': { industry: 'Computer Hardware', headcount: 180 },
  'cobol.dev': { industry: 'Software', headcount: 2400 },
  'hopper.ai': { industry: 'Artificial Intelligence', headcount: 35 },
};

const directory = defineProvider({
  id: 'directory',
  lookups: [{ requires: ['email'], supplies: ['title', 'seniority', 'company.name'] }],
  cost: { perRequest: 0, perMatch: 1 },
  rateLimits: { perSecond: 20, maxConcurrent: 4 },
  async enrich({ input }) {
    const person = people[input.email ?? ''];
    if (!person) return null;
    return {
      fields: { title: person.title, seniority: person.seniority, 'company.name': person.company },
      confidence: 0.9,
    };
  },
});

const firmographics = defineProvider({
  id: 'firmographics',
  lookups: [{ requires: ['company.domain'], supplies: ['company.industry', 'company.headcount'] }],
  cost: { perRequest: 0.5, perMatch: 0 },
  async enrich({ input }) {
    const company = companies[input['company.domain'] ?? ''];
    if (!company) return null;
    return {
      fields: { 'company.industry': company.industry, 'company.headcount': company.headcount },
      confidence: 0.8,
    };
  },
});

const engine = createEnrichmentEngine({
  providers: [directory, firmographics],
  fields: ['title', 'seniority', 'company.name', 'company.industry', 'company.headcount'],
});

const leads = [
  createLead({ email: ' Ada@Analytical.io ', fullName: 'Ada Lovelace' }),
  createLead({ email: 'grace@cobol.dev' }),
  createLead({ email: 'someone@hopper.ai', firstName: 'Someone' }),
];

for await (const outcome of engine.enrichMany(leads)) {
  const { lead } = outcome;
  console.log(
    `${lead.email} -> ${outcome.status}: ${lead.title ?? '?'} at ${lead.company?.name ?? lead.company?.domain} ` +
      `(${lead.company?.industry ?? '?'}, ${lead.company?.headcountRange ?? '?'} people), ${outcome.credits} credits`,
  );
  console.log(
    `  title from ${lead.provenance.title?.providerId ?? 'nobody'}, missing: ${outcome.missing.join(', ') || 'none'}`,
  );
}
console.log(JSON.stringify(engine.stats(), null, 2));
await engine.close();
