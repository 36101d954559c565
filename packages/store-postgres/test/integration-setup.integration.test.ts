// The integration setup (scripts/integration-setup.ts) drops only stale test schemas: one a killed run left hours
// ago, or one named before schema names carried their creation time; never a fresh one that a run going on beside
// it (another worktree, CI) is using, and never a schema outside the `lp_t_` prefix.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import setup, { isStaleTestSchema } from '../../../scripts/integration-setup.js';
import { dropSchema, freshSchema, storeDatabaseUrl } from './support.js';

const HOUR = 3_600_000;
const hex = () => randomBytes(6).toString('hex');
const madeAt = (time: number) => `lp_t_${time.toString(36)}_${hex()}`;

describe('isStaleTestSchema', () => {
  const now = Date.UTC(2026, 11, 7, 12);
  it('keeps a schema made within the last hours, or stamped in the future (a clock ahead)', () => {
    expect(isStaleTestSchema(madeAt(now), now)).toBe(false);
    expect(isStaleTestSchema(madeAt(now - 5 * HOUR), now)).toBe(false);
    expect(isStaleTestSchema(madeAt(now + HOUR), now)).toBe(false);
  });
  it('drops one made more than six hours ago, and one named without its creation time', () => {
    expect(isStaleTestSchema(madeAt(now - 7 * HOUR), now)).toBe(true);
    expect(isStaleTestSchema(`lp_t_${hex()}`, now), 'the naming before the time').toBe(true);
  });
  it('reads the names freshSchema makes', () => {
    const name = freshSchema();
    expect(name).toMatch(/^lp_t_[0-9a-z]+_[0-9a-f]{12}$/);
    expect(isStaleTestSchema(name, Date.now())).toBe(false);
    expect(isStaleTestSchema(name, Date.now() + 7 * HOUR)).toBe(true);
  });
});

describe('the integration setup on the store test database', () => {
  const client = new pg.Client({ connectionString: storeDatabaseUrl() });
  const fresh = freshSchema();
  const old = madeAt(Date.now() - 7 * HOUR);
  const legacy = `lp_t_${hex()}`;
  const other = `lp_setup_keep_${hex()}`;
  const exists = async (schema: string) =>
    (await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rows.length === 1;

  beforeAll(async () => {
    await client.connect();
    for (const schema of [fresh, old, legacy, other]) {
      await client.query(`CREATE SCHEMA "${schema}"`);
      await client.query(`CREATE TABLE "${schema}".t (n int)`);
    }
  });
  afterAll(async () => {
    await client.end();
    for (const schema of [fresh, old, legacy, other]) await dropSchema(schema);
  });

  it('drops the stale schemas and keeps the fresh one and the one outside its prefix', async () => {
    await setup();
    expect(await exists(old), 'made seven hours ago').toBe(false);
    expect(await exists(legacy), 'named without its time').toBe(false);
    expect(await exists(fresh), 'made now: a run may be using it').toBe(true);
    expect(await exists(other), 'not an lp_t_ schema').toBe(true);
  });
});
