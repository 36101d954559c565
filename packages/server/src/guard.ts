import type { Context, MiddlewareHandler } from 'hono';
import { type ApiKeyScope, type ApiKeyStore, scopeAllows } from './keys/key-store.js';
import type { ServerLimiter } from './limits.js';
import type { ServerMetrics } from './metrics.js';
import { problem, problemResponse } from './problem.js';

/** What the guard needs: keys and the server's limits. */
export interface GuardContext {
  readonly keys: ApiKeyStore;
  readonly limiter: ServerLimiter;
  readonly metrics: ServerMetrics;
}

/** The variables the guard sets on a request's context. */
export interface GuardVariables {
  /** The id of the key that authenticated the request. */
  keyId: string;
  /** Its scopes. */
  scopes: ApiKeyScope[];
}

/** The key a request presents: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
function presentedKey(c: Context): string | undefined {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return match?.[1];
  }
  return c.req.header('x-api-key')?.trim() || undefined;
}

/**
 * Every API route's guard, in this order: the per-address limit (so
 * unauthenticated floods are cut too), the failed sign-in lockout of the
 * address (when a key is presented), the key (401 when missing or unknown; an
 * unknown one counts as a failed sign-in), the per-key limit (429 with
 * `Retry-After`), then the route's scope (403).
 */
export function guard(
  context: GuardContext,
  scope: ApiKeyScope,
): MiddlewareHandler<{ Variables: GuardVariables }> {
  return async (c, next) => {
    const byAddress = await context.limiter.take('ip', context.limiter.clientAddress(c));
    if (byAddress !== undefined) return byAddress;
    const key = presentedKey(c);
    if (key !== undefined) {
      // An address out of failed sign-ins is refused before its key is looked at: a right guess then
      // gets the same 429 as a wrong one.
      const locked = await context.limiter.lockedOut(c);
      if (locked !== undefined) return locked;
    }
    const verified = key === undefined ? null : await context.keys.verifyKey(key);
    if (verified === null) {
      if (key !== undefined) await context.limiter.failedSignIn(c);
      context.metrics.count('leadpipe_auth_refused_total', { status: '401' });
      return problemResponse(
        problem(
          401,
          'unauthorized',
          key === undefined
            ? 'an API key is required (Authorization: Bearer <key>)'
            : 'the API key is not valid',
        ),
        { 'www-authenticate': 'Bearer realm="leadpipe"' },
      );
    }
    const byKey = await context.limiter.take('key', verified.id);
    if (byKey !== undefined) return byKey;
    if (!scopeAllows(verified.scopes, scope)) {
      context.metrics.count('leadpipe_auth_refused_total', { status: '403' });
      return problemResponse(problem(403, 'forbidden', `this route needs the "${scope}" scope`));
    }
    c.set('keyId', verified.id);
    c.set('scopes', verified.scopes);
    await next();
  };
}
