/**
 * Limiter benchmark: a local server enforcing a strict rolling 1-second window
 * of 50 requests (429 above it), and 10 concurrent callers pushing 500 requests
 * through `schedule` with `perSecond: 50`. Prints one JSON line per case: the
 * default safety margin, then smaller margins to show why the default is what
 * it is. Run: `pnpm exec tsx packages/core/bench/limiter.bench.ts`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApiCallError, createLimiterRegistry } from '../src/index.js';

const LIMIT = 50;
const WINDOW_MS = 1000;
const REQUESTS = 500;
const CALLERS = 10;

interface RollingServer {
  readonly url: string;
  readonly accepted: number[];
  rejected: number;
  readonly server: Server;
}

/** Accepts at most LIMIT requests in any rolling WINDOW_MS; answers 429 with Retry-After (ms) above it. */
async function startServer(): Promise<RollingServer> {
  const state: { accepted: number[]; rejected: number } = { accepted: [], rejected: 0 };
  let windowStart = 0;
  const server = createServer((_request, response) => {
    const now = performance.now();
    while (windowStart < state.accepted.length && state.accepted[windowStart]! <= now - WINDOW_MS)
      windowStart += 1;
    const inWindow = state.accepted.length - windowStart;
    if (inWindow >= LIMIT) {
      state.rejected += 1;
      const retryAfterMs = Math.ceil(state.accepted[windowStart]! + WINDOW_MS - now);
      response.writeHead(429, { 'retry-after-ms': String(retryAfterMs) });
      response.end();
      return;
    }
    state.accepted.push(now);
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('ok');
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    get accepted() {
      return state.accepted;
    },
    get rejected() {
      return state.rejected;
    },
    set rejected(value: number) {
      state.rejected = value;
    },
  };
}

function maxInRollingWindow(times: readonly number[]): number {
  let max = 0;
  let start = 0;
  for (let end = 0; end < times.length; end += 1) {
    while (times[start]! <= times[end]! - WINDOW_MS) start += 1;
    max = Math.max(max, end - start + 1);
  }
  return max;
}

async function runCase(name: string, safetyMargin: number): Promise<void> {
  const target = await startServer();
  const registry = createLimiterRegistry({ safetyMargin });
  const limiter = registry.get('bench', name, { perSecond: LIMIT });
  const call = async (): Promise<void> => {
    const response = await fetch(target.url);
    await response.arrayBuffer();
    if (response.status === 429) {
      throw new ApiCallError('rate_limited', {
        message: 'rate limited',
        status: 429,
        retryAfterMs: Number(response.headers.get('retry-after-ms') ?? '1000'),
      });
    }
  };
  const caller = async (): Promise<void> => {
    for (let index = 0; index < REQUESTS / CALLERS; index += 1) await limiter.schedule(call);
  };
  await Promise.all(Array.from({ length: CALLERS }, caller));
  await registry.disconnect();
  await new Promise<void>((resolve) => {
    target.server.close(() => resolve());
    target.server.closeAllConnections();
  });
  const accepted = target.accepted;
  const spanMs = accepted[accepted.length - 1]! - accepted[0]!;
  const achievedPerSecond = ((accepted.length - 1) / spanMs) * 1000;
  console.log(
    JSON.stringify({
      case: name,
      requests: accepted.length,
      achievedPerSecond: Number(achievedPerSecond.toFixed(2)),
      allowedPerSecond: LIMIT,
      ratio: Number((achievedPerSecond / LIMIT).toFixed(4)),
      '429s': target.rejected,
      safetyMargin,
      maxInRollingWindow: maxInRollingWindow(accepted),
      minGapMs: Number(
        Math.min(...accepted.slice(1).map((time, index) => time - accepted[index]!)).toFixed(2),
      ),
    }),
  );
}

await runCase('limiter-50rps', 0.02);
await runCase('limiter-50rps-margin-0.01', 0.01);
await runCase('limiter-50rps-margin-0', 0);
