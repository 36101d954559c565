// The campaign store on PostgreSQL and on PGlite (one shared instance): the testkit contract unchanged, and two
// engines on two connection pools racing for the same due enrollments and ledger keys.
import { PGlite } from '@electric-sql/pglite';
import { type CampaignEnrollment, type CampaignStoreV1, ValidationError } from '@leadpipe/core/adapter-kit';
import { campaignStoreContract } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/index.js';
import { dropSchema, freshSchema, storeDatabaseUrl } from './support.js';

const url = storeDatabaseUrl();
const schemaOf = new WeakMap<CampaignStoreV1, string>();
const postgresSchemas: string[] = [];
afterAll(async () => {
  for (const schema of postgresSchemas) await dropSchema(schema);
});

describe('PostgreSQL campaign store', () => {
  campaignStoreContract(it, expect, {
    name: 'PostgreSQL campaign store contract',
    open: async () => {
      const schema = freshSchema();
      postgresSchemas.push(schema);
      const store = await openPostgresStore({ connection: url, schema, maxConnections: 4 });
      schemaOf.set(store.campaigns, schema);
      return store.campaigns;
    },
    reopen: async (campaigns) => {
      const schema = schemaOf.get(campaigns)!;
      const store = await openPostgresStore({ connection: url, schema, maxConnections: 4 });
      schemaOf.set(store.campaigns, schema);
      return store.campaigns;
    },
  });
});

describe('PGlite campaign store', () => {
  // One instance for the file: a new one costs seconds and hundreds of MB.
  let pglite: PGlite;
  beforeAll(async () => {
    pglite = await PGlite.create();
  }, 60_000);
  afterAll(async () => {
    await pglite.close();
  });
  campaignStoreContract(it, expect, {
    name: 'PGlite campaign store contract',
    open: async () => {
      const schema = freshSchema();
      const store = await openPostgresStore({ pglite, schema });
      schemaOf.set(store.campaigns, schema);
      return store.campaigns;
    },
    close: async (campaigns) => {
      await campaigns.close();
    },
    reopen: async (campaigns) => {
      const schema = schemaOf.get(campaigns)!;
      const store = await openPostgresStore({ pglite, schema });
      schemaOf.set(store.campaigns, schema);
      return store.campaigns;
    },
  });
});

const T0 = Date.parse('2026-12-07T09:00:00.000Z');

function enrollment(index: number): CampaignEnrollment {
  return {
    id: `e${String(index).padStart(4, '0')}`,
    campaignId: 'welcome',
    campaignVersion: 1,
    leadId: `lead-${index}`,
    status: 'active',
    stepId: 'first',
    version: 1,
    nextRunAt: T0 - (index % 50),
    enrolledAt: T0 - 1000,
    attempts: 0,
    trigger: 'lead.created',
  };
}

describe('PostgreSQL campaign store: two engines on two pools', () => {
  const schema = freshSchema();
  const stores: PostgresStore[] = [];
  beforeAll(async () => {
    postgresSchemas.push(schema);
    // Two stores on one schema, each with its own pool: two processes' worth of connections.
    for (let index = 0; index < 2; index++) {
      stores.push(await openPostgresStore({ connection: url, schema, maxConnections: 4 }));
    }
  });
  afterAll(async () => {
    for (const store of stores) await store.close();
  });

  it('every due enrollment is moved on once and every send claimed once, however the two engines interleave', async () => {
    const [a, b] = stores as [PostgresStore, PostgresStore];
    const total = 300;
    for (let index = 0; index < total; index += 50) {
      await Promise.all(
        Array.from({ length: 50 }, (_, offset) => a.campaigns.enroll(enrollment(index + offset))),
      );
    }
    const moved: Record<string, string[]> = { a: [], b: [] };
    const claimed: Record<string, string[]> = { a: [], b: [] };
    // An engine's loop: read a batch of due rows, then for each compare-and-set it to the next step and claim its
    // send, as the campaign engine does with a wake-up. Both engines read the same rows at the same time.
    const engine = async (name: 'a' | 'b', store: PostgresStore) => {
      for (;;) {
        const due = await store.campaigns.due(T0, 40);
        if (due.length === 0) return;
        await Promise.all(
          due.map(async (row) => {
            const next: CampaignEnrollment = { ...row, version: row.version + 1, stepId: 'second' };
            const { nextRunAt: _done, ...rest } = next;
            if (!(await store.campaigns.updateEnrollment({ ...rest, status: 'completed' }))) return;
            moved[name]!.push(row.id);
            const claim = await store.campaigns.claimSend({
              ledgerKey: `enr-${row.id}-sfirst`,
              enrollmentId: row.id,
              campaignId: row.campaignId,
              stepId: 'first',
              leadId: row.leadId,
              email: `${row.leadId}@race.example`,
              at: T0,
              cap: { mailbox: 'sales@race.example', day: '2026-12-07' },
            });
            if (claim.status === 'claimed') claimed[name]!.push(row.id);
          }),
        );
      }
    };
    // A third claimer that does not look at the enrollment: it races both engines for every ledger key.
    const rival = async () => {
      const results = await Promise.all(
        Array.from({ length: total }, (_, index) =>
          b.campaigns.claimSend({
            ledgerKey: `enr-${enrollment(index).id}-sfirst`,
            enrollmentId: enrollment(index).id,
            campaignId: 'welcome',
            stepId: 'first',
            leadId: `lead-${index}`,
            email: `lead-${index}@race.example`,
            at: T0,
            cap: { mailbox: 'sales@race.example', day: '2026-12-07' },
          }),
        ),
      );
      return results.filter((result) => result.status === 'claimed').length;
    };
    const [, , rivalClaims] = await Promise.all([engine('a', a), engine('b', b), rival()]);

    const allMoved = [...moved.a!, ...moved.b!];
    expect(allMoved.length, 'moves in all').toBe(total);
    expect(new Set(allMoved).size, 'no enrollment moved twice').toBe(total);
    const engineClaims = claimed.a!.length + claimed.b!.length;
    expect(engineClaims + rivalClaims, 'one claim per ledger key across both pools').toBe(total);
    expect(
      (await a.campaigns.mailboxUsage('sales@race.example', '2026-12-07')).sentToday,
      'the mailbox counted each send once',
    ).toBe(total);
    expect((await b.campaigns.listSends({ status: 'claimed', limit: 1_000 })).length, 'ledger rows').toBe(
      total,
    );
    expect(await a.campaigns.due(T0 + 1_000_000, 10), 'nothing left due').toEqual([]);
    const stats = await b.campaigns.stats('welcome');
    expect([stats.enrolled, stats.byStatus.completed], 'every enrollment completed once').toEqual([
      total,
      total,
    ]);
  }, 120_000);

  it('a daily cap holds across the two pools: concurrent claims never overshoot it', async () => {
    const [a, b] = stores as [PostgresStore, PostgresStore];
    const cap = { mailbox: 'capped@race.example', day: '2026-12-08', dailyCap: 7 };
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        (index % 2 === 0 ? a : b).campaigns.claimSend({
          ledgerKey: `cap-${index}`,
          enrollmentId: `cap-${index}`,
          campaignId: 'welcome',
          stepId: 'first',
          leadId: `cap-lead-${index}`,
          email: `cap-${index}@race.example`,
          at: T0 + index,
          cap,
        }),
      ),
    );
    expect(results.filter((result) => result.status === 'claimed').length, 'claimed').toBe(7);
    expect(results.filter((result) => result.status === 'capped').length, 'capped').toBe(33);
    expect((await a.campaigns.mailboxUsage(cap.mailbox, cap.day)).sentToday, 'counted').toBe(7);
  }, 60_000);
});

describe('PostgreSQL campaign store: bad input', () => {
  it('is a ValidationError naming the field, and writes nothing', async () => {
    const schema = freshSchema();
    postgresSchemas.push(schema);
    const store = await openPostgresStore({ connection: url, schema, maxConnections: 2 });
    const campaigns = store.campaigns;
    const fieldOf = async (call: () => Promise<unknown>): Promise<string> => {
      try {
        await call();
      } catch (error) {
        expect(ValidationError.isInstance(error), String(error)).toBe(true);
        const issue = (error as ValidationError).issues[0]!;
        expect(issue.reason.length, 'a reason').toBeGreaterThan(0);
        return issue.field;
      }
      throw new Error('not refused');
    };
    const claim = {
      ledgerKey: 'k',
      enrollmentId: 'e',
      campaignId: 'c',
      stepId: 's',
      leadId: 'l',
      email: 'x@y.example',
      at: T0,
      cap: { mailbox: 'm', day: 'd' },
    };
    try {
      await campaigns.enroll(enrollment(1));
      expect(
        [
          await fieldOf(() => campaigns.enroll({ ...enrollment(2), status: 'paused' as 'active' })),
          await fieldOf(() => campaigns.enroll({ ...enrollment(3), nextRunAt: 1.5 })),
          await fieldOf(() => campaigns.enroll({ ...enrollment(4), version: -1 })),
          await fieldOf(() => campaigns.enroll({ ...enrollment(5), id: enrollment(1).id })),
          await fieldOf(() => campaigns.updateEnrollment({ ...enrollment(1), version: 2, attempts: 0.5 })),
          await fieldOf(() => campaigns.claimSend({ ...claim, at: Number.NaN })),
          await fieldOf(() => campaigns.due(T0, -1)),
          await fieldOf(() => campaigns.listSends({ limit: 1.5 })),
          await fieldOf(() =>
            campaigns.suppress({ email: 'x@y.example', reason: 'annoyed' as 'bounced', source: 's', at: T0 }),
          ),
          await fieldOf(() =>
            campaigns.recordEvent(
              { id: 'v', type: 't', leadId: 'l', at: T0 },
              {
                suppress: {
                  email: 'x@y.example',
                  reason: 'bounced',
                  source: 's',
                  at: Number.POSITIVE_INFINITY,
                },
              },
            ),
          ),
          await fieldOf(() => campaigns.setTimer({ key: 't', runAt: 2 ** 60 })),
          await fieldOf(() =>
            campaigns.putDeadLetter({
              id: 'd',
              enrollmentId: 'e',
              campaignId: 'c',
              stepId: 's',
              code: 'x',
              message: 'm',
              attempts: 1,
              at: -0.5,
            }),
          ),
        ],
        'the fields named',
      ).toEqual([
        'status',
        'nextRunAt',
        'version',
        'id',
        'attempts',
        'at',
        'limit',
        'limit',
        'reason',
        'suppress.at',
        'runAt',
        'at',
      ]);
      expect(await campaigns.getEnrollment(enrollment(2).id), 'nothing written').toBe(undefined);
      expect(await campaigns.getSuppression('x@y.example'), 'no suppression').toBe(undefined);
      expect(await campaigns.eventsSince('l', 0), 'no event').toEqual([]);
      expect((await campaigns.getEnrollment(enrollment(1).id))?.version, 'the enrollment unchanged').toBe(1);
    } finally {
      await store.close();
    }
  }, 60_000);
});
