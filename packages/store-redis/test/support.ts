import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';
import { createMemoryLeadStore, type LeadStoreV1, type MemoryLeadStoreOptions } from '@leadpipe/core';

/** The Redis the integration tests use. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A Redis call limit for tests on a busy machine: a slow answer there must not turn a hit into a miss. */
export const PATIENT_MS = 5_000;

/** A key prefix no other test file or run shares: `lp-test:<name>:<random>:`. */
export function uniquePrefix(name: string): string {
  return `lp-test:${name}:${randomBytes(6).toString('hex')}:`;
}

/** A `redis://` URL on a local port nothing listens on (bound, then closed). */
export async function closedPortUrl(credentials = ''): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 1;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `redis://${credentials}127.0.0.1:${port}`;
}

/** Calls per method of a {@link countingStore}. */
export type Calls = Record<string, number>;

/**
 * A real memory lead store behind a wrapper that counts the calls reaching
 * it (and can hold `get` until released): what a cache in front must spare.
 */
export function countingStore(options: MemoryLeadStoreOptions = {}): {
  store: LeadStoreV1;
  calls: Calls;
  /** Make the next `get` wait until the returned function is called (it has read the store by then). */
  holdNextGet(): { released: () => void; reached: Promise<void> };
} {
  const inner = createMemoryLeadStore(options);
  const calls: Calls = {};
  let hold: { gate: Promise<void>; reached: () => void } | undefined;
  const count = (name: string) => {
    calls[name] = (calls[name] ?? 0) + 1;
  };
  const store: LeadStoreV1 = {
    specificationVersion: 'v1',
    upsert: (leads) => {
      count('upsert');
      return inner.upsert(leads);
    },
    async get(id) {
      count('get');
      const lead = await inner.get(id);
      const held = hold;
      if (held !== undefined) {
        hold = undefined;
        held.reached();
        await held.gate;
      }
      return lead;
    },
    getByEmail: (email) => {
      count('getByEmail');
      return inner.getByEmail(email);
    },
    query: (query) => {
      count('query');
      return inner.query(query);
    },
    count: (query) => {
      count('count');
      return inner.count(query);
    },
    export: (query) => {
      count('export');
      return inner.export(query);
    },
    import: (leads) => {
      count('import');
      return inner.import(leads);
    },
    erase: (email) => {
      count('erase');
      return inner.erase(email);
    },
    retain: (options) => {
      count('retain');
      return inner.retain(options);
    },
    readOutbox: (options) => {
      count('readOutbox');
      return inner.readOutbox(options);
    },
    close: () => inner.close(),
  };
  return {
    store,
    calls,
    holdNextGet() {
      let released!: () => void;
      let reached!: () => void;
      const gate = new Promise<void>((resolve) => {
        released = resolve;
      });
      const reachedPromise = new Promise<void>((resolve) => {
        reached = resolve;
      });
      hold = { gate, reached };
      return { released, reached: reachedPromise };
    },
  };
}

/** A TCP proxy to Redis that a test can stop and start again on the same port: Redis "going down" and "coming back". */
export async function redisProxy(target = REDIS_URL): Promise<{
  url: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}> {
  const { hostname, port: targetPort } = new URL(target);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(targetPort || 6379), hostname);
    sockets.add(client);
    sockets.add(upstream);
    client.pipe(upstream).pipe(client);
    for (const socket of [client, upstream]) {
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    async start() {
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    },
  };
}
