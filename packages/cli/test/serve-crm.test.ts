import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DeadLetterEntry } from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, emulatorOptions, runCli } from '../src/index.js';
import { parseServeArgs } from '../src/serve.js';
import { openStore } from '../src/store.js';
import { capture, lineMatching, tempDir } from './support.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators(emulatorOptions());
}, 120_000);
afterAll(() => running.close());

function deadLetter(id: string, email: string): DeadLetterEntry {
  return {
    id,
    target: 'hubspot',
    object: 'contacts',
    idProperty: 'email',
    record: { key: email, properties: { email, firstname: id } },
    leadIds: [`lead-${id}`],
    error: { code: 'rate_limited', message: 'HubSpot answered 429', retryable: true } as never,
    attempts: 1,
    firstFailedAt: '2026-12-06T20:00:00Z',
    lastFailedAt: '2026-12-06T20:00:00Z',
  };
}

describe('leadpipe serve --crm', () => {
  it('checks --crm and --emulate, and names the missing key of a CRM without --emulate', async () => {
    expect(() => parseServeArgs(['--store', 'data', '--crm', 'pipedrive'], { cwd: '/tmp', env: {} })).toThrow(
      /--crm: "pipedrive" is not a CRM/,
    );
    expect(() => parseServeArgs(['--store', 'data', '--emulate'], { cwd: '/tmp', env: {} })).toThrow(
      /--emulate: needs --crm/,
    );
    const stderr = capture();
    const code = await runCli(
      ['serve', '--port', '0', '--store', join(tempDir(), 'store'), '--crm', 'hubspot'],
      {
        stdout: capture(),
        stderr,
        env: {},
        cwd: process.cwd(),
      },
    );
    expect(code).not.toBe(EXIT_CODES.done);
    expect(stderr.text()).toMatch(/HUBSPOT_[A-Z_]+: is not set \(needed by --crm hubspot\)/);
  }, 120_000);

  it('redrives the store dead letters to the emulated HubSpot from /v1/dead-letters/redrive and from the dashboard button', async () => {
    running.emulators.hubspot?.emulator.reset();
    const folder = join(tempDir(), 'store');
    const store = await openStore({
      engine: 'pglite',
      connection: folder,
      schema: undefined,
      display: folder,
    });
    try {
      await store.deadLetters.put(deadLetter('dl-api', 'api@acme.com'));
      await store.deadLetters.put(deadLetter('dl-button', 'button@acme.com'));
      const stderr = capture();
      const controller = new AbortController();
      const done = runCli(['serve', '--port', '0', '--store', folder, '--crm', 'hubspot', '--emulate'], {
        stdout: capture(),
        stderr,
        env: {},
        cwd: process.cwd(),
        signal: controller.signal,
        store,
        emulators: running,
      });
      try {
        const listening = JSON.parse(await lineMatching(stderr, /"msg":"listening"/)) as {
          port: number;
          crm: string;
        };
        expect(listening.crm).toBe('hubspot (emulated)');
        const base = `http://127.0.0.1:${listening.port}`;
        const adminKey = (await readFile(join(folder, 'api-keys.json.admin-key'), 'utf8')).trim();
        const contacts = () =>
          (running.emulators.hubspot?.emulator.contacts() ?? []).map((contact) =>
            String(contact.properties.email),
          );

        const api = await fetch(`${base}/v1/dead-letters/redrive`, {
          method: 'POST',
          headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ ids: ['dl-api'] }),
        });
        expect(api.status).toBe(200);
        expect(contacts()).toEqual(['api@acme.com']);
        expect((await store.deadLetters.list()).entries.map((entry) => entry.id)).toEqual(['dl-button']);

        const login = await fetch(`${base}/dashboard/login`, {
          method: 'POST',
          body: new URLSearchParams({ key: adminKey }),
          redirect: 'manual',
        });
        const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
        const page = await (await fetch(`${base}/dashboard/dead-letters`, { headers: { cookie } })).text();
        const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
        expect(csrf).toBeDefined();
        const pressed = await fetch(`${base}/dashboard/dead-letters/redrive`, {
          method: 'POST',
          headers: { cookie },
          body: new URLSearchParams({ csrf: csrf!, id: 'dl-button' }),
          redirect: 'manual',
        });
        expect(pressed.status).toBe(303);
        expect(pressed.headers.get('location')).toMatch(/delivered=1/);
        expect(contacts().sort()).toEqual(['api@acme.com', 'button@acme.com']);
        expect(await store.deadLetters.size()).toBe(0);
      } finally {
        controller.abort(new Error('SIGTERM'));
      }
      expect(await done).toBe(EXIT_CODES.done);
    } finally {
      await store.close();
    }
  }, 180_000);
});
