/**
 * Scale-out benchmark: distributed runs on BullMQ with worker child
 * processes, against the local Redis and the testkit's emulators served by
 * this process over HTTP, every call answered after ~100 ms (LATENCY_MS) so workers are
 * bound by I/O. Prints one JSON line per case:
 * - `workers`: leads per second with 1, 2 and 4 workers (no quota binds; the median of interleaved rounds), and the
 *   ratio to one worker;
 * - `shared-quota`: 4 workers against one emulated Apollo limit (bulk matches: a tenth of the plan's per-minute
 *   limit): requests achieved per second / allowed, 429s;
 * - `worker-kill`: a worker SIGKILLed mid-batch, another finishes: leads lost, paid twice, duplicate CRM records.
 * Run: `pnpm exec tsx --conditions=@leadpipe/source packages/bullmq/bench/scale-out.bench.ts`
 * (LATENCY_MS=<n> sets the emulators' latency, default 100; LEADS=<n> the size of the `workers` runs; WARMUP_BATCHES=<n>
 * the untimed batches each worker runs first, default 2; ROUNDS=<n>
 * how many of each count, the median counts; CASES=<a,b> runs some of the cases). Figures on a loaded 2-core machine
 * are low: four workers, the emulators and Redis share two vCPUs, and a batch's CPU time grows with them.
 */
import { randomUUID } from 'node:crypto';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { createDistributedRun } from '../src/index.js';
import {
  apolloPaidKeys,
  emulatorSpec,
  peopleRows,
  REDIS_URL,
  removeKeys,
  repeated,
  sleep,
  startWorker,
  until,
  type WorkerChild,
} from '../test/support.js';

const LEADS = Number(process.env.LEADS ?? '600');
const ROUNDS = Number(process.env.ROUNDS ?? '3');
const BATCH = 25;
const LATENCY_MS = Number(process.env.LATENCY_MS ?? '100');
const LATENCY = { latencyMs: LATENCY_MS };
/**
 * Batches per worker run before a `workers` round is timed. Workers are long-lived where they are deployed; a fresh
 * process spends its first batches compiling (module load is before `ready`, but V8's JIT, zod's compiled validators
 * and lazily built indexes are not), and a 600-lead round split four ways is mostly those first batches. 0 measures
 * cold workers.
 */
const WARMUP_BATCHES = Number(process.env.WARMUP_BATCHES ?? '2');
/** Every worker child started, so a case that throws leaves none running. */
const started: WorkerChild[] = [];
const prefix = `bench-${randomUUID().slice(0, 8)}`;
/** Every case takes people no earlier case used: an answer already in the Redis cache would not be paid again. */
let nextPerson = 0;
function freshPeople(running: RunningEmulators, count: number) {
  if (nextPerson + count > running.truth.people.length) {
    throw new Error(`LEADS x ROUNDS needs more than the emulators' ${running.truth.people.length} people`);
  }
  nextPerson += count;
  return peopleRows(running, count, nextPerson - count);
}
const print = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function emulators(apolloPerMinute: number): Promise<RunningEmulators> {
  return startEmulators({
    vendors: ['apollo', 'hubspot'],
    seed: 1,
    limits: {
      apollo: { perMinute: apolloPerMinute, perHour: apolloPerMinute * 60, perDay: apolloPerMinute * 1440 },
      hubspot: { tenSecondly: 100_000, daily: 10_000_000 },
    },
    vendorOptions: { apollo: { apiKey: `apl_${randomUUID().replaceAll('-', '')}` } },
    faults: LATENCY,
  });
}

function workers(running: RunningEmulators, apolloPerMinute: number, queueName: string, count: number) {
  const limits = {
    apollo: { perMinute: apolloPerMinute, perHour: apolloPerMinute * 60, perDay: apolloPerMinute * 1440 },
  };
  return Array.from({ length: count }, () => {
    const child = startWorker({
      LP_PREFIX: prefix,
      LP_QUEUE: queueName,
      LP_EMULATORS: JSON.stringify(emulatorSpec(running, limits)),
      LP_LOCK_MS: '5000',
      LP_JOB_EXPIRY_MS: '5000',
    });
    started.push(child);
    return child;
  });
}

async function stop(children: readonly WorkerChild[]): Promise<void> {
  for (const child of children) child.process.kill('SIGTERM');
  await Promise.all(children.map((child) => child.exit));
}

/**
 * One timed run: `count` workers started and ready, warmed up on `WARMUP_BATCHES` batches each (not timed), then the
 * input submitted; leads per second from submit to the end.
 */
async function timedRun(running: RunningEmulators, apolloPerMinute: number, count: number, leads: number) {
  const queueName = `q-${randomUUID().slice(0, 8)}`;
  const children = workers(running, apolloPerMinute, queueName, count);
  await Promise.all(children.map((child) => child.ready));
  const runs = createDistributedRun({ connection: REDIS_URL, prefix, queueName, batchSize: BATCH });
  if (WARMUP_BATCHES > 0) {
    await runs.submit(freshPeople(running, WARMUP_BATCHES * count * BATCH), { runId: 'warm-up' });
    await runs.wait('warm-up', { pollMs: 50 });
  }
  const started = performance.now();
  await runs.submit(freshPeople(running, leads), { runId: 'bench' });
  const final = await runs.wait('bench', { pollMs: 200 });
  const seconds = (performance.now() - started) / 1000;
  await runs.close();
  await stop(children);
  return { final, seconds };
}

async function workersCases(): Promise<void> {
  const perMinute = 6_000_000;
  const running = await emulators(perMinute);
  try {
    // Rounds of 1, 2 and 4 workers, interleaved so a slow spell of the machine falls on every count alike; each
    // count's figure is its median round (one round of one worker varied by 10% on this machine).
    const counts = [1, 2, 4] as const;
    const rates = new Map<number, number[]>(counts.map((count) => [count, []]));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const count of counts) {
        const { final, seconds } = await timedRun(running, perMinute, count, LEADS);
        rates.get(count)?.push((final.done + final.rejected + final.deadLettered) / seconds);
      }
    }
    const one = median(rates.get(1) ?? []);
    for (const count of counts) {
      const runs = rates.get(count) ?? [];
      const leadsPerSecond = median(runs);
      print({
        bench: 'scale-out',
        case: 'workers',
        workers: count,
        leads: LEADS,
        leadsPerSecond: Math.round(leadsPerSecond * 10) / 10,
        ratioToOneWorker: Math.round((leadsPerSecond / one) * 100) / 100,
        rounds: runs.map((rate) => Math.round(rate * 10) / 10),
        latencyMs: LATENCY_MS,
        warmupBatchesPerWorker: WARMUP_BATCHES,
      });
    }
  } finally {
    await running.close();
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

async function sharedQuotaCase(): Promise<void> {
  // A plan of 6,000 a minute: Apollo's bulk endpoints get a tenth, 600 a minute, so 10 bulk matches a second
  // (each of up to 10 people) for the 4 workers together.
  const perMinute = 6_000;
  const running = await emulators(perMinute);
  try {
    await timedRun(running, perMinute, 4, 1_600);
    const requests = (running.emulators.apollo?.requests.all() ?? []).filter((request) =>
      request.path.includes('/people/bulk_match'),
    );
    const answered = requests.filter((request) => request.status !== 429);
    const times = answered.map((request) => request.at).sort((a, b) => a - b);
    const spanSeconds = ((times.at(-1) ?? 0) - (times[0] ?? 0)) / 1000;
    // n requests spread over a span hold n - 1 intervals.
    const achievedPerSecond = (answered.length - 1) / spanSeconds;
    const allowedPerSecond = perMinute / 10 / 60;
    print({
      bench: 'scale-out',
      case: 'shared-quota',
      workers: 4,
      allowedPerSecond,
      achievedPerSecond: Math.round(achievedPerSecond * 100) / 100,
      ratio: Math.round((achievedPerSecond / allowedPerSecond) * 1000) / 1000,
      '429s': requests.length - answered.length,
      requests: answered.length,
      seconds: Math.round(spanSeconds * 10) / 10,
    });
  } finally {
    await running.close();
  }
}

async function workerKillCase(): Promise<void> {
  const perMinute = 6_000_000;
  const running = await emulators(perMinute);
  const queueName = `q-${randomUUID().slice(0, 8)}`;
  const rows = freshPeople(running, 400);
  const runs = createDistributedRun({ connection: REDIS_URL, prefix, queueName, batchSize: 50 });
  try {
    const [first] = workers(running, perMinute, queueName, 1);
    if (first === undefined) throw new Error('no worker');
    await first.ready;
    await runs.submit(rows, { runId: 'kill' });
    await until(() => apolloPaidKeys(running.emulators.apollo?.requests.all() ?? []).length >= 120, 120_000);
    // Apollo stops answering (a hung call is not paid), the answers on the wire arrive, then SIGKILL.
    running.emulators.apollo?.faults.configure({ ...LATENCY, hangRate: 1, hangMs: 600_000 });
    await sleep(800);
    first.process.kill('SIGKILL');
    await first.exit;
    running.emulators.apollo?.faults.configure(LATENCY);
    const [second] = workers(running, perMinute, queueName, 1);
    if (second === undefined) throw new Error('no worker');
    const final = await runs.wait('kill', { pollMs: 200 });
    await stop([second]);
    const paid = apolloPaidKeys(running.emulators.apollo?.requests.all() ?? []);
    const contacts = (running.emulators.hubspot?.emulator.contacts() ?? []).map((contact) =>
      String(contact.properties.email).toLowerCase(),
    );
    const terminal = final.done + final.rejected + final.deadLettered;
    const wanted = new Set(rows.map((row) => row.Email.toLowerCase()));
    print({
      bench: 'scale-out',
      case: 'worker-kill',
      leads: rows.length,
      terminal,
      lost: rows.length - terminal,
      paidTwice: repeated(paid).length,
      crmDuplicates: contacts.length - new Set(contacts).size,
      unpaid: [...wanted].filter((email) => !paid.includes(email)).length,
      crmMissing: [...wanted].filter((email) => !contacts.includes(email)).length,
    });
  } finally {
    await runs.close();
    await running.close();
  }
}

// CASES=workers,shared-quota,worker-kill (the default: all three) runs some of them.
const cases = new Set((process.env.CASES ?? 'workers,shared-quota,worker-kill').split(','));
try {
  if (cases.has('workers')) await workersCases();
  if (cases.has('shared-quota')) await sharedQuotaCase();
  if (cases.has('worker-kill')) await workerKillCase();
} finally {
  for (const child of started) if (child.process.exitCode === null) child.process.kill('SIGKILL');
  await removeKeys(prefix);
}
process.exit(0);
