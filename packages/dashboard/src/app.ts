import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import { describeError, isBadInput } from './errors.js';
import { type DashboardOptions, type ResolvedDashboardOptions, resolveOptions } from './options.js';
import {
  canAdmin,
  canRead,
  checkCsrf,
  csrfToken,
  newSession,
  openSession,
  type Session,
  sealSession,
} from './session.js';
import type { DashboardRedriveResult } from './sources.js';
import { campaignsPage } from './views/campaigns.js';
import { deadLettersPage } from './views/dead-letters.js';
import type { Html } from './views/html.js';
import { layout, type PageName, STYLESHEET } from './views/layout.js';
import { loginPage } from './views/login.js';
import { type Figure, overviewPage } from './views/overview.js';
import { providersPage } from './views/providers.js';
import { runsPage } from './views/runs.js';

/** Name of the session cookie. */
const COOKIE = 'leadpipe_dashboard';
/** Most ids one redrive takes. */
const MAX_REDRIVE = 500;

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  // Not no-referrer: Chromium then sends `Origin: null` on the dashboard's own form posts, which the origin check refuses.
  'Referrer-Policy': 'same-origin',
};

/** The outcome of a figure's load: its value, or what went wrong (logged through `onError`). */
async function load<T>(
  settings: ResolvedDashboardOptions,
  what: string,
  read: (() => Promise<T>) | undefined,
): Promise<Figure<T>> {
  if (read === undefined) return undefined;
  try {
    return { value: await read() };
  } catch (error) {
    settings.onError(error, what);
    return { unavailable: describeError(error) };
  }
}

/**
 * The dashboard: a Hono app to mount at `basePath` (default `/dashboard`):
 * `host.route('/dashboard', createDashboard(options))`. Server-rendered
 * pages (overview, runs, providers, campaigns, dead letters), inline SVG
 * charts, no script and no external fetch. Signing in takes an API key,
 * checked once by `verifyKey`; the session is an HMAC-signed, HttpOnly,
 * SameSite=Strict cookie carrying the key's scopes (never the key). Pages
 * need the `read` (or `admin`) scope; redrive needs `admin` and the form's
 * CSRF token.
 *
 * @throws ConfigurationError naming each bad option.
 */
export function createDashboard(options: DashboardOptions): Hono {
  const settings = resolveOptions(options);
  const base = settings.basePath;
  const { sources, sessionSecret: secret } = settings;
  const app = new Hono();

  /** A link inside the dashboard; the overview is the mount path itself (`/dashboard`, no trailing slash). */
  const url = (path: string) => (path === '/' ? base || '/' : `${base}${path}`);
  const page = (
    c: Context,
    status: 200 | 400 | 401 | 403 | 503,
    title: string,
    name: PageName | undefined,
    body: Html,
    session?: Session,
    refreshSeconds?: number,
  ) =>
    c.html(
      layout(
        {
          title,
          basePath: base,
          ...(name === undefined ? {} : { page: name }),
          ...(session === undefined ? {} : { csrf: csrfToken(session, secret) }),
          ...(refreshSeconds === undefined ? {} : { refreshSeconds }),
        },
        body,
      ),
      status,
    );
  const sessionOf = (c: Context) => openSession(getCookie(c, COOKIE), secret, settings.now());
  /** The session when it may read, else the response to send (sign in, or 403). */
  const reader = async (c: Context): Promise<Session | Response> => {
    const session = sessionOf(c);
    if (session === undefined) return c.redirect(url('/login'), 303);
    if (!canRead(session)) {
      return await page(
        c,
        403,
        'Forbidden',
        undefined,
        html`<section class="card"><h1>Forbidden</h1><p>This key lacks the read scope.</p></section>`,
        session,
      );
    }
    return session;
  };
  const sameOrigin = (c: Context) => {
    const origin = c.req.header('origin');
    if (origin === undefined || origin === 'null') return origin === undefined;
    try {
      return new URL(origin).host === new URL(c.req.url).host;
    } catch {
      return false;
    }
  };

  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value);
    if (!c.res.headers.has('Cache-Control')) c.header('Cache-Control', 'no-store');
  });
  // Forms are small: a key, a CSRF token, at most MAX_REDRIVE ids.
  app.post('*', bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('Request body too large', 413) }));
  app.post('*', async (c, next) => {
    if (!sameOrigin(c)) return c.text('Cross-origin form posts are refused', 403);
    await next();
  });

  app.get('/style.css', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.body(STYLESHEET, 200, { 'Content-Type': 'text/css; charset=utf-8' });
  });

  app.get('/login', (c) => {
    if (sessionOf(c) !== undefined) return c.redirect(url('/'), 303);
    return page(c, 200, 'Sign in', undefined, loginPage(base));
  });

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const key = typeof form.key === 'string' ? form.key.trim() : '';
    if (key === '') return page(c, 400, 'Sign in', undefined, loginPage(base, 'Type an API key.'));
    let verified: Awaited<ReturnType<DashboardOptions['verifyKey']>>;
    try {
      verified = await settings.verifyKey(key);
    } catch (error) {
      settings.onError(error, 'verifyKey');
      return page(
        c,
        503,
        'Sign in',
        undefined,
        loginPage(base, 'The key could not be checked right now; try again.'),
      );
    }
    if (verified === null || verified === undefined) {
      return page(c, 401, 'Sign in', undefined, loginPage(base, 'That key was not accepted.'));
    }
    if (!Array.isArray(verified.scopes)) {
      settings.onError(
        new TypeError('verifyKey: must resolve with { scopes: string[] } or null'),
        'verifyKey',
      );
      return page(
        c,
        503,
        'Sign in',
        undefined,
        loginPage(base, 'The key could not be checked right now; try again.'),
      );
    }
    const session = newSession(
      verified.scopes.filter((scope) => scope === 'read' || scope === 'write' || scope === 'admin'),
      settings.now(),
      settings.sessionTtlMs,
    );
    if (!canRead(session)) {
      return page(
        c,
        403,
        'Sign in',
        undefined,
        loginPage(base, 'That key lacks the read scope the dashboard needs.'),
      );
    }
    setCookie(c, COOKIE, sealSession(session, secret), {
      httpOnly: true,
      sameSite: 'Strict',
      secure: settings.secureCookie,
      path: base === '' ? '/' : base,
      maxAge: Math.floor(settings.sessionTtlMs / 1000),
    });
    return c.redirect(url('/'), 303);
  });

  app.post('/logout', async (c) => {
    const session = sessionOf(c);
    const form = await c.req.parseBody();
    if (session !== undefined && !checkCsrf(session, secret, form.csrf)) {
      return c.text('Bad or missing CSRF token', 403);
    }
    deleteCookie(c, COOKIE, { path: base === '' ? '/' : base, secure: settings.secureCookie });
    return c.redirect(url('/login'), 303);
  });

  app.get('/', async (c) => {
    const session = await reader(c);
    if (session instanceof Response) return session;
    const [leads, runs, deadLetters, campaigns] = await Promise.all([
      load(settings, 'leads', sources.leads && (() => sources.leads!.count())),
      load(settings, 'runs', sources.runs && (() => sources.runs!.list())),
      load(settings, 'deadLetters', sources.deadLetters && (() => sources.deadLetters!.size())),
      load(
        settings,
        'campaigns',
        sources.campaigns && (async () => (await sources.campaigns!.list()).length),
      ),
    ]);
    const running =
      runs !== undefined && 'value' in runs && runs.value.some((run) => run.status === 'running');
    return page(
      c,
      200,
      'Overview',
      'overview',
      overviewPage({ basePath: base, leads, runs, deadLetters, campaigns }),
      session,
      running && settings.refreshSeconds > 0 ? settings.refreshSeconds : undefined,
    );
  });

  const notConfigured = (what: string, option: string) =>
    html`<h1>${what}</h1><section class="card"><p>Not configured: the host passes <code>sources.${option}</code> to <code>createDashboard</code>.</p></section>`;
  const unavailable = (what: string, figure: { unavailable: string }) =>
    html`<h1>${what}</h1><p class="error" role="alert">Could not load: ${figure.unavailable}</p>`;

  app.get('/runs', async (c) => {
    const session = await reader(c);
    if (session instanceof Response) return session;
    const runs = await load(settings, 'runs', sources.runs && (() => sources.runs!.list()));
    if (runs === undefined) return page(c, 200, 'Runs', 'runs', notConfigured('Runs', 'runs'), session);
    if ('unavailable' in runs) return page(c, 503, 'Runs', 'runs', unavailable('Runs', runs), session);
    const running = runs.value.some((run) => run.status === 'running');
    return page(
      c,
      200,
      'Runs',
      'runs',
      runsPage(runs.value),
      session,
      running && settings.refreshSeconds > 0 ? settings.refreshSeconds : undefined,
    );
  });

  app.get('/providers', async (c) => {
    const session = await reader(c);
    if (session instanceof Response) return session;
    const runs = await load(settings, 'runs', sources.runs && (() => sources.runs!.list()));
    if (runs === undefined)
      return page(c, 200, 'Providers', 'providers', notConfigured('Providers', 'runs'), session);
    if ('unavailable' in runs)
      return page(c, 503, 'Providers', 'providers', unavailable('Providers', runs), session);
    return page(c, 200, 'Providers', 'providers', providersPage(runs.value), session);
  });

  app.get('/campaigns', async (c) => {
    const session = await reader(c);
    if (session instanceof Response) return session;
    const campaigns = await load(
      settings,
      'campaigns',
      sources.campaigns && (() => sources.campaigns!.list()),
    );
    if (campaigns === undefined)
      return page(c, 200, 'Campaigns', 'campaigns', notConfigured('Campaigns', 'campaigns'), session);
    if ('unavailable' in campaigns)
      return page(c, 503, 'Campaigns', 'campaigns', unavailable('Campaigns', campaigns), session);
    return page(c, 200, 'Campaigns', 'campaigns', campaignsPage(campaigns.value), session);
  });

  app.get('/dead-letters', async (c) => {
    const session = await reader(c);
    if (session instanceof Response) return session;
    const queue = sources.deadLetters;
    if (queue === undefined)
      return page(
        c,
        200,
        'Dead letters',
        'dead-letters',
        notConfigured('Dead letters', 'deadLetters'),
        session,
      );
    const cursor = c.req.query('cursor');
    let listed: [Awaited<ReturnType<typeof queue.list>>, number];
    try {
      listed = await Promise.all([
        queue.list({
          limit: settings.pageSize,
          ...(cursor === undefined || cursor === '' ? {} : { cursor }),
        }),
        queue.size(),
      ]);
    } catch (error) {
      if (isBadInput(error)) {
        return page(
          c,
          400,
          'Dead letters',
          'dead-letters',
          html`<h1>Dead letters</h1><p class="error" role="alert">${describeError(error)}</p><p><a href="${url('/dead-letters')}">First page</a></p>`,
          session,
        );
      }
      settings.onError(error, 'deadLetters');
      return page(
        c,
        503,
        'Dead letters',
        'dead-letters',
        unavailable('Dead letters', { unavailable: describeError(error) }),
        session,
      );
    }
    const result = redriveResultOf(c);
    return page(
      c,
      200,
      'Dead letters',
      'dead-letters',
      deadLettersPage({
        basePath: base,
        page: listed[0],
        size: listed[1],
        ...(cursor === undefined || cursor === '' ? {} : { cursor }),
        ...(canAdmin(session) ? { csrf: csrfToken(session, secret) } : {}),
        ...(result === undefined ? {} : { result }),
      }),
      session,
    );
  });

  app.post('/dead-letters/redrive', async (c) => {
    const session = sessionOf(c);
    if (session === undefined) return c.text('Sign in first', 401);
    if (!canAdmin(session)) return c.text('Redrive needs a key with the admin scope', 403);
    const form = await c.req.parseBody({ all: true });
    if (!checkCsrf(session, secret, form.csrf)) return c.text('Bad or missing CSRF token', 403);
    const raw = form.id;
    const ids = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).filter(
      (id): id is string => typeof id === 'string' && id !== '' && id.length <= 200,
    );
    if (ids.length === 0) return c.text('id: name at least one dead letter', 400);
    if (ids.length > MAX_REDRIVE) return c.text(`id: at most ${MAX_REDRIVE} at a time`, 400);
    const queue = sources.deadLetters;
    if (queue === undefined) return c.text('No dead-letter queue is configured', 404);
    let result: DashboardRedriveResult;
    try {
      result = await queue.redrive([...new Set(ids)]);
    } catch (error) {
      settings.onError(error, 'redrive');
      return page(
        c,
        503,
        'Dead letters',
        'dead-letters',
        unavailable('Redrive', { unavailable: describeError(error) }),
        session,
      );
    }
    const query = new URLSearchParams({
      requested: String(result.requested),
      delivered: String(result.delivered),
      failed: String(result.failed),
      skipped: String(result.skipped),
    });
    return c.redirect(`${url('/dead-letters')}?${query}`, 303);
  });

  return app;
}

/** The redrive outcome carried in the query after a redrive's redirect. */
function redriveResultOf(c: Context): DashboardRedriveResult | undefined {
  const read = (name: string) => {
    const value = c.req.query(name);
    return value !== undefined && /^\d{1,9}$/.test(value) ? Number(value) : undefined;
  };
  const requested = read('requested');
  const delivered = read('delivered');
  const failed = read('failed');
  const skipped = read('skipped');
  if (requested === undefined || delivered === undefined || failed === undefined || skipped === undefined) {
    return undefined;
  }
  return { requested, delivered, failed, skipped };
}
