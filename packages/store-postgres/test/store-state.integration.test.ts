// Backup and restore, retention to a table and to a file, and erase across the run state: on PostgreSQL and on
// PGlite (one shared instance), with the store's own Cache, DeadLetterQueue and CheckpointStore.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { type LeadStoreQuery, type LeadStoreRecord, ValidationError } from '@leadpipe/core/adapter-kit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKUP_FORMAT, BACKUP_VERSION, openPostgresStore, type PostgresStore } from '../src/index.js';
import { campaignSnapshot, claimFor, populateCampaigns } from './campaign-fixtures.js';
import { DAY, deadLetterAbout, leadAt, testClock } from './run-state-fixtures.js';
import { dropSchema, freshSchema, storeDatabaseUrl } from './support.js';

let pglite: PGlite;
let folder: string;
beforeAll(async () => {
  pglite = await PGlite.create();
  folder = await mkdtemp(join(tmpdir(), 'leadpipe-store-state-'));
}, 60_000);
afterAll(async () => {
  await pglite.close();
  await rm(folder, { recursive: true, force: true });
});

type Engine = 'postgres' | 'pglite';
const schemas: { engine: Engine; schema: string }[] = [];
afterAll(async () => {
  for (const { engine, schema } of schemas) {
    if (engine === 'postgres') await dropSchema(schema);
  }
});

async function open(
  engine: Engine,
  now: () => number,
  extra: { archiveFile?: string; schema?: string; checkpointName?: string } = {},
): Promise<PostgresStore> {
  const schema = extra.schema ?? freshSchema();
  schemas.push({ engine, schema });
  return openPostgresStore({
    ...(engine === 'postgres' ? { connection: storeDatabaseUrl(), maxConnections: 3 } : { pglite }),
    ...extra,
    schema,
    now,
    customFields: ['plan'],
  });
}

async function queryAll(store: PostgresStore, query: LeadStoreQuery): Promise<LeadStoreRecord[]> {
  const all: LeadStoreRecord[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.leads.query(cursor === undefined ? query : { ...query, cursor });
    all.push(...page.leads);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return all;
}

async function collect(lines: AsyncIterable<string>): Promise<string[]> {
  const all: string[] = [];
  for await (const line of lines) all.push(line);
  return all;
}

/** A store holding a bit of everything: leads (merged, custom, provenance), an archive, outbox, cache, dead letters, a checkpoint. */
async function populate(store: PostgresStore, clock: ReturnType<typeof testClock>): Promise<void> {
  const old = leadAt(clock.now, { email: 'old@acme.com', title: 'Retired', custom: { plan: 'free' } });
  await store.leads.upsert([old]);
  clock.advance(40 * DAY);
  const leads = Array.from({ length: 250 }, (_, index) =>
    leadAt(clock.now, {
      email: `p${index}@d${index % 7}.example`,
      fullName: `Person ${index}`,
      title: index % 2 === 0 ? 'Software Engineer' : 'Sales Manager \\ \'quoted\' "and" tab\tnewline\n',
      seniority: index % 3 === 0 ? 'vp' : 'manager',
      location: { countryCode: index % 2 === 0 ? 'DE' : 'US' },
      company: { name: `Company ${index % 11}`, domain: `co${index % 11}.example`, headcount: index * 10 },
      custom: { plan: index % 4 === 0 ? 'pro' : 'free', note: `ü ${index}` },
    }),
  );
  await store.leads.upsert(leads);
  clock.advance(1_000);
  await store.leads.upsert([leadAt(clock.now, { email: 'p1@d1.example', title: 'Head of Sales' }, 0.95)]);
  expect(await store.leads.retain({ archiveAfterDays: 30 }), 'the old lead is archived').toEqual({
    archived: 1,
    purged: 0,
  });
  await store.cache.set('apollo:p2@d2.example', { title: 'Software Engineer', n: 2 }, 60_000);
  await store.cache.set('clearbit:co3.example', { name: 'Company 3' }, 60_000);
  await store.deadLetters.put(deadLetterAbout('dl-1', 'p3@d3.example', leads[3]!.id));
  await store.deadLetters.put(deadLetterAbout('dl-2', 'p4@d4.example', leads[4]!.id));
  const checkpoint = await store.checkpoints.open({ fingerprint: 'input-1', resume: false });
  await checkpoint.markFinished([1, 2, 3, 7, 1500]);
  await checkpoint.results.set('apollo:p5@d5.example', { title: 'Engineer' }, 60_000);
  await checkpoint.flush({ rowsRead: 1500, note: 'state' });
  await populateCampaigns(
    store,
    leads.map((lead) => lead.id),
  );
}

/** Everything a store answers, to compare two. */
async function snapshot(store: PostgresStore) {
  const queries: LeadStoreQuery[] = [
    { limit: 100 },
    { orderBy: 'updatedAt', limit: 33, fields: ['email', 'updatedAt', 'provenance'] },
    { where: { country: 'DE', custom: { plan: 'pro' } }, fields: ['email', 'custom'] },
    { search: 'sales compa', fields: ['fullName', 'title'] },
    { where: { headcount: { min: 100, max: 900 }, seniority: 'vp' }, fields: ['email', 'company.headcount'] },
  ];
  const checkpoint = await store.checkpoints.open({ fingerprint: 'input-1', resume: true });
  return {
    queries: await Promise.all(queries.map((query) => queryAll(store, query))),
    count: await store.leads.count(),
    outbox: await store.leads.readOutbox({ limit: 1_000 }),
    merged: await store.leads.getByEmail('p1@d1.example'),
    cache: [await store.cache.get('apollo:p2@d2.example'), await store.cache.get('clearbit:co3.example')],
    deadLetters: await store.deadLetters.list(),
    campaigns: await campaignSnapshot(store),
    checkpoint: {
      resumed: checkpoint.resumed,
      state: checkpoint.state,
      finishedBefore: checkpoint.finishedBefore,
      finished: await checkpoint.finishedIn({ from: 1, to: 2_000 }),
      answer: await checkpoint.results.get('apollo:p5@d5.example'),
    },
  };
}

for (const engine of ['postgres', 'pglite'] as const) {
  describe(`${engine}: backup and restore`, () => {
    it('a backup restored into an empty store answers every query and resumes the run state identically', async () => {
      const clock = testClock();
      const source = await open(engine, clock.now);
      const target = await open(engine, clock.now);
      try {
        await populate(source, clock);
        const lines = await collect(source.backup());
        const header = JSON.parse(lines[0]!);
        expect(header, 'the header line').toMatchObject({
          format: BACKUP_FORMAT,
          version: BACKUP_VERSION,
          engine,
          createdAt: new Date(clock.now()).toISOString(),
        });
        expect(header.schemaVersion).toBeGreaterThanOrEqual(3);
        expect(JSON.parse(lines.at(-1)!), 'the end line counts every record').toEqual({
          type: 'end',
          counts: {
            lead: 250,
            archivedLead: 1,
            outboxEvent: 252,
            cacheEntry: 2,
            deadLetter: 2,
            checkpointRun: 1,
            checkpointRow: 5,
            checkpointResult: 1,
            campaignEnrollment: 3,
            campaignSend: 2,
            campaignMailboxDay: 1,
            campaignMailbox: 1,
            campaignSuppression: 1,
            campaignEvent: 2,
            campaignDeadLetter: 1,
            campaignTimer: 1,
          },
        });
        expect(lines.every((line) => line.endsWith('\n') && !line.slice(0, -1).includes('\n'))).toBe(true);
        // Restored from chunks that split lines anywhere, as a file stream would.
        const text = lines.join('');
        const chunks = Array.from({ length: Math.ceil(text.length / 777) }, (_, index) =>
          text.slice(index * 777, index * 777 + 777),
        );
        const counts = await target.restore(chunks);
        expect(counts, 'what was restored').toEqual(JSON.parse(lines.at(-1)!).counts);
        expect(await snapshot(target), 'the restored store answers as the source').toEqual(
          await snapshot(source),
        );
        const again = await collect(target.backup());
        expect(again.slice(1), 'a backup of the restored store is the same, line for line').toEqual(
          lines.slice(1),
        );
        // What the update changed came back with it: the values before, quotes and backslashes included (the
        // company domain came from the update's email domain).
        const updates = (await target.leads.readOutbox({ limit: 1_000 })).filter(
          (event) => event.type === 'lead.updated',
        );
        expect(
          updates.map((event) => event.changes),
          'the restored outbox update lists its changes',
        ).toEqual([
          [
            { field: 'title', before: 'Sales Manager \\ \'quoted\' "and" tab newline' },
            { field: 'company.domain', before: 'co1.example' },
          ],
        ]);
        // Sequences continue after the restored positions.
        clock.advance(1_000);
        await target.leads.upsert([leadAt(clock.now, { email: 'new@acme.com' })]);
        const outbox = await target.leads.readOutbox({ limit: 1_000 });
        expect(Number(outbox.at(-1)!.position)).toBe(Number(outbox.at(-2)!.position) + 1);
        await target.deadLetters.put(deadLetterAbout('dl-3', 'x@acme.com', outbox.at(-1)!.leadId));
        expect((await target.deadLetters.list()).entries.map((entry) => entry.id)).toEqual([
          'dl-1',
          'dl-2',
          'dl-3',
        ]);
        const restored = await campaignSnapshot(target);
        expect(
          [
            restored.enrollments.map((enrollment) => enrollment?.status),
            restored.enrollments[0]?.data,
            restored.sends.map((send) => [send.ledgerKey, send.status, send.messageId, send.variant]),
            restored.usage,
            restored.suppressed?.reason,
            restored.events.map((event) => event.id),
            restored.stats.steps.first?.delivered,
            restored.timers.map((timer) => timer.key),
            restored.nextWakeAt,
          ],
          'the restored campaign state, spelled out',
        ).toEqual([
          ['active', 'exited', 'completed'],
          { quote: 'it\'s "quoted"\t\\ ü', n: 1.5, list: [null, true, { deep: 'x' }] },
          [
            ['enr-c0-sfirst', 'sent', 'msg-0', undefined],
            ['enr-c1-sfirst', 'claimed', undefined, 'b'],
          ],
          { sentToday: 2, lastSentAt: Date.parse('2026-12-07T09:00:00.010Z') },
          'unsubscribed',
          ['ev-delivered'],
          1,
          ['cron-digest'],
          Date.parse('2026-12-07T09:01:00.000Z'),
        ]);
        // The event sequence continues too, and the restored ledger still refuses a second send.
        await target.campaigns.recordEvent({
          id: 'ev-new',
          type: 'email.opened',
          leadId: 'x',
          at: clock.now(),
        });
        expect((await target.campaigns.claimSend(claimFor(0, clock.now()))).status).toBe('exists');
        // The archived lead came back archived: erase finds it there.
        expect((await target.leads.erase('old@acme.com')).removed.archive).toBe(1);
      } finally {
        await source.close();
        await target.close();
      }
    }, 60_000);

    it('restore refuses a store that is not empty, a cut-short backup and a foreign file, restoring nothing', async () => {
      const clock = testClock();
      const source = await open(engine, clock.now);
      const target = await open(engine, clock.now);
      try {
        await source.leads.upsert([leadAt(clock.now, { email: 'ada@acme.com' })]);
        const lines = await collect(source.backup());
        const refusal = async (input: string[], store = target) => {
          try {
            await store.restore(input);
          } catch (error) {
            expect(ValidationError.isInstance(error), String(error)).toBe(true);
            return (error as ValidationError).issues[0]!;
          }
          throw new Error('restore was not refused');
        };
        expect((await refusal(lines, source)).field, 'into a store with leads').toBe('backup');
        expect((await refusal(lines.slice(0, -1))).reason).toContain('no end line');
        expect((await refusal(['{"format":"something-else","version":1}\n', ...lines.slice(1)])).field).toBe(
          'backup.line 1',
        );
        expect((await refusal([lines[0]!, '{"type":"lead",\n', ...lines.slice(1)])).field).toBe(
          'backup.line 2',
        );
        expect(
          (await refusal([lines[0]!, lines[1]!, lines.at(-1)!.replace('"lead":1', '"lead":2')])).reason,
        ).toContain('end line counts 2 lead');
        const future = JSON.stringify({ ...JSON.parse(lines[0]!), version: BACKUP_VERSION + 1 });
        expect((await refusal([`${future}\n`, ...lines.slice(1)])).reason).toContain('restores up to');
        expect((await target.leads.count()).count, 'nothing was restored by the refused attempts').toBe(0);
        expect(await target.restore(lines)).toMatchObject({ lead: 1, outboxEvent: 1 });
      } finally {
        await source.close();
        await target.close();
      }
    }, 60_000);
  });

  describe(`${engine}: outbox changes`, () => {
    it('a version 2 backup (outbox events without changes) restores; its updates read without changes', async () => {
      const clock = testClock();
      const source = await open(engine, clock.now);
      const target = await open(engine, clock.now);
      try {
        await source.leads.upsert([leadAt(clock.now, { email: 'ada@acme.com', title: 'CTO' })]);
        clock.advance(1_000);
        await source.leads.upsert([leadAt(clock.now, { email: 'ada@acme.com', title: 'CEO' })]);
        const lines = (await collect(source.backup())).map((line) => JSON.parse(line));
        expect(
          lines.filter((line) => line.type === 'outboxEvent').map((line) => line.changes),
          'a backup carries the changes',
        ).toEqual([null, [{ field: 'title', before: 'CTO' }]]);
        const older = lines.map((line, index) => {
          if (index === 0) return `${JSON.stringify({ ...line, version: 2, schemaVersion: 4 })}\n`;
          const { changes: _changes, ...rest } = line;
          return `${JSON.stringify(line.type === 'outboxEvent' ? rest : line)}\n`;
        });
        expect(await target.restore(older)).toMatchObject({ lead: 1, outboxEvent: 2 });
        const outbox = await target.leads.readOutbox();
        expect(
          outbox.map((event) => [event.type, 'changes' in event]),
          'restored without changes',
        ).toEqual([
          ['lead.created', false],
          ['lead.updated', false],
        ]);
      } finally {
        await source.close();
        await target.close();
      }
    }, 60_000);

    it('outbox rows written before migration 5 read without changes after it; new updates record them', async () => {
      const clock = testClock();
      const schema = freshSchema();
      const sql = async (text: string) => {
        if (engine === 'pglite') {
          await pglite.exec(text);
          return;
        }
        const client = new pg.Client({ connectionString: storeDatabaseUrl() });
        await client.connect();
        try {
          await client.query(text);
        } finally {
          await client.end();
        }
      };
      const before = await open(engine, clock.now, { schema });
      await before.leads.upsert([leadAt(clock.now, { email: 'ada@acme.com', title: 'CTO' })]);
      clock.advance(1_000);
      await before.leads.upsert([leadAt(clock.now, { email: 'ada@acme.com', title: 'CEO' })]);
      await before.close();
      // Back to schema version 4, with rows of the old shape: no changes column.
      await sql(
        `ALTER TABLE "${schema}".lead_outbox DROP COLUMN changes; DELETE FROM "${schema}".schema_migrations WHERE version = 5`,
      );
      const after = await open(engine, clock.now, { schema });
      try {
        const old = await after.leads.readOutbox();
        expect(
          old.map((event) => [event.type, 'changes' in event]),
          'old rows read, without changes',
        ).toEqual([
          ['lead.created', false],
          ['lead.updated', false],
        ]);
        clock.advance(1_000);
        await after.leads.upsert([leadAt(clock.now, { email: 'ada@acme.com', title: 'Founder' })]);
        const fresh = await after.leads.readOutbox({ after: old.at(-1)!.position });
        expect(fresh.map((event) => event.changes)).toEqual([[{ field: 'title', before: 'CEO' }]]);
      } finally {
        await after.close();
      }
    }, 60_000);
  });

  describe(`${engine}: retention`, () => {
    it('archives to the leads_archive table and purges by last update', async () => {
      const clock = testClock();
      const store = await open(engine, clock.now);
      try {
        const old = leadAt(clock.now, { email: 'old@acme.com', title: 'CTO', custom: { plan: 'pro' } });
        await store.leads.upsert([old]);
        clock.advance(10 * DAY);
        await store.leads.upsert([leadAt(clock.now, { email: 'new@acme.com' })]);
        clock.advance(25 * DAY);
        expect(await store.leads.retain({ archiveAfterDays: 30, purgeAfterDays: 60 })).toEqual({
          archived: 1,
          purged: 0,
        });
        expect(await store.leads.get(old.id)).toBe(undefined);
        const backup = (await collect(store.backup())).map((line) => JSON.parse(line));
        const archived = backup.filter((record) => record.type === 'archivedLead');
        expect(archived, 'the whole lead is in the archive table').toEqual([
          {
            type: 'archivedLead',
            id: old.id,
            identity: 'email:old@acme.com',
            updatedAt: old.updatedAt.replace('Z', '000Z'),
            archivedAt: new Date(clock.now()).toISOString().replace('Z', '000Z'),
            lead: old,
          },
        ]);
        clock.advance(30 * DAY);
        expect(await store.leads.retain({ purgeAfterDays: 60 })).toEqual({ archived: 0, purged: 1 });
      } finally {
        await store.close();
      }
    });

    it('archives to an NDJSON file instead, purges it after M days, and erase removes the person from it', async () => {
      const clock = testClock();
      const archiveFile = join(folder, `${engine}-archive.ndjson`);
      const store = await open(engine, clock.now, { archiveFile });
      try {
        const stale = Array.from({ length: 1_203 }, (_, index) =>
          leadAt(clock.now, { email: `s${index}@old.example`, title: 'Engineer' }),
        );
        await store.leads.upsert(stale);
        clock.advance(20 * DAY);
        const later = leadAt(clock.now, { email: 'later@old.example' });
        await store.leads.upsert([later]);
        clock.advance(15 * DAY);
        expect(await store.leads.retain({ archiveAfterDays: 30, purgeAfterDays: 60 }), 'first pass').toEqual({
          archived: 1_203,
          purged: 0,
        });
        const lines = (await readFile(archiveFile, 'utf8'))
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line));
        expect(lines.length, 'one line per archived lead (in batches of 1,000)').toBe(1_203);
        expect(
          lines.find((line) => line.id === stale[0]!.id),
          'a line of the archive file',
        ).toEqual({
          id: stale[0]!.id,
          identity: 'email:s0@old.example',
          updatedAt: stale[0]!.updatedAt,
          archivedAt: new Date(clock.now()).toISOString(),
          lead: stale[0],
        });
        expect((await store.leads.count()).count, 'only the later lead is left').toBe(1);
        const erased = await store.leads.erase('s7@old.example');
        expect(erased.removed.archiveFile, 'erase removes the person from the archive file').toBe(1);
        expect(erased.removed.archive, 'and reports the table too').toBe(0);
        const text = await readFile(archiveFile, 'utf8');
        expect(text).not.toContain('s7@old.example');
        expect(text.trimEnd().split('\n').length).toBe(1_202);
        clock.advance(20 * DAY);
        expect(await store.leads.retain({ archiveAfterDays: 30, purgeAfterDays: 40 }), 'second pass').toEqual(
          {
            archived: 1,
            purged: 1_202,
          },
        );
        const left = (await readFile(archiveFile, 'utf8'))
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line));
        expect(
          left.map((entry) => entry.id),
          'only the later lead is in the file',
        ).toEqual([later.id]);
        // The file archive is part of a backup, restored into another store's archive file.
        const copy = join(folder, `${engine}-archive-copy.ndjson`);
        const target = await open(engine, clock.now, { archiveFile: copy });
        try {
          await target.restore(await collect(store.backup()));
          expect(await readFile(copy, 'utf8')).toBe(await readFile(archiveFile, 'utf8'));
        } finally {
          await target.close();
        }
      } finally {
        await store.close();
      }
    }, 60_000);
  });

  describe(`${engine}: erase`, () => {
    it('removes the person from the leads, archive, outbox, answer cache, dead letters, checkpoint answers and campaign state, keeps her suppressed, and says where', async () => {
      const clock = testClock();
      const schema = freshSchema();
      const store = await open(engine, clock.now, { schema, checkpointName: 'run-a' });
      try {
        const ada = leadAt(clock.now, { email: 'ada@acme.com', title: 'CTO' });
        const bob = leadAt(clock.now, { email: 'bob@acme.com', title: 'CFO' });
        await store.leads.upsert([ada, bob]);
        clock.advance(1_000);
        // Her update's outbox row holds her title before (CTO): it goes with her.
        await store.leads.upsert([leadAt(clock.now, { email: 'ada@acme.com', title: 'CEO' })]);
        expect((await store.leads.readOutbox()).at(-1)?.changes).toEqual([{ field: 'title', before: 'CTO' }]);
        await store.cache.set('apollo:person:ada@acme.com', { title: 'CTO' }, 60_000);
        await store.cache.set('hunter:domain:acme.com', { emails: ['ada@acme.com', 'bob@acme.com'] }, 60_000);
        await store.cache.set('apollo:person:bob@acme.com', { title: 'CFO' }, 60_000);
        await store.cache.set('apollo:person:nada@acme.com', { title: 'Intern' }, 60_000);
        await store.deadLetters.put(deadLetterAbout('dl-ada', 'ADA@acme.com', ada.id));
        await store.deadLetters.put({ ...deadLetterAbout('dl-id', 'other@acme.com', ada.id) });
        await store.deadLetters.put(deadLetterAbout('dl-bob', 'bob@acme.com', bob.id));
        const checkpoint = await store.checkpoints.open({ fingerprint: 'f', resume: false });
        await checkpoint.results.set('apollo:ada@acme.com', { title: 'CTO' }, 60_000);
        await checkpoint.results.set('apollo:bob@acme.com', { title: 'CFO' }, 60_000);
        await checkpoint.flush();
        // Another run's checkpoint in the same schema.
        const other = await open(engine, clock.now, { schema, checkpointName: 'run-b' });
        const otherCheckpoint = await other.checkpoints.open({ fingerprint: 'g', resume: false });
        await otherCheckpoint.results.set('clearbit:x', { contacts: ['Ada <ada@acme.com>'] }, 60_000);
        await other.close();

        // Campaign state: both enrolled, a send each, events, Ada unsubscribed (suppressed), a dead letter each.
        const campaigns = store.campaigns;
        for (const [index, person] of [ada, bob].entries()) {
          const name = index === 0 ? 'ada' : 'bob';
          await campaigns.enroll({
            id: `enr-${name}`,
            campaignId: 'welcome',
            campaignVersion: 1,
            leadId: person.id,
            status: 'active',
            stepId: 'second',
            version: 1,
            nextRunAt: clock.now(),
            enrolledAt: clock.now(),
            attempts: 0,
            trigger: 'lead.created',
            data: { firstName: name },
          });
          const claim = await campaigns.claimSend({
            ledgerKey: `enr-enr-${name}-sfirst`,
            enrollmentId: `enr-${name}`,
            campaignId: 'welcome',
            stepId: 'first',
            leadId: person.id,
            email: `${name}@acme.com`,
            at: clock.now(),
            cap: { mailbox: 'sales@acme.com', day: '2026-01-01' },
          });
          expect(claim.status).toBe('claimed');
          await campaigns.recordEvent({
            id: `open-${name}`,
            type: 'email.opened',
            leadId: person.id,
            at: clock.now(),
            ledgerKey: `enr-enr-${name}-sfirst`,
          });
          await campaigns.putDeadLetter({
            id: `cdl-${name}`,
            enrollmentId: `enr-${name}`,
            campaignId: 'welcome',
            stepId: 'first',
            code: 'template_error',
            message: 'missing variable',
            attempts: 1,
            at: clock.now(),
          });
        }
        await campaigns.recordEvent(
          { id: 'unsub-ada', type: 'email.unsubscribed', leadId: ada.id, at: clock.now() },
          {
            suppress: {
              email: 'ada@acme.com',
              reason: 'unsubscribed',
              source: 'unsubscribe-link',
              at: clock.now(),
            },
          },
        );
        // An event about another lead that names her address in its data (a forwarded reply).
        await campaigns.recordEvent({
          id: 'reply-bob',
          type: 'email.replied',
          leadId: bob.id,
          at: clock.now(),
          data: { text: 'forwarding to ada@acme.com' },
        });

        const report = await store.leads.erase('Ada@Acme.com');
        expect(report).toEqual({
          email: 'ada@acme.com',
          removed: {
            leads: 1,
            archive: 0,
            outbox: 2,
            cache: 2,
            deadLetters: 2,
            checkpointResults: 2,
            campaignEnrollments: 1,
            campaignSends: 1,
            campaignEvents: 3,
            campaignDeadLetters: 1,
          },
        });
        expect(await campaigns.getEnrollment('enr-ada'), 'her enrollment').toBe(undefined);
        expect(await campaigns.getSend('enr-enr-ada-sfirst'), 'her ledger row').toBe(undefined);
        expect(await campaigns.eventsSince(ada.id, 0), 'her events').toEqual([]);
        expect(
          (await campaigns.listDeadLetters()).map((letter) => letter.id),
          'her dead letter',
        ).toEqual(['cdl-bob']);
        expect((await campaigns.getSuppression('ada@acme.com'))?.reason, 'she stays suppressed').toBe(
          'unsubscribed',
        );
        const again = await campaigns.claimSend({
          ledgerKey: 'enr-enr-ada2-sfirst',
          enrollmentId: 'enr-ada2',
          campaignId: 'welcome',
          stepId: 'first',
          leadId: 'a-new-lead-id',
          email: 'ADA@acme.com',
          at: clock.now(),
          cap: { mailbox: 'sales@acme.com', day: '2026-01-01' },
        });
        expect(again.status, 'a later claim to her address is refused').toBe('suppressed');
        expect(
          [
            (await campaigns.getEnrollment('enr-bob'))?.status,
            (await campaigns.getSend('enr-enr-bob-sfirst'))?.status,
          ],
          'Bob keeps his campaign state',
        ).toEqual(['active', 'claimed']);
        expect(
          (await campaigns.eventsSince(bob.id, 0)).map((event) => event.id),
          'Bob keeps the events that do not name her',
        ).toEqual(['open-bob']);
        expect(await store.leads.getByEmail('ada@acme.com')).toBe(undefined);
        expect(await store.cache.get('apollo:person:ada@acme.com')).toBe(undefined);
        expect(await store.cache.get('hunter:domain:acme.com'), 'an entry naming her among others goes').toBe(
          undefined,
        );
        expect(await store.cache.get('apollo:person:nada@acme.com'), 'nada@ is not ada@').toEqual({
          title: 'Intern',
        });
        expect(await store.cache.get('apollo:person:bob@acme.com')).toEqual({ title: 'CFO' });
        expect((await store.deadLetters.list()).entries.map((entry) => entry.id)).toEqual(['dl-bob']);
        const resumed = await store.checkpoints.open({ fingerprint: 'f', resume: true });
        expect(await resumed.results.get('apollo:ada@acme.com')).toBe(undefined);
        expect(await resumed.results.get('apollo:bob@acme.com')).toEqual({ title: 'CFO' });
        const backup = await collect(store.backup());
        expect(backup.join('').toLowerCase(), 'nothing in the backup names her').not.toMatch(
          /[^a-z]ada@acme\.com/,
        );
        expect(backup.join(''), 'nor her lead id').not.toContain(ada.id);
        expect(backup.join(''), 'nor her title before the update').not.toContain('CTO');
      } finally {
        await store.close();
      }
    }, 60_000);
  });
}

describe('restore from a file on disk', () => {
  it('a backup written to a file by a stream is restored from a read stream (PostgreSQL to PGlite)', async () => {
    const { createReadStream, createWriteStream } = await import('node:fs');
    const { Readable } = await import('node:stream');
    const { pipeline } = await import('node:stream/promises');
    const clock = testClock();
    const source = await open('postgres', clock.now);
    const target = await open('pglite', clock.now);
    try {
      await populate(source, clock);
      const file = join(folder, 'backup.ndjson');
      await pipeline(Readable.from(source.backup()), createWriteStream(file));
      await target.restore(createReadStream(file));
      expect(await snapshot(target)).toEqual(await snapshot(source));
      await writeFile(file, '');
    } finally {
      await source.close();
      await target.close();
    }
  }, 60_000);

  it('a PGlite backup streams straight into a PostgreSQL restore', async () => {
    const clock = testClock();
    const source = await open('pglite', clock.now);
    const target = await open('postgres', clock.now);
    try {
      await populate(source, clock);
      await target.restore(source.backup());
      expect(await snapshot(target)).toEqual(await snapshot(source));
    } finally {
      await source.close();
      await target.close();
    }
  }, 60_000);
});
