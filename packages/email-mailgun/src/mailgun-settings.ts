import {
  type Clock,
  type CrmEventDeduper,
  parseOptions,
  type RateLimitPolicy,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** Which Mailgun region the sending domain lives in: `us` (api.mailgun.net) or `eu` (api.eu.mailgun.net). */
export type MailgunRegion = 'us' | 'eu';

/** Settings of {@link createMailgun}. */
export interface MailgunProviderSettings {
  /**
   * Mailgun private API key (basic auth `api:KEY`). Defaults to the
   * `MAILGUN_API_KEY` environment variable, read when a call is made.
   */
  readonly apiKey?: string;
  /**
   * The sending domain, such as `mg.example.com`. Defaults to the
   * `MAILGUN_DOMAIN` environment variable, read when a call is made.
   */
  readonly domain?: string;
  /**
   * The HTTP webhook signing key (Mailgun's "Webhook Signing Key", not the
   * API key) that verifies event webhooks and forwarded replies. Defaults to
   * the `MAILGUN_WEBHOOK_SIGNING_KEY` environment variable, read when a
   * webhook is parsed.
   */
  readonly webhookSigningKey?: string;
  /** The region of the domain. Default `us`. Not together with `baseUrl`. */
  readonly region?: MailgunRegion;
  /** Origin replacing Mailgun's (a proxy, or the testkit emulator). Not together with `region`. */
  readonly baseUrl?: string;
  /** Provider id used for limits, reports and dead letters. Default `mailgun`. */
  readonly providerId?: string;
  /** Time allowed per request, in ms. Default 30 000. */
  readonly timeoutMs?: number;
  /**
   * Limits the campaign engine paces sends with. Default `{ perMinute: 1000 }`:
   * Mailgun's real limits depend on the plan and the domain's reputation; set yours.
   */
  readonly rateLimits?: RateLimitPolicy;
  /** The fetch implementation. Default the global `fetch`. */
  readonly fetch?: typeof globalThis.fetch;
  /** Keep failed responses' bodies (truncated, scrubbed) on errors. Default `false`: they can hold addresses. */
  readonly captureResponseBody?: boolean;
  /** The clock webhook timestamps and rate-limit resets are read against. Default `Date.now`. */
  readonly now?: Clock;
  /**
   * How far a webhook's signed timestamp may be from `now`, either way, in ms.
   * Default 300 000 (5 minutes). Older deliveries are refused as stale.
   */
  readonly webhookToleranceMs?: number;
  /**
   * Remembers webhook tokens already accepted, so a captured delivery cannot
   * be replayed. Default: an in-memory LRU of `webhookMaxTokens` tokens, each
   * kept for twice the tolerance. Behind a load balancer, pass one on a
   * shared store (Redis `SET NX` with a TTL).
   */
  readonly webhookReplayGuard?: CrmEventDeduper;
  /** Most tokens the default replay guard remembers. Default 100 000. */
  readonly webhookMaxTokens?: number;
  /**
   * Largest webhook body read, in bytes; a larger one is refused
   * (`payload_too_large`) before its signature is checked. Default 1 MiB.
   */
  readonly webhookMaxBodyBytes?: number;
  /** Send every message with `o:testmode=yes` (Mailgun accepts it but does not deliver). Default `false`. */
  readonly testMode?: boolean;
}

const MAX_TIMER_MS = 2_147_483_647;

function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const url = new URL(value);
    return (
      (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === ''
    );
  } catch {
    return false;
  }
}

const positiveMs = z
  .number('must be a positive number of milliseconds')
  .refine(
    (value) => Number.isFinite(value) && value > 0 && value <= MAX_TIMER_MS,
    `must be a positive number of milliseconds up to ${MAX_TIMER_MS}`,
  );

const wholeCount = (what: string) =>
  z
    .number(`must be a whole number of ${what}, at least 1`)
    .int(`must be a whole number of ${what}, at least 1`)
    .min(1, `must be a whole number of ${what}, at least 1`);

const secretText = (variable: string) =>
  z
    .string(`must be a string (or leave it out to read ${variable})`)
    .refine((value) => value.trim() === value, 'must not start or end with whitespace');

const settingsSchema = z
  .object({
    apiKey: secretText('MAILGUN_API_KEY').optional(),
    domain: z
      .string('must be a domain name such as mg.example.com')
      .regex(
        /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i,
        'must be a domain name such as mg.example.com',
      )
      .optional(),
    webhookSigningKey: secretText('MAILGUN_WEBHOOK_SIGNING_KEY').optional(),
    region: z.enum(['us', 'eu'], 'must be "us" or "eu"').optional(),
    baseUrl: z
      .string('must be an absolute http:// or https:// URL without credentials')
      .refine(isHttpUrl, 'must be an absolute http:// or https:// URL without credentials')
      .optional(),
    providerId: z
      .string('must be a non-empty string of letters, digits, ".", "_" or "-"')
      .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'must be a non-empty string of letters, digits, ".", "_" or "-"')
      .optional(),
    timeoutMs: positiveMs.optional(),
    rateLimits: z
      .custom<RateLimitPolicy>(
        (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
        'must be a rate-limit policy such as { perMinute: 1000 }',
      )
      .optional(),
    fetch: z
      .custom<typeof globalThis.fetch>((value) => typeof value === 'function', 'must be a function')
      .optional(),
    captureResponseBody: z.boolean('must be true or false').optional(),
    now: z
      .custom<Clock>(
        (value) => typeof value === 'function',
        'must be a Clock (a function returning epoch ms)',
      )
      .optional(),
    webhookToleranceMs: positiveMs.optional(),
    webhookReplayGuard: z
      .custom<CrmEventDeduper>(
        (value) => typeof (value as { seen?: unknown } | null)?.seen === 'function',
        'must have a seen(providerId, token) method',
      )
      .optional(),
    webhookMaxTokens: wholeCount('tokens').optional(),
    webhookMaxBodyBytes: wholeCount('bytes').optional(),
    testMode: z.boolean('must be true or false').optional(),
  })
  .strict()
  .superRefine((settings, context) => {
    if (settings.region !== undefined && settings.baseUrl !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['baseUrl'],
        message:
          'cannot be combined with region: pass region for Mailgun’s own hosts, or baseUrl for another origin',
      });
    }
  });

/**
 * Check {@link MailgunProviderSettings} with zod through `parseOptions`.
 *
 * @throws ConfigurationError `invalid_configuration` naming every bad setting.
 */
export function checkMailgunSettings(settings: MailgunProviderSettings): void {
  const providerId =
    typeof (settings as { providerId?: unknown } | undefined)?.providerId === 'string'
      ? settings.providerId
      : 'mailgun';
  parseOptions(settingsSchema, settings, { name: 'createMailgun', providerId });
}
