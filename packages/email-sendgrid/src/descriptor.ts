import {
  type EmailProviderDescriptor,
  type MissingVendorVariable,
  missingVariablesError,
  readVendorVariable,
  type VendorEnvironment,
} from '@leadpipe/core/adapter-kit';
import { createSendgrid, type SendgridProvider, type SendgridSettings } from './sendgrid-provider.js';

const API_KEY = 'SENDGRID_API_KEY';
const PUBLIC_KEY = 'SENDGRID_WEBHOOK_PUBLIC_KEY';

function missing(env: VendorEnvironment): MissingVendorVariable[] {
  return readVendorVariable(env, API_KEY) === undefined ? [{ option: 'apiKey', variables: API_KEY }] : [];
}

/**
 * SendGrid as a plug-in: `sendgrid`, an email provider built by
 * {@link createSendgrid} with the API key from `SENDGRID_API_KEY` and, when
 * set, the Event Webhook's verification key from
 * `SENDGRID_WEBHOOK_PUBLIC_KEY`. Against the testkit's emulator it uses the
 * emulator's API key and webhook public key.
 *
 * @example
 * ```ts
 * const sendgrid = sendgridDescriptor.fromEnv(process.env);
 * const result = await sendgrid.doSend(message, {});
 * await sendgrid.close?.();
 * ```
 */
export const sendgridDescriptor: EmailProviderDescriptor<SendgridProvider, SendgridSettings> = {
  specificationVersion: 'v1',
  id: 'sendgrid',
  kind: 'email',
  displayName: 'SendGrid',
  environment: [
    {
      name: API_KEY,
      option: 'apiKey',
      secret: true,
      description: 'SendGrid API key with the Mail Send permission',
    },
    {
      name: PUBLIC_KEY,
      option: 'webhookPublicKey',
      secret: false,
      description: 'Signed Event Webhook verification key, base64 (optional)',
    },
  ],
  create: (settings) => createSendgrid(settings),
  missingVariables: missing,
  fromEnv(env) {
    const lacking = missing(env);
    if (lacking.length > 0) throw missingVariablesError('sendgrid', 'SendGrid', lacking);
    const webhookPublicKey = readVendorVariable(env, PUBLIC_KEY);
    return createSendgrid({
      apiKey: readVendorVariable(env, API_KEY, true),
      ...(webhookPublicKey && { webhookPublicKey }),
    });
  },
  emulatorSettings: (emulator) => ({
    apiKey: emulator.credentials.apiKey,
    baseUrl: emulator.urls.baseUrl,
    ...(emulator.credentials.webhookPublicKey === undefined
      ? {}
      : { webhookPublicKey: emulator.credentials.webhookPublicKey }),
    ...(emulator.limits?.windows?.[0] === undefined
      ? {}
      : {
          rateLimit: {
            limit: emulator.limits.windows[0].limit,
            intervalMs: emulator.limits.windows[0].intervalMs,
          },
        }),
  }),
};
