import { cannedJson, type EmailEmulatorDefinition, retryAfterHeader } from '../../emulator/definition.js';
import {
  createSendgridEmulator,
  type SendgridEmulator,
  type SendgridEmulatorOptions,
  sendgridCredentials,
} from './index.js';

/** Run-wide limits of the SendGrid emulator (`startEmulators({ limits: { sendgrid } })`). */
export interface SendgridLimits {
  /** Mail-send requests allowed per window per key. Default 600. */
  readonly limit?: number;
  /** The window's length in emulated ms. Default 1,000. */
  readonly windowMs?: number;
}

const error = (message: string) => ({ errors: [{ field: null, message, help: null }] });

/** The SendGrid emulator, as the registry, the server and msw see it. */
export const sendgridEmulatorDefinition: EmailEmulatorDefinition<
  'sendgrid',
  SendgridEmulatorOptions,
  SendgridEmulator,
  SendgridLimits
> = {
  id: 'sendgrid',
  kind: 'email',
  create: (context, options) => createSendgridEmulator(context, options),
  defaultCredentials: (seed) => sendgridCredentials(seed),
  mswMounts: [{ baseUrl: 'https://api.sendgrid.com' }, { baseUrl: 'https://api.eu.sendgrid.com' }],
  urls: (baseUrl) => ({ baseUrl }),
  withLimits: (options, limits) => (limits ? { ...limits, ...options } : options),
  close: (emulator) => emulator.events.dispatcher.reset(),
  faultResponses: {
    serverError: (status) => cannedJson(status, error('internal error')),
    rateLimited: (_path, _correlationId, retryAfterSeconds) =>
      cannedJson(429, error('too many requests'), retryAfterHeader(retryAfterSeconds)),
    expiredToken: () =>
      cannedJson(401, error('The provided authorization grant is invalid, expired, or revoked')),
  },
};
