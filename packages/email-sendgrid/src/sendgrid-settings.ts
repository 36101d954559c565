import { createPublicKey, type KeyObject } from 'node:crypto';
import {
  ConfigurationError,
  type CrmEventDeduper,
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  parseOptions,
} from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** SendGrid's global API host. */
export const SENDGRID_BASE_URL = 'https://api.sendgrid.com';
/** SendGrid's EU API host (for EU-pinned subusers). */
export const SENDGRID_EU_BASE_URL = 'https://api.eu.sendgrid.com';
/** Most personalizations (and recipients) one v3 mail send accepts. */
export const SENDGRID_MAX_PERSONALIZATIONS = 1000;

const PROVIDER_ID = /^[a-z0-9][a-z0-9._-]*$/i;

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

const positiveInteger = (reason: string) =>
  z.number({ error: reason }).int({ error: reason }).min(1, { error: reason });
const positiveMs = z
  .number({ error: 'must be a positive number of ms' })
  .positive({ error: 'must be a positive number of ms' })
  .refine(Number.isFinite, { error: 'must be a positive number of ms' });
const aFunction = <T>() =>
  z.custom<T>((value) => typeof value === 'function', { error: 'must be a function' }).optional();

/** Every setting of `createSendgrid`, checked at creation (the API key from the environment at the first call). */
const settingsSchema = z
  .object({
    apiKey: z.string({ error: 'must be a string' }).optional(),
    region: z.enum(['global', 'eu'], { error: "must be 'global' or 'eu'" }).optional(),
    baseUrl: z
      .string({ error: 'must be an absolute http:// or https:// URL' })
      .refine(isAbsoluteHttpUrl, { error: 'must be an absolute http:// or https:// URL' })
      .optional(),
    providerId: z
      .string({ error: 'must be letters, digits, ".", "_" or "-"' })
      .regex(PROVIDER_ID, { error: 'must be letters, digits, ".", "_" or "-"' })
      .optional(),
    rateLimit: z
      .object(
        {
          limit: positiveInteger('must be a whole number of requests, at least 1'),
          intervalMs: positiveMs,
        },
        { error: 'must be { limit, intervalMs }' },
      )
      .strict()
      .optional(),
    maxBatchSize: z
      .number({ error: `must be a whole number from 1 to ${SENDGRID_MAX_PERSONALIZATIONS}` })
      .int({ error: `must be a whole number from 1 to ${SENDGRID_MAX_PERSONALIZATIONS}` })
      .min(1, { error: `must be a whole number from 1 to ${SENDGRID_MAX_PERSONALIZATIONS}` })
      .max(SENDGRID_MAX_PERSONALIZATIONS, {
        error: `must be a whole number from 1 to ${SENDGRID_MAX_PERSONALIZATIONS}`,
      })
      .optional(),
    sandboxMode: z.boolean({ error: 'must be true or false' }).optional(),
    webhookPublicKey: z.string({ error: 'must be a string' }).optional(),
    webhookToleranceMs: positiveMs.optional(),
    webhookMaxBodyBytes: positiveInteger('must be a whole number of bytes, at least 1').optional(),
    eventDeduper: z
      .custom<CrmEventDeduper>((value) => typeof (value as { seen?: unknown } | null)?.seen === 'function', {
        error: 'must be an event deduper (with seen())',
      })
      .optional(),
    fetch: aFunction<typeof globalThis.fetch>(),
    timeoutMs: positiveMs.optional(),
    now: aFunction<() => number>(),
  })
  .strict();

/** The settings `createSendgrid` works from, with every default filled in. */
export interface CheckedSendgridSettings {
  /** Provider id. */
  readonly providerId: string;
  /** Base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** The mail-send window the limiter plans with. */
  readonly rateLimit: { readonly limit: number; readonly intervalMs: number };
  /** Most messages per `doSendBatch` request. */
  readonly maxBatchSize: number;
  /** The Event Webhook's verification key, when given. */
  readonly webhookPublicKey: KeyObject | undefined;
  /** How far a webhook's signed timestamp may be from now, ms. */
  readonly webhookToleranceMs: number;
  /** The largest webhook body read, bytes. */
  readonly webhookMaxBodyBytes: number;
}

/**
 * The Event Webhook's public key as SendGrid shows it (base64 of the DER
 * SubjectPublicKeyInfo) or as PEM, checked to be an EC P-256 key.
 *
 * @throws ConfigurationError naming `webhookPublicKey` when it is not one.
 */
export function parseWebhookPublicKey(value: string, providerId = 'sendgrid'): KeyObject {
  let key: KeyObject;
  try {
    key = value.includes('-----BEGIN')
      ? createPublicKey(value)
      : createPublicKey({ key: Buffer.from(value.trim(), 'base64'), format: 'der', type: 'spki' });
  } catch {
    throw new ConfigurationError('invalid_configuration', {
      message:
        'webhookPublicKey: must be the Event Webhook verification key, base64 (as SendGrid shows it) or PEM',
      issues: [{ field: 'webhookPublicKey', reason: 'is not a public key in base64 DER or PEM' }],
      providerId,
    });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new ConfigurationError('invalid_configuration', {
      message: 'webhookPublicKey: must be an ECDSA P-256 key (SendGrid signs with P-256)',
      issues: [{ field: 'webhookPublicKey', reason: 'is not an ECDSA P-256 key' }],
      providerId,
    });
  }
  return key;
}

/**
 * Check `createSendgrid`'s settings with zod (through core's `parseOptions`)
 * and fill in the defaults.
 *
 * @throws ConfigurationError naming every wrong setting and why.
 */
export function checkSendgridSettings(settings: unknown): CheckedSendgridSettings {
  const given = (typeof settings === 'object' && settings !== null ? settings : {}) as {
    readonly providerId?: unknown;
  };
  const providerId =
    typeof given.providerId === 'string' && PROVIDER_ID.test(given.providerId)
      ? given.providerId
      : 'sendgrid';
  const parsed = parseOptions(settingsSchema, settings ?? {}, { name: 'createSendgrid', providerId });
  const baseUrl = parsed.baseUrl ?? (parsed.region === 'eu' ? SENDGRID_EU_BASE_URL : SENDGRID_BASE_URL);
  return {
    providerId: parsed.providerId ?? 'sendgrid',
    baseUrl: baseUrl.replace(/\/+$/, ''),
    rateLimit: parsed.rateLimit ?? { limit: 100, intervalMs: 1000 },
    maxBatchSize: parsed.maxBatchSize ?? SENDGRID_MAX_PERSONALIZATIONS,
    webhookPublicKey:
      parsed.webhookPublicKey === undefined
        ? undefined
        : parseWebhookPublicKey(parsed.webhookPublicKey, providerId),
    webhookToleranceMs: parsed.webhookToleranceMs ?? 300_000,
    webhookMaxBodyBytes: parsed.webhookMaxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  };
}
