import type { Context } from 'hono';
import { httpFailure, notFound } from './errors.js';
import { errorResponse, type RouteDeps, V, versionOf } from './http.js';
import { LONG_RUNNING_MS, MAX_VERSION, MIN_VERSION, releaseLabel } from './settings.js';

/**
 * Register the versions list (`GET /services/data`) and, under
 * `/services/data/:version`, the guard every API call passes (a supported
 * version, a valid session, the concurrent long-running and daily request
 * limits, the `Sforce-Limit-Info` header, the configured response delay),
 * the resources list and `limits`.
 */
export function registerApiRoutes(deps: RouteDeps): void {
  const { app, bulk, context, count, inFlight, settings, state, tokens, usage } = deps;
  const limitHeader = () => `api-usage=${usage.used()}/${state.dailyLimit}`;

  const versionsList = (c: Context) => {
    count('requests.versions');
    const versions = [];
    for (let major = MIN_VERSION; major <= MAX_VERSION; major += 1) {
      versions.push({ label: releaseLabel(major), url: `/services/data/v${major}.0`, version: `${major}.0` });
    }
    return c.json(versions);
  };
  app.get('/services/data', versionsList);

  app.use('/services/data/:version/*', async (c, next) => {
    const version = c.req.param('version');
    c.header('Sforce-Limit-Info', limitHeader());
    const match = /^v(\d+)\.0$/.exec(version);
    const major = match === null ? 0 : Number(match[1]);
    if (major < MIN_VERSION || major > MAX_VERSION) return errorResponse(deps, c, notFound());
    bulk.advance();
    const authorization = c.req.header('authorization') ?? '';
    const token = /^(?:Bearer|OAuth)\s+(.+)$/i.exec(authorization)?.[1]?.trim() ?? '';
    if (!tokens.isValid(token)) {
      count('invalid_session');
      return errorResponse(deps, c, httpFailure(401, 'INVALID_SESSION_ID', 'Session expired or invalid'));
    }
    if (inFlight.longRunning(LONG_RUNNING_MS) >= settings.longRunningLimit) {
      count('limit_exceeded');
      count('concurrent_limit_exceeded');
      return errorResponse(
        deps,
        c,
        httpFailure(403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'),
      );
    }
    if (usage.used() >= state.dailyLimit) {
      count('limit_exceeded');
      return errorResponse(
        deps,
        c,
        httpFailure(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.'),
      );
    }
    usage.record();
    count('api_usage');
    const end = inFlight.begin();
    try {
      if (state.responseDelayMs > 0) await context.clock.sleep(state.responseDelayMs);
      bulk.advance();
      await next();
    } finally {
      end();
    }
    c.res.headers.set('Sforce-Limit-Info', limitHeader());
  });

  app.get(V, (c) => {
    count('requests.resources');
    const base = `/services/data/v${versionOf(c)}`;
    return c.json({
      sobjects: `${base}/sobjects`,
      query: `${base}/query`,
      queryAll: `${base}/queryAll`,
      limits: `${base}/limits`,
      composite: `${base}/composite`,
      jobs: `${base}/jobs`,
    });
  });

  app.get(`${V}/limits`, (c) => {
    count('requests.limits');
    const processedBatches = bulk.all().filter((job) => job.processingStartsAt !== undefined).length;
    return c.json({
      DailyApiRequests: { Max: state.dailyLimit, Remaining: Math.max(0, state.dailyLimit - usage.used()) },
      DailyBulkApiBatches: { Max: 15_000, Remaining: 15_000 - processedBatches },
      DailyBulkV2QueryJobs: { Max: 10_000, Remaining: 10_000 },
      DailyBulkV2QueryFileStorageMB: { Max: 976_562, Remaining: 976_562 },
    });
  });
}
