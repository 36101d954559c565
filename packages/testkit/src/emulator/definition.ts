import type { GroundTruth, ProviderView } from '../truth/index.js';
import type { EmulatorContext, VendorEmulator } from './context.js';

/** A canned answer: status, headers and body text. */
export interface CannedResponse {
  /** HTTP status. */
  readonly status: number;
  /** Response headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** Response body text. */
  readonly body: string;
}

/** A canned JSON answer. */
export function cannedJson(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): CannedResponse {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body: JSON.stringify(body),
  };
}

/** A `retry-after` header of whole seconds, or none. */
export function retryAfterHeader(retryAfterSeconds: number | undefined): Record<string, string> {
  return retryAfterSeconds === undefined ? {} : { 'retry-after': String(Math.ceil(retryAfterSeconds)) };
}

/** How a vendor answers the generic faults the wrapper injects, in its own error shapes. */
export interface VendorFaultResponses {
  /** A 5xx (`status`). */
  serverError(status: number, correlationId: string): CannedResponse;
  /** A rate-limit answer for a request to `path` (not always a 429: Salesforce answers 403). */
  rateLimited(path: string, correlationId: string, retryAfterSeconds: number | undefined): CannedResponse;
  /** A 401 for an expired token or key. */
  expiredToken(correlationId: string): CannedResponse;
}

/** Where msw catches a vendor's requests: a base URL, and the path prefix to add before the app sees it. */
export interface MswMount {
  /** Origin (optionally with a path) such as `https://api.apollo.io`; `*` allowed in the host. */
  readonly baseUrl: string;
  /** Prefix added to the path, such as `/stream` for Clearbit's streaming hosts. Default none. */
  readonly pathPrefix?: string;
}

/** The URLs one vendor is served on. `baseUrl` replaces the vendor's real origin. */
export interface VendorUrls {
  /** Origin replacing the vendor's API host. */
  readonly baseUrl: string;
  /** Further URLs: Apollo `apiUrl`; Clearbit `personUrl`, `companyUrl`, `streamUrl`; Salesforce `loginUrl`, `instanceUrl`. */
  readonly [name: string]: string;
}

/** The URLs an enrichment vendor's contract backend is served on: `baseUrl` replaces the vendor's origin. */
export interface EmulatorBackendUrls {
  /** Origin of the server, such as `http://127.0.0.1:40123`. */
  readonly baseUrl: string;
  /** Apollo: `<baseUrl>/api/v1`. Clearbit: the person API origin. */
  readonly apiUrl: string;
  /** Clearbit: the company API origin (the same server). Apollo: `apiUrl`. */
  readonly companyUrl: string;
  /** Clearbit: the streaming origin. Apollo: `apiUrl`. */
  readonly streamUrl: string;
}

/**
 * Everything the testkit needs to know about one emulated vendor: the
 * registry, the server, the msw handlers and the contract backends read it
 * instead of naming vendors. A vendor's folder exports one; the registration
 * list (`emulator/vendors.ts`) names it once.
 */
export interface EmulatorDefinitionBase<
  Id extends string,
  Options extends object,
  Emulator extends VendorEmulator,
  Limits extends object,
> {
  /** The vendor's name, such as `hubspot`. */
  readonly id: Id;
  /** Build the emulator, its Hono app holding the vendor's routes, from the context, its options and the truth. */
  create(context: EmulatorContext, options: Options | undefined, truth: GroundTruth): Emulator;
  /**
   * The credentials an emulator built with `seed` and no credential options
   * accepts, without building it (the emulator's own `credentials` are the
   * same).
   */
  defaultCredentials(seed: number): Readonly<Record<string, string>>;
  /** The vendor's real hosts, routed to the emulator by msw. */
  readonly mswMounts: readonly MswMount[];
  /** The URLs clients use when the emulator is served at `baseUrl`. */
  urls(baseUrl: string): VendorUrls;
  /** The vendor's own options with a run's limits for it (`startEmulators({ limits })`) merged in; the options win. */
  withLimits(options: Options | undefined, limits: Limits | undefined): Options | undefined;
  /** Stop the emulator's background work (webhooks, timers) when its wrapper closes. */
  close?(emulator: Emulator): void;
  /** Its answers to the generic faults. */
  readonly faultResponses: VendorFaultResponses;
}

/** A CRM emulator's definition. */
export interface CrmEmulatorDefinition<
  Id extends string = string,
  Options extends object = object,
  Emulator extends VendorEmulator = VendorEmulator,
  Limits extends object = object,
> extends EmulatorDefinitionBase<Id, Options, Emulator, Limits> {
  /** A CRM. */
  readonly kind: 'crm';
}

/** An email delivery vendor's emulator definition (SendGrid, Mailgun). */
export interface EmailEmulatorDefinition<
  Id extends string = string,
  Options extends object = object,
  Emulator extends VendorEmulator = VendorEmulator,
  Limits extends object = object,
> extends EmulatorDefinitionBase<Id, Options, Emulator, Limits> {
  /** An email provider. */
  readonly kind: 'email';
}

/** An enrichment emulator: it answers from the ground truth, seen through its coverage. */
interface EnrichmentVendorEmulator extends VendorEmulator {
  /** What the vendor knows of each truth person and company. */
  readonly view: ProviderView;
}

/** An enrichment vendor emulator's definition, with what its contract backend needs. */
export interface EnrichmentEmulatorDefinition<
  Id extends string = string,
  Options extends object = object,
  Emulator extends EnrichmentVendorEmulator = EnrichmentVendorEmulator,
  Limits extends object = object,
> extends EmulatorDefinitionBase<Id, Options, Emulator, Limits> {
  /** An enrichment provider. */
  readonly kind: 'enrichment';
  /** Options a contract backend starts it with when the caller gives none. */
  readonly contractDefaults?: Options;
  /** The URLs of a contract backend serving it at `baseUrl`. */
  contractUrls(baseUrl: string): EmulatorBackendUrls;
}
