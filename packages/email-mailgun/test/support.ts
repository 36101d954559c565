import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmailMessage, InboundWebhookRequest } from '@leadpipe/core';

/** A message that passes every local check. */
export function message(overrides: Partial<EmailMessage> = {}): EmailMessage {
  return {
    ledgerKey: 'enr-42-s1',
    from: { email: 'ada@mg.leadpipe.test', name: 'Ada "The Countess" Lovelace' },
    to: { email: 'Bob@Example.com', name: 'Bob' },
    subject: 'Quick question',
    text: 'Hi Bob',
    html: '<p>Hi Bob</p>',
    headers: {
      'List-Unsubscribe': '<https://unsub.example.com/u/tok123>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    },
    tags: ['campaign-7', 'step-1'],
    metadata: { campaign: 'c-7' },
    ...overrides,
  };
}

/** A request as a host hands it over: exact body bytes, headers. */
export function inbound(body: string, contentType = 'application/json'): InboundWebhookRequest {
  return {
    method: 'POST',
    url: '/webhooks/mailgun',
    headers: { 'content-type': contentType },
    rawBody: body,
  };
}

/** A local HTTP receiver that hands each request to `handle` and answers its status. */
export async function receiver(
  handle: (request: InboundWebhookRequest) => Promise<number>,
): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  const server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers)) {
        if (typeof value === 'string') headers[name] = value;
      }
      handle({
        method: request.method ?? 'POST',
        url: request.url ?? '/',
        headers,
        rawBody: Buffer.concat(chunks),
      })
        .then((status) => response.writeHead(status).end())
        .catch(() => response.writeHead(500).end());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/mailgun`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The error a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** A `fetch` for the provider that can answer the next requests with canned responses, and counts every request. */
export interface CannedFetch {
  /** Pass as the provider's `fetch`. */
  readonly fetch: typeof globalThis.fetch;
  /** Answer the next `times` requests with `status` and `response`. */
  respondWith(
    status: number,
    response?: { headers?: Record<string, string>; body?: unknown },
    times?: number,
  ): void;
  /** Requests made so far (canned answers included). */
  requestCount(): number;
  /** Drop canned answers not used yet. */
  reset(): void;
}

/** Build a {@link CannedFetch} in front of the global `fetch` (so the emulator answers the rest over HTTP). */
export function cannedFetch(): CannedFetch {
  const queue: { status: number; headers: Headers; body: string | null }[] = [];
  let count = 0;
  return {
    fetch: async (input, init) => {
      count++;
      const canned = queue.shift();
      if (canned !== undefined)
        return new Response(canned.body, { status: canned.status, headers: canned.headers });
      return globalThis.fetch(input, init);
    },
    respondWith: (status, response = {}, times = 1) => {
      const headers = new Headers(response.headers);
      let body: string | null = null;
      if (typeof response.body === 'string') body = response.body;
      else if (response.body !== undefined) {
        body = JSON.stringify(response.body);
        if (!headers.has('content-type')) headers.set('content-type', 'application/json');
      }
      for (let index = 0; index < times; index++) queue.push({ status, headers, body });
    },
    requestCount: () => count,
    reset: () => {
      queue.length = 0;
    },
  };
}
