import { apolloDescriptor } from '@leadpipe/provider-apollo';
import { createRedisCache } from '@leadpipe/store-redis';
import { startEmulators } from '@leadpipe/testkit';
import { createDistributedRun, createWorker } from '../src/index.ts';

const LIMITS = { apollo: { perMinute: 60_000, perHour: 600_000, perDay: 6_000_000 } };
const running = await startEmulators({ vendors: ['apollo'], seed: 1, limits: LIMITS });
const apollo = apolloDescriptor.create(
  apolloDescriptor.emulatorSettings({
    urls: running.urls.apollo!,
    credentials: running.credentials.apollo!,
    limits: LIMITS.apollo,
  }),
);
const cache = createRedisCache({ redis: 'redis://127.0.0.1:6379', prefix: 'dbgx:answers:' });
const w = createWorker({
  connection: 'redis://127.0.0.1:6379',
  prefix: 'dbgx',
  queueName: 'q2',
  cache,
  pipeline: { enrichment: { providers: [apollo], fields: ['title'] } },
  onError: (e, id) => console.log('err', id, e),
});
console.log('before ready');
await w.ready();
console.log('ready');
const p = createDistributedRun({
  connection: 'redis://127.0.0.1:6379',
  prefix: 'dbgx',
  queueName: 'q2',
  batchSize: 5,
});
const runId = 'r' + Date.now();
const rows = running.truth.people.slice(0, 12).map((p) => ({ Email: p.email }));
console.log(await p.submit(rows, { runId }));
console.log(await p.wait(runId, { pollMs: 300, onProgress: (x) => console.log(JSON.stringify(x)) }));
await w.close();
await p.close();
await cache.close();
await running.close();
