import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigurationError, parseOptions, REDACTED, redactSecrets } from '@leadpipe/core/adapter-kit';
import { Hono } from 'hono';
import { z } from 'zod';
import { hashString } from '../truth/random.js';
import type {
  EmulatorContext,
  EmulatorCounters,
  RecordedRequest,
  VendorEmulator,
  VendorName,
} from './context.js';
import { seededRandom } from './create-context.js';
import type { CannedResponse, VendorFaultResponses } from './definition.js';
import { type FaultKind, type FaultOptions, sampleLatency, validateFaults } from './faults.js';
import { maxRecordedRequestsSchema } from './options.js';
import { definitionOf } from './vendors.js';

/** Node bindings @hono/node-server passes as `env`; absent in msw mode. */
export interface NodeBindings {
  /** The Node request; its socket is destroyed on a connection-reset fault. */
  readonly incoming?: IncomingMessage;
  /** The Node response. */
  readonly outgoing?: ServerResponse;
}

/** The requests an emulator received, secrets redacted. */
export interface RequestLog {
  /** Every recorded request, oldest first. */
  all(): readonly RecordedRequest[];
  /** Requests whose method and path match (path as a string prefix or a RegExp). */
  find(method: string, path: string | RegExp): readonly RecordedRequest[];
  /** Forget every recorded request. */
  clear(): void;
}

/** Change an emulator's faults while it runs. */
export interface FaultController {
  /** Replace the fault settings. @throws ConfigurationError on an invalid setting. */
  configure(options: FaultOptions): void;
  /** The settings in force. */
  current(): FaultOptions;
  /**
   * Force `kind` on the next `count` requests (default 1), whatever the rates say; a queued
   * `expiredToken` skips token endpoints (they issue tokens) and hits the next request carrying one.
   */
  queue(kind: FaultKind, count?: number): void;
  /** Drop queued faults and reset every rate. */
  clear(): void;
}

/** A vendor emulator wrapped with recording, faults and counters. */
export interface WrappedEmulator<E extends VendorEmulator = VendorEmulator> {
  /** The vendor emulated. */
  readonly vendor: VendorName;
  /** The vendor emulator itself (its app answers without faults or recording). */
  readonly emulator: E;
  /** The wrapped app: recording, faults and counters around the vendor app. */
  readonly app: Hono<{
    /** What the app reads as `c.env`: the Node request and response under a server, nothing under msw. */
    Bindings: NodeBindings;
  }>;
  /** The context the vendor emulator was built with. */
  readonly context: EmulatorContext;
  /** Counters (shared when several emulators share a context). */
  readonly counters: EmulatorCounters;
  /** Credentials the emulator accepts. */
  readonly credentials: Readonly<Record<string, string>>;
  /** Every request received, secrets redacted. */
  readonly requests: RequestLog;
  /** Faults in force; change them while running. */
  readonly faults: FaultController;
  /**
   * Answer a request through the wrapper. A connection-reset fault answers
   * with a response for which {@link isConnectionReset} is true; the server
   * and msw adapters turn it into a socket destroy or a network error.
   */
  fetch(request: Request, env?: NodeBindings): Promise<Response>;
  /** Forget records, requests, queued faults and counters of this vendor; re-seed. */
  reset(): void;
  /** Release hung requests and stop background work. */
  close(): Promise<void>;
}

const resets = new WeakSet<Response>();

/** Whether a path is an OAuth token endpoint (HubSpot `/oauth/v1/token`, Salesforce `/services/oauth2/token`). */
function isTokenEndpoint(pathname: string): boolean {
  return /\/oauth2?\/(v\d+\/)?token$/.test(pathname);
}

/** Whether `response` stands for a connection reset injected by the wrapper. */
export function isConnectionReset(response: Response): boolean {
  return resets.has(response);
}

const SENSITIVE_HEADERS = /^(authorization|x-api-key|api[_-]?key|cookie|set-cookie|proxy-authorization)$/i;
const SENSITIVE_QUERY =
  /^(api[_-]?key|hapikey|access[_-]?token|refresh[_-]?token|client[_-]?secret|password|token)$/i;

function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length > 0 && out.includes(secret)) out = out.split(secret).join(REDACTED);
  }
  return redactSecrets(out);
}

/**
 * Collapse id-like path segments (numbers, emails, long ids) into `:id`, so
 * counters count endpoints rather than records.
 */
export function endpointOf(path: string): string {
  return path
    .split('/')
    .map((segment) =>
      /^\d+$/.test(segment) ||
      segment.includes('@') ||
      segment.includes('%40') ||
      (segment.length >= 12 && /\d/.test(segment))
        ? ':id'
        : segment,
    )
    .join('/');
}

function toResponse(canned: CannedResponse, extraHeaders: Readonly<Record<string, string>> = {}): Response {
  return new Response(canned.body, {
    status: canned.status,
    headers: { ...canned.headers, ...extraHeaders },
  });
}

/** Options of {@link wrapEmulator}. */
export interface WrapOptions {
  /** Faults in force from the start. */
  readonly faults?: FaultOptions;
  /** Extra work to do on close (the vendor's own timers, webhooks). */
  readonly onClose?: () => Promise<void> | void;
  /** Extra work to do on reset. */
  readonly onReset?: () => void;
  /** Most requests kept in the log; the oldest are dropped first. Default 10,000. */
  readonly maxRecordedRequests?: number;
  /** How injected faults are answered. Default: the vendor's, from its emulator definition. */
  readonly faultResponses?: VendorFaultResponses;
}

/**
 * Wrap a vendor emulator with the shared layer the vendor app knows nothing
 * about: request recording (secrets redacted), seeded fault injection,
 * per-endpoint counters (`<vendor>.http.requests`, `<vendor>.http.endpoint.<METHOD> <path>`,
 * `<vendor>.http.status.<code>`, `<vendor>.faults.<kind>`).
 *
 * @throws ConfigurationError when a fault setting is invalid.
 */
export function wrapEmulator<E extends VendorEmulator>(
  emulator: E,
  context: EmulatorContext,
  options: WrapOptions = {},
): WrappedEmulator<E> {
  const vendor = emulator.vendor;
  const responses = options.faultResponses ?? definitionOf(vendor as string)?.faultResponses;
  if (responses === undefined) {
    throw new ConfigurationError('invalid_configuration', {
      issues: [
        {
          field: 'faultResponses',
          reason: `vendor "${String(vendor)}" has no emulator definition; pass faultResponses`,
        },
      ],
    });
  }
  const { counters, clock } = context;
  let faults: FaultOptions = validateFaults(options.faults ?? {});
  let random = seededRandom(hashString(`faults|${vendor}`, context.seed));
  const queued: FaultKind[] = [];
  let burstLeft = 0;
  let requestNumber = 0;
  const recorded: RecordedRequest[] = [];
  const maxRecorded = parseOptions(
    z.object({ maxRecordedRequests: maxRecordedRequestsSchema.default(10_000) }),
    { maxRecordedRequests: options.maxRecordedRequests },
    { name: 'wrapEmulator' },
  ).maxRecordedRequests;
  const hangs = new Set<() => void>();
  const secrets = () => Object.values(emulator.credentials);

  const record = (
    request: Request,
    path: string,
    query: URLSearchParams,
    body: string,
    status: number,
    at: number,
  ) => {
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = SENSITIVE_HEADERS.test(name) ? REDACTED : redactText(value, secrets());
    });
    const cleanQuery: Record<string, string> = {};
    for (const [name, value] of query) {
      cleanQuery[name] = SENSITIVE_QUERY.test(name) ? REDACTED : redactText(value, secrets());
    }
    if (recorded.length >= maxRecorded) recorded.splice(0, recorded.length - maxRecorded + 1);
    recorded.push({
      vendor,
      method: request.method,
      path,
      query: cleanQuery,
      headers,
      body: redactText(body, secrets()),
      status,
      at,
    });
  };

  const decide = (pathname: string): FaultKind | undefined => {
    // A queued expired-token answer waits for a request that carries a token: token endpoints issue
    // tokens and never answer "token expired" (HubSpot refuses a refresh with a 400, Salesforce with invalid_grant).
    const forced = queued[0];
    if (forced !== undefined && !(forced === 'expiredToken' && isTokenEndpoint(pathname))) {
      queued.shift();
      return forced;
    }
    if (burstLeft > 0) {
      burstLeft--;
      return 'rateLimited';
    }
    const roll = () => random();
    if (faults.connectionResetRate && roll() < faults.connectionResetRate) return 'connectionReset';
    if (faults.hangRate && roll() < faults.hangRate) return 'hang';
    if (faults.rateLimitBurst && roll() < faults.rateLimitBurst.rate) {
      burstLeft = (faults.rateLimitBurst.length ?? 5) - 1;
      return 'rateLimited';
    }
    if (faults.serverErrorRate && roll() < faults.serverErrorRate) return 'serverError';
    // Token endpoints issue tokens; they never answer "token expired" (HubSpot refuses a refresh with a 400).
    if (faults.expiredTokenRate && !isTokenEndpoint(pathname) && roll() < faults.expiredTokenRate) {
      return 'expiredToken';
    }
    if (faults.malformedJsonRate && roll() < faults.malformedJsonRate) return 'malformedJson';
    return undefined;
  };

  const reset = (env: NodeBindings | undefined): Response => {
    env?.incoming?.socket?.destroy();
    const response = new Response(null, { status: 502 });
    resets.add(response);
    return response;
  };

  const hang = (request: Request): Promise<void> =>
    new Promise<void>((resolve) => {
      const release = () => {
        hangs.delete(release);
        clearTimeout(timer);
        request.signal.removeEventListener('abort', release);
        resolve();
      };
      const timer = setTimeout(release, clock.toRealMs(faults.hangMs ?? 600_000));
      request.signal.addEventListener('abort', release, { once: true });
      hangs.add(release);
    });

  const app = new Hono<{ Bindings: NodeBindings }>();
  app.all('*', async (c) => {
    const request = c.req.raw;
    const url = new URL(request.url);
    const at = clock.now();
    const body = request.method === 'GET' || request.method === 'HEAD' ? '' : await request.clone().text();
    requestNumber++;
    counters.increment(`${vendor}.http.requests`);
    counters.increment(`${vendor}.http.endpoint.${request.method} ${endpointOf(url.pathname)}`);
    const correlationId = `emu-${vendor}-${requestNumber}`;

    const latency = sampleLatency(faults.latencyMs, () => random());
    if (latency > 0) await clock.sleep(latency);

    const kind = decide(url.pathname);
    let response: Response;
    if (kind !== undefined) counters.increment(`${vendor}.faults.${kind}`);
    if (kind === 'connectionReset' || kind === 'hang') {
      if (kind === 'hang') await hang(request);
      record(request, url.pathname, url.searchParams, body, 0, at);
      return reset(c.env);
    }
    // Headers the vendor puts on every answer (Salesforce: Sforce-Limit-Info) go on injected answers too.
    const vendorHeaders = (): Readonly<Record<string, string>> => emulator.faultHeaders?.(url.pathname) ?? {};
    if (kind === 'rateLimited') {
      response = toResponse(
        responses.rateLimited(url.pathname, correlationId, faults.rateLimitBurst?.retryAfterSeconds),
        vendorHeaders(),
      );
    } else if (kind === 'serverError') {
      response = toResponse(
        responses.serverError([500, 502, 503][Math.floor(random() * 3)]!, correlationId),
        vendorHeaders(),
      );
    } else if (kind === 'expiredToken') {
      response = toResponse(responses.expiredToken(correlationId), vendorHeaders());
    } else {
      response = await emulator.app.fetch(request, c.env);
      if (kind === 'malformedJson') {
        const text = await response.text();
        const headers = new Headers(response.headers);
        headers.set('content-type', 'application/json; charset=utf-8');
        headers.delete('content-length');
        const cut = text.length > 2 ? text.slice(0, Math.max(1, Math.floor(text.length / 2))) : '{"';
        response = new Response(cut, { status: response.status, headers });
      }
    }
    counters.increment(`${vendor}.http.status.${response.status}`);
    record(request, url.pathname, url.searchParams, body, response.status, at);
    return response;
  });

  const releaseHangs = () => {
    for (const release of [...hangs]) release();
  };

  return {
    vendor,
    emulator,
    app,
    context,
    counters,
    credentials: emulator.credentials,
    requests: {
      all: () => [...recorded],
      find: (method, path) =>
        recorded.filter(
          (item) =>
            item.method === method.toUpperCase() &&
            (typeof path === 'string' ? item.path.startsWith(path) : path.test(item.path)),
        ),
      clear: () => {
        recorded.length = 0;
      },
    },
    faults: {
      configure: (next) => {
        faults = validateFaults(next);
        burstLeft = 0;
      },
      current: () => faults,
      queue: (kind, count = 1) => {
        for (let index = 0; index < count; index++) queued.push(kind);
      },
      clear: () => {
        faults = {};
        queued.length = 0;
        burstLeft = 0;
      },
    },
    fetch: async (request, env) => app.fetch(request, env),
    reset: () => {
      emulator.reset();
      options.onReset?.();
      recorded.length = 0;
      queued.length = 0;
      burstLeft = 0;
      requestNumber = 0;
      random = seededRandom(hashString(`faults|${vendor}`, context.seed));
      for (const [name] of Object.entries(counters.snapshot())) {
        if (name.startsWith(`${vendor}.`)) counters.increment(name, -counters.get(name));
      }
    },
    close: async () => {
      releaseHangs();
      await options.onClose?.();
    },
  };
}
