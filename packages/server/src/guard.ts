import { isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { type ApiKeyScope, type ApiKeyStore, scopeAllows } from './keys/key-store.js';
import type { ServerLogger } from './logger.js';
import type { ServerMetrics } from './metrics.js';
import { problem, problemResponse } from './problem.js';
import type { RateLimitCounter } from './rate-limit.js';

/** A request budget: at most `limit` requests per `windowMs`. */
export interface RateLimitRule {
  /** Requests allowed per window. */
  readonly limit: number;
  /** The window, in milliseconds. */
  readonly windowMs: number;
}

/** What the guard needs: keys, limits and how to find the client's address. */
export interface GuardContext {
  readonly keys: ApiKeyStore;
  readonly counter: RateLimitCounter;
  readonly perIp: RateLimitRule;
  readonly perKey: RateLimitRule;
  readonly clientIp: (c: Context) => string;
  readonly logger: ServerLogger;
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
 * The client's address: the socket's, or with `trustProxy` the first
 * address of `X-Forwarded-For` (only behind a proxy that sets it: a client
 * can write any value there).
 */
export function clientIpResolver(trustProxy: boolean): (c: Context) => string {
  return (c) => {
    if (trustProxy) {
      const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
      if (forwarded !== undefined && isIP(forwarded) !== 0) return forwarded;
    }
    const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
    return incoming?.socket?.remoteAddress ?? 'unknown';
  };
}

function tooMany(resetMs: number, which: 'ip' | 'key'): Response {
  const seconds = Math.max(1, Math.ceil(resetMs / 1000));
  return problemResponse(
    problem(
      429,
      'rate-limited',
      `too many requests from this ${which === 'ip' ? 'address' : 'key'}; retry in ${seconds} s`,
    ),
    { 'retry-after': String(seconds) },
  );
}

/**
 * Every API route's guard, in this order: the per-address limit (so
 * unauthenticated floods are cut too), the key (401 when missing or
 * unknown), the per-key limit (429 with `Retry-After`), then the route's
 * scope (403).
 */
export function guard(
  context: GuardContext,
  scope: ApiKeyScope,
): MiddlewareHandler<{ Variables: GuardVariables }> {
  return async (c, next) => {
    const ip = context.clientIp(c);
    const byIp = await context.counter.hit(`ip:${ip}`, context.perIp.windowMs);
    if (byIp.count > context.perIp.limit) {
      context.metrics.count('leadpipe_rate_limited_total', { limit: 'ip' });
      if (byIp.count === context.perIp.limit + 1) context.logger.warn({ limit: 'ip', ip }, 'rate limited');
      return tooMany(byIp.resetMs, 'ip');
    }
    const key = presentedKey(c);
    const verified = key === undefined ? null : await context.keys.verifyKey(key);
    if (verified === null) {
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
    const byKey = await context.counter.hit(`key:${verified.id}`, context.perKey.windowMs);
    if (byKey.count > context.perKey.limit) {
      context.metrics.count('leadpipe_rate_limited_total', { limit: 'key' });
      return tooMany(byKey.resetMs, 'key');
    }
    if (!scopeAllows(verified.scopes, scope)) {
      context.metrics.count('leadpipe_auth_refused_total', { status: '403' });
      return problemResponse(problem(403, 'forbidden', `this route needs the "${scope}" scope`));
    }
    c.set('keyId', verified.id);
    c.set('scopes', verified.scopes);
    await next();
  };
}
