import type { Context } from 'hono';
import type { RouteDeps } from './http.js';
import { json } from './http.js';

const SCOPES = [
  'crm.objects.contacts.read',
  'crm.objects.contacts.write',
  'crm.objects.companies.read',
  'crm.objects.companies.write',
  'oauth',
];

async function formFields(c: Context): Promise<Record<string, string>> {
  const type = c.req.header('content-type') ?? '';
  if (type.includes('application/json')) {
    const parsed: unknown = await c.req.json().catch(() => undefined);
    if (parsed === null || typeof parsed !== 'object') return {};
    return Object.fromEntries(
      Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
  }
  const body = await c.req.parseBody();
  return Object.fromEntries(
    Object.entries(body).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
  );
}

/**
 * Register the OAuth endpoints: `POST /oauth/v1/token` (form-encoded), its v3
 * successor `POST /oauth/v3/token` (form or JSON body), and token metadata.
 * They are not rate-limited and need no bearer token.
 */
export function registerOauthRoutes(deps: RouteDeps): void {
  const { counters } = deps.context;
  for (const version of ['v1', 'v3'] as const) {
    deps.app.post(`/oauth/${version}/token`, async (c) => {
      counters.increment('hubspot.calls');
      counters.increment(`hubspot.endpoint.POST /oauth/${version}/token`);
      const fields = await formFields(c);
      if (
        version === 'v1' &&
        !(c.req.header('content-type') ?? '').includes('application/x-www-form-urlencoded')
      ) {
        return json(400, { status: 'BAD_REQUEST', message: 'The token request must be form-encoded' });
      }
      const result = deps.auth.token(fields);
      counters.increment(result.ok ? 'hubspot.oauth.tokensIssued' : 'hubspot.oauth.tokenErrors');
      return json(result.ok ? 200 : 400, result.body);
    });
  }

  deps.app.get('/oauth/v1/access-tokens/:token', (c) => {
    counters.increment('hubspot.calls');
    counters.increment('hubspot.endpoint.GET /oauth/v1/access-tokens/{token}');
    const token = c.req.param('token');
    const info = deps.auth.describe(token);
    if (info === undefined) {
      return json(404, {
        status: 'error',
        message: 'The access token is expired or unknown',
        category: 'OBJECT_NOT_FOUND',
      });
    }
    return json(200, {
      token,
      hub_id: deps.portalId,
      app_id: deps.appId,
      expires_in: info.expiresInSeconds,
      token_type: 'access',
      scopes: SCOPES,
    });
  });

  deps.app.get('/oauth/v1/refresh-tokens/:token', (c) => {
    counters.increment('hubspot.calls');
    counters.increment('hubspot.endpoint.GET /oauth/v1/refresh-tokens/{token}');
    const token = c.req.param('token');
    if (!deps.auth.knowsRefreshToken(token)) {
      return json(404, {
        status: 'error',
        message: 'The refresh token is unknown',
        category: 'OBJECT_NOT_FOUND',
      });
    }
    return json(200, {
      token,
      hub_id: deps.portalId,
      client_id: deps.auth.clientId,
      token_type: 'refresh',
      scopes: SCOPES,
    });
  });
}
