import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RecordedRequest, RunningEmulators } from '@leadpipe/testkit';
import { Redis } from 'ioredis';

/** Shared by the distributed-run tests and the scale-out benchmark. */

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const root = fileURLToPath(new URL('../../..', import.meta.url));
// tsx's loader in the child itself (not the tsx command, which runs a second process that SIGKILL would miss).
const tsxLoader = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
const workerScript = fileURLToPath(new URL('./fixtures/worker-child.ts', import.meta.url));

/** A worker child process. */
export interface WorkerChild {
  readonly process: ChildProcess;
  /** Resolves once the worker takes batches. */
  readonly ready: Promise<void>;
  /** Resolves with the exit code (-9 after SIGKILL). */
  readonly exit: Promise<number>;
  /** What it printed. */
  output(): string;
}

/** The emulators' connection settings for a worker child: URLs, credentials, and the limits its adapter paces to. */
export function emulatorSpec(
  running: RunningEmulators,
  limits: Record<string, unknown> = {},
): Record<string, unknown> {
  const spec: Record<string, unknown> = {};
  for (const vendor of ['apollo', 'hubspot'] as const) {
    if (running.urls[vendor] === undefined) continue;
    spec[vendor] = {
      urls: running.urls[vendor],
      credentials: running.credentials[vendor],
      ...(limits[vendor] === undefined ? {} : { limits: limits[vendor] }),
    };
  }
  return spec;
}

/** Start `worker-child.ts` with `env` (LP_PREFIX, LP_QUEUE, LP_EMULATORS...). */
export function startWorker(env: Record<string, string>): WorkerChild {
  const proc = spawn(
    process.execPath,
    ['--import', tsxLoader, '--conditions=@leadpipe/source', workerScript],
    {
      env: { ...process.env, NODE_OPTIONS: '', REDIS_URL, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let text = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  proc.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    if (text.includes('ready\n')) onReady();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<number>((resolve) =>
    proc.once('exit', (code, signal) => {
      resolve(code ?? (signal === 'SIGKILL' ? -9 : -1));
    }),
  );
  return { process: proc, ready, exit, output: () => `${text}${stderr}` };
}

/** The people each Apollo answer (200) was paid for, one key per person per answer: a key twice was paid twice. */
export function apolloPaidKeys(requests: readonly RecordedRequest[]): string[] {
  const keys: string[] = [];
  for (const request of requests) {
    if (request.status !== 200) continue;
    let body: Record<string, unknown> = {};
    try {
      body = request.body === '' ? {} : (JSON.parse(request.body) as Record<string, unknown>);
    } catch {
      // Not JSON: no person in it.
    }
    const emails: unknown[] = [];
    if (Array.isArray(body.details))
      for (const detail of body.details as Record<string, unknown>[]) emails.push(detail.email);
    if (typeof body.email === 'string') emails.push(body.email);
    for (const [name, value] of Object.entries(request.query)) if (name === 'email') emails.push(value);
    for (const email of emails) if (typeof email === 'string') keys.push(email.toLowerCase());
  }
  return keys;
}

/** Keys seen more than once. */
export function repeated(keys: readonly string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const key of keys) (seen.has(key) ? twice : seen).add(key);
  return [...twice];
}

/** Remove every Redis key under `prefix:`. */
export async function removeKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

/** `count` people of the emulators' ground truth as input rows (unique emails). */
export function peopleRows(
  running: RunningEmulators,
  count: number,
  from = 0,
): { Email: string; 'First Name': string; 'Last Name': string; Company: string }[] {
  return running.truth.people.slice(from, from + count).map((person) => ({
    Email: person.email,
    'First Name': person.firstName,
    'Last Name': person.lastName,
    Company: running.truth.companyOf(person).name,
  }));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `check` until it holds. */
export async function until(check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(25);
  }
}
