import {
  type CrmSync,
  createInProcessEventBus,
  type DeadLetterQueue,
  type EventBusV1,
  type LeadStoreV1,
  redactSecrets,
  redactValue,
} from '@leadpipe/core';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { createApiApp } from './api/app.js';
import { mountCampaignRoutes, type ServerCampaigns } from './api/campaigns.js';
import { mountDeadLetterRoutes } from './api/dead-letters.js';
import { mountKeyRoutes } from './api/keys.js';
import { mountLeadRoutes } from './api/leads.js';
import { mountRunRoutes, type RunSource } from './api/runs.js';
import { clientAddressResolver, type TrustProxy } from './client-address.js';
import type { GuardContext } from './guard.js';
import { type MetricsAccess, mountHealthRoutes, type ReadinessCheck } from './health.js';
import type { ApiKeyStore } from './keys/key-store.js';
import { type RateLimitOptions, resolveLimitOptions } from './limit-options.js';
import { createServerLimiter } from './limits.js';
import { type ServerErrorContext, type ServerLogger, silentLogger } from './logger.js';
import { createServerMetrics } from './metrics.js';
import { problem, problemResponse } from './problem.js';
import { createMemoryRateLimitCounter, createRedisRateLimitCounter } from './rate-limit.js';
import {
  createMemoryWebhookDeduper,
  createRedisWebhookDeduper,
  type WebhookDeduper,
} from './webhooks/deduper.js';
import type { WebhookReceiver } from './webhooks/receivers.js';
import { mountWebhookRoutes } from './webhooks/routes.js';

/**
 * Another app served under a path, such as the dashboard. Its requests count
 * in the per-address limit (`rateLimit.perIp`); every 401 it answers counts as
 * a failed sign-in of the address, and once those are spent its requests other
 * than GET, HEAD and OPTIONS get 429.
 */
export interface MountedApp {
  /** Where, such as `/dashboard`. */
  readonly path: string;
  /** The app (any Hono app). */
  readonly app: Hono;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** API keys: {@link createFileKeyStore} or {@link createMemoryKeyStore}, or your own. Required. */
  readonly keys: ApiKeyStore;
  /** The lead store `/v1/leads` reads and writes. Without it the leads routes are not mounted. */
  readonly leads?: LeadStoreV1;
  /** The CRM dead-letter queue `/v1/dead-letters` lists. */
  readonly deadLetters?: DeadLetterQueue;
  /** The CRM sync that redrives dead letters (`POST /v1/dead-letters/redrive`). */
  readonly crmSync?: CrmSync;
  /** Where `/v1/runs` reads runs (see `createRunRegistry`). */
  readonly runs?: RunSource;
  /** The campaigns `/v1/campaigns` shows, and whose engine answers `/unsubscribe`. */
  readonly campaigns?: ServerCampaigns;
  /** Webhook receivers, one route each: `POST /webhooks/<id>`. */
  readonly webhooks?: {
    /** The receivers (`webhookReceiversFromEnv`, or `crmWebhookReceiver(adapter)`...). */
    readonly receivers: readonly WebhookReceiver[];
    /** Where verified events go. Default: core's in-process bus (`createInProcessEventBus`). */
    readonly bus?: EventBusV1;
    /** Remembers event ids. Default: on `redis` when given, else in memory. */
    readonly deduper?: WebhookDeduper;
    /** Largest body read, bytes: larger ones get 413 before anything reads them. Default 1 MiB. */
    readonly maxBodyBytes?: number;
  };
  /**
   * Redis for the shared rate-limit counter, webhook dedupe and `/ready`: a
   * `redis://` URL (opened here, closed by `close()`) or an ioredis client (yours to close).
   */
  readonly redis?: Redis | string;
  /**
   * Rate limits: per client address on `/v1`, mounted apps, webhooks and
   * `/unsubscribe`, per API key, and failed sign-ins per address. Token
   * buckets on `redis` when given (shared by every process), else in memory.
   * Each limit can be turned off with `false`. See the README's "Rate limits".
   */
  readonly rateLimit?: RateLimitOptions;
  /**
   * Which proxies may say who the client is in `X-Forwarded-For`: `false` (the
   * default: the socket's peer, the header ignored), a hop count (`true` is 1),
   * or the proxies' addresses and networks. See {@link TrustProxy}.
   */
  readonly trustProxy?: TrustProxy;
  /** More `/ready` checks (a message broker...). The store and `redis` are checked when given. */
  readonly readiness?: readonly ReadinessCheck[];
  /** Who may read `/metrics`. Default: loopback addresses only. */
  readonly metrics?: MetricsAccess;
  /** Other apps to mount, such as the dashboard: `{ path: '/dashboard', app }`. */
  readonly mount?: readonly MountedApp[];
  /** A pino-compatible logger. Default: silent. Every line is scrubbed of registered secrets. */
  readonly logger?: ServerLogger;
  /** Told about every error answered with a 5xx (a Sentry-style reporter). Never sees a response body. */
  readonly onError?: (error: unknown, context: ServerErrorContext) => void;
}

/** What {@link createServer} answers: the app, and what it chose. */
export interface LeadpipeServer {
  /** The Hono app: `startServer` serves it; a host can `app.route('/leadpipe', server.app)` or call `app.fetch`. */
  readonly app: Hono;
  /** The bus webhook events are published to. */
  readonly bus: EventBusV1;
  /** `redis` or `memory`: where the rate-limit counter lives. */
  readonly rateLimitCounter: 'redis' | 'memory';
  /** The OpenAPI 3.1 document of `/v1`, as `GET /openapi.json` serves it. */
  openApiDocument(): Record<string, unknown>;
  /** Close what the server opened (a Redis connection made from a URL). The app stops answering nothing by itself. */
  close(): Promise<void>;
}

/** A logger that scrubs registered secrets from every message and field. */
function redacting(logger: ServerLogger): ServerLogger {
  return {
    info: (fields, message) => logger.info(redactValue(fields), redactSecrets(message)),
    warn: (fields, message) => logger.warn(redactValue(fields), redactSecrets(message)),
    error: (fields, message) => logger.error(redactValue(fields), redactSecrets(message)),
  };
}

/**
 * Build the leadpipe HTTP app: vendor webhooks, one-click unsubscribe, the
 * `/v1` API with scoped keys and rate limits, health, readiness and
 * metrics. Nothing listens until `startServer` (or the host) serves it.
 */
export function createServer(options: ServerOptions): LeadpipeServer {
  const limitOptions = resolveLimitOptions(options);
  const logger = redacting(options.logger ?? silentLogger);
  const ownsRedis = typeof options.redis === 'string';
  const redis =
    typeof options.redis === 'string'
      ? new Redis(options.redis, { maxRetriesPerRequest: 1, connectTimeout: 2000 })
      : options.redis;
  // A Redis that is down fails readiness and the requests that need it; it must not crash the process.
  if (ownsRedis)
    redis?.on('error', (error: Error) => logger.warn({ error: error.message }, 'redis connection error'));
  const metrics = createServerMetrics();
  const counter =
    limitOptions.counter ??
    (redis === undefined
      ? createMemoryRateLimitCounter()
      : createRedisRateLimitCounter(
          redis,
          limitOptions.keyPrefix === undefined ? {} : { prefix: limitOptions.keyPrefix },
        ));
  if (counter.kind === 'memory')
    logger.info(
      { rateLimitCounter: 'memory' },
      'no Redis: the shared rate-limit counter fell back to memory, so limits count per process',
    );
  const clientIp = clientAddressResolver(limitOptions.trustProxy);
  const reportError = (error: unknown, route: string, method: string) => {
    logger.error(
      {
        route,
        method,
        error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      },
      'request failed',
    );
    try {
      options.onError?.(error, { route, method });
    } catch {
      // A reporter that throws changes nothing.
    }
  };
  const limiter = createServerLimiter({
    counter,
    limits: limitOptions.limits,
    clientAddress: clientIp,
    logger,
    metrics,
  });
  const guardContext: GuardContext = { keys: options.keys, limiter, metrics };

  const app = new Hono();
  app.use(async (c, next) => {
    const started = performance.now();
    await next();
    const route = c.req.routePath === '/*' || c.req.routePath === '*' ? 'unmatched' : c.req.routePath;
    metrics.count('leadpipe_http_requests_total', {
      route,
      method: c.req.method,
      status: String(c.res.status),
    });
    metrics.observe(
      'leadpipe_http_request_duration_seconds',
      { route, method: c.req.method },
      (performance.now() - started) / 1000,
    );
  });
  app.onError((error, c) => {
    reportError(error, c.req.routePath, c.req.method);
    return problemResponse(problem(500, 'internal', 'the request failed; see the server log'));
  });

  const checks: ReadinessCheck[] = [];
  if (options.leads !== undefined) {
    const leads = options.leads;
    checks.push({ name: 'store', check: async () => void (await leads.query({ limit: 1, fields: ['id'] })) });
  }
  if (redis !== undefined) {
    checks.push({ name: 'redis', check: async () => void (await redis.ping()) });
  }
  checks.push(...(options.readiness ?? []));
  mountHealthRoutes(app, checks, metrics, options.metrics ?? { allow: ['127.0.0.1', '::1'] }, clientIp);

  const bus = options.webhooks?.bus ?? createInProcessEventBus();
  const deduper =
    options.webhooks?.deduper ??
    (redis === undefined ? createMemoryWebhookDeduper() : createRedisWebhookDeduper(redis));
  app.post('/webhooks/:vendor', limiter.byAddress('webhooks'));
  mountWebhookRoutes(app, {
    receivers: options.webhooks?.receivers ?? [],
    bus,
    deduper,
    maxBodyBytes: options.webhooks?.maxBodyBytes ?? 1_048_576,
    logger,
    metrics,
    reportError,
  });

  const campaigns = options.campaigns;
  app.on(['GET', 'HEAD', 'POST'], '/unsubscribe', limiter.byAddress('unsubscribe'), async (c) => {
    if (campaigns === undefined)
      return problemResponse(problem(404, 'not-configured', 'unsubscribing is not set up on this server'));
    const answer = await campaigns.engine.handleUnsubscribe({ method: c.req.method, url: c.req.url });
    return new Response(c.req.method === 'HEAD' ? null : answer.body, {
      status: answer.status,
      headers: answer.headers,
    });
  });

  const api = createApiApp();
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  if (options.leads !== undefined) mountLeadRoutes(api, options.leads, guardContext);
  mountRunRoutes(api, options.runs, guardContext);
  mountCampaignRoutes(api, options.campaigns, guardContext);
  mountDeadLetterRoutes(api, options.deadLetters, options.crmSync, guardContext);
  mountKeyRoutes(api, guardContext);
  const openApiDocument = () =>
    api.getOpenAPI31Document({
      openapi: '3.1.0',
      info: {
        title: 'leadpipe',
        version: '1',
        description: 'The leadpipe server API. Errors are application/problem+json.',
      },
    }) as unknown as Record<string, unknown>;
  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  app.route('/', api);

  for (const mounted of options.mount ?? []) {
    // `/dashboard/*` matches `/dashboard` itself too.
    app.use(`${mounted.path.replace(/\/$/, '')}/*`, limiter.mounted());
    app.route(mounted.path, mounted.app);
  }
  app.notFound(() => problemResponse(problem(404, 'not-found', 'no such route')));
  return {
    app,
    bus,
    rateLimitCounter: counter.kind,
    openApiDocument,
    async close() {
      if (ownsRedis) await redis?.quit().catch(() => redis.disconnect());
    },
  };
}
