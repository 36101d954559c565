import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createEmulatorContext } from '../src/emulator/create-context.js';
import { createWebhookDispatcher } from '../src/emulator/webhooks.js';

// A real receiver: it answers 503 to every request, after `hold` resolves.
let hold: Promise<void> = Promise.resolve();
const arrivals: string[] = [];
const receiver = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
  const chunks: Buffer[] = [];
  incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
  incoming.on('end', () => {
    arrivals.push(Buffer.concat(chunks).toString('utf8'));
    void hold.then(() => {
      if (!outgoing.destroyed) outgoing.writeHead(503).end();
    });
  });
});
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
afterAll(
  () =>
    new Promise<void>((resolve) => {
      receiver.close(() => resolve());
      receiver.closeAllConnections();
    }),
);

// 1000x: the dispatcher's 5 s retry delay is 5 real ms.
const dispatcher = () => createWebhookDispatcher(createEmulatorContext({ timeScale: 1000 }), 'apollo');

describe('webhook dispatcher', () => {
  it('retries a failing receiver up to three attempts, then logs one failure', async () => {
    arrivals.length = 0;
    hold = Promise.resolve();
    const webhooks = dispatcher();
    webhooks.schedule(url, '{"n":1}', {}, 0);
    await webhooks.idle();
    expect(arrivals).toEqual(['{"n":1}', '{"n":1}', '{"n":1}']);
    expect(webhooks.sent()).toMatchObject([{ status: 503, attempts: 3 }]);
  });

  it('reset() aborts a delivery in flight: it is neither logged nor retried', async () => {
    arrivals.length = 0;
    let release!: () => void;
    hold = new Promise<void>((resolve) => {
      release = resolve;
    });
    const webhooks = dispatcher();
    webhooks.schedule(url, '{"n":2}', {}, 0);
    await expect.poll(() => arrivals.length).toBe(1);
    expect(webhooks.pending()).toBe(1);
    webhooks.reset();
    release();
    await webhooks.idle();
    // Long enough for two retries at 1000x (5 ms and 10 ms) had any been scheduled.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(arrivals).toHaveLength(1);
    expect(webhooks.sent()).toHaveLength(0);
    expect(webhooks.pending()).toBe(0);
  });

  it('reset() cancels deliveries still waiting for their time', async () => {
    arrivals.length = 0;
    hold = Promise.resolve();
    const webhooks = dispatcher();
    webhooks.schedule(url, '{"n":3}', {}, 20_000);
    expect(webhooks.pending()).toBe(1);
    webhooks.reset();
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(arrivals).toHaveLength(0);
    expect(webhooks.pending()).toBe(0);
  });
});
