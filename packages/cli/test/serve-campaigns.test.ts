import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createUnsubscribeToken } from '@leadpipe/campaigns';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, runCli } from '../src/index.js';
import { openStore } from '../src/store.js';
import { capture, lineMatching, tempDir } from './support.js';

const CAMPAIGN = fileURLToPath(new URL('../../../examples/data/campaign.yaml', import.meta.url));
const SECRET = 'serve-campaign-test-unsubscribe-secret-0123456789';

describe('leadpipe serve --campaign', () => {
  it('refuses --campaign without LEADPIPE_UNSUBSCRIBE_SECRET, and names a file it cannot load', async () => {
    const stderr = capture();
    const code = await runCli(
      [
        'serve',
        '--port',
        '0',
        '--store',
        join(tempDir(), 'store'),
        '--campaign',
        CAMPAIGN,
        '--campaign',
        'nope.txt',
      ],
      { stdout: capture(), stderr, env: {}, cwd: process.cwd() },
    );
    expect(code).not.toBe(EXIT_CODES.done);
    expect(stderr.text()).toMatch(/LEADPIPE_UNSUBSCRIBE_SECRET: is not set/);
    expect(stderr.text()).toMatch(/--campaign: \S*nope\.txt: must end in \.json, \.yaml or \.yml/);
  }, 120_000);

  it('shows the campaign on /v1/campaigns and the dashboard, and a signed one-click unsubscribe suppresses the address in the store', async () => {
    const folder = join(tempDir(), 'store');
    const store = await openStore({
      engine: 'pglite',
      connection: folder,
      schema: undefined,
      display: folder,
    });
    try {
      const stderr = capture();
      const controller = new AbortController();
      const done = runCli(['serve', '--port', '0', '--store', folder, '--campaign', CAMPAIGN], {
        stdout: capture(),
        stderr,
        env: { LEADPIPE_UNSUBSCRIBE_SECRET: SECRET },
        cwd: process.cwd(),
        signal: controller.signal,
        store,
      });
      try {
        const listening = JSON.parse(await lineMatching(stderr, /"msg":"listening"/)) as {
          port: number;
          campaigns: string[];
        };
        expect(listening.campaigns).toEqual(['intro']);
        const base = `http://127.0.0.1:${listening.port}`;
        const adminKey = (await readFile(join(folder, 'api-keys.json.admin-key'), 'utf8')).trim();
        const list = (await (
          await fetch(`${base}/v1/campaigns`, { headers: { authorization: `Bearer ${adminKey}` } })
        ).json()) as { campaigns: { id: string; stats: { enrolled: number } }[] };
        expect(list.campaigns).toEqual([
          expect.objectContaining({ id: 'intro', stats: expect.objectContaining({ enrolled: 0 }) }),
        ]);

        const login = await fetch(`${base}/dashboard/login`, {
          method: 'POST',
          body: new URLSearchParams({ key: adminKey }),
          redirect: 'manual',
        });
        const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
        const funnels = await (await fetch(`${base}/dashboard/campaigns`, { headers: { cookie } })).text();
        expect(funnels).toContain('intro');
        expect(funnels).toContain('followup');

        const forged = createUnsubscribeToken(
          { email: 'ada@acme.com', campaignId: 'intro' },
          'another-secret-of-some-length',
        );
        const refused = await fetch(`${base}/unsubscribe?token=${encodeURIComponent(forged)}`, {
          method: 'POST',
        });
        expect(refused.status).toBe(400);
        expect(await store.campaigns.getSuppression('ada@acme.com')).toBeUndefined();

        const token = createUnsubscribeToken({ email: 'ada@acme.com', campaignId: 'intro' }, SECRET);
        const page = await fetch(`${base}/unsubscribe?token=${encodeURIComponent(token)}`);
        expect(page.status).toBe(200);
        expect(await store.campaigns.getSuppression('ada@acme.com')).toBeUndefined();
        const oneClick = await fetch(`${base}/unsubscribe?token=${encodeURIComponent(token)}`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'List-Unsubscribe=One-Click',
        });
        expect(oneClick.status).toBe(200);
        expect(await store.campaigns.getSuppression('ada@acme.com')).toMatchObject({
          reason: 'unsubscribed',
          source: 'unsubscribe-link',
        });
        expect(stderr.text()).not.toContain(SECRET);
      } finally {
        controller.abort(new Error('SIGTERM'));
      }
      expect(await done).toBe(EXIT_CODES.done);
    } finally {
      await store.close();
    }
  }, 180_000);
});
