// The lead store's write path on PostgreSQL and on PGlite: new leads are copied straight into the leads table and
// updated ones through the stage table, both as COPY text-format lines (PGlite reads them from a Blob). Values
// that COPY's text format must escape come back unchanged on both paths; a batch mixing every outcome writes
// exactly what it says; concurrent writers of the same leads merge, never lose a field or store a lead twice.
import { PGlite } from '@electric-sql/pglite';
import type { Lead } from '@leadpipe/core/adapter-kit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/index.js';
import { leadAt, testClock } from './run-state-fixtures.js';
import { dropSchema, freshSchema, storeDatabaseUrl } from './support.js';

let pglite: PGlite;
beforeAll(async () => {
  pglite = await PGlite.create();
}, 60_000);
afterAll(async () => {
  await pglite.close();
});

type Engine = 'postgres' | 'pglite';
const made: { engine: Engine; schema: string }[] = [];
const opened: PostgresStore[] = [];
afterAll(async () => {
  for (const store of opened) await store.close();
  for (const { engine, schema } of made) if (engine === 'postgres') await dropSchema(schema);
});

async function open(engine: Engine, now: () => number, schema = freshSchema()): Promise<PostgresStore> {
  made.push({ engine, schema });
  const store = await openPostgresStore({
    ...(engine === 'postgres' ? { connection: storeDatabaseUrl(), maxConnections: 2 } : { pglite }),
    schema,
    now,
  });
  opened.push(store);
  return store;
}

// Every character COPY's text format treats specially (backslash, tab, newline, carriage return, the `\N` null
// marker, the `\.` end marker), quotes, and text outside ASCII.
const AWKWARD = [
  'back\\slash \\N \\. \\\\ end\\',
  'tab\there',
  'new\nline and\r\ncarriage\rreturn',
  `quotes ' " \` and ; -- comment`,
  'ü é ß 日本語 emoji 🚀 zero-width\u200bspace',
];

describe.each(['postgres', 'pglite'] as const)('lead writes on %s', (engine) => {
  it('values COPY must escape come back unchanged, on a new lead and on an update', async () => {
    const clock = testClock();
    const store = await open(engine, clock.now);
    const created = AWKWARD.map((text, index) =>
      leadAt(clock.now, {
        email: `w${index}@acme.example`,
        fullName: text,
        title: text,
        company: { name: text, domain: 'acme.example' },
        custom: { note: text, [`key ${text}`]: 'x' },
      }),
    );
    expect(
      created.map((lead) => lead.custom?.note),
      'custom values keep every character',
    ).toEqual(AWKWARD);
    expect((await store.leads.upsert(created)).map((outcome) => outcome.status)).toEqual(
      AWKWARD.map(() => 'created'),
    );
    for (const lead of created) expect(await store.leads.get(lead.id), 'a new lead, as given').toEqual(lead);
    clock.advance(1_000);
    const changes = AWKWARD.map((text, index) =>
      leadAt(
        clock.now,
        { email: `w${index}@acme.example`, department: `${text} again`, title: `${text}!` },
        0.95,
      ),
    );
    expect((await store.leads.upsert(changes)).map((outcome) => outcome.status)).toEqual(
      AWKWARD.map(() => 'updated'),
    );
    for (const [index, change] of changes.entries()) {
      // As the lead schema normalized them (it collapses whitespace in some fields): the same on both engines.
      const stored = await store.leads.get(created[index]!.id);
      expect(stored?.department, `updated department ${index}`).toBe(change.department);
      expect(stored?.title, `updated title ${index}`).toBe(change.title);
      expect(stored?.fullName, `kept name ${index}`).toBe(created[index]!.fullName);
      expect(stored?.custom, `kept custom ${index}`).toEqual(created[index]!.custom);
    }
    // The generated columns read the stored document: a filter on the company's domain finds all of them.
    const page = await store.leads.query({ where: { companyDomain: 'acme.example' }, fields: ['title'] });
    expect(page.leads.map((lead) => lead.title).sort()).toEqual(changes.map((change) => change.title).sort());
  });

  it('one batch of new, updated, unchanged, duplicate and id-clashing leads writes exactly its outcomes', async () => {
    const clock = testClock();
    const store = await open(engine, clock.now);
    const ada = leadAt(clock.now, { email: 'ada@acme.example', title: 'Engineer' });
    const bob = leadAt(clock.now, { email: 'bob@acme.example', title: 'CTO' });
    await store.leads.upsert([ada, bob]);
    clock.advance(1_000);
    const eve = leadAt(clock.now, { email: 'eve@acme.example' });
    const eveAgain = leadAt(clock.now, { email: 'EVE@acme.example', department: 'Sales' });
    const clash: Lead = { ...leadAt(clock.now, { email: 'mal@acme.example' }), id: bob.id };
    const outcomes = await store.leads.upsert([
      leadAt(clock.now, { email: 'ada@acme.example', title: 'Staff Engineer' }, 0.95),
      eve,
      bob,
      clash,
      eveAgain,
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual([
      'updated',
      'created',
      'unchanged',
      'rejected',
      'updated',
    ]);
    expect(outcomes[3]?.issues).toEqual([{ field: 'id', reason: 'is the id of another stored lead' }]);
    expect(outcomes[4]?.id, 'the duplicate merges into the lead created in the same batch').toBe(eve.id);
    expect((await store.leads.get(ada.id))?.title).toBe('Staff Engineer');
    expect(await store.leads.get(eve.id)).toMatchObject({ email: 'eve@acme.example', department: 'Sales' });
    expect((await store.leads.get(bob.id))?.email, 'the clashing id still names bob').toBe(
      'bob@acme.example',
    );
    expect(
      await store.leads.getByEmail('mal@acme.example'),
      'the rejected lead is not stored',
    ).toBeUndefined();
    expect((await store.leads.count()).count).toBe(3);
    const events = await store.leads.readOutbox({ limit: 100 });
    expect(events.map((event) => [event.type, event.leadId])).toEqual([
      ['lead.created', ada.id],
      ['lead.created', bob.id],
      ['lead.updated', ada.id],
      ['lead.created', eve.id],
      ['lead.updated', eve.id],
    ]);
  });

  it('concurrent writers of the same leads merge: each lead stored once, created once, no field lost', async () => {
    const clock = testClock();
    const schema = freshSchema();
    const first = await open(engine, clock.now, schema);
    const second = await open(engine, clock.now, schema); // its own pool on PostgreSQL; the same instance on PGlite
    const emails = Array.from({ length: 300 }, (_, index) => `c${index}@acme.example`);
    // Both writers send every lead at the same time, in overlapping batches (the second's start 25 leads later),
    // each setting a field the other does not.
    const write = async (store: PostgresStore, field: 'title' | 'department', firstBatch: number) => {
      const statuses: string[] = [];
      for (let start = 0; start < emails.length; start = start === 0 ? firstBatch : start + 50) {
        const batch = emails
          .slice(start, start === 0 ? firstBatch : start + 50)
          .map((email) => leadAt(clock.now, { email, [field]: `${field} of ${email}` }));
        for (const outcome of await store.leads.upsert(batch)) statuses.push(outcome.status);
      }
      return statuses;
    };
    const [a, b] = await Promise.all([write(first, 'title', 50), write(second, 'department', 25)]);
    expect([...a, ...b].filter((status) => status === 'created')).toHaveLength(emails.length);
    expect([...a, ...b].filter((status) => status === 'updated')).toHaveLength(emails.length);
    expect((await first.leads.count()).count).toBe(emails.length);
    for (const email of emails) {
      const stored = await first.leads.getByEmail(email);
      expect(stored?.title, `${email}: the first writer's field`).toBe(`title of ${email}`);
      expect(stored?.department, `${email}: the second writer's field`).toBe(`department of ${email}`);
    }
    const events = await first.leads.readOutbox({ limit: 1000 });
    expect(events.filter((event) => event.type === 'lead.created')).toHaveLength(emails.length);
    expect(new Set(events.map((event) => event.leadId)).size).toBe(emails.length);
  });
});
