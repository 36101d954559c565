import type { KeyObject } from 'node:crypto';
import type { VendorEmulator } from '../../emulator/context.js';
import type { IngestJobState, IngestOperation } from './bulk.js';
import type { OutboundDelivery } from './outbound.js';
import type { SalesforceFieldDefinition } from './schema.js';

/** Outbound Message settings: where the emulator POSTs SOAP notifications about Lead changes. */
export interface SalesforceOutboundMessageOptions {
  /** The listener's endpoint URL. */
  readonly url: string;
  /** Lead fields each notification carries. Default `Id`, `Email`, `LastName`, `Company`, `Lead_Key__c`, `SystemModstamp`. */
  readonly fields?: readonly string[];
  /** The fetch to deliver with. Default the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/** Options of `createSalesforceEmulator`. Every number is in emulated time where it is a duration. */
export interface SalesforceEmulatorOptions {
  /** The URL to answer as `instance_url`. Default: the origin of each request. */
  readonly instanceUrl?: string;
  /** 18-character org id (starts with `00D`). Default derived from the seed. */
  readonly organizationId?: string;
  /** Connected app consumer key. Default `emulator-client-id`. */
  readonly clientId?: string;
  /** Connected app consumer secret. Default `emulator-client-secret`. */
  readonly clientSecret?: string;
  /** Username for the password and JWT flows. Default `emulator@leadpipe.test`. */
  readonly username?: string;
  /** Password (with security token appended, as Salesforce wants) for the password flow. Default `emulator-password`. */
  readonly password?: string;
  /** Issue a new refresh token on each refresh and invalidate the old one. Default false. */
  readonly rotateRefreshTokens?: boolean;
  /** How long an access token lives. Default 2 hours. */
  readonly sessionLifetimeMs?: number;
  /** PEM or key object to verify JWT bearer assertions (RS256) with; without it they are checked structurally. */
  readonly jwtPublicKey?: string | KeyObject;
  /** JWT `aud` values accepted besides the emulator's own origin. Default login and test.salesforce.com. */
  readonly jwtAudiences?: readonly string[];
  /** Daily (rolling 24 h) API request allocation. Default 100,000. */
  readonly dailyApiRequests?: number;
  /** Concurrent long-running (>= 20 s) requests allowed. Default 25 (production); Developer Edition has 5. */
  readonly concurrentLongRunningLimit?: number;
  /** How long every REST request takes to answer. Default 0. */
  readonly responseDelayMs?: number;
  /** Default SOQL batch size (the `Sforce-Query-Options: batchSize=` header overrides it within 200-2000). Default 2000. */
  readonly queryBatchSize?: number;
  /** Delay between UploadComplete and InProgress of a Bulk API 2.0 job. Default 1000 ms. */
  readonly bulkStartDelayMs?: number;
  /** Bulk API 2.0 processing speed in rows per emulated second. Default 10,000. */
  readonly bulkRecordsPerSecond?: number;
  /** Return Bulk API 2.0 result rows in a seeded random order, as Salesforce does not keep order. Default true. */
  readonly shuffleBulkResults?: boolean;
  /** Share of collection records and bulk rows failing with UNABLE_TO_LOCK_ROW, in [0, 1]. Default 0. */
  readonly partialFailureRate?: number;
  /** Custom Lead fields to add to the standard ones. */
  readonly customFields?: readonly SalesforceFieldDefinition[];
  /** Outbound Message delivery; when set, every Lead create or update queues a notification. */
  readonly outboundMessages?: SalesforceOutboundMessageOptions;
}

/** A Lead as the REST API shows it: field names to values, datetimes as `2026-01-01T00:00:00.000+0000`. */
export type SalesforceLead = Readonly<Record<string, string | number | boolean | null>>;

/** What the emulator reports about a Bulk API 2.0 ingest job. */
export interface SalesforceIngestJobSummary {
  /** Job id (`750…`). */
  readonly id: string;
  /** Where the job is in Open -> UploadComplete -> InProgress -> JobComplete | Failed | Aborted. */
  readonly state: IngestJobState;
  /** insert, update, upsert or delete. */
  readonly operation: IngestOperation;
  /** The sObject (always `Lead`). */
  readonly object: string;
  /** The External ID field of an upsert job. */
  readonly externalIdFieldName: string | undefined;
  /** Rows processed so far, failed ones included. */
  readonly numberRecordsProcessed: number;
  /** Rows that failed. */
  readonly numberRecordsFailed: number;
  /** Why the job Failed, when it did. */
  readonly errorMessage: string | undefined;
}

/** Credentials the Salesforce emulator accepts. Secrets: never log them. */
export type SalesforceCredentials = Readonly<{
  /** Connected app consumer key. */
  clientId: string;
  /** Connected app consumer secret. */
  clientSecret: string;
  /** Username of the password and JWT bearer flows. */
  username: string;
  /** Password of the password flow. */
  password: string;
  /** An access token valid for one session lifetime from creation or `reset()`. */
  accessToken: string;
  /** A refresh token for the refresh_token grant (replaced on use when rotation is on). */
  refreshToken: string;
  /** The org id (`00D…`), as in the identity URL and Outbound Messages. */
  organizationId: string;
  /** The user id (`005…`), as in the identity URL. */
  userId: string;
}>;

/** The Salesforce emulator: REST, SOQL, sObject Collections, Bulk API 2.0 ingest, OAuth and Outbound Messages. */
export interface SalesforceEmulator extends VendorEmulator {
  /** Always `salesforce`. */
  readonly vendor: 'salesforce';
  /** Credentials the emulator accepts; see {@link SalesforceCredentials}. */
  readonly credentials: SalesforceCredentials;
  /** Every Lead (deleted ones only with `includeDeleted`), in creation order. */
  leads(options?: { readonly includeDeleted?: boolean }): SalesforceLead[];
  /** The live Lead whose External ID `field` (default `Lead_Key__c`) matches `value`. */
  findLeadByExternalId(value: string, field?: string): SalesforceLead | undefined;
  /** Every Bulk API 2.0 ingest job, advanced to the current emulated time. */
  jobs(): SalesforceIngestJobSummary[];
  /** API requests counted in the rolling 24 hours, and the allocation. */
  apiUsage(): {
    /** API requests counted in the rolling 24 hours. */
    readonly used: number;
    /** The daily allocation (`dailyApiRequests`). */
    readonly limit: number;
  };
  /** Fault: expire every access token now (refresh tokens keep working). */
  expireTokens(): void;
  /** Fault: make a share of collection records and bulk rows fail with UNABLE_TO_LOCK_ROW. */
  setPartialFailureRate(rate: number): void;
  /** Fault: make every REST request take `ms` of emulated time (long ones count against the concurrency cap). */
  setResponseDelayMs(ms: number): void;
  /** Change the daily API request allocation. */
  setDailyApiRequests(limit: number): void;
  /** Queue Outbound Message notifications for these Leads (by id), besides the ones writes queue. */
  queueOutboundMessages(leadIds: readonly string[]): void;
  /** POST the queued notifications (at most 100 per message); unacknowledged ones stay queued. */
  deliverOutboundMessages(): Promise<OutboundDelivery[]>;
  /** Every Outbound Message delivery attempt so far. */
  outboundDeliveries(): OutboundDelivery[];
}
