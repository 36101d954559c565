import { seededRandom } from '../../emulator/create-context.js';
import type { OutboundDelivery, OutboundNotification } from './outbound.js';
import type { SalesforceSettings } from './settings.js';

/** How long an idle SOQL query locator stays valid, ms. */
export const QUERY_LOCATOR_TTL_MS = 15 * 60 * 1000;

/** A SOQL result being paged through `nextRecordsUrl`. */
export interface QueryCursor {
  /** Every row of the result. */
  readonly rows: Record<string, unknown>[];
  /** Rows per page. */
  readonly batchSize: number;
  /** Rows in the result. */
  readonly totalSize: number;
  /** When the locator expires, emulated ms; moved on by each page. */
  expiresAt: number;
}

/**
 * What the emulator changes as it runs, beside its stores: limits changed by
 * the test, id sequences, the random stream, query cursors and Outbound
 * Messages. `reset()` puts it back as created.
 */
export class SalesforceState {
  /** API requests allowed per rolling 24 hours (`setDailyApiRequests`). */
  dailyLimit: number;
  /** Delay added to every API response, ms (`setResponseDelayMs`). */
  responseDelayMs: number;
  /** Share of records failing with `UNABLE_TO_LOCK_ROW` (`setPartialFailureRate`). */
  partialFailureRate: number;
  /** The seeded random stream faults and shuffles draw from. */
  random: () => number;
  /** Last Lead id number issued. */
  leadSequence = 0;
  /** Last Bulk job id number issued. */
  jobSequence = 0;
  /** Last query locator number issued. */
  locatorSequence = 0;
  /** Last Outbound Message notification number issued. */
  notificationSequence = 0;
  /** Origin of the last token request, the `instance_url` Outbound Messages name. */
  lastOrigin: string;
  /** Open SOQL cursors by locator. */
  readonly cursors = new Map<string, QueryCursor>();
  /** Outbound Messages not yet acknowledged. */
  outboundQueue: OutboundNotification[] = [];
  /** Every Outbound Message delivery attempt. */
  readonly deliveries: OutboundDelivery[] = [];

  /**
   * @param settings - the checked options, which `reset()` restores.
   * @param seed - the random stream's seed.
   * @param instanceUrl - the configured instance URL, if any.
   */
  constructor(
    private readonly settings: SalesforceSettings,
    private readonly seed: number,
    instanceUrl: string | undefined,
  ) {
    this.dailyLimit = settings.dailyApiRequests;
    this.responseDelayMs = settings.responseDelayMs;
    this.partialFailureRate = settings.partialFailureRate;
    this.random = seededRandom(seed);
    this.lastOrigin = instanceUrl ?? 'http://127.0.0.1';
  }

  /** Back to the state at creation (the last origin seen is kept). */
  reset(): void {
    this.cursors.clear();
    this.outboundQueue = [];
    this.deliveries.length = 0;
    this.leadSequence = 0;
    this.jobSequence = 0;
    this.locatorSequence = 0;
    this.notificationSequence = 0;
    this.random = seededRandom(this.seed);
    this.partialFailureRate = this.settings.partialFailureRate;
    this.responseDelayMs = this.settings.responseDelayMs;
    this.dailyLimit = this.settings.dailyApiRequests;
  }
}
