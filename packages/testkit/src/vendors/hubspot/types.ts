import type { VendorEmulator } from '../../emulator/context.js';

/** The CRM object types the HubSpot emulator stores. */
export type HubspotObjectType = 'contacts' | 'companies';

/** Value types of a HubSpot property (the Properties API `type`). */
export type HubspotPropertyType = 'string' | 'number' | 'date' | 'datetime' | 'enumeration' | 'bool';

/** One option of an enumeration property. */
export interface HubspotPropertyOption {
  /** Label shown in the HubSpot UI. */
  readonly label: string;
  /** Stored value. */
  readonly value: string;
  /** Position in the option list. */
  readonly displayOrder?: number;
  /** Whether the option is hidden in forms. */
  readonly hidden?: boolean;
  /** Description of the option. */
  readonly description?: string;
}

/** A property definition, as the Properties API returns it. */
export interface HubspotPropertyDefinition {
  /** Internal name, such as `email` or `external_id`. */
  readonly name: string;
  /** Human label. */
  readonly label: string;
  /** Value type. */
  readonly type: HubspotPropertyType;
  /** UI field type, such as `text` or `number`. */
  readonly fieldType: string;
  /** Property group. */
  readonly groupName: string;
  /** Description. */
  readonly description: string;
  /** Options of an enumeration property. */
  readonly options: readonly HubspotPropertyOption[];
  /** Whether every record must hold a distinct value (usable as an upsert `idProperty`). */
  readonly hasUniqueValue: boolean;
  /** Whether HubSpot itself defined the property. */
  readonly hubspotDefined: boolean;
  /** Whether the value can only be set by HubSpot. */
  readonly readOnlyValue: boolean;
  /** Whether the property is hidden in the UI. */
  readonly hidden: boolean;
  /** Whether the property shows in forms. */
  readonly formField: boolean;
  /** Position in its group. */
  readonly displayOrder: number;
  /** When it was created (ISO 8601). */
  readonly createdAt: string;
  /** When it was last changed (ISO 8601). */
  readonly updatedAt: string;
}

/** A stored CRM record, as the emulator's state accessors return it. */
export interface HubspotObjectRecord {
  /** Record id (`hs_object_id`), a string of digits. */
  readonly id: string;
  /** Every property value the record holds. */
  readonly properties: Readonly<Record<string, string>>;
  /** Creation time (ISO 8601, emulated clock). */
  readonly createdAt: string;
  /** Last modification time (ISO 8601, emulated clock). */
  readonly updatedAt: string;
  /** Whether the record was archived. */
  readonly archived: boolean;
}

/** One contact-to-company association, as stored. */
export interface HubspotAssociationRecord {
  /** Contact id. */
  readonly contactId: string;
  /** Company id. */
  readonly companyId: string;
  /** Contact-to-company association type ids: 279 (unlabelled) and/or 1 (primary). */
  readonly typeIds: readonly number[];
}

/** Rate limits the emulator enforces. Numbers are per HubSpot's usage guidelines; all configurable. */
export interface HubspotRateLimitOptions {
  /** Requests per rolling window per app. Default 100 (Free/Starter); 190 for Professional/Enterprise. */
  readonly tenSecondly?: number;
  /** Length of the rolling window in emulated ms. Default 10 000. */
  readonly windowMs?: number;
  /** Requests per day per account. Default 250 000. Resets at midnight in the account's time zone. */
  readonly daily?: number;
  /** Search requests per second per account. Default 5. */
  readonly searchPerSecond?: number;
  /** Offset of the account's time zone from UTC, in minutes, for the daily reset. Default 0. */
  readonly timeZoneOffsetMinutes?: number;
  /**
   * Whether to also send `X-HubSpot-RateLimit-Secondly` and `-Secondly-Remaining` (window max / 10
   * per second, informational; UNVERIFIED whether HubSpot still sends them). Default false.
   */
  readonly secondlyHeaders?: boolean;
}

/** HubSpot-specific faults to inject on demand. */
export interface HubspotFaults {
  /** Probability in [0, 1] that each input of a batch create/update/upsert fails with a per-record error (-> 207). */
  readonly partialFailureRate?: number;
  /** `category` of the injected per-record errors. Default `VALIDATION_ERROR`. */
  readonly partialFailureCategory?: string;
}

/** A webhook subscription of the emulated app. */
export interface HubspotWebhookSubscription {
  /** Event type, such as `contact.creation` or `contact.propertyChange`. */
  readonly subscriptionType:
    | 'contact.creation'
    | 'contact.propertyChange'
    | 'contact.deletion'
    | 'company.creation'
    | 'company.propertyChange'
    | 'company.deletion';
  /** For `*.propertyChange`: the property watched. Omitted: every property (an emulator convenience). */
  readonly propertyName?: string;
}

/** Where and how the emulator delivers webhooks. */
export interface HubspotWebhookOptions {
  /** The app's target URL; events are POSTed here as a JSON array. */
  readonly targetUrl: string;
  /** Secret the signatures are computed with. Default: the OAuth app's client secret (as HubSpot does). */
  readonly clientSecret?: string;
  /** Subscriptions. Default: contact creation, deletion and every contact property change. */
  readonly subscriptions?: readonly HubspotWebhookSubscription[];
  /** Events per request. Default 100. */
  readonly maxEventsPerRequest?: number;
  /** Delivery attempts per request (429, 5xx and network errors are retried; other 4xx are not). Default 10. */
  readonly maxAttempts?: number;
  /** Wait between attempts in emulated ms when the target sends no `Retry-After`. Default 1 000, doubled per attempt. */
  readonly retryDelayMs?: number;
  /** `auto`: deliver shortly after each change; `manual`: only on `flushWebhooks()`. Default `auto`. */
  readonly delivery?: 'auto' | 'manual';
  /** fetch implementation used to deliver. Default the global `fetch`. */
  readonly fetch?: typeof fetch;
}

/** One webhook event, as HubSpot sends it. */
export interface HubspotWebhookEvent {
  /** Unique event id. */
  readonly eventId: number;
  /** Id of the subscription that matched. */
  readonly subscriptionId: number;
  /** HubSpot account id. */
  readonly portalId: number;
  /** App id. */
  readonly appId: number;
  /** When the change happened (epoch ms, emulated clock). */
  readonly occurredAt: number;
  /** Event type. */
  readonly subscriptionType: HubspotWebhookSubscription['subscriptionType'];
  /** Delivery attempt, starting at 0. */
  readonly attemptNumber: number;
  /** Id of the changed record. */
  readonly objectId: number;
  /** Changed property (property-change events). */
  readonly propertyName?: string;
  /** New value (property-change events). */
  readonly propertyValue?: string;
  /** What happened (`NEW` on creation, `DELETED` on deletion). */
  readonly changeFlag?: string;
  /** Where the change came from; `API` for changes made through the emulator's API. */
  readonly changeSource: string;
  /** Id of the source (the app id for API changes). */
  readonly sourceId: string;
}

/** One webhook request the emulator sent. */
export interface HubspotWebhookDelivery {
  /** Target URL. */
  readonly url: string;
  /** Events in the request. */
  readonly events: readonly HubspotWebhookEvent[];
  /** Attempt number (0 for the first). */
  readonly attemptNumber: number;
  /** Response status, or 0 on a network error. */
  readonly status: number;
  /** Whether the request was accepted (2xx). */
  readonly delivered: boolean;
}

/** Options of `createHubspotEmulator`. Every field has a default. */
export interface HubspotEmulatorOptions {
  /** Account (hub) id. Default derived from the seed. */
  readonly portalId?: number;
  /** App id. Default derived from the seed. */
  readonly appId?: number;
  /** The private-app token accepted (`pat-...`). Default derived from the seed. */
  readonly privateAppToken?: string;
  /** The OAuth app. */
  readonly oauth?: {
    /** Client id. Default derived from the seed. */
    readonly clientId?: string;
    /** Client secret. Default derived from the seed. */
    readonly clientSecret?: string;
    /** Redirect URI registered for the app. Default `http://localhost/oauth-callback`. */
    readonly redirectUri?: string;
    /** Access token lifetime in emulated ms. Default 30 minutes. */
    readonly accessTokenTtlMs?: number;
  };
  /** Rate limits. */
  readonly rateLimits?: HubspotRateLimitOptions;
  /**
   * When batch update/upsert answer 207 for per-record failures (UNVERIFIED upstream): `always` (default) or
   * only when inputs carry `objectWriteTraceId`; otherwise the first failure fails the whole batch.
   * Batch create always needs `objectWriteTraceId` for 207, as HubSpot documents.
   */
  readonly multiStatus?: 'always' | 'objectWriteTraceId';
  /** Status of `POST /crm/v4/associations/.../batch/create`: 200 (HubSpot since 2025-08-21, default) or 201 (older). */
  readonly associationBatchCreateStatus?: 200 | 201;
  /** Faults to inject from the start (change later with `setFaults`). */
  readonly faults?: HubspotFaults;
  /** Webhook delivery (change later with `configureWebhooks`). */
  readonly webhooks?: HubspotWebhookOptions;
}

/** Credentials the HubSpot emulator accepts. */
export type HubspotCredentials = {
  /** Private-app token for `Authorization: Bearer`. */
  readonly privateAppToken: string;
  /** OAuth client id. */
  readonly clientId: string;
  /** OAuth client secret (also the webhook signing secret by default). */
  readonly clientSecret: string;
  /** A refresh token issued up front, valid until `reset()`. */
  readonly refreshToken: string;
  /** Registered OAuth redirect URI. */
  readonly redirectUri: string;
};

/** The HubSpot emulator: a Hono app on HubSpot's real paths plus state accessors and fault switches. */
export interface HubspotEmulator extends VendorEmulator {
  /** Always `hubspot`. */
  readonly vendor: 'hubspot';
  /** Credentials accepted. */
  readonly credentials: HubspotCredentials;
  /** Account id. */
  readonly portalId: number;
  /** App id. */
  readonly appId: number;
  /** Every non-archived contact, by id. */
  contacts(): HubspotObjectRecord[];
  /** Every non-archived company, by id. */
  companies(): HubspotObjectRecord[];
  /** Every contact-to-company association. */
  associations(): HubspotAssociationRecord[];
  /** The non-archived contact with this email (case-insensitive), if any. */
  findContactByEmail(email: string): HubspotObjectRecord | undefined;
  /** Property definitions of an object type. */
  properties(objectType: HubspotObjectType): HubspotPropertyDefinition[];
  /**
   * Insert records directly (no HTTP, no limits, no webhooks), for fixtures. Each item is a property map.
   * Throws a `ValidationError` naming the offending property when a value is invalid or not unique.
   */
  seed(objectType: HubspotObjectType, records: readonly Record<string, string>[]): HubspotObjectRecord[];
  /** Issue a single-use OAuth authorization code for `grant_type=authorization_code`. */
  issueAuthorizationCode(): string;
  /** Fault: expire every OAuth access token issued so far (refresh tokens stay valid). */
  expireTokens(): void;
  /** Replace the injected faults. */
  setFaults(faults: HubspotFaults): void;
  /** Set (or, with `undefined`, remove) webhook delivery. */
  configureWebhooks(options: HubspotWebhookOptions | undefined): void;
  /** Deliver every pending webhook event now; resolves with the requests made (retries included). */
  flushWebhooks(): Promise<HubspotWebhookDelivery[]>;
  /** Every webhook request made so far. */
  webhookDeliveries(): HubspotWebhookDelivery[];
  /** Forget records, custom properties, associations, issued tokens, pending webhooks and limit windows. */
  reset(): void;
}
