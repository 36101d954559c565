import { parseOptions, type RateLimitPolicy } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** Settings of {@link createSmtp}. */
export interface SmtpProviderSettings {
  /** The SMTP server's host name, such as `smtp.example.com`. Defaults to `SMTP_HOST`, read at the first send. */
  readonly host?: string;
  /** The server's port. Default `SMTP_PORT`, else 465 with `secure`, else 587. */
  readonly port?: number;
  /**
   * Implicit TLS from the first byte (port 465). Default `false`: the
   * connection starts in clear text and upgrades with STARTTLS.
   */
  readonly secure?: boolean;
  /**
   * Refuse to send unless the server upgrades the connection with STARTTLS.
   * Default `true` when `secure` is off, so credentials and messages never
   * cross the network in clear text. Set `false` only for a local relay
   * (Mailpit, a sidecar Postfix) on a trusted network.
   */
  readonly requireTLS?: boolean;
  /** Verify the server's certificate. Default `true`. */
  readonly tlsRejectUnauthorized?: boolean;
  /** User name for SMTP AUTH. Default `SMTP_USER`; without one, no AUTH is attempted. */
  readonly user?: string;
  /** Password for SMTP AUTH. Default `SMTP_PASS`; required when a user is set. Never in errors or logs. */
  readonly pass?: string;
  /** Connections kept open to the server at most. Default 5. */
  readonly maxConnections?: number;
  /** Messages sent over one connection before it is replaced. Default 100. */
  readonly maxMessagesPerConnection?: number;
  /** Time allowed to open the TCP (and TLS) connection, in ms. Default 30 000. */
  readonly connectionTimeoutMs?: number;
  /** Time allowed for the server's greeting once connected, in ms. Default 30 000. */
  readonly greetingTimeoutMs?: number;
  /** Idle time on the socket before a command is given up, in ms. Default 60 000. */
  readonly socketTimeoutMs?: number;
  /** The host name this client announces in `EHLO`. Default the machine's host name. */
  readonly clientName?: string;
  /** The header carrying the send ledger key. Default `X-Leadpipe-Ledger-Key`. */
  readonly ledgerKeyHeader?: string;
  /** Provider id used for limits, reports and dead letters. Default `smtp`. */
  readonly providerId?: string;
  /**
   * Limits the campaign engine paces sends with. Default `{ perMinute: 600, maxConcurrent: 5 }`:
   * a relay's real limits are in its documentation or its operator's head; set yours.
   */
  readonly rateLimits?: RateLimitPolicy;
}

const MAX_TIMER_MS = 2_147_483_647;
const positiveMs = z
  .number('must be a whole number of milliseconds, at least 1')
  .int('must be a whole number of milliseconds, at least 1')
  .min(1, 'must be a whole number of milliseconds, at least 1')
  .max(MAX_TIMER_MS, `must be at most ${MAX_TIMER_MS} ms`);
const count = (what: string) =>
  z
    .number(`must be a whole number of ${what}, at least 1`)
    .int(`must be a whole number of ${what}, at least 1`)
    .min(1, `must be a whole number of ${what}, at least 1`)
    .max(1_000, `must be at most 1000 ${what}`);
const oneLine = (what: string) =>
  z
    .string(`must be ${what}`)
    .refine((value) => value.trim() !== '' && !/[\r\n]/.test(value), `must be ${what}`);

/** A header name: RFC 5322 field-name characters. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,76}$/;

const settingsSchema = z
  .object({
    host: oneLine('a host name such as smtp.example.com').optional(),
    port: z
      .number('must be a port number from 1 to 65535')
      .int('must be a port number from 1 to 65535')
      .min(1, 'must be a port number from 1 to 65535')
      .max(65_535, 'must be a port number from 1 to 65535')
      .optional(),
    secure: z.boolean('must be true or false').optional(),
    requireTLS: z.boolean('must be true or false').optional(),
    tlsRejectUnauthorized: z.boolean('must be true or false').optional(),
    user: oneLine('a user name on one line (or leave it out to read SMTP_USER)').optional(),
    pass: z.string('must be a string (or leave it out to read SMTP_PASS)').optional(),
    maxConnections: count('connections').optional(),
    maxMessagesPerConnection: count('messages').optional(),
    connectionTimeoutMs: positiveMs.optional(),
    greetingTimeoutMs: positiveMs.optional(),
    socketTimeoutMs: positiveMs.optional(),
    clientName: oneLine('a host name on one line').optional(),
    ledgerKeyHeader: z
      .string('must be a header name such as X-Leadpipe-Ledger-Key')
      .regex(HEADER_NAME, 'must be a header name such as X-Leadpipe-Ledger-Key')
      .optional(),
    providerId: z
      .string('must be a non-empty string of letters, digits, ".", "_" or "-"')
      .regex(/^[a-z0-9][a-z0-9._-]*$/i, 'must be a non-empty string of letters, digits, ".", "_" or "-"')
      .optional(),
    rateLimits: z
      .custom<RateLimitPolicy>(
        (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
        'must be a rate-limit policy such as { perMinute: 600 }',
      )
      .optional(),
  })
  .strict()
  .superRefine((settings, context) => {
    if (settings.secure === true && settings.requireTLS === true) {
      context.addIssue({
        code: 'custom',
        path: ['requireTLS'],
        message: 'applies to STARTTLS only; with secure the connection is TLS from the start',
      });
    }
  });

/**
 * Check {@link SmtpProviderSettings} with zod through `parseOptions`.
 *
 * @throws ConfigurationError `invalid_configuration` naming every bad setting.
 */
export function checkSmtpSettings(settings: SmtpProviderSettings): void {
  const providerId =
    typeof (settings as { providerId?: unknown } | undefined)?.providerId === 'string'
      ? settings.providerId
      : 'smtp';
  parseOptions(settingsSchema, settings, { name: 'createSmtp', providerId });
}
