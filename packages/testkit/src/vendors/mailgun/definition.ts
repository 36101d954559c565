import {
  type CannedResponse,
  type EmailEmulatorDefinition,
  retryAfterHeader,
} from '../../emulator/definition.js';
import {
  createMailgunEmulator,
  type MailgunEmulator,
  type MailgunEmulatorOptions,
  mailgunCredentials,
} from './index.js';

/** Run-wide limits of the Mailgun emulator (`startEmulators({ limits: { mailgun } })`). */
export interface MailgunLimits {
  /** Messages accepted per minute per sending domain. Default 1,000. */
  readonly perMinute?: number;
}

function messageJson(status: number, message: string, headers: Record<string, string> = {}): CannedResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ message }),
  };
}

/** The Mailgun emulator, as the registry, the server and msw see it. */
export const mailgunEmulatorDefinition: EmailEmulatorDefinition<
  'mailgun',
  MailgunEmulatorOptions,
  MailgunEmulator,
  MailgunLimits
> = {
  id: 'mailgun',
  kind: 'email',
  create: (context, options) => createMailgunEmulator(context, options),
  defaultCredentials: (seed) => mailgunCredentials(seed),
  mswMounts: [{ baseUrl: 'https://api.mailgun.net' }, { baseUrl: 'https://api.eu.mailgun.net' }],
  urls: (baseUrl) => ({ baseUrl }),
  withLimits: (options, limits) =>
    limits?.perMinute !== undefined ? { perMinute: limits.perMinute, ...options } : options,
  close: (emulator) => emulator.webhooks.reset(),
  faultResponses: {
    serverError: (status) => messageJson(status, 'Internal Server Error'),
    rateLimited: (_path, _correlationId, retryAfterSeconds) =>
      messageJson(429, 'Too many requests', retryAfterHeader(retryAfterSeconds)),
    // Mailgun answers a wrong or revoked key with a plain-text 401.
    expiredToken: () => ({
      status: 401,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      body: 'Forbidden',
    }),
  },
};
