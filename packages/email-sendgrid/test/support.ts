import type { ContractResponse, EmailStoredMessage, SendgridStoredMessage } from '@leadpipe/testkit';
import {
  type CannedFetch,
  type EmulatorInstance,
  type RunningEmulators,
  type StartEmulatorsOptions,
  cannedFetch as sharedCannedFetch,
  startEmulators,
} from '@leadpipe/testkit';
import { SENDGRID_LEDGER_KEY_ARG } from '../src/index.js';

/** The SendGrid emulator served on a free port of 127.0.0.1. */
export interface SendgridFixture {
  /** Everything `startEmulators` returned. */
  readonly running: RunningEmulators;
  /** The wrapped emulator: requests, faults, counters. */
  readonly instance: EmulatorInstance<'sendgrid'>;
  /** The SendGrid emulator's state and switches. */
  readonly emulator: EmulatorInstance<'sendgrid'>['emulator'];
  /** Origin replacing https://api.sendgrid.com. */
  readonly baseUrl: string;
  /** The API key the emulator accepts. */
  readonly apiKey: string;
  /** The Event Webhook's public key (base64). */
  readonly publicKey: string;
  /** Stop the server. */
  close(): Promise<void>;
}

/** Serve the SendGrid emulator. */
export async function startSendgrid(options: StartEmulatorsOptions = {}): Promise<SendgridFixture> {
  const running = await startEmulators({ ...options, vendors: ['sendgrid'] });
  const instance = running.emulators.sendgrid;
  const urls = running.urls.sendgrid;
  if (instance === undefined || urls === undefined) throw new Error('the SendGrid emulator did not start');
  return {
    running,
    instance,
    emulator: instance.emulator,
    baseUrl: urls.baseUrl,
    apiKey: instance.emulator.credentials.apiKey,
    publicKey: instance.emulator.credentials.webhookPublicKey,
    close: () => running.close(),
  };
}

/** A stored recipient as the contract suite reads it. */
export function asContractMessage(
  message: SendgridStoredMessage | undefined,
): EmailStoredMessage | undefined {
  if (message === undefined) return undefined;
  const { [SENDGRID_LEDGER_KEY_ARG]: ledgerKey = '', ...metadata } = message.customArgs;
  return {
    ledgerKey,
    messageId: message.messageId,
    from: message.from.email,
    to: message.to.email,
    subject: message.subject,
    ...(message.html === undefined ? {} : { html: message.html }),
    ...(message.text === undefined ? {} : { text: message.text }),
    headers: message.headers,
    tags: message.categories,
    metadata,
  };
}

/** The testkit's canned `fetch` in front of the emulator, as this package's tests use it. */
export const cannedFetch = (): CannedFetch => sharedCannedFetch();

const sendgridError = (message: string, field: string | null = null) => ({
  body: { errors: [{ field, message, help: null }] },
});

/** SendGrid's error bodies per status, as the contract suite injects them. */
export const SENDGRID_ERROR_RESPONSES: Readonly<Record<number, ContractResponse>> = {
  400: sendgridError('Does not contain a valid address.', 'from.email'),
  401: sendgridError('The provided authorization grant is invalid, expired, or revoked'),
  403: sendgridError('The from address does not match a verified Sender Identity.', 'from'),
  413: sendgridError('Payload Too Large'),
  429: {
    headers: { 'x-ratelimit-limit': '600', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1893456000' },
    body: { errors: [{ field: null, message: 'too many requests', help: null }] },
  },
  500: sendgridError('internal error'),
  503: sendgridError('service unavailable'),
};
