import { ConfigurationError, LeadpipeError } from '@leadpipe/core';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDashboard, type DashboardOptions } from '../src/index.js';
import { csrfOf, get, hostApp, postForm, SECRET, signIn } from './support.js';
import { buildWorld, RUNNING_FIRST_ROWS, RUNNING_TOTAL_ROWS, type World } from './world.js';

let world: World;
let app: Hono;
let reader: string;
let admin: string;

beforeAll(async () => {
  world = await buildWorld();
  app = hostApp(world.sources);
  reader = await signIn(app, 'lp_read_3f1c9a');
  admin = await signIn(app, 'lp_admin_77ab20');
}, 120_000);
afterAll(() => world?.close());

function configurationError(options: unknown): ConfigurationError {
  try {
    createDashboard(options as DashboardOptions);
  } catch (error) {
    if (ConfigurationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('createDashboard accepted bad options');
}

describe('createDashboard: options', () => {
  it('names every bad option, without echoing the secret', () => {
    const error = configurationError({
      sources: { deadLetters: { list: async () => ({ entries: [] }), size: async () => 0 } },
      verifyKey: 'yes',
      sessionSecret: 'short-secret-xyz',
      basePath: 'dashboard/',
      pageSize: 0,
    });
    const fields = error.issues.map((issue) => issue.field).sort();
    expect(fields).toEqual(['basePath', 'pageSize', 'sessionSecret', 'sources.deadLetters', 'verifyKey']);
    expect(error.message).not.toContain('short-secret-xyz');
  });

  it('refuses unknown options by name', () => {
    const error = configurationError({
      sources: {},
      verifyKey: async () => null,
      sessionSecret: SECRET,
      secure: true,
    });
    expect(error.issues).toEqual([{ field: 'secure', reason: 'is not a known option' }]);
  });
});

describe('sign-in and the session cookie', () => {
  it('sends every page to the login form without a session; the stylesheet needs none', async () => {
    for (const path of ['', '/runs', '/providers', '/campaigns', '/dead-letters']) {
      const response = await get(app, `/dashboard${path}`);
      expect(response.status, path).toBe(303);
      expect(response.headers.get('location')).toBe('/dashboard/login');
    }
    const login = await get(app, '/dashboard/login');
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('<form method="post" action="/dashboard/login">');
    expect(login.headers.get('content-security-policy')).toContain("default-src 'none'");
    const css = await get(app, '/dashboard/style.css');
    expect(css.headers.get('content-type')).toContain('text/css');
  });

  it('refuses a wrong key (401) and a key without the read scope (403), setting no cookie', async () => {
    const wrong = await postForm(app, '/dashboard/login', [['key', 'lp_nope']]);
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain('That key was not accepted.');
    expect(wrong.headers.get('set-cookie')).toBeNull();
    const writeOnly = await postForm(app, '/dashboard/login', [['key', 'lp_write_5c0d11']]);
    expect(writeOnly.status).toBe(403);
    expect(writeOnly.headers.get('set-cookie')).toBeNull();
    const empty = await postForm(app, '/dashboard/login', [['key', '  ']]);
    expect(empty.status).toBe(400);
  });

  it('says the key could not be checked when verifyKey throws, and tells onError', async () => {
    const seen: string[] = [];
    const broken = hostApp(world.sources, {
      verifyKey: async () => {
        throw new Error('key table unreachable at postgres://keys:pw-9981@db');
      },
      onError: (_error, what) => {
        seen.push(what);
        throw new Error('a logger that throws changes nothing');
      },
    });
    const response = await postForm(broken, '/dashboard/login', [['key', 'lp_read_3f1c9a']]);
    expect(response.status).toBe(503);
    const page = await response.text();
    expect(page).toContain('could not be checked');
    expect(page).not.toContain('pw-9981');
    expect(page).not.toContain('lp_read_3f1c9a');
    expect(seen).toEqual(['verifyKey']);
    // An answer that is not `{ scopes: [...] }` is the host's bug: no session, and onError hears of it.
    const malformed = hostApp(world.sources, {
      verifyKey: async () => ({ scopes: 'admin' }) as never,
      onError: (_error, what) => seen.push(what),
    });
    const odd = await postForm(malformed, '/dashboard/login', [['key', 'lp_read_3f1c9a']]);
    expect(odd.status).toBe(503);
    expect(odd.headers.get('set-cookie')).toBeNull();
    expect(seen).toEqual(['verifyKey', 'verifyKey']);
  });

  it('sets a signed HttpOnly, SameSite=Strict, Secure cookie scoped to the mount path, holding the scopes but not the key', async () => {
    const response = await postForm(app, '/dashboard/login', [['key', 'lp_admin_77ab20']]);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/dashboard');
    const cookie = response.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^leadpipe_dashboard=[^;]+/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Secure');
    expect(cookie).toContain('Path=/dashboard');
    const value = cookie.split(';')[0]!.split('=')[1]!;
    const payload = Buffer.from(value.split('.')[0]!, 'base64url').toString('utf8');
    expect(JSON.parse(payload).s).toEqual(['read', 'admin']);
    expect(cookie).not.toContain('lp_admin_77ab20');
    expect((await get(app, '/dashboard', cookie.split(';')[0])).status).toBe(200);
  });

  it('refuses a cookie whose scopes were edited, one signed with another secret, and one past its time', async () => {
    const [name, value] = reader.split('=') as [string, string];
    const [, signature] = value.split('.');
    const forged = Buffer.from(
      JSON.stringify({ s: ['read', 'admin'], e: Date.now() + 1e6, n: 'x' }),
    ).toString('base64url');
    expect((await get(app, '/dashboard', `${name}=${forged}.${signature}`)).status).toBe(303);

    const other = hostApp(world.sources, { sessionSecret: 'another-secret-of-32-characters-or-more' });
    expect((await get(other, '/dashboard', reader)).status).toBe(303);

    let clock = Date.now();
    const timed = hostApp(world.sources, { now: () => clock, sessionTtlMs: 60_000 });
    const session = await signIn(timed, 'lp_read_3f1c9a');
    expect((await get(timed, '/dashboard', session)).status).toBe(200);
    clock += 60_001;
    const expired = await get(timed, '/dashboard', session);
    expect(expired.status).toBe(303);
    expect(expired.headers.get('location')).toBe('/dashboard/login');
  });

  it('signs out only with the CSRF token, clearing the cookie', async () => {
    const session = await signIn(app, 'lp_read_3f1c9a');
    expect((await postForm(app, '/dashboard/logout', [['csrf', 'nope']], { cookie: session })).status).toBe(
      403,
    );
    const csrf = csrfOf(await (await get(app, '/dashboard', session)).text());
    const out = await postForm(app, '/dashboard/logout', [['csrf', csrf]], { cookie: session });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe('/dashboard/login');
    expect(out.headers.get('set-cookie')).toMatch(/leadpipe_dashboard=;.*Max-Age=0/);
  });
});

describe('pages', () => {
  it('overview: leads stored, runs, running now, dead letters; reloads itself while a run runs', async () => {
    const response = await get(app, '/dashboard', reader);
    const page = await response.text();
    const count = (await world.leadStore.count()).count;
    expect(page).toMatch(new RegExp(`<div class="figure">${count}</div><div class="caption">leads stored`));
    expect(page).toContain(
      '<div class="figure">2</div><div class="caption"><a href="/dashboard/runs">runs</a>',
    );
    expect(page).toContain(
      '<div class="figure">1</div><div class="caption"><a href="/dashboard/runs">running now</a>',
    );
    expect(page).toContain(
      `<div class="figure">${await world.queue.size()}</div><div class="caption"><a href="/dashboard/dead-letters">dead letters</a>`,
    );
    expect(page).toContain('<meta http-equiv="refresh" content="5">');
    expect(response.headers.get('cache-control')).toBe('no-store');
  });

  it('runs: progress of the running run, per-provider use and quota from the pipeline report', async () => {
    const page = await (await get(app, '/dashboard/runs', reader)).text();
    expect(page).toContain(`<progress max="${RUNNING_TOTAL_ROWS}" value="${RUNNING_FIRST_ROWS}">`);
    expect(page).toContain('<span class="status status-running">running</span>');
    expect(page).toContain('<span class="status status-completed">completed</span>');
    const clearbit = world.report.providers.clearbit!;
    const finished = page.slice(page.indexOf('data-run="signups"'));
    expect(finished).toContain(
      `<td>clearbit</td><td class="number">${clearbit.calls}</td><td class="number">${clearbit.requests}</td><td class="number">${clearbit.matches}</td>`,
    );
    expect(finished).toContain(`${clearbit.calls} / 600 calls/minute`);
    expect(page.indexOf('data-run="import-2"')).toBeLessThan(page.indexOf('data-run="signups"'));
  });

  it('providers: coverage and credits per provider as inline SVG charts, summed over the runs', async () => {
    const runs = await world.tracker.list();
    const requests = runs.reduce((sum, run) => sum + run.providers[0]!.requests, 0);
    const matches = runs.reduce((sum, run) => sum + run.providers[0]!.matches, 0);
    const credits = runs.reduce((sum, run) => sum + run.providers[0]!.credits, 0);
    const page = await (await get(app, '/dashboard/providers', reader)).text();
    expect(page).toContain('<svg class="chart" role="img" aria-label="Coverage per provider"');
    expect(page).toContain(`${((matches / requests) * 100).toFixed(1)}% of ${requests}`);
    expect(page).toContain(`${credits} credits`);
    expect(page).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('campaigns: one funnel per email step, from the campaign store stats', async () => {
    const stats = await world.campaignStore.stats('welcome');
    const intro = stats.steps.intro!;
    const page = await (await get(app, '/dashboard/campaigns', reader)).text();
    expect(page).toContain(`${stats.enrolled} enrolled`);
    const step = page.slice(page.indexOf('data-step="intro"'), page.indexOf('data-step="nudge"'));
    for (const [label, value] of [
      ['sent', intro.sent],
      ['delivered', intro.delivered],
      ['opened', intro.opened],
      ['clicked', intro.clicked],
      ['replied', intro.replied],
    ] as const) {
      expect(step).toMatch(new RegExp(`>${label}</text>.*?class="chart-value">${value}</text>`));
    }
    // The step not sent yet is shown (its definition says it is an email step); the wait step is not.
    expect(page).toContain('data-step="nudge"');
    expect(page).not.toContain('data-step="wait"');
  });

  it('dead letters, read-only: every entry, escaped, and no redrive form', async () => {
    const page = await (await get(app, '/dashboard/dead-letters', reader)).text();
    const size = await world.queue.size();
    expect(page.match(/<tr data-entry=/g)).toHaveLength(size);
    expect(page).toContain('the store was down &lt;b&gt;briefly&lt;/b&gt;');
    expect(page).not.toContain('/dead-letters/redrive');
    expect(page).toContain('Redriving needs a key with the admin scope.');
  });

  it('pages the queue, and answers a cursor it did not hand out with 400', async () => {
    const small = hostApp(world.sources, { pageSize: 3 });
    const session = await signIn(small, 'lp_read_3f1c9a');
    const first = await (await get(small, '/dashboard/dead-letters', session)).text();
    expect(first.match(/<tr data-entry=/g)).toHaveLength(3);
    const next = /href="(\/dashboard\/dead-letters\?cursor=[^"]+)"/.exec(first)?.[1];
    expect(next).toBeDefined();
    const second = await (await get(small, next!.replaceAll('&amp;', '&'), session)).text();
    expect(second.match(/<tr data-entry=/g)).toHaveLength((await world.queue.size()) - 3);
    const bad = await get(small, '/dashboard/dead-letters?cursor=not-a-cursor', session);
    expect(bad.status).toBe(400);
  });

  it('a failing source: 503 with a leadpipe error code, a bare class name for anything else, never its message', async () => {
    const seen: unknown[] = [];
    const failing = hostApp(
      {
        ...world.sources,
        runs: {
          list: async () => {
            throw new Error('connect failed: postgres://app:s3cr3t-pw@db:5432/leads');
          },
        },
        campaigns: {
          list: async () => {
            throw new LeadpipeError('server_error', { message: 'campaign store answered 500' });
          },
        },
      },
      { onError: (error) => seen.push(error) },
    );
    const session = await signIn(failing, 'lp_read_3f1c9a');
    const runs = await get(failing, '/dashboard/runs', session);
    expect(runs.status).toBe(503);
    const runsPage = await runs.text();
    expect(runsPage).toContain('Could not load: Error (details in the server');
    expect(runsPage).not.toContain('s3cr3t-pw');
    const campaigns = await get(failing, '/dashboard/campaigns', session);
    expect(campaigns.status).toBe(503);
    expect(await campaigns.text()).toContain('server_error: campaign store answered 500');
    const overview = await get(failing, '/dashboard', session);
    expect(overview.status).toBe(200);
    expect(await overview.text()).toContain('unavailable: Error (details');
    expect(seen.length).toBeGreaterThanOrEqual(3);
  });

  it('a page whose source is not configured says which option to pass', async () => {
    const bare = hostApp({});
    const session = await signIn(bare, 'lp_read_3f1c9a');
    for (const [path, option] of [
      ['/runs', 'runs'],
      ['/providers', 'runs'],
      ['/campaigns', 'campaigns'],
      ['/dead-letters', 'deadLetters'],
    ] as const) {
      const page = await (await get(bare, `/dashboard${path}`, session)).text();
      expect(page, path).toContain(`<code>sources.${option}</code>`);
    }
  });
});

describe('redrive', () => {
  async function adminCsrf(): Promise<string> {
    return csrfOf(await (await get(app, '/dashboard/dead-letters', admin)).text());
  }
  async function hubspotIds(): Promise<string[]> {
    return (await world.queue.list()).entries
      .filter((entry) => entry.target === 'hubspot')
      .map((entry) => entry.id);
  }

  it('is refused without admin scope, without the CSRF token, with a wrong one and from another origin', async () => {
    const [id] = await hubspotIds();
    const before = await world.queue.size();
    const readerCsrf = csrfOf(await (await get(app, '/dashboard', reader)).text());
    const csrf = await adminCsrf();
    const attempts: [string, Response][] = [
      [
        'no session',
        await postForm(app, '/dashboard/dead-letters/redrive', [
          ['id', id!],
          ['csrf', csrf],
        ]),
      ],
      [
        'read scope',
        await postForm(
          app,
          '/dashboard/dead-letters/redrive',
          [
            ['id', id!],
            ['csrf', readerCsrf],
          ],
          { cookie: reader },
        ),
      ],
      ['no token', await postForm(app, '/dashboard/dead-letters/redrive', [['id', id!]], { cookie: admin })],
      [
        'another session token',
        await postForm(
          app,
          '/dashboard/dead-letters/redrive',
          [
            ['id', id!],
            ['csrf', readerCsrf],
          ],
          { cookie: admin },
        ),
      ],
      [
        'cross-origin',
        await postForm(
          app,
          '/dashboard/dead-letters/redrive',
          [
            ['id', id!],
            ['csrf', csrf],
          ],
          {
            cookie: admin,
            origin: 'https://evil.example',
          },
        ),
      ],
    ];
    expect(attempts.map(([name, response]) => [name, response.status])).toEqual([
      ['no session', 401],
      ['read scope', 403],
      ['no token', 403],
      ['another session token', 403],
      ['cross-origin', 403],
    ]);
    expect(await world.queue.size()).toBe(before);
  });

  it('checks the ids it is given', async () => {
    const csrf = await adminCsrf();
    expect(
      (await postForm(app, '/dashboard/dead-letters/redrive', [['csrf', csrf]], { cookie: admin })).status,
    ).toBe(400);
    const many = Array.from({ length: 501 }, (_, index) => ['id', `x${index}`] as const);
    expect(
      (await postForm(app, '/dashboard/dead-letters/redrive', [['csrf', csrf], ...many], { cookie: admin }))
        .status,
    ).toBe(400);
  });

  it('an admin redrives one entry: it reaches HubSpot and leaves the queue; the page says so', async () => {
    const [id, ...others] = await hubspotIds();
    const entry = (await world.queue.list()).entries.find((candidate) => candidate.id === id)!;
    const before = await world.queue.size();
    const response = await postForm(
      app,
      '/dashboard/dead-letters/redrive',
      [
        ['id', id!],
        ['csrf', await adminCsrf()],
      ],
      {
        cookie: admin,
        origin: 'http://dash.test',
      },
    );
    expect(response.status).toBe(303);
    const location = response.headers.get('location')!;
    expect(location).toBe('/dashboard/dead-letters?requested=1&delivered=1&failed=0&skipped=0');
    expect(await world.queue.size()).toBe(before - 1);
    expect(await hubspotIds()).toEqual(others);
    const contacts = world.emulators.emulators.hubspot!.emulator.contacts();
    expect(contacts.some((contact) => contact.properties.email === entry.record.key)).toBe(true);
    const page = await (await get(app, location, admin)).text();
    expect(page).toContain('Redrive of 1: 1 delivered and removed, 0 failed again (kept), 0 skipped.');
    expect(page).not.toContain(`data-entry="${id}"`);
  });

  it('leaves entries no CRM takes, and ids it does not know, counted as skipped', async () => {
    const before = await world.queue.size();
    const response = await postForm(
      app,
      '/dashboard/dead-letters/redrive',
      [
        ['id', 'store-1'],
        ['id', 'gone-already'],
        ['csrf', await adminCsrf()],
      ],
      { cookie: admin },
    );
    expect(response.headers.get('location')).toBe(
      '/dashboard/dead-letters?requested=2&delivered=0&failed=0&skipped=2',
    );
    expect(await world.queue.size()).toBe(before);
  });
});
