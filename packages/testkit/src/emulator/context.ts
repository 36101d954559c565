import type { Hono } from 'hono';
import type { RegisteredEmulatorDefinition } from './vendors.js';

/** Names of the vendors the testkit emulates: the ids of the registered emulator definitions. */
export type VendorName = RegisteredEmulatorDefinition['id'];

/**
 * The emulator's clock. Vendor rate-limit windows, token lifetimes and job
 * durations are measured on it. With `timeScale` 10, a 10-second window lasts
 * 1 real second.
 */
export interface EmulatorClock {
  /** Emulated epoch milliseconds (starts at real time, runs `timeScale` times faster). */
  now(): number;
  /** Real milliseconds that `emulatedMs` takes on this clock. */
  toRealMs(emulatedMs: number): number;
  /** Resolve after `emulatedMs` emulated milliseconds. */
  sleep(emulatedMs: number): Promise<void>;
  /** How many times faster than real time the clock runs. */
  readonly timeScale: number;
}

/** Counters for assertions: per endpoint, per outcome, records, credits. */
export interface EmulatorCounters {
  /** Add `by` (default 1) to counter `name`, such as `hubspot.429` or `apollo.credits`. */
  increment(name: string, by?: number): void;
  /** Current value of counter `name` (0 when never incremented). */
  get(name: string): number;
  /** Every counter, for printing. */
  snapshot(): Record<string, number>;
  /** Zero every counter. */
  reset(): void;
}

/** One request an emulator received, as recorded. */
export interface RecordedRequest {
  /** The emulated vendor that received the request. */
  readonly vendor: VendorName;
  /** HTTP method, as sent (such as `GET` or `POST`). */
  readonly method: string;
  /** URL path, without the query string. */
  readonly path: string;
  /** Query parameters by name; credentials in them are redacted. */
  readonly query: Record<string, string>;
  /** Request headers by lower-case name; authorization headers and credentials are redacted. */
  readonly headers: Record<string, string>;
  /** Raw request body (empty string when there was none), with credentials redacted. */
  readonly body: string;
  /** HTTP status of the answer the emulator gave. */
  readonly status: number;
  /** Emulated time the request arrived. */
  readonly at: number;
}

/** Shared facilities every vendor emulator is built with. */
export interface EmulatorContext {
  /** The emulated clock every time-based behaviour (limits, latency, token expiry) reads. */
  readonly clock: EmulatorClock;
  /** Named counters of what the emulator did, such as `hubspot.429` or `apollo.credits`. */
  readonly counters: EmulatorCounters;
  /** Deterministic random numbers in [0, 1) seeded from the emulator seed. */
  random(): number;
  /** The seed everything deterministic derives from. */
  readonly seed: number;
}

/** A vendor emulator: a Hono app answering on the vendor's real paths. */
export interface VendorEmulator {
  /** Which vendor this emulates. */
  readonly vendor: VendorName;
  /** The app; mount it at a base URL (server) or route msw requests to its `fetch`. */
  readonly app: Hono;
  /** Credentials the emulator accepts (API keys, client ids and secrets, tokens). */
  readonly credentials: Readonly<Record<string, string>>;
  /** Forget all state (records, tokens, jobs) and re-seed. */
  reset(): void;
  /**
   * Headers the vendor puts on every answer to `path`, added to the answers
   * of injected faults too (Salesforce: `Sforce-Limit-Info`). Optional.
   */
  faultHeaders?(path: string): Readonly<Record<string, string>>;
}
