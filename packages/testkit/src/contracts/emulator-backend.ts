import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { ConfigurationError, type LeadFieldPatch } from '@leadpipe/core/adapter-kit';
import { Hono } from 'hono';
import type { EmulatorBackendUrls, EnrichmentEmulatorDefinition } from '../emulator/definition.js';
import { type CreateEmulatorOptions, createEmulator, type EmulatorInstance } from '../emulator/registry.js';
import { definitionOf, type RegisteredEmulatorDefinition } from '../emulator/vendors.js';
import type { NodeBindings } from '../emulator/wrap.js';
import type { TruthPerson } from '../truth/index.js';
import { cannedResponse } from './canned-fetch.js';
import type {
  ContractBackend,
  ContractResponse,
  EnrichmentProviderContractOptions,
} from './enrichment-provider.js';

export type { EmulatorBackendUrls } from '../emulator/definition.js';

/** The enrichment vendors the testkit emulates: those whose emulator definition is of kind `enrichment`. */
export type EnrichmentVendor = Extract<RegisteredEmulatorDefinition, EnrichmentKind>['id'];

/** What marks an emulator definition as an enrichment vendor's. */
interface EnrichmentKind {
  /** The definition's kind. */
  readonly kind: 'enrichment';
}

/** Options of {@link startEmulatorBackend}: those of `createEmulator`, plus where to listen. */
export interface EmulatorBackendOptions<V extends EnrichmentVendor> extends CreateEmulatorOptions<V> {
  /** Interface to bind. Default `127.0.0.1`. */
  readonly host?: string;
}

/** What the contract suite needs from an emulator: leads, backend controls, secrets. */
export type EmulatorContractOptions = Pick<
  EnrichmentProviderContractOptions,
  'knownLead' | 'unknownLead' | 'expectedFields' | 'backend' | 'secrets'
>;

/** A vendor emulator served over HTTP, with controls for the contract suite. */
export interface EmulatorBackend<V extends EnrichmentVendor> {
  /** The vendor. */
  readonly vendor: V;
  /** The wrapped emulator: requests, faults, counters, truth. */
  readonly emulator: EmulatorInstance<V>;
  /** Where it listens. */
  readonly urls: EmulatorBackendUrls;
  /** Credentials it accepts (Apollo: `apiKey`, `restrictedApiKey`; Clearbit: `apiKey`). */
  readonly credentials: Readonly<Record<string, string>>;
  /** Canned answers and a request count over the real emulator. */
  readonly backend: ContractBackend;
  /** A person the vendor knows (by email), one it does not, and what the vendor holds for the first. */
  readonly contract: EmulatorContractOptions;
  /** The truth person behind `contract.knownLead`. */
  readonly knownPerson: TruthPerson;
  /** Stop the server and the emulator's background work. */
  close(): Promise<void>;
}

/**
 * The email of a person the ground truth does not hold, at a domain that
 * looks real (Clearbit answers 422, not 404, for reserved TLDs such as `.example`).
 */
export const UNKNOWN_CONTRACT_EMAIL = 'nobody.contract@unknown-contract-domain.com';

function pickKnownPerson(emulator: EmulatorInstance<EnrichmentVendor>): {
  person: TruthPerson;
  fields: LeadFieldPatch;
} {
  const view = emulator.emulator.view;
  for (const person of emulator.truth.people) {
    const fields = view.person(person);
    if (
      fields !== null &&
      fields.email === person.email &&
      fields.firstName !== undefined &&
      fields.lastName !== undefined &&
      fields.title !== undefined &&
      fields['company.domain'] !== undefined
    ) {
      return { person, fields };
    }
  }
  throw new ConfigurationError('invalid_configuration', {
    message: `truth: no person of the ground truth is fully known to ${emulator.vendor}; use a larger population or more coverage`,
  });
}

/**
 * Serve one enrichment vendor's emulator on a free port of 127.0.0.1 behind a
 * thin layer the contract suite drives: canned answers for the next requests
 * (`backend.respondWith`) and a count of every request. Pair it with
 * {@link enrichmentProviderContract}:
 *
 * @example
 * ```ts
 * const apolloBackend = await startEmulatorBackend('apollo');
 * afterAll(() => apolloBackend.close());
 * enrichmentProviderContract(it, expect, { ...apolloBackend.contract,
 *   createProvider: () => createApollo({ apiKey: apolloBackend.credentials.apiKey, baseUrl: apolloBackend.urls.apiUrl }) });
 * ```
 * @throws ConfigurationError when an emulator option is invalid.
 */
export async function startEmulatorBackend<V extends EnrichmentVendor>(
  vendor: V,
  options: EmulatorBackendOptions<V> = {},
): Promise<EmulatorBackend<V>> {
  const definition = definitionOf(vendor as string) as
    | EnrichmentEmulatorDefinition<V, NonNullable<CreateEmulatorOptions<V>['options']>>
    | undefined;
  if (definition?.kind !== 'enrichment') {
    throw new ConfigurationError('invalid_configuration', {
      message: `vendor: "${String(vendor)}" is not an enrichment vendor the testkit emulates`,
    });
  }
  const defaults: Partial<CreateEmulatorOptions<V>> =
    definition.contractDefaults !== undefined && options.options === undefined
      ? { options: definition.contractDefaults }
      : {};
  const emulator = createEmulator(vendor, { ...defaults, ...options });
  const known = pickKnownPerson(emulator as EmulatorInstance<EnrichmentVendor>);
  if (emulator.truth.personByEmail(UNKNOWN_CONTRACT_EMAIL) !== undefined) {
    throw new ConfigurationError('invalid_configuration', {
      message: `truth: the ground truth holds ${UNKNOWN_CONTRACT_EMAIL}, which must stay unknown`,
    });
  }
  const queue: { status: number; response: ContractResponse | undefined }[] = [];
  let count = 0;
  const app = new Hono<{ Bindings: NodeBindings }>();
  app.all('*', (c) => {
    count++;
    const canned = queue.shift();
    if (canned !== undefined)
      return cannedResponse(canned.status, canned.response, 'application/json; charset=utf-8');
    return emulator.fetch(c.req.raw, c.env);
  });
  const host = options.host ?? '127.0.0.1';
  const server = await new Promise<ServerType>((resolve, reject) => {
    const started = serve({ fetch: app.fetch, hostname: host, port: 0 }, () => resolve(started));
    started.once('error', reject);
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = `http://${host}:${port}`;
  const urls = definition.contractUrls(baseUrl);
  const backend: ContractBackend = {
    respondWith: (status, response, times = 1) => {
      for (let index = 0; index < times; index++) queue.push({ status, response });
    },
    requestCount: () => count,
    reset: () => {
      queue.length = 0;
    },
  };
  const expectedFields: LeadFieldPatch = {
    firstName: known.fields.firstName,
    lastName: known.fields.lastName,
    title: known.fields.title,
    'company.domain': known.fields['company.domain'],
  };
  return {
    vendor,
    emulator,
    urls,
    credentials: emulator.credentials,
    backend,
    knownPerson: known.person,
    contract: {
      knownLead: { email: known.person.email },
      unknownLead: { email: UNKNOWN_CONTRACT_EMAIL },
      expectedFields,
      backend,
      secrets: Object.values(emulator.credentials),
    },
    close: async () => {
      await emulator.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      });
    },
  };
}
