import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { createLimiterRegistry } from '@leadpipe/core';
const policies: Record<string, any> = {
  min: { perMinute: 60000 },
  minConc: { perMinute: 60000, maxConcurrent: 4 },
  minHour: { perMinute: 60000, perHour: 600000 },
  sec: { perSecond: 100 },
  minSmall: { perMinute: 600 },
};
for (const [name, policy] of Object.entries(policies)) {
  const client = new Redis('redis://127.0.0.1:6379');
  const connection = new Bottleneck.IORedisConnection({ client, Redis });
  const registry = createLimiterRegistry({ connection });
  const id = 'dbg' + Date.now() + name;
  const t0 = Date.now();
  const timeout = new Promise((r) => setTimeout(() => r('TIMEOUT'), 5000));
  const res = await Promise.race([Promise.all(Array.from({ length: 6 }, (_, i) => registry.get(id, 'k', policy).schedule(async () => i))), timeout]);
  console.log(name, JSON.stringify(res), Date.now() - t0);
  await registry.disconnect(); await connection.disconnect();
}
process.exit(0);
