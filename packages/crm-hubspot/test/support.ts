import type { ContractBackend, ContractResponse } from '@leadpipe/testkit';
import {
  type EmulatorInstance,
  type RunningEmulators,
  type StartEmulatorsOptions,
  startEmulators,
} from '@leadpipe/testkit';

/** The HubSpot emulator served on a free port of 127.0.0.1. */
export interface HubspotFixture {
  /** Everything `startEmulators` returned. */
  readonly running: RunningEmulators;
  /** The wrapped emulator: requests, faults, counters. */
  readonly instance: EmulatorInstance<'hubspot'>;
  /** The HubSpot emulator's state and switches. */
  readonly emulator: EmulatorInstance<'hubspot'>['emulator'];
  /** Origin replacing https://api.hubapi.com. */
  readonly baseUrl: string;
  /** The private-app token the emulator accepts. */
  readonly token: string;
  /** The emulator's clock, epoch ms (runs `timeScale` times faster than real time). */
  readonly now: () => number;
  /** Stop the server. */
  close(): Promise<void>;
}

/** Serve the HubSpot emulator. */
export async function startHubspot(options: StartEmulatorsOptions = {}): Promise<HubspotFixture> {
  const running = await startEmulators({ ...options, vendors: ['hubspot'] });
  const instance = running.emulators.hubspot;
  const urls = running.urls.hubspot;
  if (instance === undefined || urls === undefined) throw new Error('the HubSpot emulator did not start');
  return {
    running,
    instance,
    emulator: instance.emulator,
    baseUrl: urls.baseUrl,
    token: instance.emulator.credentials.privateAppToken,
    now: () => instance.context.clock.now(),
    close: () => running.close(),
  };
}

/** A `fetch` for the adapter that can answer the next requests with canned responses, and counts every request. */
export interface CannedFetch {
  /** Pass as the adapter's `fetch`. */
  readonly fetch: typeof globalThis.fetch;
  /** The contract suite's view of it. */
  readonly backend: ContractBackend;
  /** Every request made, with its method and URL path. */
  readonly calls: { method: string; path: string; body: string | undefined }[];
}

function cannedResponse(status: number, response: ContractResponse | undefined): Response {
  const headers = new Headers(response?.headers);
  const body = response?.body;
  let text: string | null = null;
  if (typeof body === 'string') text = body;
  else if (body !== undefined) {
    text = JSON.stringify(body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json; charset=utf-8');
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
    calls.push({ method: request.method, path: new URL(request.url).pathname, body });
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

/** HubSpot's error bodies, per status, as the contract suite injects them. */
export const HUBSPOT_ERROR_RESPONSES: Readonly<Record<number, ContractResponse>> = {
  400: { body: { status: 'error', category: 'VALIDATION_ERROR', message: 'Invalid input JSON on line 1' } },
  401: {
    body: {
      status: 'error',
      category: 'INVALID_AUTHENTICATION',
      message: 'Authentication credentials not found.',
    },
  },
  403: { body: { status: 'error', category: 'MISSING_SCOPES', message: 'This app is missing scopes' } },
  404: { body: { status: 'error', category: 'OBJECT_NOT_FOUND', message: 'resource not found' } },
  429: {
    body: {
      status: 'error',
      message: 'You have reached your ten_secondly_rolling limit.',
      errorType: 'RATE_LIMIT',
      policyName: 'TEN_SECONDLY_ROLLING',
    },
  },
  500: { body: { status: 'error', category: 'INTERNAL_ERROR', message: 'internal error' } },
  503: { body: { status: 'error', category: 'INTERNAL_ERROR', message: 'service unavailable' } },
};

/** Create a unique custom contact property through the Properties API of the emulator. */
export async function createContactProperty(
  fixture: HubspotFixture,
  name: string,
  hasUniqueValue: boolean,
): Promise<void> {
  const response = await fetch(`${fixture.baseUrl}/crm/v3/properties/contacts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fixture.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      label: name,
      type: 'string',
      fieldType: 'text',
      groupName: 'contactinformation',
      hasUniqueValue,
    }),
  });
  if (!response.ok)
    throw new Error(`creating property ${name} failed: ${response.status} ${await response.text()}`);
}
