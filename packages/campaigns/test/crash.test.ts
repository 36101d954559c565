import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createMemoryCampaignStore } from '../src/index.js';
import { leadOf, startTestVendor, type TestVendor } from './support.js';

/**
 * At most one send per (enrollment, step), for real: the campaign runs in a
 * child process on a journaled store, is killed with SIGKILL twice while
 * sends are in flight, and restarted. The vendor, in this process, counts
 * every message by ledger key across runs.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(join(root, 'package.json')).resolve('tsx')).href;
const child = fileURLToPath(new URL('./fixtures/campaign-child.ts', import.meta.url));
const LEADS = 60;

let vendor: TestVendor;
let folder: string;
beforeAll(async () => {
  vendor = await startTestVendor();
  folder = mkdtempSync(join(tmpdir(), 'campaign-crash-'));
});
afterAll(async () => {
  await vendor?.close();
  rmSync(folder, { recursive: true, force: true });
});

interface Run {
  readonly proc: ChildProcess;
  readonly done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

function run(file: string, env: Record<string, string> = {}): Run {
  const proc = spawn(process.execPath, ['--import', tsxLoader, '--conditions=@leadpipe/source', child], {
    cwd: root,
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      CAMPAIGN_STORE: file,
      CAMPAIGN_VENDOR: vendor.url,
      CAMPAIGN_LEADS: String(LEADS),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>(
    (resolve) => {
      proc.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
    },
  );
  return { proc, done };
}

/** Kill the child with SIGKILL once the vendor holds `messages` messages. */
async function killAt(current: Run, messages: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (vendor.messages.length < messages) {
    if (Date.now() > deadline)
      throw new Error(`the child never reached ${messages} messages (at ${vendor.messages.length})`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  current.proc.kill('SIGKILL');
  const exit = await current.done;
  expect(exit.signal, exit.stderr).toBe('SIGKILL');
}

it('sends no step twice across two SIGKILLs and restarts; crashed claims are reconciled or reviewed, never resent', {
  timeout: 120_000,
}, async () => {
  const file = join(folder, 'state.ndjson');
  vendor.delayMs = 15;
  const first = run(file);
  await killAt(first, 20);
  const second = run(file);
  await killAt(second, 70);
  vendor.delayMs = 0;
  const third = await run(file, { CAMPAIGN_RECONCILE: '1', CAMPAIGN_RESOLVE: '1' }).done;
  expect(third.code, third.stderr).toBe(0);
  const summary = JSON.parse(third.stdout.trim().split('\n').at(-1) ?? '{}') as {
    parked: string[];
    reconciled: number;
    resolved: number;
  };
  // The kills landed while sends were in flight: claims were left behind and settled from the vendor's events or by review.
  expect(summary.reconciled + summary.resolved, third.stdout).toBeGreaterThan(0);
  expect(summary.parked, third.stdout).toEqual([]);

  // Exactly one message per ledger key at the vendor.
  const perKey = new Map<string, number>();
  for (const message of vendor.messages)
    perKey.set(message.ledgerKey, (perKey.get(message.ledgerKey) ?? 0) + 1);
  const duplicates = [...perKey.entries()].filter(([, sends]) => sends > 1);
  expect(duplicates, JSON.stringify(duplicates)).toEqual([]);

  // No lost step: every lead got s1; every lead that did not reply got s2; repliers got no s2.
  const store = createMemoryCampaignStore({ file });
  for (let index = 0; index < LEADS; index++) {
    const lead = leadOf(index);
    const [enrollment] = await store.enrollmentsOfLead(lead.id);
    expect(enrollment, `lead ${index}`).toBeDefined();
    const s1 = await store.getSend(`enr-${enrollment?.id}-ss1`);
    const s2 = await store.getSend(`enr-${enrollment?.id}-ss2`);
    expect([s1?.status, perKey.get(s1?.ledgerKey ?? '')], `lead ${index} s1`).toEqual(['sent', 1]);
    const replied = (await store.eventsSince(lead.id, 0, ['email.replied'])).length > 0;
    if (replied) {
      expect(enrollment?.status, `lead ${index}`).toBe('exited');
      expect(
        s2 === undefined || perKey.get(s2.ledgerKey) === undefined,
        `no send after the reply to lead ${index}`,
      ).toBe(true);
    } else {
      expect(enrollment?.status, `lead ${index}`).toBe('completed');
      expect([s2?.status, perKey.get(s2?.ledgerKey ?? '')], `lead ${index} s2`).toEqual(['sent', 1]);
    }
  }
  // The vendor holds nothing the ledger does not know as sent.
  for (const key of perKey.keys()) expect((await store.getSend(key))?.status, key).toBe('sent');
});
