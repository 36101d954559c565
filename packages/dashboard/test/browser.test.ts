import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostApp } from './support.js';
import { buildWorld, RUNNING_FIRST_ROWS, RUNNING_TOTAL_ROWS, type World } from './world.js';

/** Debian's Chromium (`apt-get install chromium`); `LEADPIPE_CHROMIUM` points elsewhere. */
const CHROMIUM = process.env.LEADPIPE_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available) {
  console.warn(
    `\n[dashboard browser test] SKIPPED: no Chromium at ${CHROMIUM}. Install it with \`apt-get install -y chromium\` ` +
      '(or set LEADPIPE_CHROMIUM) to run the dashboard in a real browser.\n',
  );
}
/** Where the screenshot for the README goes when `LEADPIPE_UPDATE_SCREENSHOT=1`. */
const README_SCREENSHOT = fileURLToPath(new URL('../../../docs/dashboard.png', import.meta.url));

/** Flags that keep Chromium off the network (this machine's network is closed: anything else stalls). */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe.skipIf(!available)('the dashboard in headless Chromium', () => {
  let world: World;
  let server: ServerType;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    world = await buildWorld();
    const app = hostApp(world.sources, { refreshSeconds: 1 });
    server = await new Promise<ServerType>((resolve) => {
      const started = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started));
    });
    origin = `http://localhost:${(server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      timeout: 120_000,
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await world?.close();
  });

  it('signs in, shows runs (reloading while one runs), the campaign funnel and the queue, and redrives an entry', async () => {
    const context = await browser.newContext({ viewport: { width: 1180, height: 900 } });
    const page = await context.newPage();
    const external: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(origin)) external.push(request.url());
    });

    // Signed out: the login form.
    await page.goto(`${origin}/dashboard`);
    expect(new URL(page.url()).pathname).toBe('/dashboard/login');
    await page.fill('#key', 'lp_admin_77ab20');
    await Promise.all([page.waitForURL(`${origin}/dashboard`), page.click('button[type="submit"]')]);
    expect(await page.textContent('h1')).toBe('Overview');
    const cookies = await context.cookies();
    expect(cookies.find((cookie) => cookie.name === 'leadpipe_dashboard')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
      path: '/dashboard',
    });
    // The cookie is HttpOnly: no script on the page can read it.
    expect(
      await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie),
    ).toBe('');

    // Runs: the running run's progress, then the page reloads itself (meta refresh) and shows it finished.
    await page.click('nav >> text=Runs');
    const running = page.locator('[data-run="import-2"]');
    expect(await running.locator('progress').getAttribute('max')).toBe(String(RUNNING_TOTAL_ROWS));
    expect(await running.locator('progress').getAttribute('value')).toBe(String(RUNNING_FIRST_ROWS));
    expect(await running.locator('.status').textContent()).toBe('running');
    const shots = join(tmpdir(), 'leadpipe-dashboard-shots');
    await mkdir(shots, { recursive: true });
    // The README's screenshot: a running run and a finished one.
    const runsShot = join(shots, 'runs-running.png');
    await page.screenshot({ path: runsShot, fullPage: true });
    await world.finishRunning();
    await page.waitForSelector('[data-run="import-2"] .status-completed', { timeout: 60_000 });
    expect(await page.locator('[data-run="signups"] td').first().textContent()).toBe('clearbit');
    expect(await page.locator('[data-run="import-2"] progress').getAttribute('value')).toBe(
      String(RUNNING_TOTAL_ROWS),
    );

    // Providers and campaigns: inline SVG charts.
    await page.click('nav >> text=Providers');
    expect(await page.locator('svg[aria-label="Coverage per provider"] rect.bar-coverage').count()).toBe(1);
    await page.click('nav >> text=Campaigns');
    const intro = page.locator('[data-step="intro"] svg');
    expect(await intro.getAttribute('aria-label')).toBe('Funnel of step intro of campaign welcome');
    const stats = (await world.campaignStore.stats('welcome')).steps.intro!;
    expect(await intro.locator('text.chart-value').allTextContents()).toEqual(
      [stats.sent, stats.delivered, stats.opened, stats.clicked, stats.replied].map(String),
    );
    await page.screenshot({ path: join(shots, 'campaigns.png'), fullPage: true });

    // Dead letters: redrive one HubSpot entry; it leaves the queue.
    await page.click('nav >> text=Dead letters');
    const rows = page.locator('tr[data-entry]');
    const before = await rows.count();
    expect(before).toBe(await world.queue.size());
    const hubspotRow = rows.filter({ hasText: 'hubspot' }).first();
    const id = await hubspotRow.getAttribute('data-entry');
    await Promise.all([
      page.waitForURL(/delivered=1/),
      hubspotRow.locator('button', { hasText: 'Redrive' }).click(),
    ]);
    expect(await page.locator('[role="status"]').textContent()).toContain('1 delivered and removed');
    expect(await page.locator(`tr[data-entry="${id}"]`).count()).toBe(0);
    expect(await rows.count()).toBe(before - 1);
    expect(await world.queue.size()).toBe(before - 1);
    await page.screenshot({ path: join(shots, 'dead-letters.png'), fullPage: true });

    expect(external).toEqual([]);
    const png = await readFile(runsShot);
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    if (process.env.LEADPIPE_UPDATE_SCREENSHOT === '1') await writeFile(README_SCREENSHOT, png);
    await context.close();
  }, 180_000);
});
