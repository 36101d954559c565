import type { RouteDeps } from './http.js';

/**
 * Register `POST /services/oauth2/token`: the username-password, refresh
 * token and JWT bearer flows, parameters taken from the query string and a
 * form-encoded body. It needs no session and is not counted against the API
 * limits.
 */
export function registerOauthRoutes(deps: RouteDeps): void {
  const { app, count, tokens } = deps;

  app.post('/services/oauth2/token', async (c) => {
    count('requests.oauth.token');
    const params = new URLSearchParams(c.req.query());
    const contentType = c.req.header('content-type') ?? '';
    if (contentType.includes('application/x-www-form-urlencoded')) {
      for (const [key, value] of new URLSearchParams(await c.req.text())) params.set(key, value);
    }
    const answer = tokens.token(params, deps.instanceUrlOf(c));
    count(`status.${answer.status}`);
    return c.json(answer.body, answer.status as 200);
  });
}
