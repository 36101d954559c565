import { timingSafeEqual } from 'node:crypto';
import type { Context, Hono } from 'hono';
import { inNetworks, networkList } from './client-address.js';
import type { ServerMetrics } from './metrics.js';
import { problem, problemResponse } from './problem.js';

/** One dependency `GET /ready` checks. */
export interface ReadinessCheck {
  /** Its name in the answer: `store`, `redis`, `rabbitmq`. */
  readonly name: string;
  /** Resolves when it answers; rejects (or takes over the timeout) when it does not. */
  check(): Promise<void>;
}

/** Who may read `GET /metrics`: a key of its own, addresses or networks, or both (either suffices). */
export interface MetricsAccess {
  /** A bearer token for the scraper (not an API key: it opens nothing else). */
  readonly key?: string;
  /** Addresses or CIDR networks, such as `10.0.0.0/8` or `127.0.0.1`. */
  readonly allow?: readonly string[];
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** `GET /health`, `GET /ready` and `GET /metrics`. */
export function mountHealthRoutes(
  app: Hono,
  checks: readonly ReadinessCheck[],
  metrics: ServerMetrics,
  access: MetricsAccess | undefined,
  clientIp: (c: Context) => string,
  timeoutMs = 2000,
): void {
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    const results = await Promise.all(
      checks.map(async (check) => {
        let timer: NodeJS.Timeout | undefined;
        try {
          await Promise.race([
            check.check(),
            new Promise((_, reject) => {
              timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
            }),
          ]);
          return [check.name, 'ok'] as const;
        } catch {
          return [check.name, 'failed'] as const;
        } finally {
          clearTimeout(timer);
        }
      }),
    );
    const ready = results.every(([, state]) => state === 'ok');
    return c.json(
      { status: ready ? 'ready' : 'not ready', checks: Object.fromEntries(results) },
      ready ? 200 : 503,
    );
  });
  const list = networkList(access?.allow ?? []);
  app.get('/metrics', (c) => {
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const byKey = access?.key !== undefined && token !== undefined && sameText(token, access.key);
    if (!byKey && !inNetworks(list, clientIp(c)))
      return problemResponse(
        problem(
          access?.key === undefined && (access?.allow ?? []).length === 0 ? 403 : 401,
          'metrics-refused',
          'the metrics need their key or an allowed address',
        ),
      );
    return c.text(metrics.render(), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
  });
}
