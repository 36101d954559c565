import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLead, createLeadPipeline } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/io.js';
import { runCli } from '../src/run.js';
import { sessionSecret } from '../src/serve-mounts.js';
import { openStore } from '../src/store.js';
import { capture, lineMatching, tempDir } from './support.js';

/** Sign in through the dashboard's form; returns the session cookie. */
async function signIn(base: string, key: string): Promise<string> {
  const answer = await fetch(`${base}/dashboard/login`, {
    method: 'POST',
    body: new URLSearchParams({ key }),
    redirect: 'manual',
  });
  expect(answer.status).toBe(303);
  const cookie = answer.headers.get('set-cookie');
  expect(cookie).toBeTruthy();
  return cookie!.split(';')[0]!;
}

describe('leadpipe serve: the dashboard and --reports', () => {
  it('mounts the dashboard at /dashboard: the admin key signs in through the form and sees the stored leads, dead letters and report runs, also on /v1/runs', async () => {
    const dir = tempDir();
    const folder = join(dir, 'store');
    const reports = join(dir, 'reports');
    await mkdir(reports);
    const store = await openStore({
      engine: 'pglite',
      connection: folder,
      schema: undefined,
      display: folder,
    });
    try {
      const stored = await store.leads.upsert(
        ['ada@acme.com', 'bo@acme.com', 'cy@acme.com'].map((email) => createLead({ email })),
      );
      expect(stored.map((outcome) => outcome.status)).toEqual(['created', 'created', 'created']);
      await store.deadLetters.put({
        id: 'dl-serve-1',
        target: 'hubspot',
        object: 'contacts',
        idProperty: 'email',
        record: { key: 'ada@acme.com', properties: { email: 'ada@acme.com' } },
        leadIds: ['l1'],
        error: { code: 'invalid_value', message: 'bad phone', retryable: false } as never,
        attempts: 1,
        firstFailedAt: '2026-12-06T20:00:00Z',
        lastFailedAt: '2026-12-06T20:00:00Z',
      });
      const pipeline = createLeadPipeline({});
      const report = await pipeline.run([{ email: 'ada@example.com' }, { email: 'not-an-email' }]);
      await pipeline.close();
      await writeFile(join(reports, 'monday.json'), JSON.stringify(report));
      await writeFile(join(reports, 'notes.json'), '{"not":"a report"}');

      const stderr = capture();
      const controller = new AbortController();
      const done = runCli(['serve', '--port', '0', '--store', folder, '--reports', reports], {
        stdout: capture(),
        stderr,
        env: {},
        cwd: process.cwd(),
        signal: controller.signal,
        store,
      });
      try {
        const { port } = JSON.parse(await lineMatching(stderr, /"msg":"listening"/)) as { port: number };
        const base = `http://127.0.0.1:${port}`;
        const adminKey = (await readFile(join(folder, 'api-keys.json.admin-key'), 'utf8')).trim();
        const secretFile = join(folder, 'api-keys.json.session-secret');
        expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
        const secret = (await readFile(secretFile, 'utf8')).trim();
        expect(secret.length).toBeGreaterThanOrEqual(32);

        // Without a session the dashboard sends to its login page; a wrong key is refused.
        const anonymous = await fetch(`${base}/dashboard`, { redirect: 'manual' });
        expect(anonymous.status).toBe(303);
        expect(anonymous.headers.get('location')).toBe('/dashboard/login');
        const wrong = await fetch(`${base}/dashboard/login`, {
          method: 'POST',
          body: new URLSearchParams({ key: 'lp_not_a_key' }),
          redirect: 'manual',
        });
        expect(wrong.status).toBe(401);

        const cookie = await signIn(base, adminKey);
        const overview = await fetch(`${base}/dashboard`, { headers: { cookie } });
        expect(overview.status).toBe(200);
        const html = await overview.text();
        expect(html).toMatch(/<div class="figure">3<\/div><div class="caption">[^<]*leads/);
        expect(html).toMatch(/<div class="figure">1<\/div><div class="caption"><a [^>]*>dead letters/);

        const deadLetters = await (
          await fetch(`${base}/dashboard/dead-letters`, { headers: { cookie } })
        ).text();
        expect(deadLetters).toContain('dl-serve-1');
        const runs = await (await fetch(`${base}/dashboard/runs`, { headers: { cookie } })).text();
        expect(runs).toContain('monday');
        expect(runs).not.toContain('notes');

        const auth = { authorization: `Bearer ${adminKey}` };
        const list = (await (await fetch(`${base}/v1/runs`, { headers: auth })).json()) as {
          runs: { id: string; status: string; stats: Record<string, number> }[];
        };
        expect(list.runs.map((run) => run.id)).toEqual(['monday']);
        expect(list.runs[0]).toMatchObject({
          status: 'done',
          stats: { read: report.counts.read, rejected: report.counts.rejected },
        });
        expect((await fetch(`${base}/v1/runs/monday`, { headers: auth })).status).toBe(200);
        expect((await fetch(`${base}/v1/runs/notes`, { headers: auth })).status).toBe(404);
        expect(stderr.text()).toMatch(/a report file was left out/);
        expect(stderr.text()).not.toContain(secret);
        expect(stderr.text()).not.toContain(adminKey);
      } finally {
        controller.abort(new Error('SIGTERM'));
      }
      expect(await done).toBe(EXIT_CODES.done);
    } finally {
      await store.close();
    }
  }, 180_000);

  it('takes the session secret from LEADPIPE_SESSION_SECRET, refusing one shorter than 32 characters', async () => {
    const folder = join(tempDir(), 'store');
    const stderr = capture();
    await expect(
      runCli(['serve', '--port', '0', '--store', folder], {
        stdout: capture(),
        stderr,
        env: { LEADPIPE_SESSION_SECRET: 'too-short-secret' },
        cwd: process.cwd(),
      }),
    ).resolves.not.toBe(EXIT_CODES.done);
    expect(stderr.text()).toMatch(/LEADPIPE_SESSION_SECRET: must be at least 32 characters/);
    expect(stderr.text()).not.toContain('too-short-secret');
  }, 180_000);

  it('keeps the made session secret across restarts (sessions outlive one), and LEADPIPE_SESSION_SECRET wins over it', async () => {
    const keysFile = join(tempDir(), 'api-keys.json');
    const first = await sessionSecret({}, keysFile);
    expect(await sessionSecret({}, keysFile)).toBe(first);
    expect((await stat(`${keysFile}.session-secret`)).mode & 0o777).toBe(0o600);
    const fromEnv = 'x'.repeat(40);
    expect(await sessionSecret({ LEADPIPE_SESSION_SECRET: fromEnv }, keysFile)).toBe(fromEnv);
    expect(await sessionSecret({}, join(tempDir(), 'other-keys.json'))).not.toBe(first);
  });
});
