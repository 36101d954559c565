/**
 * Limiter benchmark: a local server enforcing a strict rolling 1-second window
 * of 50 requests (429 above it), and 10 concurrent callers pushing 500 requests
 * through `schedule` with `perSecond: 50`. Prints one JSON line per case: the
 * default safety margin, then smaller margins to show why the default is what
 * it is. Run: `pnpm exec tsx packages/core/bench/limiter.bench.ts`.
 */
import { spawn } from 'node:child_process';
import { ApiCallError, createLimiterRegistry } from '../src/index.js';

const LIMIT = 50;
const WINDOW_MS = 1000;
const REQUESTS = 500;
const CALLERS = 10;
/** The registry's default `safetyMargin` (kept in step with `limiter.ts`). */
const DEFAULT_MARGIN = 0.04;

/**
 * The vendor runs in its own process (as a real one would), so a pause of the
 * benchmark's event loop cannot squeeze the server's arrival timestamps.
 * Accepts at most LIMIT requests in any rolling WINDOW_MS; answers 429 with
 * `retry-after-ms` above it. `GET /stats` returns and resets the record.
 */
const SERVER_SOURCE = `
const http = require('node:http');
const LIMIT = ${LIMIT}, WINDOW_MS = ${WINDOW_MS};
let accepted = [], start = 0, rejected = 0;
const server = http.createServer((request, response) => {
  const now = performance.now();
  if (request.url === '/stats') {
    response.end(JSON.stringify({ accepted, rejected }));
    accepted = []; start = 0; rejected = 0;
    return;
  }
  while (start < accepted.length && accepted[start] <= now - WINDOW_MS) start += 1;
  if (accepted.length - start >= LIMIT) {
    rejected += 1;
    response.writeHead(429, { 'retry-after-ms': String(Math.ceil(accepted[start] + WINDOW_MS - now)) });
    response.end();
    return;
  }
  accepted.push(now);
  response.end('ok');
});
server.keepAliveTimeout = 5000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

interface Vendor {
  readonly url: string;
  readonly stop: () => void;
}

async function startVendor(): Promise<Vendor> {
  const child = spawn(process.execPath, ['-e', SERVER_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () => {
      child.stdin.end();
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

async function runCase(vendor: Vendor, name: string, safetyMargin: number): Promise<void> {
  const registry = createLimiterRegistry({ safetyMargin });
  const limiter = registry.get('bench', name, { perSecond: LIMIT });
  const call = async (): Promise<void> => {
    const response = await fetch(`${vendor.url}/call`);
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
  const target = (await (await fetch(`${vendor.url}/stats`)).json()) as {
    accepted: number[];
    rejected: number;
  };
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

const vendor = await startVendor();
// Warm the HTTP client up: the first fetch of a process is slow, and that is not the limiter's doing.
await (await fetch(`${vendor.url}/stats`)).arrayBuffer();
try {
  const margins = (process.env.BENCH_MARGINS ?? '').split(',').filter((text) => text !== '');
  await runCase(vendor, 'limiter-50rps', DEFAULT_MARGIN);
  for (const margin of margins.length > 0 ? margins.map(Number) : [0.02, 0]) {
    await runCase(vendor, `limiter-50rps-margin-${margin}`, margin);
  }
} finally {
  vendor.stop();
}
