import {
  type EmailProviderDescriptor,
  type MissingVendorVariable,
  missingVariablesError,
  readVendorVariable,
  type VendorEnvironment,
} from '@leadpipe/core/adapter-kit';
import {
  createMailgun,
  MAILGUN_API_KEY_ENV,
  MAILGUN_DOMAIN_ENV,
  MAILGUN_WEBHOOK_SIGNING_KEY_ENV,
  type MailgunProvider,
} from './mailgun-provider.js';
import type { MailgunProviderSettings } from './mailgun-settings.js';

/** The environment variable that picks the region (`us` or `eu`). */
const MAILGUN_REGION_ENV = 'MAILGUN_REGION';

function missing(env: VendorEnvironment): MissingVendorVariable[] {
  const lacking: MissingVendorVariable[] = [];
  if (readVendorVariable(env, MAILGUN_API_KEY_ENV) === undefined) {
    lacking.push({ option: 'apiKey', variables: MAILGUN_API_KEY_ENV });
  }
  if (readVendorVariable(env, MAILGUN_DOMAIN_ENV) === undefined) {
    lacking.push({ option: 'domain', variables: MAILGUN_DOMAIN_ENV });
  }
  return lacking;
}

/**
 * Mailgun as a plug-in: `mailgun`, an email provider built by
 * {@link createMailgun}, from `MAILGUN_API_KEY` and `MAILGUN_DOMAIN` (both
 * required), `MAILGUN_WEBHOOK_SIGNING_KEY` (needed to parse webhooks) and
 * `MAILGUN_REGION` (`us` or `eu`, default `us`).
 *
 * @example
 * ```ts
 * const mailgun = mailgunDescriptor.fromEnv(process.env);
 * ```
 */
export const mailgunDescriptor: EmailProviderDescriptor<MailgunProvider, MailgunProviderSettings> = {
  specificationVersion: 'v1',
  id: 'mailgun',
  kind: 'email',
  displayName: 'Mailgun',
  environment: [
    { name: MAILGUN_API_KEY_ENV, option: 'apiKey', secret: true, description: 'Mailgun private API key' },
    { name: MAILGUN_DOMAIN_ENV, option: 'domain', secret: false, description: 'Mailgun sending domain' },
    {
      name: MAILGUN_WEBHOOK_SIGNING_KEY_ENV,
      option: 'webhookSigningKey',
      secret: true,
      description: 'Mailgun HTTP webhook signing key (verifies event webhooks)',
    },
    {
      name: MAILGUN_REGION_ENV,
      option: 'region',
      secret: false,
      description: 'Mailgun region: us (default) or eu',
    },
  ],
  create: (settings) => createMailgun(settings),
  missingVariables: missing,
  fromEnv(env) {
    const lacking = missing(env);
    if (lacking.length > 0) throw missingVariablesError('mailgun', 'Mailgun', lacking);
    const region = readVendorVariable(env, MAILGUN_REGION_ENV)?.toLowerCase();
    const signingKey = readVendorVariable(env, MAILGUN_WEBHOOK_SIGNING_KEY_ENV, true);
    return createMailgun({
      apiKey: readVendorVariable(env, MAILGUN_API_KEY_ENV, true),
      domain: readVendorVariable(env, MAILGUN_DOMAIN_ENV),
      ...(signingKey !== undefined && { webhookSigningKey: signingKey }),
      ...(region !== undefined && { region: region as 'us' | 'eu' }),
    });
  },
  emulatorSettings(emulator) {
    return {
      apiKey: emulator.credentials.apiKey,
      domain: emulator.credentials.domain,
      webhookSigningKey: emulator.credentials.webhookSigningKey,
      baseUrl: emulator.urls.baseUrl,
      ...(emulator.limits && { rateLimits: emulator.limits }),
    };
  },
};
