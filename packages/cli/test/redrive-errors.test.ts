import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileDeadLetterQueue, type DeadLetterEntry } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, runCli } from '../src/index.js';
import { capture, tempDir } from './support.js';

/** `leadpipe redrive` refusing to start, or failing, before any record is sent: no service needed. */

async function cli(argv: string[], cwd: string, env: Record<string, string> = {}) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(argv, { env, cwd, stdout, stderr });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

async function deadLetters(path: string, target: string, count: number): Promise<void> {
  const queue = createFileDeadLetterQueue(path);
  const at = new Date().toISOString();
  for (let index = 0; index < count; index += 1) {
    const entry: DeadLetterEntry = {
      id: `e${index}`,
      target,
      object: target === 'leadStore' ? 'lead' : 'contact',
      idProperty: target === 'leadStore' ? 'identity' : 'email',
      record: { key: `p${index}@acme.example`, properties: { email: `p${index}@acme.example` } },
      leadIds: [],
      error: { code: 'adapter_error', message: 'down', retryable: true },
      attempts: 1,
      firstFailedAt: at,
      lastFailedAt: at,
    };
    await queue.put(entry);
  }
  await queue.close();
}

describe('leadpipe redrive: what stops it', () => {
  it('a file that is not a dead-letters file is a usage error naming <file>, and is left as it is', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'other.ndjson'), '{"hello":"world"}\n');
    const result = await cli(['redrive', 'other.ndjson'], dir);
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toMatch(/^leadpipe: <file>: Dead-letter file .*other\.ndjson cannot be read/);
    expect(existsSync(join(dir, 'other.ndjson'))).toBe(true);
  });

  it('records for a CRM without its key (and no --emulate) name the variable to set', async () => {
    const dir = tempDir();
    await deadLetters(join(dir, 'dl.ndjson'), 'hubspot', 2);
    const result = await cli(['redrive', 'dl.ndjson'], dir);
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toMatch(/missing key: set HUBSPOT_\w+ \(needed by --crm hubspot\)/);
  });

  it('a lead store that does not answer fails the redrive (exit 1) without its password; every record stays', async () => {
    const dir = tempDir();
    const path = join(dir, 'dl.ndjson');
    await deadLetters(path, 'leadStore', 3);
    const result = await cli(
      ['redrive', 'dl.ndjson', '-q', '--store', 'postgres://app:hunter2secret@127.0.0.1:1/crm'],
      dir,
    );
    expect(result.code).toBe(EXIT_CODES.failed);
    expect(result.stderr).toMatch(/^leadpipe: the redrive failed: /);
    expect(result.stderr).not.toContain('sending');
    expect(result.stderr + result.stdout).not.toContain('hunter2secret');
    const queue = createFileDeadLetterQueue(path);
    expect(await queue.size()).toBe(3);
    await queue.close();
    // A bad --store is named before anything is read.
    const bad = await cli(['redrive', 'dl.ndjson', '--store', 'postgres://[x'], dir);
    expect(bad.code).toBe(EXIT_CODES.usage);
    expect(bad.stderr).toContain('--store: is not a valid postgres:// URL');
  });
});
