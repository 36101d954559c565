import type {
  ContractBackend,
  ContractResponse,
  EmailStoredMessage,
  SendgridStoredMessage,
} from '@leadpipe/testkit';
import {
  type EmulatorInstance,
  type RunningEmulators,
  type StartEmulatorsOptions,
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

/** A `fetch` for the provider that can answer the next requests with canned responses, and counts every request. */
export interface CannedFetch {
  /** Pass as the provider's `fetch`. */
  readonly fetch: typeof globalThis.fetch;
  /** The contract suite's view of it. */
  readonly backend: ContractBackend;
  /** Every request made: method, path, body. */
  readonly calls: { method: string; path: string; body: string | undefined; headers: Headers }[];
}

function cannedResponse(status: number, response: ContractResponse | undefined): Response {
  const headers = new Headers(response?.headers);
  const body = response?.body;
  let text: string | null = null;
  if (typeof body === 'string') text = body;
  else if (body !== undefined) {
    text = JSON.stringify(body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  return new Response(status === 204 ? null : text, { status, headers });
}

/** Build a {@link CannedFetch} in front of the global `fetch`. */
export function cannedFetch(): CannedFetch {
  const queue: { status: number; response: ContractResponse | undefined }[] = [];
  const calls: CannedFetch['calls'] = [];
  const fetchImpl: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const body = request.method === 'GET' ? undefined : await request.clone().text();
    calls.push({
      method: request.method,
      path: new URL(request.url).pathname,
      body,
      headers: request.headers,
    });
    const canned = queue.shift();
    if (canned !== undefined) return cannedResponse(canned.status, canned.response);
    return globalThis.fetch(request);
  };
  return {
    fetch: fetchImpl,
    calls,
    backend: {
      respondWith: (status, response, times = 1) => {
        for (let index = 0; index < times; index++) queue.push({ status, response });
      },
      requestCount: () => calls.length,
      reset: () => {
        queue.length = 0;
      },
    },
  };
}

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
