import type { RateLimitState, RateLimitWindowState } from '../contracts/rate-limit.js';
import { getHeader, type HeadersInput } from '../webhooks/headers.js';
import { parseHttpDate, parseRetryAfter } from './retry-after.js';

/**
 * How a reset header is written:
 * - `auto`: guessed by magnitude: at least 1e12 is epoch milliseconds, at
 *   least 1e9 is epoch seconds, anything smaller is seconds from now; an
 *   HTTP date is read as a date;
 * - `epoch-seconds` / `epoch-milliseconds`: a point in time;
 * - `delta-seconds` / `delta-milliseconds`: time from now;
 * - `http-date`: an HTTP date.
 */
export type RateLimitResetFormat =
  | 'auto'
  | 'epoch-seconds'
  | 'epoch-milliseconds'
  | 'delta-seconds'
  | 'delta-milliseconds'
  | 'http-date';

/** The headers that describe one vendor window. Names are matched case-insensitively. */
export interface RateLimitWindowHeaders {
  /** The window's name in the result, such as `minute`, `day` or `10s`. */
  readonly name: string;
  /** Header holding the window's limit. */
  readonly limit?: string;
  /** Header holding the requests left. */
  readonly remaining?: string;
  /** Header holding the requests used; gives `remaining` as `limit - used` when no remaining header was sent. */
  readonly used?: string;
  /** Header holding when the window resets. */
  readonly reset?: string;
  /** How the reset header is written. Defaults to `auto`. */
  readonly resetFormat?: RateLimitResetFormat;
  /** The window's length, when fixed and known. */
  readonly intervalMs?: number;
  /** Header holding the window's length in milliseconds (as HubSpot's `X-HubSpot-RateLimit-Interval-Milliseconds`). */
  readonly intervalMsHeader?: string;
}

/** Reads one header by name, case-insensitively. */
export type HeaderReader = (name: string) => string | undefined;

/** What a custom parse function found. */
export interface PartialRateLimitState {
  /** Windows found; appended to the windows found from the mapping's header names. */
  readonly windows?: readonly RateLimitWindowObservation[];
  /** How long to wait, in ms, when the headers said. */
  readonly retryAfterMs?: number;
}

/**
 * Which response headers describe a vendor's limits. Vendor mappings belong
 * in the adapters; this package exports only the generic ones
 * ({@link xRateLimitHeaders}, {@link ietfRateLimitHeaders},
 * {@link defaultRateLimitHeaders}).
 */
export interface RateLimitHeaderMapping {
  /** One entry per window the vendor reports with plain numeric headers. */
  readonly windows?: readonly RateLimitWindowHeaders[];
  /**
   * Headers read as `Retry-After` (delta seconds or an HTTP date), first
   * found wins. Defaults to `['retry-after']`; `false` reads none.
   */
  readonly retryAfter?: readonly string[] | false;
  /**
   * Parse formats plain header names cannot express, such as Salesforce's
   * `Sforce-Limit-Info: api-usage=25/15000`. May return `undefined` when its
   * headers are absent.
   */
  readonly parse?: (header: HeaderReader, now: number) => PartialRateLimitState | undefined;
}

/**
 * One window as reported, with its length when the headers said it. A
 * {@link RateLimitWindowState} with one optional field more.
 */
export interface RateLimitWindowObservation extends RateLimitWindowState {
  /** The window's length in milliseconds, when known. */
  readonly intervalMs?: number;
}

/** What {@link parseRateLimitHeaders} returns: a {@link RateLimitState} whose windows may carry their length. */
export interface ParsedRateLimitState extends RateLimitState {
  /** One entry per window the headers described. */
  readonly windows: readonly RateLimitWindowObservation[];
}

const NUMBER = /^\s*(\d+(?:\.\d+)?)\s*(?:[;,]|$)/;

/** A non-negative number at the start of a header value (before any `;` or `,`), or `undefined`. */
function parseCount(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const match = NUMBER.exec(value);
  if (!match) return undefined;
  const parsed = Number(match[1]);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/**
 * Turn a reset header value into epoch milliseconds.
 *
 * @param value - the header value.
 * @param format - how it is written; see {@link RateLimitResetFormat}.
 * @param now - the current time in epoch milliseconds, for relative values.
 */
export function parseResetValue(
  value: string | null | undefined,
  format: RateLimitResetFormat = 'auto',
  now: number = Date.now(),
): number | undefined {
  if (typeof value !== 'string') return undefined;
  if (format === 'http-date') return parseHttpDate(value);
  const number = parseCount(value);
  if (number === undefined) return format === 'auto' ? parseHttpDate(value) : undefined;
  switch (format) {
    case 'epoch-seconds':
      return Math.round(number * 1000);
    case 'epoch-milliseconds':
      return Math.round(number);
    case 'delta-seconds':
      return now + Math.round(number * 1000);
    case 'delta-milliseconds':
      return now + Math.round(number);
    default:
      if (number >= 1e12) return Math.round(number);
      if (number >= 1e9) return Math.round(number * 1000);
      return now + Math.round(number * 1000);
  }
}

/** A conventional window name for a length in seconds: `second`, `minute`, `hour`, `day`, else `<n>s`. */
export function windowNameForSeconds(seconds: number): string {
  switch (seconds) {
    case 1:
      return 'second';
    case 60:
      return 'minute';
    case 3600:
      return 'hour';
    case 86_400:
      return 'day';
    default:
      return `${seconds}s`;
  }
}

function compact(window: {
  name: string;
  limit?: number | undefined;
  remaining?: number | undefined;
  resetAt?: number | undefined;
  intervalMs?: number | undefined;
}): RateLimitWindowObservation {
  const out: { -readonly [K in keyof RateLimitWindowObservation]: RateLimitWindowObservation[K] } = {
    name: window.name,
  };
  if (window.limit !== undefined) out.limit = window.limit;
  if (window.remaining !== undefined) out.remaining = window.remaining;
  if (window.resetAt !== undefined) out.resetAt = window.resetAt;
  if (window.intervalMs !== undefined) out.intervalMs = window.intervalMs;
  return out;
}

function readWindow(
  spec: RateLimitWindowHeaders,
  header: HeaderReader,
  now: number,
): RateLimitWindowObservation | undefined {
  const limit = spec.limit === undefined ? undefined : parseCount(header(spec.limit));
  let remaining = spec.remaining === undefined ? undefined : parseCount(header(spec.remaining));
  if (remaining === undefined && spec.used !== undefined && limit !== undefined) {
    const used = parseCount(header(spec.used));
    if (used !== undefined) remaining = Math.max(0, limit - used);
  }
  const resetAt =
    spec.reset === undefined
      ? undefined
      : parseResetValue(header(spec.reset), spec.resetFormat ?? 'auto', now);
  if (limit === undefined && remaining === undefined && resetAt === undefined) return undefined;
  const intervalFromHeader =
    spec.intervalMsHeader === undefined ? undefined : parseCount(header(spec.intervalMsHeader));
  return compact({
    name: spec.name,
    limit,
    remaining,
    resetAt,
    intervalMs: intervalFromHeader ?? spec.intervalMs,
  });
}

interface IetfItem {
  readonly name?: string;
  readonly params: ReadonlyMap<string, string>;
  readonly leadingNumber?: number;
}

/** Split a structured-field-like list (`"a";q=1;w=2, b;q=3`) into items. */
function parseIetfList(value: string): IetfItem[] {
  const items: IetfItem[] = [];
  for (const rawItem of value.split(',')) {
    const parts = rawItem.split(';').map((part) => part.trim());
    const head = parts.shift();
    if (head === undefined || head === '') continue;
    const params = new Map<string, string>();
    for (const part of parts) {
      const eq = part.indexOf('=');
      if (eq > 0)
        params.set(
          part.slice(0, eq).trim().toLowerCase(),
          part
            .slice(eq + 1)
            .trim()
            .replace(/^"|"$/g, ''),
        );
    }
    const leadingNumber = parseCount(head);
    if (leadingNumber !== undefined) items.push({ params, leadingNumber });
    else if (head.includes('=')) {
      const eq = head.indexOf('=');
      params.set(
        head.slice(0, eq).trim().toLowerCase(),
        head
          .slice(eq + 1)
          .trim()
          .replace(/^"|"$/g, ''),
      );
      items.push({ params });
    } else items.push({ name: head.replace(/^"|"$/g, ''), params });
  }
  return items;
}

interface IetfPolicy {
  name: string;
  limit?: number;
  windowSeconds?: number;
}

/**
 * Parse the IETF `RateLimit` headers, in every draft still seen: the
 * separate `RateLimit-Limit` / `-Remaining` / `-Reset` fields (reset in
 * delta seconds), the combined `RateLimit: limit=, remaining=, reset=` field,
 * the named `RateLimit: "default";r=;t=` field, and `RateLimit-Policy`
 * (`100;w=60` or `"default";q=100;w=60`). Each policy becomes a window, named
 * by the policy name or its length (`minute` for `w=60`).
 */
export function parseIetfRateLimitHeaders(
  header: HeaderReader,
  now: number,
): PartialRateLimitState | undefined {
  const policies: IetfPolicy[] = [];
  const policyHeader = header('ratelimit-policy');
  if (policyHeader !== undefined) {
    for (const item of parseIetfList(policyHeader)) {
      const windowSeconds = parseCount(item.params.get('w'));
      const limit = item.leadingNumber ?? parseCount(item.params.get('q'));
      policies.push({
        name: item.name ?? (windowSeconds === undefined ? 'default' : windowNameForSeconds(windowSeconds)),
        limit,
        windowSeconds,
      });
    }
  }

  let current: { name?: string; limit?: number; remaining?: number; resetAt?: number } | undefined;
  const limitHeader = header('ratelimit-limit');
  const remainingHeader = header('ratelimit-remaining');
  const resetHeader = header('ratelimit-reset');
  if (limitHeader !== undefined || remainingHeader !== undefined || resetHeader !== undefined) {
    const limit = parseCount(limitHeader);
    // Drafts up to 05 listed policies in RateLimit-Limit itself: "100, 100;w=60".
    if (limitHeader !== undefined && policyHeader === undefined) {
      for (const item of parseIetfList(limitHeader).slice(1)) {
        const windowSeconds = parseCount(item.params.get('w'));
        if (item.leadingNumber !== undefined && windowSeconds !== undefined)
          policies.push({
            name: windowNameForSeconds(windowSeconds),
            limit: item.leadingNumber,
            windowSeconds,
          });
      }
    }
    current = {
      limit,
      remaining: parseCount(remainingHeader),
      resetAt: parseResetValue(resetHeader, 'auto', now),
    };
  }
  const combined = header('ratelimit');
  if (combined !== undefined && current === undefined) {
    const items = parseIetfList(combined);
    const first = items[0];
    if (first !== undefined) {
      // Draft 07 is a dictionary spread over items ("limit=100, remaining=50, reset=30");
      // later drafts name the policy first ("default";r=50;t=30).
      const params =
        first.name === undefined
          ? new Map(items.flatMap((item) => (item.name === undefined ? [...item.params] : [])))
          : first.params;
      const reset = params.get('t') ?? params.get('reset');
      current = {
        name: first.name,
        limit: parseCount(params.get('limit')),
        remaining: parseCount(params.get('r') ?? params.get('remaining')),
        resetAt: reset === undefined ? undefined : parseResetValue(reset, 'auto', now),
      };
    }
  }

  const windows: RateLimitWindowObservation[] = [];
  let attached = current === undefined;
  for (const policy of policies) {
    const matches =
      !attached &&
      current !== undefined &&
      (current.name !== undefined
        ? current.name === policy.name
        : policies.length === 1 || (current.limit !== undefined && current.limit === policy.limit));
    const intervalMs = policy.windowSeconds === undefined ? undefined : policy.windowSeconds * 1000;
    if (matches && current !== undefined) {
      attached = true;
      windows.push(
        compact({
          name: policy.name,
          limit: current.limit ?? policy.limit,
          remaining: current.remaining,
          resetAt: current.resetAt,
          intervalMs,
        }),
      );
    } else windows.push(compact({ name: policy.name, limit: policy.limit, intervalMs }));
  }
  if (!attached && current !== undefined) {
    const { limit, remaining, resetAt } = current;
    if (limit !== undefined || remaining !== undefined || resetAt !== undefined)
      windows.unshift(compact({ name: current.name ?? 'default', limit, remaining, resetAt }));
  }
  return windows.length === 0 ? undefined : { windows };
}

/** The widespread `X-RateLimit-Limit` / `-Remaining` / `-Reset` headers as one window named `default`; reset auto-detected. */
export const xRateLimitHeaders: RateLimitHeaderMapping = {
  windows: [
    {
      name: 'default',
      limit: 'x-ratelimit-limit',
      remaining: 'x-ratelimit-remaining',
      reset: 'x-ratelimit-reset',
    },
  ],
};

/** The IETF `RateLimit` headers; see {@link parseIetfRateLimitHeaders}. */
export const ietfRateLimitHeaders: RateLimitHeaderMapping = { parse: parseIetfRateLimitHeaders };

/** Both {@link xRateLimitHeaders} and {@link ietfRateLimitHeaders}, plus `Retry-After`: what the HTTP client reads by default. */
export const defaultRateLimitHeaders: RateLimitHeaderMapping = {
  windows: xRateLimitHeaders.windows,
  parse: parseIetfRateLimitHeaders,
};

/**
 * Read a response's rate-limit headers into one {@link RateLimitState}
 * shape, whatever the vendor calls them. `retryAfterMs` comes from
 * `Retry-After` (or the mapping's own headers); when there is none, from the
 * latest reset among windows with nothing remaining.
 *
 * @param headers - the response headers.
 * @param mapping - which headers to read; defaults to {@link defaultRateLimitHeaders}.
 * @param now - the current time in epoch milliseconds.
 * @returns the state, or `undefined` when no header the mapping names held a usable value.
 */
export function parseRateLimitHeaders(
  headers: HeadersInput,
  mapping: RateLimitHeaderMapping = defaultRateLimitHeaders,
  now: number = Date.now(),
): ParsedRateLimitState | undefined {
  const header: HeaderReader = (name) => getHeader(headers, name);
  const windows: RateLimitWindowObservation[] = [];
  for (const spec of mapping.windows ?? []) {
    const window = readWindow(spec, header, now);
    if (window !== undefined) windows.push(window);
  }
  const custom = mapping.parse?.(header, now);
  if (custom?.windows !== undefined) windows.push(...custom.windows);

  let retryAfterMs: number | undefined;
  for (const name of mapping.retryAfter === false ? [] : (mapping.retryAfter ?? ['retry-after'])) {
    retryAfterMs = parseRetryAfter(header(name), now);
    if (retryAfterMs !== undefined) break;
  }
  retryAfterMs ??= custom?.retryAfterMs;
  if (retryAfterMs === undefined) {
    for (const window of windows) {
      if (window.remaining === 0 && window.resetAt !== undefined)
        retryAfterMs = Math.max(retryAfterMs ?? 0, window.resetAt - now, 0);
    }
  }
  if (windows.length === 0 && retryAfterMs === undefined) return undefined;
  return retryAfterMs === undefined ? { windows } : { windows, retryAfterMs };
}
