import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ApiCallError,
  createLead,
  type EmailEvent,
  type EmailMessage,
  type EmailProviderV1,
  type Lead,
} from '@leadpipe/core';
import { createHttpClient } from '@leadpipe/core/adapter-kit';

/**
 * A small email vendor over real HTTP, shaped like SendGrid's v3 mail send:
 * `POST /v3/mail/send` answers 202 with an `X-Message-ID` header and stores
 * the message; injected answers (status, body, headers, a hang) replace the
 * next ones. `GET /events` lists a `processed` event per stored message, as
 * an event webhook would deliver them. Used until the SendGrid emulator of
 * r-sendgrid is merged.
 */
export interface TestVendor {
  /** Base URL. */
  readonly url: string;
  /** Accepted messages, in order. */
  readonly messages: (EmailMessage & { readonly messageId: string })[];
  /** Every request to the send endpoint. */
  requests: number;
  /** Answer the next requests with these (in order) instead of accepting. */
  inject(...answers: InjectedAnswer[]): void;
  /** Delay every accepted answer by this many ms (the message is stored before the delay). */
  delayMs: number;
  /** Forget messages, counts, injected answers and the delay. */
  reset(): void;
  /** Stop the server. */
  close(): Promise<void>;
}

/** An injected answer. */
export interface InjectedAnswer {
  /** HTTP status. */
  readonly status: number;
  /** JSON body. */
  readonly body?: unknown;
  /** Headers. */
  readonly headers?: Record<string, string>;
  /** Hold the answer this long (a timeout); the message is stored first when `accept` is true. */
  readonly hangMs?: number;
  /** Store the message as accepted (a request that reached the vendor but whose answer never arrived). */
  readonly accept?: boolean;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Start a test vendor on a free port. */
export async function startTestVendor(): Promise<TestVendor> {
  const injected: InjectedAnswer[] = [];
  const sockets = new Set<import('node:net').Socket>();
  const vendor = {
    url: '',
    messages: [] as (EmailMessage & { messageId: string })[],
    requests: 0,
    delayMs: 0,
    inject: (...answers: InjectedAnswer[]) => {
      injected.push(...answers);
    },
    reset: () => {
      vendor.messages.length = 0;
      vendor.requests = 0;
      vendor.delayMs = 0;
      injected.length = 0;
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    if (request.method === 'GET' && request.url === '/events') {
      const events: EmailEvent[] = vendor.messages.map((message) => ({
        eventId: `processed-${message.messageId}`,
        type: 'processed',
        email: message.to.email,
        occurredAt: new Date().toISOString(),
        ledgerKey: message.ledgerKey,
        messageId: message.messageId,
      }));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(events));
      return;
    }
    const body = await readBody(request);
    vendor.requests++;
    const message = JSON.parse(body) as EmailMessage;
    const answer = injected.shift();
    const store = () => {
      const messageId = `msg-${randomUUID()}`;
      vendor.messages.push({ ...message, messageId });
      return messageId;
    };
    if (answer !== undefined) {
      const messageId = answer.accept === true ? store() : undefined;
      if (answer.hangMs !== undefined) await new Promise((resolve) => setTimeout(resolve, answer.hangMs));
      response
        .writeHead(answer.status, {
          'content-type': 'application/json',
          ...(messageId === undefined ? {} : { 'x-message-id': messageId }),
          ...answer.headers,
        })
        .end(JSON.stringify(answer.body ?? { errors: [{ message: `status ${answer.status}` }] }));
      return;
    }
    const messageId = store();
    if (vendor.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, vendor.delayMs));
    response.writeHead(202, { 'x-message-id': messageId }).end();
  };
  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  vendor.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return vendor;
}

/**
 * A test-only `EmailProviderV1` for the test vendor: 202 is accepted with the
 * `X-Message-ID`; a permanent refusal (400, 403...) is a `failed` result;
 * 429, 5xx, network errors and timeouts reject with the HTTP client's
 * `ApiCallError`, as the contract asks.
 */
export function createTestEmailProvider(
  baseUrl: string,
  options: { timeoutMs?: number } = {},
): EmailProviderV1 {
  const client = createHttpClient({ providerId: 'test-mail', baseUrl, timeoutMs: options.timeoutMs ?? 5000 });
  return {
    specificationVersion: 'v1',
    providerId: 'test-mail',
    capabilities: { maxBatchSize: 1, rateLimits: {}, eventWebhook: false },
    async doSend(message, callOptions) {
      try {
        const response = await client.request({
          method: 'POST',
          path: '/v3/mail/send',
          json: message,
          responseType: 'none',
          ...(callOptions.onRateLimit === undefined ? {} : { onRateLimit: callOptions.onRateLimit }),
        });
        return {
          ledgerKey: message.ledgerKey,
          status: 'accepted',
          messageId: response.headers.get('x-message-id') ?? '',
        };
      } catch (error) {
        if (ApiCallError.isInstance(error) && !error.isRetryable) {
          return {
            ledgerKey: message.ledgerKey,
            status: 'failed',
            code: error.code,
            message: error.message,
            retryable: false,
          };
        }
        throw error;
      }
    },
  };
}

/** A lead with a fixed id (`…-<index>`), the same in every process. */
export function leadOf(index: number, fields: Partial<Parameters<typeof createLead>[0]> = {}): Lead {
  return createLead(
    { email: `lead${index}@example.com`, firstName: `Lead${index}`, ...fields },
    {
      id: `01900000-0000-7000-8000-${String(index).padStart(12, '0')}`,
      now: () => new Date('2026-12-01T00:00:00Z'),
    },
  );
}
