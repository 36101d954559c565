import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { EmulatorContext } from '../src/emulator/context.js';
import { createEmulatorContext } from '../src/emulator/create-context.js';
import {
  createSalesforceEmulator,
  type SalesforceEmulator,
  type SalesforceEmulatorOptions,
} from '../src/vendors/salesforce/index.js';

/** A Salesforce emulator on a real port with a hand-driven clock. */
export interface RunningSalesforce {
  readonly emulator: SalesforceEmulator;
  readonly context: EmulatorContext;
  /** The emulator's origin, used as login host and instance_url. */
  readonly url: string;
  /** Move the emulated clock forward. */
  advance(ms: number): void;
  /** `fetch` against the emulator with the static access token. */
  call(path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Serve a Salesforce emulator on 127.0.0.1 with an injected clock. With
 * `msPerRequest`, every request moves the clock forward by that much first,
 * so Bulk jobs progress deterministically while a client polls.
 */
export async function startSalesforce(
  options: SalesforceEmulatorOptions = {},
  msPerRequest = 0,
): Promise<RunningSalesforce> {
  let realNow = Date.UTC(2026, 10, 25, 9, 0, 0);
  const context = createEmulatorContext({ seed: 7, realNow: () => realNow });
  const emulator = createSalesforceEmulator(context, options);
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve(
      {
        fetch: (request) => {
          realNow += msPerRequest;
          return emulator.app.fetch(request);
        },
        hostname: '127.0.0.1',
        port: 0,
      },
      () => resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    emulator,
    context,
    url,
    advance: (ms) => {
      realNow += ms;
    },
    call: (path, init = {}) =>
      fetch(`${url}${path}`, {
        ...init,
        headers: { Authorization: `Bearer ${emulator.credentials.accessToken}`, ...(init.headers ?? {}) },
      }),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
