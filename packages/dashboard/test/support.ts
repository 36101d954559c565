import { Hono } from 'hono';
import {
  createDashboard,
  type DashboardOptions,
  type DashboardScope,
  type DashboardSources,
} from '../src/index.js';

export const SECRET = 'test-session-secret-0123456789abcdef';

/** API keys the test host accepts, by scope set. */
export const KEYS: Readonly<Record<string, readonly DashboardScope[]>> = {
  lp_read_3f1c9a: ['read'],
  lp_admin_77ab20: ['read', 'admin'],
  lp_write_5c0d11: ['write'],
};

/** A host app mounting the dashboard at /dashboard, as `@leadpipe/server` does. */
export function hostApp(sources: DashboardSources, extra: Partial<DashboardOptions> = {}): Hono {
  const host = new Hono();
  host.get('/', (c) => c.text('host'));
  host.route(
    '/dashboard',
    createDashboard({
      sources,
      sessionSecret: SECRET,
      verifyKey: async (key) => (KEYS[key] === undefined ? null : { scopes: KEYS[key] }),
      ...extra,
    }),
  );
  return host;
}

/** POST a form. */
export function postForm(
  app: Hono,
  path: string,
  fields: readonly (readonly [string, string])[],
  headers: Record<string, string> = {},
): Promise<Response> {
  return Promise.resolve(
    app.request(`http://dash.test${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(fields.map(([k, v]): [string, string] => [k, v])).toString(),
    }),
  );
}

/** GET with a cookie. */
export function get(app: Hono, path: string, cookie?: string): Promise<Response> {
  return Promise.resolve(
    app.request(`http://dash.test${path}`, cookie === undefined ? {} : { headers: { cookie } }),
  );
}

/** Sign in with `key`: the `name=value` of the session cookie. */
export async function signIn(app: Hono, key: string): Promise<string> {
  const response = await postForm(app, '/dashboard/login', [['key', key]]);
  if (response.status !== 303) throw new Error(`sign-in with ${key} answered ${response.status}`);
  const cookie = response.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0]!;
}

/** The CSRF token in a page's forms. */
export function csrfOf(page: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(page);
  if (match === null) throw new Error('no CSRF token on the page');
  return match[1]!;
}
