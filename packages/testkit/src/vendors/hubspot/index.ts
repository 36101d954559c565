import { parseOptions, redactSecrets, ValidationError } from '@leadpipe/core/adapter-kit';
import { Hono } from 'hono';
import { z } from 'zod';
import type { EmulatorContext } from '../../emulator/context.js';
import { shareSchema, uncheckedOption } from '../../emulator/option-schemas.js';
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
import { HubspotWebhookSender, hubspotWebhookOptionsSchema } from './webhooks.js';

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

/** A whole number in [min, max]: `must be an integer from -720 to 840, got 900`. */
function integerIn(min: number, max?: number): z.ZodNumber {
  const reason =
    max === undefined ? `must be an integer of at least ${min}` : `must be an integer from ${min} to ${max}`;
  const message = { error: (issue: { input?: unknown }) => `${reason}, got ${String(issue.input)}` };
  const schema = z.number(message).int(message).min(min, message);
  return max === undefined ? schema : schema.max(max, message);
}

const credential = z
  .string({ error: 'must be at least 6 characters without spaces' })
  .regex(/^\S{6,}$/, { error: 'must be at least 6 characters without spaces' });

/** HubSpot's faults (`faults` of the options, `setFaults`). */
const faultsSchema = z
  .object(
    {
      partialFailureRate: shareSchema('must be within [0, 1]').optional(),
      partialFailureCategory: z
        .string({ error: 'must be a string' })
        .min(1, { error: 'must not be empty' })
        .optional(),
    },
    { error: 'must be an object' },
  )
  .strict();

/** The options of `createHubspotEmulator`, checked by `parseOptions`; every key listed, unknown ones refused. */
const hubspotOptionsSchema = z
  .object(
    {
      portalId: integerIn(1).optional(),
      appId: integerIn(1).optional(),
      privateAppToken: credential.optional(),
      oauth: z
        .object(
          {
            clientId: credential.optional(),
            clientSecret: credential.optional(),
            redirectUri: z
              .string({ error: 'must be an absolute URL' })
              .refine((value) => URL.canParse(value), { error: 'must be an absolute URL' })
              .optional(),
            accessTokenTtlMs: integerIn(1).optional(),
          },
          { error: 'must be an object' },
        )
        .strict()
        .optional(),
      rateLimits: z
        .object(
          {
            tenSecondly: integerIn(1).optional(),
            windowMs: integerIn(1).optional(),
            daily: integerIn(1).optional(),
            searchPerSecond: integerIn(1).optional(),
            timeZoneOffsetMinutes: integerIn(-720, 840).optional(),
            secondlyHeaders: uncheckedOption,
          },
          { error: 'must be an object' },
        )
        .strict()
        .optional(),
      multiStatus: z
        .enum(['always', 'objectWriteTraceId'], { error: "must be 'always' or 'objectWriteTraceId'" })
        .optional(),
      associationBatchCreateStatus: z
        .union([z.literal(200), z.literal(201)], { error: 'must be 200 or 201' })
        .optional(),
      faults: faultsSchema.optional(),
      webhooks: hubspotWebhookOptionsSchema.optional(),
    },
    { error: 'must be an object' },
  )
  .strict();

/**
 * Create a HubSpot emulator: a Hono app answering on HubSpot's real paths
 * (base https://api.hubapi.com) for CRM v3 contacts and companies (CRUD,
 * batch, upsert, search), the Properties API, v4 associations and OAuth, with
 * HubSpot's auth, error bodies, rate limits and headers, faults on demand,
 * counters (`hubspot.*` in `context.counters`) and signed webhooks.
 *
 * All time is the context's emulated clock; all random choices derive from the
 * context's seed.
 *
 * @throws ConfigurationError (`invalid_configuration`, checked by `parseOptions`) naming every invalid or
 * unknown option: `createHubspotEmulator: rateLimits.tenSecondly: must be an integer of at least 1, got 0`.
 */
export function createHubspotEmulator(
  context: EmulatorContext,
  options: HubspotEmulatorOptions = {},
): HubspotEmulator {
  parseOptions(hubspotOptionsSchema, options, { name: 'createHubspotEmulator', providerId: 'hubspot' });
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
      parseOptions(faultsSchema, next, { name: 'setFaults', providerId: 'hubspot' });
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
