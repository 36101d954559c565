import { parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import type { DashboardScope } from './session.js';
import type { DashboardSources } from './sources.js';

/** What {@link DashboardOptions.verifyKey} answers for an accepted key. */
export interface VerifiedKey {
  /** The key's scopes: `read` (or `admin`) opens the pages, `admin` redrives. */
  readonly scopes: readonly DashboardScope[];
}

/** Options of `createDashboard`. */
export interface DashboardOptions {
  /** Where the data comes from; each source is optional. */
  readonly sources: DashboardSources;
  /**
   * Checks an API key typed into the login form: its scopes, or `null` for
   * a key that is unknown, revoked or wrong. Called once per login, never
   * per page (the session cookie carries the scopes).
   */
  readonly verifyKey: (key: string) => Promise<VerifiedKey | null>;
  /** Secret of the session cookie's and CSRF token's HMAC: at least 32 characters. Rotate it to end every session. */
  readonly sessionSecret: string;
  /** Where the host mounts the dashboard (links and the cookie path). Default `/dashboard`. */
  readonly basePath?: string;
  /** How long a session lasts, in ms. Default 8 hours. */
  readonly sessionTtlMs?: number;
  /** Set the cookie's `Secure` flag. Default `true` (browsers accept it on `http://localhost` too). */
  readonly secureCookie?: boolean;
  /** Seconds between reloads of the runs page while a run is running (a meta refresh). Default 5; 0 turns it off. */
  readonly refreshSeconds?: number;
  /** Dead letters per page. Default 50. */
  readonly pageSize?: number;
  /** Clock, in epoch ms. Default `Date.now`. */
  readonly now?: () => number;
  /**
   * Told about every error a source or `verifyKey` threw (`what` names it:
   * `runs`, `redrive`, `verifyKey`...), for the host's log. Pages show only
   * a leadpipe error's code and scrubbed message, or the error's class name.
   */
  readonly onError?: (error: unknown, what: string) => void;
}

const fn = (reason: string) =>
  z.custom<(...args: never[]) => unknown>((value) => typeof value === 'function', { message: reason });
const source = (...methods: string[]) =>
  z.custom<object>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      methods.every((name) => typeof (value as Record<string, unknown>)[name] === 'function'),
    { message: `must be an object with ${methods.join(', ')}` },
  );

const schema = z.strictObject({
  sources: z.strictObject({
    runs: source('list').optional(),
    campaigns: source('list').optional(),
    deadLetters: source('list', 'size', 'redrive').optional(),
    leads: source('count').optional(),
  }),
  verifyKey: fn('must be a function (key) => Promise<{ scopes } | null>'),
  sessionSecret: z.string().min(32, 'must be at least 32 characters'),
  basePath: z
    .string()
    .regex(
      /^(\/[A-Za-z0-9._~-]+)*$/,
      'must start with / and not end with / (such as /dashboard), or be empty',
    )
    .default('/dashboard'),
  sessionTtlMs: z
    .number()
    .int()
    .positive()
    .default(8 * 3_600_000),
  secureCookie: z.boolean().default(true),
  refreshSeconds: z.number().int().min(0).default(5),
  pageSize: z.number().int().min(1).max(500).default(50),
  now: fn('must be a function returning epoch ms').optional(),
  onError: fn('must be a function (error, what) => void').optional(),
});

/** The options with defaults applied. */
export interface ResolvedDashboardOptions {
  readonly sources: DashboardSources;
  readonly verifyKey: DashboardOptions['verifyKey'];
  readonly sessionSecret: string;
  readonly basePath: string;
  readonly sessionTtlMs: number;
  readonly secureCookie: boolean;
  readonly refreshSeconds: number;
  readonly pageSize: number;
  readonly now: () => number;
  readonly onError: (error: unknown, what: string) => void;
}

/** Checks the options: a `ConfigurationError` naming each bad field (never echoing the secret). */
export function resolveOptions(options: DashboardOptions): ResolvedDashboardOptions {
  const parsed = parseOptions(schema, options, { name: 'createDashboard' });
  return {
    ...parsed,
    sources: options.sources,
    verifyKey: options.verifyKey,
    now: options.now ?? Date.now,
    // A logger that throws must not turn a page into a crash.
    onError: (error, what) => {
      try {
        options.onError?.(error, what);
      } catch {
        // Nothing to do: the page already says what failed.
      }
    },
  };
}
