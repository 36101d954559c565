import type { Context, MiddlewareHandler } from 'hono';
import { rateLimitSubject } from './client-address.js';
import type { ServerLogger } from './logger.js';
import type { ServerMetrics } from './metrics.js';
import { problem, problemResponse } from './problem.js';
import type { RateLimitCounter, RateLimitDecision, RateLimitRule } from './rate-limit.js';

/** The server's limits, by name (the `limit` label of `leadpipe_rate_limited_total`). */
export interface ServerRateLimits {
  /** Per client address on `/v1` (before the key is checked) and on mounted apps such as the dashboard. */
  readonly ip: RateLimitRule | false;
  /** Per API key. */
  readonly key: RateLimitRule | false;
  /** Per client address on `POST /webhooks/*`, before the body is read. */
  readonly webhooks: RateLimitRule | false;
  /** Per client address on `/unsubscribe` (the page and the RFC 8058 one-click POST). */
  readonly unsubscribe: RateLimitRule | false;
  /** Failed sign-ins per client address: a wrong API key on `/v1`, a 401 from a mounted app's form. */
  readonly 'failed-auth': RateLimitRule | false;
}

/** The name of one of the server's limits. */
export type RateLimitName = keyof ServerRateLimits;

const WHAT: Readonly<Record<RateLimitName, string>> = {
  ip: 'too many requests from this address',
  key: 'too many requests with this key',
  webhooks: 'too many webhook deliveries from this address',
  unsubscribe: 'too many unsubscribe requests from this address',
  'failed-auth': 'too many failed sign-ins from this address',
};

/** The 429 problem for a refused request. Names the limit, never the key or the address. */
function tooMany(name: RateLimitName, decision: RateLimitDecision): Response {
  const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
  return problemResponse(problem(429, 'rate-limited', `${WHAT[name]}; retry in ${seconds} s`), {
    'retry-after': String(seconds),
  });
}

/** The limits of one server, over one counter. */
export interface ServerLimiter {
  /** The client address of a request (see `trustProxy`). */
  readonly clientAddress: (c: Context) => string;
  /**
   * Count one request of `subject` (an id; an address for the per-address
   * limits) under limit `name`: undefined when it passes, else the 429 to answer.
   */
  take(name: RateLimitName, subject: string): Promise<Response | undefined>;
  /** Middleware: {@link take} on the request's client address. */
  byAddress(name: 'ip' | 'webhooks' | 'unsubscribe'): MiddlewareHandler;
  /** The 429 to answer when the request's address has no failed sign-in left, else undefined. Counts nothing. */
  lockedOut(c: Context): Promise<Response | undefined>;
  /** Count one failed sign-in from the request's address. */
  failedSignIn(c: Context): Promise<void>;
  /**
   * Middleware for a mounted app (the dashboard): the per-address limit, then,
   * for a request that may carry credentials (not GET, HEAD or OPTIONS), the
   * failed sign-in lockout; every 401 the app answers counts as a failed sign-in.
   */
  mounted(): MiddlewareHandler;
}

/** What {@link createServerLimiter} needs. */
export interface ServerLimiterContext {
  readonly counter: RateLimitCounter;
  readonly limits: ServerRateLimits;
  readonly clientAddress: (c: Context) => string;
  readonly logger: ServerLogger;
  readonly metrics: ServerMetrics;
}

/** Most refusal log lines remembered, to log each client at most once a window. */
const LOGGED_CAP = 10_000;

/** Build the server's limiter. */
export function createServerLimiter(context: ServerLimiterContext): ServerLimiter {
  const { counter, limits, metrics, logger } = context;
  const loggedAt = new Map<string, number>();
  const refused = (
    name: RateLimitName,
    subject: string,
    rule: RateLimitRule,
    decision: RateLimitDecision,
  ) => {
    metrics.count('leadpipe_rate_limited_total', { limit: name });
    // One line per client and limit per window, not one per refused request of a flood.
    const logKey = `${name}:${subject}`;
    const now = Date.now();
    const last = loggedAt.get(logKey);
    if (last === undefined || now - last >= rule.windowMs) {
      if (loggedAt.size >= LOGGED_CAP) loggedAt.clear();
      loggedAt.set(logKey, now);
      logger.warn(
        {
          limit: name,
          ...(name === 'key' ? { keyId: subject } : { client: subject }),
          retryAfterMs: decision.retryAfterMs,
        },
        'rate limited',
      );
    }
    return tooMany(name, decision);
  };
  const subjectOf = (name: RateLimitName, subject: string) =>
    name === 'key' ? subject : rateLimitSubject(subject);
  const take = async (name: RateLimitName, subject: string) => {
    const rule = limits[name];
    if (rule === false) return undefined;
    const counted = subjectOf(name, subject);
    const decision = await counter.take(`${name}:${counted}`, rule);
    return decision.allowed ? undefined : refused(name, counted, rule, decision);
  };
  const lockedOut = async (c: Context) => {
    const rule = limits['failed-auth'];
    if (rule === false) return undefined;
    const counted = subjectOf('failed-auth', context.clientAddress(c));
    const decision = await counter.check(`failed-auth:${counted}`, rule);
    return decision.allowed ? undefined : refused('failed-auth', counted, rule, decision);
  };
  const failedSignIn = async (c: Context) => {
    const rule = limits['failed-auth'];
    if (rule === false) return;
    await counter.take(`failed-auth:${subjectOf('failed-auth', context.clientAddress(c))}`, rule);
  };
  return {
    clientAddress: context.clientAddress,
    take,
    byAddress: (name) => async (c, next) => {
      const refusal = await take(name, context.clientAddress(c));
      if (refusal !== undefined) return refusal;
      await next();
    },
    lockedOut,
    failedSignIn,
    mounted: () => async (c, next) => {
      const refusal =
        (await take('ip', context.clientAddress(c))) ??
        (['GET', 'HEAD', 'OPTIONS'].includes(c.req.method) ? undefined : await lockedOut(c));
      if (refusal !== undefined) return refusal;
      await next();
      if (c.res.status === 401) await failedSignIn(c);
    },
  };
}
