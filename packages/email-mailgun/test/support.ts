import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EmailMessage, InboundWebhookRequest } from '@leadpipe/core';
import { type CannedFetch, cannedFetch as sharedCannedFetch } from '@leadpipe/testkit';

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

/** The testkit's canned `fetch` in front of the emulator, as this package's tests use it. */
export const cannedFetch = (): CannedFetch => sharedCannedFetch();
