import {
  type Clock,
  createLead,
  type Lead,
  type LeadInput,
  type LeadStoreMergePolicy,
  type LeadStoreQuery,
  type LeadStoreRecord,
  type LeadStoreV1,
  ValidationError,
} from '@leadpipe/core/adapter-kit';
import type { ContractExpect, ContractTestFunction } from './enrichment-provider.js';
import { describeError, settle } from './support.js';

/** Names of the lead store checks, to skip some with `skip`. */
export type LeadStoreContractCheck =
  | 'upsert'
  | 'merge'
  | 'newest'
  | 'get'
  | 'filters'
  | 'search'
  | 'fields'
  | 'pagination'
  | 'badQuery'
  | 'hostileInput'
  | 'erase'
  | 'retention'
  | 'outbox'
  | 'outboxChanges'
  | 'exportImport'
  | 'persistence';

/** What the suite hands `open`: the clock and the settings the store must use. */
export interface LeadStoreContractContext {
  /** A fake clock (epoch milliseconds) for `updatedAt` stamps and retention. */
  readonly now: Clock;
  /** The merge policy to use. */
  readonly mergePolicy: LeadStoreMergePolicy;
  /** Custom field names queries may filter on: `plan` and `score`. */
  readonly customFields: readonly string[];
}

/** Options of {@link leadStoreContract}. */
export interface LeadStoreContractOptions {
  /** Prefix of every test name. Default `lead store contract`. */
  readonly name?: string;
  /** A new, empty store for one check (a fresh schema or database). Called twice by `exportImport`. */
  readonly open: (context: LeadStoreContractContext) => LeadStoreV1 | Promise<LeadStoreV1>;
  /**
   * Present when the store persists: open again, after the suite closed it,
   * the storage `store` used. The `persistence` check then runs.
   */
  readonly reopen?: (
    store: LeadStoreV1,
    context: LeadStoreContractContext,
  ) => LeadStoreV1 | Promise<LeadStoreV1>;
  /** Remove what a store the suite opened left behind (after it was closed). Default nothing. */
  readonly cleanup?: (store: LeadStoreV1) => void | Promise<void>;
  /** Checks to leave out. */
  readonly skip?: readonly LeadStoreContractCheck[];
}

const START = Date.UTC(2026, 0, 1, 9, 0, 0);
const DAY = 86_400_000;

/** Hostile text thrown at every filter, field name and cursor. */
export const SQL_INJECTION_PAYLOADS: readonly string[] = [
  "' OR '1'='1",
  "'; DROP TABLE leads; --",
  '" OR 1=1 --',
  "acme.com' UNION SELECT id, doc FROM leads --",
  '1); DELETE FROM leads; --',
  '\\x27 OR 1=1',
  '$$; DROP TABLE leads; $$',
  "name') OR ('a'='a",
];

/**
 * The lead store contract suite, Keyv-style: one test per check with your
 * runner's `it` and `expect`, so the memory, Postgres and PGlite stores (and a
 * host app's own) prove the same promises.
 *
 * Checks: upsert outcomes in order (created, updated, unchanged, rejected
 * without stopping the others); the field-by-field merge with provenance
 * (more confident wins, an empty value never overwrites, `newest` policy);
 * get by id and email; every documented filter, full-text search and the
 * choice of returned fields; keyset pagination (default 50, max 100, every
 * lead once, by id and by updatedAt, foreign and malformed cursors refused);
 * bad and hostile queries (typed errors naming the field; SQL-injection
 * payloads in every filter, field name and cursor change nothing); erase;
 * retention by the clock; the outbox, and the fields an outbox `lead.updated`
 * changed with their values before (`outboxChanges`: skip it for a store that
 * does not record them); export then import into an empty store;
 * and, for a persistent store, a close and reopen.
 *
 * @example
 * ```ts
 * leadStoreContract(it, expect, { open: (context) => createMemoryLeadStore(context) });
 * ```
 */
export function leadStoreContract(
  it: ContractTestFunction,
  expect: ContractExpect,
  options: LeadStoreContractOptions,
): void {
  const prefix = options.name ?? 'lead store contract';
  const skip = new Set(options.skip ?? []);

  interface Harness {
    store: LeadStoreV1;
    context: LeadStoreContractContext;
    advance(ms: number): void;
    /** A lead made at the clock's time. */
    lead(input: LeadInput): Lead;
    /** Open another empty store with the same clock (closed after the check). */
    another(): Promise<LeadStoreV1>;
    replacedBy(store: LeadStoreV1): void;
  }

  const check = (
    name: LeadStoreContractCheck,
    title: string,
    fn: (harness: Harness) => Promise<void>,
    mergePolicy: LeadStoreMergePolicy = 'highestConfidence',
  ) => {
    if (skip.has(name)) return;
    it(`${prefix}: ${title}`, async () => {
      let time = START;
      const context: LeadStoreContractContext = {
        now: () => time,
        mergePolicy,
        customFields: ['plan', 'score'],
      };
      const opened: LeadStoreV1[] = [];
      const harness: Harness = {
        store: await options.open(context),
        context,
        advance: (ms) => {
          time += ms;
        },
        lead: (input) => createLead(input, { now: () => new Date(time) }),
        another: async () => {
          const store = await options.open(context);
          opened.push(store);
          return store;
        },
        replacedBy: (store) => {
          harness.store = store;
        },
      };
      opened.push(harness.store);
      try {
        await fn(harness);
      } finally {
        for (const store of new Set([...opened, harness.store])) {
          await store.close();
          await options.cleanup?.(store);
        }
      }
    });
  };

  const expectInvalid = async (promise: Promise<unknown>, field: string, label: string) => {
    const outcome = await settle(promise);
    expect(outcome.ok, `${label}: must reject`).toBe(false);
    if (outcome.ok) return;
    expect(
      ValidationError.isInstance(outcome.error),
      `${label}: must reject with a ValidationError, got ${describeError(outcome.error)}`,
    ).toBe(true);
    const fields = ValidationError.isInstance(outcome.error) ? outcome.error.issues.map((i) => i.field) : [];
    expect(fields, `${label}: the issue names the field`).toContain(field);
  };

  /** Every lead of the query, following cursors; fails on a loop. */
  const queryAll = async (store: LeadStoreV1, query: LeadStoreQuery = {}): Promise<LeadStoreRecord[]> => {
    const all: LeadStoreRecord[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 1_000; pages++) {
      const page = await store.query(cursor === undefined ? query : { ...query, cursor });
      all.push(...page.leads);
      if (page.nextCursor === undefined) return all;
      cursor = page.nextCursor;
    }
    throw new Error(`${prefix}: paging did not end after 1,000 pages`);
  };

  /** A dozen varied leads, keyed by a short name. */
  const people = (harness: Harness): Record<string, Lead> => ({
    ada: harness.lead({
      email: 'ada@acme.com',
      fullName: 'Ada Lovelace',
      title: 'VP of Engineering',
      seniority: 'vp',
      location: { countryCode: 'GB' },
      company: { name: 'Acme Analytics', domain: 'acme.com', industry: 'Computer Software', headcount: 120 },
      custom: { plan: 'pro', score: 7 },
    }),
    bob: harness.lead({
      email: 'bob@acme.com',
      fullName: 'Bob Byte',
      title: 'Sales Manager',
      seniority: 'manager',
      location: { countryCode: 'US' },
      company: { name: 'Acme Analytics', domain: 'acme.com', industry: 'computer software', headcount: 120 },
      custom: { plan: 'free' },
    }),
    cyd: harness.lead({
      email: 'cyd@globex.io',
      fullName: 'Cyd Charisse',
      title: 'Head of Sales Engineering',
      seniority: 'head',
      location: { countryCode: 'DE' },
      company: { name: 'Globex', domain: 'globex.io', industry: 'Logistics', headcount: 4_500 },
      custom: { plan: 'pro', score: 3 },
    }),
    dee: harness.lead({
      email: 'dee@initech.com',
      fullName: 'Dee Engineer',
      title: 'Software Engineer',
      seniority: 'senior',
      location: { countryCode: 'DE' },
      company: { name: 'Initech', domain: 'initech.com', industry: 'Computer Software', headcount: 12 },
    }),
    eve: harness.lead({
      email: 'eve@mail.initech.com',
      fullName: 'Eve Salesforce',
      title: 'Chief Executive Officer',
      seniority: 'c_suite',
      company: { name: 'Initech', domain: 'initech.com', headcount: 12 },
    }),
    acmeCo: harness.lead({ company: { name: 'Umbrella Corp', domain: 'umbrella.com', headcount: 50_000 } }),
  });

  const store = async (harness: Harness, leads: Record<string, Lead>) => {
    const outcomes = await harness.store.upsert(Object.values(leads));
    expect(
      outcomes.map((outcome) => outcome.status),
      'every fixture lead is created',
    ).toEqual(Object.values(leads).map(() => 'created'));
  };
  const ids = (records: readonly LeadStoreRecord[]) => records.map((record) => record.id).sort();
  const idsOf = (leads: Record<string, Lead>, ...names: string[]) =>
    names.map((name) => leads[name]!.id).sort();

  check(
    'upsert',
    'upsert says created, updated, unchanged or rejected, in order, one bad lead stopping none',
    async (h) => {
      const ada = h.lead({ email: 'Ada@Acme.com', firstName: 'Ada' });
      const bob = h.lead({ email: 'bob@acme.com', title: 'CTO' });
      const first = await h.store.upsert([ada, bob]);
      expect(first, 'first upsert').toEqual([
        { status: 'created', id: ada.id, identity: 'email:ada@acme.com' },
        { status: 'created', id: bob.id, identity: 'email:bob@acme.com' },
      ]);
      h.advance(1_000);
      const adaAgain = h.lead({ email: 'ada@acme.com', firstName: 'Ada', lastName: 'Lovelace' });
      const broken = { ...h.lead({ email: 'x@acme.com' }), email: 'not an email' };
      const nobody = h.lead({ fullName: 'No Identity' });
      const second = await h.store.upsert([adaAgain, broken as Lead, bob, nobody]);
      expect(
        second.map((outcome) => outcome.status),
        'statuses of the second upsert',
      ).toEqual(['updated', 'rejected', 'unchanged', 'rejected']);
      expect(second[0]?.id, 'an update answers with the stored id, not the incoming one').toBe(ada.id);
      expect(
        second[1]?.issues?.map((issue) => issue.field),
        'the bad field is named',
      ).toContain('email');
      expect(
        second[3]?.issues?.map((issue) => issue.field),
        'a lead without identity names email',
      ).toContain('email');
      const stored = await h.store.get(ada.id);
      expect(stored?.lastName, 'the new field was merged').toBe('Lovelace');
      expect(stored?.firstName, 'the old field is kept').toBe('Ada');
      expect(stored?.createdAt, 'createdAt is kept').toBe(ada.createdAt);
      expect(stored?.updatedAt, 'updatedAt is the time of the change').toBe(
        new Date(START + 1_000).toISOString(),
      );
      expect(await h.store.get(adaAgain.id), 'the incoming id of a merged lead is not stored').toBe(
        undefined,
      );
      expect((await h.store.get(bob.id))?.updatedAt, 'an unchanged lead keeps its updatedAt').toBe(
        new Date(START).toISOString(),
      );
      // Duplicates inside one call merge into one lead.
      const dup = await h.store.upsert([
        h.lead({ email: 'dup@acme.com' }),
        h.lead({ email: 'DUP@acme.com', title: 'CFO' }),
      ]);
      expect(
        dup.map((o) => o.status),
        'two leads with one identity in one call',
      ).toEqual(['created', 'updated']);
      expect(dup[1]?.id, 'the second merges into the first').toBe(dup[0]?.id);
      expect((await h.store.getByEmail('dup@acme.com'))?.title, 'merged within one call').toBe('CFO');
      expect(await h.store.upsert([]), 'an empty upsert').toEqual([]);
    },
  );

  const withProvenance = (
    lead: Lead,
    field: string,
    confidence: number,
    at: number,
    providerId = 'p',
  ): Lead => ({
    ...lead,
    provenance: {
      ...lead.provenance,
      [field]: { providerId, confidence, at: new Date(at).toISOString(), credits: 1 },
    },
  });

  check(
    'merge',
    'merge: a more confident value wins, a less confident one does not, an empty one never',
    async (h) => {
      const base = withProvenance(
        h.lead({ email: 'm@acme.com', title: 'Engineer', department: 'R&D' }),
        'title',
        0.6,
        START,
      );
      await h.store.upsert([base]);
      h.advance(1_000);
      const weaker = withProvenance(
        h.lead({ email: 'm@acme.com', title: 'Intern' }),
        'title',
        0.5,
        START + 1_000,
      );
      expect((await h.store.upsert([weaker]))[0]?.status, 'a less confident value').toBe('unchanged');
      const stronger = withProvenance(
        h.lead({ email: 'm@acme.com', title: 'Staff Engineer' }),
        'title',
        0.9,
        START + 1_000,
        'apollo',
      );
      expect((await h.store.upsert([stronger]))[0]?.status, 'a more confident value').toBe('updated');
      const stored = await h.store.getByEmail('m@acme.com');
      expect(stored?.title, 'the more confident title').toBe('Staff Engineer');
      expect(stored?.provenance.title?.providerId, 'its provenance came with it').toBe('apollo');
      expect(stored?.provenance.title?.confidence, 'its confidence').toBe(0.9);
      expect(stored?.department, 'a field the incoming lead lacks is kept').toBe('R&D');
      const sameAgain = withProvenance(
        h.lead({ email: 'm@acme.com', title: 'Staff Engineer' }),
        'title',
        0.9,
        START + 1_000,
        'apollo',
      );
      expect((await h.store.upsert([sameAgain]))[0]?.status, 'the same value and provenance again').toBe(
        'unchanged',
      );
      const custom = h.lead({ email: 'm@acme.com', custom: { plan: 'pro', note: '' } });
      expect((await h.store.upsert([custom]))[0]?.status, 'a new custom value').toBe('updated');
      const emptyCustom = h.lead({ email: 'm@acme.com', custom: { plan: '' } });
      expect((await h.store.upsert([emptyCustom]))[0]?.status, 'an empty custom value').toBe('unchanged');
      expect((await h.store.getByEmail('m@acme.com'))?.custom, 'custom values').toEqual({ plan: 'pro' });
    },
  );

  check(
    'newest',
    'merge with the newest policy: a newer value wins whatever its confidence',
    async (h) => {
      const base = withProvenance(
        h.lead({ email: 'n@acme.com', title: 'Engineer' }),
        'title',
        0.9,
        START + 5_000,
      );
      await h.store.upsert([base]);
      const older = withProvenance(h.lead({ email: 'n@acme.com', title: 'Old Title' }), 'title', 1, START);
      expect((await h.store.upsert([older]))[0]?.status, 'an older value').toBe('unchanged');
      const newer = withProvenance(
        h.lead({ email: 'n@acme.com', title: 'New Title' }),
        'title',
        0.2,
        START + 9_000,
      );
      expect((await h.store.upsert([newer]))[0]?.status, 'a newer, less confident value').toBe('updated');
      expect((await h.store.getByEmail('n@acme.com'))?.title, 'the newer title').toBe('New Title');
    },
    'newest',
  );

  check('get', 'get by id and by email; a returned lead is a copy', async (h) => {
    const leads = people(h);
    await store(h, leads);
    const ada = leads.ada!;
    expect(await h.store.get(ada.id), 'get by id').toEqual({
      ...ada,
      updatedAt: new Date(START).toISOString(),
    });
    expect((await h.store.getByEmail('  ADA@acme.COM '))?.id, 'get by email, normalized').toBe(ada.id);
    expect(await h.store.getByEmail('nobody@acme.com'), 'an unknown email').toBe(undefined);
    expect(await h.store.get('0190a000-0000-7000-8000-000000000000'), 'an unknown id').toBe(undefined);
    const copy = await h.store.get(ada.id);
    (copy as { title?: string }).title = 'changed';
    expect((await h.store.get(ada.id))?.title, 'changing a returned lead changes nothing stored').toBe(
      'VP of Engineering',
    );
    await expectInvalid(h.store.getByEmail('not an email'), 'email', 'getByEmail of a non-address');
  });

  check('filters', 'every documented filter selects exactly the matching leads', async (h) => {
    const leads = people(h);
    await store(h, leads);
    const cases: [string, LeadStoreQuery['where'], string[]][] = [
      ['emailDomain', { emailDomain: 'ACME.com' }, ['ada', 'bob']],
      ['companyDomain', { companyDomain: 'initech.com' }, ['dee', 'eve']],
      ['industry (case-insensitive)', { industry: 'computer SOFTWARE' }, ['ada', 'bob', 'dee']],
      ['headcount range', { headcount: { min: 100, max: 5_000 } }, ['ada', 'bob', 'cyd']],
      ['headcount min only', { headcount: { min: 5_000 } }, ['acmeCo']],
      ['country', { country: 'de' }, ['cyd', 'dee']],
      ['one seniority', { seniority: 'vp' }, ['ada']],
      ['several seniorities', { seniority: ['vp', 'c_suite', 'head'] }, ['ada', 'cyd', 'eve']],
      ['title words', { title: 'sales' }, ['bob', 'cyd']],
      ['title words, all of them', { title: 'Engineering Sales' }, ['cyd']],
      ['custom string', { custom: { plan: 'pro' } }, ['ada', 'cyd']],
      ['custom number', { custom: { score: 3 } }, ['cyd']],
      ['two filters', { emailDomain: 'acme.com', seniority: 'manager' }, ['bob']],
      ['nothing matches', { companyDomain: 'nowhere.example' }, []],
    ];
    for (const [label, where, expected] of cases) {
      const found = await queryAll(h.store, { where, fields: ['email'] });
      expect(ids(found), `filter ${label}`).toEqual(idsOf(leads, ...expected));
      expect((await h.store.count({ where })).count, `count of filter ${label}`).toBe(expected.length);
    }
    h.advance(DAY);
    const later = h.lead({ email: 'ada@acme.com', department: 'Engineering' });
    await h.store.upsert([later]);
    const since = await queryAll(h.store, { where: { updatedSince: new Date(START + DAY).toISOString() } });
    expect(ids(since), 'updatedSince').toEqual(idsOf(leads, 'ada'));
  });

  check('search', 'full-text search over name, title and company, every word as a prefix', async (h) => {
    const leads = people(h);
    await store(h, leads);
    const cases: [string, string[]][] = [
      ['lovelace', ['ada']],
      ['Engineer', ['ada', 'cyd', 'dee']],
      ['acme', ['ada', 'bob']],
      ['sales', ['bob', 'cyd', 'eve']],
      ['sales acme', ['bob']],
      ['umbrel', ['acmeCo']],
      ['zzz', []],
    ];
    for (const [search, expected] of cases) {
      expect(ids(await queryAll(h.store, { search })), `search ${search}`).toEqual(idsOf(leads, ...expected));
      expect((await h.store.count({ search })).count >= 0, `count of search ${search}`).toBe(true);
    }
    const combined = await queryAll(h.store, { search: 'engineer', where: { country: 'DE' } });
    expect(ids(combined), 'search with a filter').toEqual(idsOf(leads, 'cyd', 'dee'));
  });

  check('fields', 'a query returns the id and only the fields asked for', async (h) => {
    const leads = people(h);
    await store(h, leads);
    const page = await h.store.query({
      where: { emailDomain: 'acme.com' },
      fields: ['email', 'company.domain', 'custom'],
    });
    expect(page.leads, 'the records, by id').toEqual(
      [
        {
          id: leads.ada!.id,
          email: 'ada@acme.com',
          company: { domain: 'acme.com' },
          custom: { plan: 'pro', score: 7 },
        },
        {
          id: leads.bob!.id,
          email: 'bob@acme.com',
          company: { domain: 'acme.com' },
          custom: { plan: 'free' },
        },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
    const one = await h.store.query({
      where: { companyDomain: 'umbrella.com' },
      fields: ['email', 'title', 'company.headcountRange'],
    });
    expect(one.leads, 'fields the lead lacks are absent').toEqual([
      { id: leads.acmeCo!.id, company: { headcountRange: '10001+' } },
    ]);
    const all = await h.store.query({ where: { emailDomain: 'globex.io' } });
    expect(all.leads, 'no fields named: the whole lead').toEqual([
      { ...leads.cyd!, updatedAt: new Date(START).toISOString() },
    ]);
  });

  check(
    'pagination',
    'keyset pages: default 50, max 100, each lead once, by id and by updatedAt',
    async (h) => {
      const made: Lead[] = [];
      for (let index = 0; index < 130; index++) {
        made.push(h.lead({ email: `p${String(index).padStart(3, '0')}@paging.example`, title: 'Engineer' }));
        if (index % 10 === 0) h.advance(1);
      }
      // Stored in reverse so that ids and updatedAt disagree.
      for (let index = made.length - 1; index >= 0; index -= 10) {
        h.advance(1_000);
        await h.store.upsert(made.slice(Math.max(0, index - 9), index + 1));
      }
      const first = await h.store.query({ fields: ['email'] });
      expect(first.leads.length, 'default page size').toBe(50);
      expect(typeof first.nextCursor, 'a cursor after a full page').toBe('string');
      const byId = await queryAll(h.store, { fields: ['email'], limit: 100 });
      expect(
        byId.map((lead) => lead.id),
        'every lead once, by id',
      ).toEqual(made.map((lead) => lead.id).sort());
      const byUpdated = await queryAll(h.store, { fields: ['updatedAt'], orderBy: 'updatedAt', limit: 7 });
      expect(byUpdated.length, 'every lead once, by updatedAt').toBe(130);
      const keys = byUpdated.map((lead) => `${lead.updatedAt}|${lead.id}`);
      expect(keys, 'in (updatedAt, id) order').toEqual([...keys].sort());
      expect(new Set(keys).size, 'no repeats').toBe(130);
      // Leads stored between pages do not make the listing skip or repeat.
      const page1 = await h.store.query({ fields: ['email'], limit: 40 });
      h.advance(1_000);
      await h.store.upsert([h.lead({ email: 'late@paging.example' })]);
      const rest = await queryAll(h.store, { fields: ['email'], limit: 40, cursor: page1.nextCursor! });
      const seen = [...page1.leads, ...rest].map((lead) => lead.id);
      expect(new Set(seen).size, 'no repeats across a write').toBe(seen.length);
      expect(seen.length, 'every lead, the late one included').toBe(131);
      await expectInvalid(h.store.query({ limit: 101 }), 'limit', 'a page of 101');
      await expectInvalid(h.store.query({ limit: 0 }), 'limit', 'a page of 0');
      await expectInvalid(
        h.store.query({ cursor: first.nextCursor!, where: { title: 'engineer' } }),
        'cursor',
        'a cursor of another query',
      );
      await expectInvalid(
        h.store.query({ cursor: first.nextCursor!, orderBy: 'updatedAt' }),
        'cursor',
        'a cursor of another order',
      );
      await expectInvalid(h.store.query({ cursor: 'not-a-cursor' }), 'cursor', 'a malformed cursor');
    },
  );

  check('badQuery', 'a bad query is a ValidationError naming the field', async (h) => {
    await store(h, people(h));
    const bad: [LeadStoreQuery, string][] = [
      [{ where: { colour: 'red' } as never }, 'where.colour'],
      [{ where: { custom: { secret: 'x' } } }, 'where.custom'],
      [{ where: { headcount: { min: 10, max: 5 } } }, 'where.headcount'],
      [{ where: { headcount: { min: -1 } } }, 'where.headcount.min'],
      [{ where: { country: 'Germany' } }, 'where.country'],
      [{ where: { seniority: 'boss' as never } }, 'where.seniority'],
      [{ where: { updatedSince: 'yesterday' } }, 'where.updatedSince'],
      [{ fields: ['email', 'password' as never] }, 'fields.1'],
      [{ orderBy: 'email' as never }, 'orderBy'],
      [{ search: '   ' }, 'search'],
      [{ limit: 2.5 }, 'limit'],
    ];
    for (const [query, field] of bad) {
      await expectInvalid(h.store.query(query), field, `query ${JSON.stringify(query)}`);
    }
    await expectInvalid(
      h.store.count({ where: { emailDomain: '' } }),
      'where.emailDomain',
      'count with an empty filter',
    );
  });

  check(
    'hostileInput',
    'SQL-injection payloads in every filter, field name, sort key, cursor, outbox position and erase change nothing',
    async (h) => {
      const leads = people(h);
      await store(h, leads);
      for (const payload of SQL_INJECTION_PAYLOADS) {
        const label = JSON.stringify(payload);
        for (const where of [
          { emailDomain: payload },
          { companyDomain: payload },
          { industry: payload },
          { title: payload },
          { updatedSince: payload },
          { country: payload },
          { custom: { plan: payload } },
        ] as LeadStoreQuery['where'][]) {
          const outcome = await settle(h.store.query({ where, fields: ['email'] }));
          if (outcome.ok)
            expect(outcome.value.leads, `filter ${JSON.stringify(where)}: matches nothing`).toEqual([]);
          else
            expect(
              ValidationError.isInstance(outcome.error),
              `filter ${label}: ${describeError(outcome.error)}`,
            ).toBe(true);
        }
        const searched = await settle(h.store.query({ search: payload }));
        if (!searched.ok) {
          expect(
            ValidationError.isInstance(searched.error),
            `search ${label}: ${describeError(searched.error)}`,
          ).toBe(true);
        }
        await expectInvalid(h.store.query({ fields: [payload as never] }), 'fields.0', `field name ${label}`);
        await expectInvalid(
          h.store.query({ where: { custom: { [payload]: 'x' } } }),
          'where.custom',
          `custom name ${label}`,
        );
        await expectInvalid(h.store.query({ cursor: payload }), 'cursor', `cursor ${label}`);
        const forged = Buffer.from(
          JSON.stringify({ v: 1, q: '0000000000000000', id: payload }),
          'utf8',
        ).toString('base64url');
        await expectInvalid(h.store.query({ cursor: forged }), 'cursor', `forged cursor ${label}`);
        await expectInvalid(h.store.getByEmail(payload), 'email', `getByEmail ${label}`);
        expect(await h.store.get(payload), `get ${label}`).toBe(undefined);
      }
      // Sort keys, nested field names, typed filters, real cursors with a hostile id or time, outbox positions, erase.
      const byId = await h.store.query({ fields: ['email'], limit: 2 });
      const byUpdated = await h.store.query({ fields: ['email'], limit: 2, orderBy: 'updatedAt' });
      const reencode = (cursor: string, change: Record<string, unknown>) =>
        Buffer.from(
          JSON.stringify({ ...JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')), ...change }),
          'utf8',
        ).toString('base64url');
      for (const payload of SQL_INJECTION_PAYLOADS) {
        const label = JSON.stringify(payload);
        await expectInvalid(h.store.query({ orderBy: payload as never }), 'orderBy', `sort key ${label}`);
        await expectInvalid(
          h.store.query({ fields: [`company.${payload}` as never] }),
          'fields.0',
          `nested field name ${label}`,
        );
        for (const where of [
          { seniority: payload },
          { seniority: ['vp', payload] },
          { headcount: { min: payload } },
          { headcount: { max: payload } },
          { custom: { plan: ['x', payload] } },
        ] as unknown as LeadStoreQuery['where'][]) {
          const outcome = await settle(h.store.query({ where }));
          expect(outcome.ok, `typed filter ${JSON.stringify(where)} is refused`).toBe(false);
          if (!outcome.ok) {
            expect(
              ValidationError.isInstance(outcome.error),
              `typed filter ${JSON.stringify(where)}: ${describeError(outcome.error)}`,
            ).toBe(true);
          }
          const counted = await settle(h.store.count({ where }));
          expect(counted.ok, `count with ${JSON.stringify(where)} is refused`).toBe(false);
        }
        await expectInvalid(
          h.store.query({ fields: ['email'], limit: 2, cursor: reencode(byId.nextCursor!, { id: payload }) }),
          'cursor',
          `a real cursor with the id ${label}`,
        );
        await expectInvalid(
          h.store.query({
            fields: ['email'],
            limit: 2,
            orderBy: 'updatedAt',
            cursor: reencode(byUpdated.nextCursor!, { u: payload }),
          }),
          'cursor',
          `a real cursor with the time ${label}`,
        );
        await expectInvalid(h.store.readOutbox({ after: payload }), 'after', `outbox position ${label}`);
        await expectInvalid(h.store.erase(payload), 'email', `erase ${label}`);
      }
      expect((await h.store.count()).count, 'every lead is still there').toBe(Object.keys(leads).length);
      expect((await h.store.get(leads.ada!.id))?.email, 'a lead is intact').toBe('ada@acme.com');
      expect(ids(await queryAll(h.store, { fields: ['email'] })), 'every lead is listed').toEqual(
        ids(Object.values(leads)),
      );
      expect((await h.store.readOutbox({ limit: 1_000 })).length, 'the outbox is intact').toBe(
        Object.keys(leads).length,
      );
    },
  );

  check('erase', 'erase removes the person everywhere the store keeps them, and says where', async (h) => {
    const leads = people(h);
    await store(h, leads);
    await h.store.upsert([h.lead({ email: 'ada@acme.com', department: 'R&D' })]);
    const report = await h.store.erase(' ADA@acme.com ');
    expect(report.email, 'the normalized email').toBe('ada@acme.com');
    expect(report.removed.leads, 'one lead removed').toBe(1);
    expect((report.removed.outbox ?? 0) >= 2, 'its outbox events removed').toBe(true);
    expect(await h.store.getByEmail('ada@acme.com'), 'gone by email').toBe(undefined);
    expect(await h.store.get(leads.ada!.id), 'gone by id').toBe(undefined);
    expect(ids(await queryAll(h.store, { search: 'lovelace' })), 'gone from search').toEqual([]);
    const events = await h.store.readOutbox({ limit: 1_000 });
    expect(
      events.some((event) => event.leadId === leads.ada!.id),
      'gone from the outbox',
    ).toBe(false);
    expect((await h.store.erase('ada@acme.com')).removed.leads, 'erasing again removes nothing').toBe(0);
    expect((await h.store.count()).count, 'the others are kept').toBe(Object.keys(leads).length - 1);
    await expectInvalid(h.store.erase('not an email'), 'email', 'erase of a non-address');
  });

  check('retention', 'leads not updated for N days are archived, and purged after M', async (h) => {
    const old = h.lead({ email: 'old@acme.com' });
    await h.store.upsert([old]);
    h.advance(20 * DAY);
    const fresh = h.lead({ email: 'fresh@acme.com' });
    await h.store.upsert([fresh]);
    h.advance(11 * DAY);
    expect(await h.store.retain({ archiveAfterDays: 30, purgeAfterDays: 60 }), 'first pass').toEqual({
      archived: 1,
      purged: 0,
    });
    expect(await h.store.get(old.id), 'an archived lead is out of the store').toBe(undefined);
    expect((await h.store.get(fresh.id))?.email, 'a fresh lead stays').toBe('fresh@acme.com');
    expect((await h.store.count()).count, 'count after archiving').toBe(1);
    expect(await h.store.retain({ archiveAfterDays: 30, purgeAfterDays: 60 }), 'nothing more yet').toEqual({
      archived: 0,
      purged: 0,
    });
    h.advance(30 * DAY);
    expect(await h.store.retain({ archiveAfterDays: 30, purgeAfterDays: 60 }), 'later').toEqual({
      archived: 1,
      purged: 1,
    });
    expect((await h.store.count()).count, 'count at the end').toBe(0);
    await expectInvalid(h.store.retain({ archiveAfterDays: 0 }), 'archiveAfterDays', 'archive after 0 days');
  });

  check(
    'outbox',
    'the outbox holds lead.created and lead.updated, in order, nothing for unchanged',
    async (h) => {
      const ada = h.lead({ email: 'ada@acme.com' });
      const bob = h.lead({ email: 'bob@acme.com' });
      await h.store.upsert([ada, bob]);
      h.advance(1_000);
      await h.store.upsert([h.lead({ email: 'ada@acme.com', title: 'CTO' }), bob]);
      const events = await h.store.readOutbox();
      expect(
        events.map((event) => [event.type, event.leadId]),
        'events',
      ).toEqual([
        ['lead.created', ada.id],
        ['lead.created', bob.id],
        ['lead.updated', ada.id],
      ]);
      expect(events[2]?.at, 'the time of the change').toBe(new Date(START + 1_000).toISOString());
      const after = await h.store.readOutbox({ after: events[0]!.position, limit: 1 });
      expect(
        after.map((event) => event.leadId),
        'read on after a position',
      ).toEqual([bob.id]);
      await expectInvalid(h.store.readOutbox({ after: '1; DROP TABLE x' }), 'after', 'a bad position');
      // Positions order as numbers, past 9 and 99 too.
      const more = Array.from({ length: 120 }, (_, index) => h.lead({ email: `o${index}@acme.com` }));
      await h.store.upsert(more);
      const all = await h.store.readOutbox({ limit: 1_000 });
      expect(
        all.map((event) => event.leadId),
        'every event in the order written',
      ).toEqual([ada.id, bob.id, ada.id, ...more.map((lead) => lead.id)]);
      const tail = await h.store.readOutbox({ after: all[10]!.position, limit: 3 });
      expect(
        tail.map((event) => event.leadId),
        'read on after position 11',
      ).toEqual(all.slice(11, 14).map((event) => event.leadId));
    },
  );

  check(
    'outboxChanges',
    'an outbox lead.updated lists the fields it changed with their values before; lead.created lists none',
    async (h) => {
      const ada = h.lead({
        email: 'ada@acme.com',
        title: 'CTO',
        department: 'Engineering',
        location: { countryCode: 'GB' },
        company: { name: 'Acme', domain: 'acme.com', headcount: 150 },
        custom: { plan: 'free', score: 3 },
      });
      const bob = h.lead({ email: 'bob@acme.com', title: 'CFO' });
      await h.store.upsert([ada, bob]);
      const stored = (await h.store.get(ada.id))!;
      h.advance(1_000);
      const outcomes = await h.store.upsert([
        h.lead({
          email: 'ada@acme.com',
          title: 'CEO',
          location: { countryCode: 'DE' },
          company: { name: 'Acme', domain: 'acme.com', headcount: 250 },
          custom: { plan: 'pro', score: 3, region: 'EU' },
        }),
        bob,
      ]);
      expect(
        outcomes.map((outcome) => outcome.status),
        'ada updated, bob unchanged',
      ).toEqual(['updated', 'unchanged']);
      const events = await h.store.readOutbox();
      expect(
        events.map((event) => [event.type, event.leadId]),
        'events',
      ).toEqual([
        ['lead.created', ada.id],
        ['lead.created', bob.id],
        ['lead.updated', ada.id],
      ]);
      expect(
        events.slice(0, 2).map((event) => event.changes),
        'a lead.created lists no changes',
      ).toEqual([undefined, undefined]);
      expect(events[2]?.changes, 'only the changed fields, each with its stored value before').toEqual([
        { field: 'title', before: 'CTO' },
        { field: 'location', before: stored.location },
        { field: 'company.headcount', before: 150 },
        { field: 'company.headcountRange', before: stored.company?.headcountRange },
        { field: 'custom.plan', before: 'free' },
        { field: 'custom.region' },
      ]);
      // Two updates of one lead in one batch: the second lists what changed after the first.
      h.advance(1_000);
      await h.store.upsert([
        h.lead({ email: 'ada@acme.com', title: 'Founder' }),
        h.lead({ email: 'ada@acme.com', department: 'Sales', company: { name: 'Acme Labs' } }),
      ]);
      const later = await h.store.readOutbox({ after: events[2]!.position });
      expect(
        later.map((event) => [event.type, event.changes]),
        'each update of a batch lists its own changes',
      ).toEqual([
        ['lead.updated', [{ field: 'title', before: 'CEO' }]],
        [
          'lead.updated',
          [
            { field: 'department', before: 'Engineering' },
            { field: 'company.name', before: 'Acme' },
          ],
        ],
      ]);
    },
  );

  check('exportImport', 'an export imported into an empty store gives the same leads', async (h) => {
    const leads = people(h);
    await store(h, leads);
    const exported: Lead[] = [];
    for await (const record of h.store.export({ orderBy: 'updatedAt' })) exported.push(record as Lead);
    expect(ids(exported), 'every lead exported').toEqual(
      Object.values(leads)
        .map((lead) => lead.id)
        .sort(),
    );
    const target = await h.another();
    const report = await target.import(
      (async function* () {
        yield* exported;
        yield { id: 'bad' } as unknown as Lead;
      })(),
    );
    expect([report.read, report.created, report.updated, report.unchanged], 'import counts').toEqual([
      exported.length + 1,
      exported.length,
      0,
      0,
    ]);
    expect(
      report.rejected.map((entry) => entry.index),
      'the bad lead is named by position',
    ).toEqual([exported.length]);
    for (const lead of exported) expect(await target.get(lead.id), `imported ${lead.email}`).toEqual(lead);
    const partial: LeadStoreRecord[] = [];
    for await (const record of h.store.export({ where: { emailDomain: 'acme.com' }, fields: ['email'] }))
      partial.push(record);
    expect(partial, 'a filtered export with fields').toEqual(
      [
        { id: leads.ada!.id, email: 'ada@acme.com' },
        { id: leads.bob!.id, email: 'bob@acme.com' },
      ].sort((a, b) => (a.id < b.id ? -1 : 1)),
    );
  });

  if (options.reopen !== undefined) {
    const reopen = options.reopen;
    check('persistence', 'leads, archive and outbox survive a close and reopen', async (h) => {
      const leads = people(h);
      await store(h, leads);
      await h.store.erase('bob@acme.com');
      await h.store.close();
      const reopened = await reopen(h.store, h.context);
      h.replacedBy(reopened);
      expect((await reopened.getByEmail('ada@acme.com'))?.id, 'a lead after reopen').toBe(leads.ada!.id);
      expect(await reopened.getByEmail('bob@acme.com'), 'an erased lead stays erased').toBe(undefined);
      expect((await reopened.count()).count, 'count after reopen').toBe(Object.keys(leads).length - 1);
      expect((await reopened.readOutbox({ limit: 1_000 })).length, 'the outbox after reopen').toBe(
        Object.keys(leads).length - 1,
      );
      const again = await reopened.upsert([h.lead({ email: 'ada@acme.com', department: 'Ops' })]);
      expect(again[0]?.status, 'an upsert after reopen merges').toBe('updated');
    });
  }
}
