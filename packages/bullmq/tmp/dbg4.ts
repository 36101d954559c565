import Bottleneck from 'bottleneck';
import { Redis } from 'ioredis';
import { createLimiterRegistry } from '@leadpipe/core';
const mk = (opts: any) => new Redis(opts);
for (const [name, client] of [['plain', mk('redis://127.0.0.1:6379')], ['nullretries', new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null })]] as const) {
  const connection = new Bottleneck.IORedisConnection({ client, Redis });
  const registry = createLimiterRegistry({ connection });
  const id = 'dbg' + Date.now();
  const t0 = Date.now();
  const timeout = new Promise((r) => setTimeout(() => r('TIMEOUT'), 8000));
  const res = await Promise.race([Promise.all(Array.from({ length: 6 }, (_, i) => registry.get(id, 'k', { perMinute: 60000, perHour: 600000, perDay: 6000000, maxConcurrent: 4 }).schedule(async () => i))), timeout]);
  console.log(name, JSON.stringify(res), Date.now() - t0);
  await registry.disconnect(); await connection.disconnect();
}
process.exit(0);
