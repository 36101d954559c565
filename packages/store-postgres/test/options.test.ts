import { ConfigurationError } from '@leadpipe/core/adapter-kit';
import { describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStoreOptions } from '../src/index.js';

/** The fields a refused open names. */
async function refusedFields(options: PostgresStoreOptions): Promise<string[]> {
  try {
    const store = await openPostgresStore(options);
    await store.close();
  } catch (error) {
    if (ConfigurationError.isInstance(error)) return error.issues.map((issue) => issue.field);
    throw error;
  }
  throw new Error('the open was not refused');
}

describe('openPostgresStore options', () => {
  // Refused before any connection is made: the URL points nowhere.
  const url = 'postgres://nobody@127.0.0.1:1/none';

  it('refuses a schema name that is not a plain identifier, before it reaches SQL', async () => {
    for (const schema of [
      'leads"; DROP SCHEMA public CASCADE; --',
      'Leads',
      '1leads',
      'a b',
      '',
      'x'.repeat(64),
    ]) {
      expect(await refusedFields({ connection: url, schema }), JSON.stringify(schema)).toEqual(['schema']);
    }
  });

  it('refuses custom field names outside the whitelist pattern, naming the entry', async () => {
    expect(await refusedFields({ connection: url, customFields: ['plan', "plan') OR 1=1 --"] })).toEqual([
      'customFields.1',
    ]);
  });

  it('needs exactly one of connection and pglite', async () => {
    expect(await refusedFields({})).toEqual(['connection']);
  });

  it('refuses a read replica that is not a postgres URL', async () => {
    expect(await refusedFields({ connection: url, readReplicas: ['/tmp/folder'] })).toEqual([
      'readReplicas.0',
    ]);
  });
});

describe('openPostgresStore read replicas', () => {
  it('refuses read replicas beside a PGlite folder, and a negative catch-up wait', async () => {
    expect(
      await refusedFields({
        connection: '/tmp/leadpipe-no-folder',
        readReplicas: ['postgres://x@127.0.0.1:1/y'],
      }),
    ).toEqual(['readReplicas']);
    expect(
      await refusedFields({ connection: 'postgres://nobody@127.0.0.1:1/none', replicaCatchUpMs: -1 }),
    ).toEqual(['replicaCatchUpMs']);
  });
});
