import type { Cache, DeadLetterQueue, LeadStoreV1 } from '@leadpipe/core/adapter-kit';
import {
  cacheContract,
  checkpointStoreContract,
  deadLetterQueueContract,
  leadStoreContract,
} from '@leadpipe/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { openPostgresStore, type PostgresStore } from '../src/index.js';
import { dropSchema, freshSchema, storeDatabaseUrl } from './support.js';

const url = storeDatabaseUrl();
/** Schemas of the run-state suites, dropped at the end (their `close` must keep them for `reopen`). */
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});
/** The store and schema behind each opened lead store, cache or queue. */
const opened = new WeakMap<object, { store: PostgresStore; schema: string }>();

describe('PostgreSQL lead store', () => {
  leadStoreContract(it, expect, {
    open: async (context) => {
      const schema = freshSchema();
      const store = await openPostgresStore({ connection: url, schema, maxConnections: 2, ...context });
      opened.set(store.leads, { store, schema });
      return store.leads;
    },
    reopen: async (leads, context) => {
      const { schema } = opened.get(leads)!;
      const store = await openPostgresStore({ connection: url, schema, maxConnections: 2, ...context });
      opened.set(store.leads, { store, schema });
      return store.leads;
    },
    cleanup: (leads: LeadStoreV1) => dropSchema(opened.get(leads)!.schema),
  });
});

describe('PostgreSQL cache', () => {
  cacheContract(it, expect, {
    open: async ({ now }) => {
      const schema = freshSchema();
      schemas.push(schema);
      const store = await openPostgresStore({ connection: url, schema, now, maxConnections: 2 });
      opened.set(store.cache, { store, schema });
      return store.cache;
    },
    close: (cache: Cache) => opened.get(cache)!.store.close(),
    reopen: async (cache, { now }) => {
      const { schema } = opened.get(cache)!;
      const store = await openPostgresStore({ connection: url, schema, now, maxConnections: 2 });
      opened.set(store.cache, { store, schema });
      return store.cache;
    },
  });
});

describe('PostgreSQL dead-letter queue', () => {
  deadLetterQueueContract(it, expect, {
    open: async () => {
      const schema = freshSchema();
      schemas.push(schema);
      const store = await openPostgresStore({ connection: url, schema, maxConnections: 2 });
      opened.set(store.deadLetters, { store, schema });
      return store.deadLetters;
    },
    close: (queue: DeadLetterQueue) => opened.get(queue)!.store.close(),
    reopen: async (queue) => {
      const { schema } = opened.get(queue)!;
      const store = await openPostgresStore({ connection: url, schema, maxConnections: 2 });
      opened.set(store.deadLetters, { store, schema });
      return store.deadLetters;
    },
  });
});

describe('PostgreSQL checkpoint store', () => {
  checkpointStoreContract(it, expect, {
    setup: () => {
      const schema = freshSchema();
      const stores: PostgresStore[] = [];
      return {
        store: (now) => ({
          async open(request) {
            const store = await openPostgresStore({ connection: url, schema, now, maxConnections: 2 });
            stores.push(store);
            return store.checkpoints.open(request);
          },
        }),
        cleanup: async () => {
          for (const store of stores) await store.close();
          await dropSchema(schema);
        },
      };
    },
  });
});
