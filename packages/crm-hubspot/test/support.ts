import type { ContractResponse } from '@leadpipe/testkit';
import {
  type CannedFetch,
  type EmulatorInstance,
  type RunningEmulators,
  type StartEmulatorsOptions,
  cannedFetch as sharedCannedFetch,
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

/** The testkit's canned `fetch` in front of the emulator, as this package's tests use it. */
export const cannedFetch = (): CannedFetch =>
  sharedCannedFetch({ jsonContentType: 'application/json; charset=utf-8' });

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
