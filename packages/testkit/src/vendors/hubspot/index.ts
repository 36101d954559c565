import { ConfigurationError, redactSecrets, ValidationError } from '@leadpipe/core/adapter-kit';
import { Hono } from 'hono';
import type { EmulatorContext } from '../../emulator/context.js';
import { HubspotAuth } from './auth.js';
import type { RouteDeps } from './http.js';
import { errorResponse } from './http.js';
import { hubspotIdentity } from './identity.js';
import { HubspotLimiter, resolveLimits } from './limits.js';
import { registerAssociationRoutes } from './routes-associations.js';
import { registerOauthRoutes } from './routes-oauth.js';
import { registerObjectRoutes } from './routes-objects.js';
import { registerPropertyRoutes } from './routes-properties.js';
import { HubspotStore } from './store.js';
import type { HubspotEmulator, HubspotEmulatorOptions, HubspotFaults, HubspotObjectType } from './types.js';
import { HubspotWebhookSender } from './webhooks.js';

/** Public types of the HubSpot emulator. */
export type {
  HubspotAssociationRecord,
  HubspotCredentials,
  HubspotEmulator,
  HubspotEmulatorOptions,
  HubspotFaults,
  HubspotObjectRecord,
  HubspotObjectType,
  HubspotPropertyDefinition,
  HubspotPropertyOption,
  HubspotPropertyType,
  HubspotRateLimitOptions,
  HubspotWebhookDelivery,
  HubspotWebhookEvent,
  HubspotWebhookOptions,
  HubspotWebhookSubscription,
} from './types.js';
/** Webhook signature helpers (v1 and v3), for verifying what the emulator sends. */
export { hubspotSignatureV3 } from './webhooks.js';

function invalid(field: string, reason: string): never {
  throw new ConfigurationError('invalid_configuration', {
    message: `Invalid HubSpot emulator option ${field}: ${reason}`,
    providerId: 'hubspot',
  });
}

function checkInteger(
  field: string,
  value: number | undefined,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min && value <= max)) {
    invalid(
      field,
      `must be an integer from ${min}${max === Number.MAX_SAFE_INTEGER ? '' : ` to ${max}`}, got ${value}`,
    );
  }
}

function checkFaults(faults: HubspotFaults, prefix: string): void {
  const rate = faults.partialFailureRate;
  if (rate !== undefined && !(rate >= 0 && rate <= 1))
    invalid(`${prefix}partialFailureRate`, `must be within [0, 1], got ${rate}`);
  if (faults.partialFailureCategory !== undefined && faults.partialFailureCategory.length === 0) {
    invalid(`${prefix}partialFailureCategory`, 'must not be empty');
  }
}

function checkOptions(options: HubspotEmulatorOptions): void {
  checkInteger('portalId', options.portalId, 1);
  checkInteger('appId', options.appId, 1);
  for (const [field, value] of [
    ['privateAppToken', options.privateAppToken],
    ['oauth.clientId', options.oauth?.clientId],
    ['oauth.clientSecret', options.oauth?.clientSecret],
  ] as const) {
    if (value !== undefined && !/^\S{6,}$/.test(value))
      invalid(field, 'must be at least 6 characters without spaces');
  }
  if (options.oauth?.redirectUri !== undefined && !URL.canParse(options.oauth.redirectUri)) {
    invalid('oauth.redirectUri', 'must be an absolute URL');
  }
  checkInteger('oauth.accessTokenTtlMs', options.oauth?.accessTokenTtlMs, 1);
  const limits = options.rateLimits ?? {};
  checkInteger('rateLimits.tenSecondly', limits.tenSecondly, 1);
  checkInteger('rateLimits.windowMs', limits.windowMs, 1);
  checkInteger('rateLimits.daily', limits.daily, 1);
  checkInteger('rateLimits.searchPerSecond', limits.searchPerSecond, 1);
  checkInteger('rateLimits.timeZoneOffsetMinutes', limits.timeZoneOffsetMinutes, -720, 840);
  if (
    options.multiStatus !== undefined &&
    options.multiStatus !== 'always' &&
    options.multiStatus !== 'objectWriteTraceId'
  ) {
    invalid('multiStatus', `must be 'always' or 'objectWriteTraceId'`);
  }
  if (
    options.associationBatchCreateStatus !== undefined &&
    options.associationBatchCreateStatus !== 200 &&
    options.associationBatchCreateStatus !== 201
  ) {
    invalid('associationBatchCreateStatus', 'must be 200 or 201');
  }
  checkFaults(options.faults ?? {}, 'faults.');
}

/**
 * Create a HubSpot emulator: a Hono app answering on HubSpot's real paths
 * (base https://api.hubapi.com) for CRM v3 contacts and companies (CRUD,
 * batch, upsert, search), the Properties API, v4 associations and OAuth, with
 * HubSpot's auth, error bodies, rate limits and headers, faults on demand,
 * counters (`hubspot.*` in `context.counters`) and signed webhooks.
 *
 * All time is the context's emulated clock; all random choices derive from the
 * context's seed. Throws a `ConfigurationError` naming the option when an
 * option is invalid.
 */
export function createHubspotEmulator(
  context: EmulatorContext,
  options: HubspotEmulatorOptions = {},
): HubspotEmulator {
  checkOptions(options);
  const { portalId, appId, credentials, firstId } = hubspotIdentity(context.seed, options);
  const now = () => context.clock.now();

  const webhooks = new HubspotWebhookSender({
    clock: context.clock,
    counters: context.counters,
    portalId,
    appId,
    defaultSecret: credentials.clientSecret,
  });
  webhooks.configure(options.webhooks);
  let seeding = false;
  const store = new HubspotStore(now, portalId, firstId, (change) => {
    if (!seeding) webhooks.record(change);
  });
  const limiter = new HubspotLimiter(resolveLimits(options.rateLimits), now);
  const auth = new HubspotAuth(
    {
      privateAppToken: credentials.privateAppToken,
      clientId: credentials.clientId,
      clientSecret: credentials.clientSecret,
      redirectUri: credentials.redirectUri,
      refreshToken: credentials.refreshToken,
      accessTokenTtlMs: options.oauth?.accessTokenTtlMs ?? 30 * 60_000,
    },
    now,
    context.random,
  );
  let faults: HubspotFaults = options.faults ?? {};

  const app = new Hono();
  const deps: RouteDeps = {
    app,
    context,
    store,
    auth,
    limiter,
    portalId,
    appId,
    multiStatus: options.multiStatus ?? 'always',
    associationBatchCreateStatus: options.associationBatchCreateStatus ?? 200,
    faults: () => faults,
  };
  registerOauthRoutes(deps);
  registerPropertyRoutes(deps);
  registerAssociationRoutes(deps);
  registerObjectRoutes(deps);
  app.notFound(() =>
    errorResponse(deps, 404, {
      status: 'error',
      category: 'OBJECT_NOT_FOUND',
      message: 'Unable to route the request',
    }),
  );
  app.onError((error) => {
    context.counters.increment('hubspot.status.500');
    return errorResponse(deps, 500, {
      status: 'error',
      category: 'INTERNAL_ERROR',
      message: `Internal error: ${error instanceof Error ? redactSecrets(error.message) : 'unknown'}`,
    });
  });

  const list = (objectType: HubspotObjectType) =>
    store.list(objectType).map((record) => store.snapshot(record));

  return {
    vendor: 'hubspot',
    app,
    credentials,
    portalId,
    appId,
    contacts: () => list('contacts'),
    companies: () => list('companies'),
    associations: () => store.allAssociations(),
    findContactByEmail: (email) => {
      const record = store.find('contacts', email, 'email');
      return record === undefined ? undefined : store.snapshot(record);
    },
    properties: (objectType) => store.propertyDefinitions(objectType),
    seed: (objectType, records) =>
      records.map((properties, index) => {
        const planned = store.planWrite(objectType, undefined, properties);
        if (!planned.ok) {
          const names = planned.failure.body.context?.propertyName ?? [];
          throw new ValidationError(
            (names.length > 0 ? names : ['properties']).map((name) => ({
              field: `records[${index}].${name}`,
              reason: planned.failure.body.message,
            })),
            { providerId: 'hubspot' },
          );
        }
        seeding = true;
        try {
          return store.snapshot(store.commit(planned.plan).record);
        } finally {
          seeding = false;
        }
      }),
    issueAuthorizationCode: () => auth.issueCode(),
    expireTokens: () => {
      auth.expireAll();
      context.counters.increment('hubspot.faults.tokensExpired');
    },
    setFaults: (next) => {
      checkFaults(next, '');
      faults = next;
    },
    configureWebhooks: (next) => webhooks.configure(next),
    flushWebhooks: () => webhooks.flush(),
    webhookDeliveries: () => webhooks.deliveries(),
    reset: () => {
      store.clear();
      auth.clear();
      limiter.clear();
      webhooks.clear();
    },
  };
}
