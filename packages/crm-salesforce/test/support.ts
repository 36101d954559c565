import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { ContractResponse } from '@leadpipe/testkit';
import {
  type CannedFetch,
  createEmulator,
  createEmulatorClock,
  type EmulatorInstance,
  type FaultOptions,
  type NodeBindings,
  type SalesforceOptions,
  cannedFetch as sharedCannedFetch,
} from '@leadpipe/testkit';

/** The Salesforce emulator (wrapped: faults, recorded requests) on a real port of 127.0.0.1, with a hand-driven clock. */
export interface SalesforceFixture {
  /** The wrapped emulator. */
  readonly instance: EmulatorInstance<'salesforce'>;
  /** The emulator's state and switches. */
  readonly emulator: EmulatorInstance<'salesforce'>['emulator'];
  /** Login host and instance URL. */
  readonly url: string;
  /** Move the emulated clock forward by `ms`. */
  advance(ms: number): void;
  /** The emulated time, epoch ms. */
  now(): number;
  /** Requests the emulator answered, by `METHOD path` (path with ids collapsed). */
  calls(): string[];
  /** Stop the server. */
  close(): Promise<void>;
}

/**
 * Serve the Salesforce emulator. Every request moves the emulated clock by
 * `msPerRequest` first, so Bulk jobs progress while a client polls, the same
 * way on every machine.
 */
export async function startSalesforce(
  options: SalesforceOptions = {},
  settings: { readonly msPerRequest?: number; readonly faults?: FaultOptions; readonly seed?: number } = {},
): Promise<SalesforceFixture> {
  let realNow = Date.UTC(2026, 10, 25, 9, 0, 0);
  const clock = createEmulatorClock(1, () => realNow);
  const instance = createEmulator('salesforce', {
    seed: settings.seed ?? 7,
    clock,
    truth: { people: 10, companies: 5 },
    options,
    ...(settings.faults === undefined ? {} : { faults: settings.faults }),
  });
  const msPerRequest = settings.msPerRequest ?? 0;
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve(
      {
        fetch: (request, env) => {
          realNow += msPerRequest;
          return instance.fetch(request, env as NodeBindings);
        },
        hostname: '127.0.0.1',
        port: 0,
      },
      () => resolve(started),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    instance,
    emulator: instance.emulator,
    url: `http://127.0.0.1:${port}`,
    advance: (ms) => {
      realNow += ms;
    },
    now: () => clock.now(),
    calls: () =>
      instance.requests
        .all()
        .map(
          (request) =>
            `${request.method} ${request.path.replace(/\/(750|00Q|01g)[A-Za-z0-9]{12,15}(?=\/|$|-)/g, '/:id')}`,
        ),
    close: async () => {
      await instance.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}

/** The testkit's canned `fetch` in front of the emulator, as this package's tests use it. */
export const cannedFetch = (): CannedFetch => sharedCannedFetch();

/** Salesforce's own error bodies per status (`[{message, errorCode}]`). */
export const SALESFORCE_ERROR_RESPONSES: Readonly<Record<number, ContractResponse>> = {
  400: { body: [{ message: 'Json Deserialization failed on token', errorCode: 'JSON_PARSER_ERROR' }] },
  401: { body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }] },
  403: {
    body: [
      { message: 'The REST API is not enabled for this Organization.', errorCode: 'API_DISABLED_FOR_ORG' },
    ],
  },
  404: { body: [{ message: 'The requested resource does not exist', errorCode: 'NOT_FOUND' }] },
  429: { body: [{ message: 'Too many requests', errorCode: 'REQUEST_LIMIT_EXCEEDED_SECONDLY' }] },
  500: { body: [{ message: 'An unexpected error occurred.', errorCode: 'UNKNOWN_EXCEPTION' }] },
  503: { body: [{ message: 'Server unavailable', errorCode: 'SERVER_UNAVAILABLE' }] },
};

/** Valid Lead values for record `index`. */
export function leadProperties(index: number): Record<string, string | number> {
  return {
    LastName: `Lovelace${index}`,
    Company: `Analytical Engines ${index}`,
    Email: `ada${index}@engines.example`,
    NumberOfEmployees: 10 + index,
  };
}
