import type { Context, Hono } from 'hono';
import type { z } from 'zod';
import type { EmulatorContext } from '../../emulator/context.js';
import type { HubspotAuth } from './auth.js';
import type { HubspotErrorBody, WriteFailure } from './errors.js';
import { invalidInput } from './errors.js';
import type { HubspotLimiter, HubspotPolicy } from './limits.js';
import { DEFAULT_RETURNED_PROPERTIES } from './properties.js';
import type { HubspotStore, StoredObject } from './store.js';
import type { HubspotFaults, HubspotObjectType } from './types.js';
import { iso, parseObjectType, randomUuid } from './util.js';

/** Everything route handlers share. */
export interface RouteDeps {
  /** The app routes are added to. */
  readonly app: Hono;
  /** Clock, counters, random numbers. */
  readonly context: EmulatorContext;
  /** CRM state. */
  readonly store: HubspotStore;
  /** Tokens. */
  readonly auth: HubspotAuth;
  /** Rate limits. */
  readonly limiter: HubspotLimiter;
  /** Account id. */
  readonly portalId: number;
  /** App id. */
  readonly appId: number;
  /** When batch update/upsert answer 207. */
  readonly multiStatus: 'always' | 'objectWriteTraceId';
  /** Success status of association batch create. */
  readonly associationBatchCreateStatus: 200 | 201;
  /** Faults in force now. */
  faults(): HubspotFaults;
}

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json;charset=utf-8', ...headers },
  });
}

/** An empty response (204). */
export function noContent(): Response {
  return new Response(null, { status: 204 });
}

/** An error response with a fresh correlation id. */
export function errorResponse(
  deps: RouteDeps,
  status: number,
  body: Omit<HubspotErrorBody, 'correlationId'>,
): Response {
  return json(status, { ...body, correlationId: randomUuid(deps.context.random) });
}

/** The response for a failure that fails the whole request. */
export function failureResponse(deps: RouteDeps, failure: WriteFailure): Response {
  return errorResponse(deps, failure.httpStatus, failure.body);
}

/** 404 for an unknown record. */
export function notFound(deps: RouteDeps, objectType: HubspotObjectType | undefined, id: string): Response {
  return errorResponse(deps, 404, {
    status: 'error',
    message: objectType === undefined ? `Unknown object type` : 'resource not found',
    category: 'OBJECT_NOT_FOUND',
    context: { id: [id] },
  });
}

/** Parse a JSON body against a schema; a 400 response in HubSpot's shape when it does not fit. */
export async function readBody<Schema extends z.ZodType>(
  deps: RouteDeps,
  c: Context,
  schema: Schema,
): Promise<{ ok: true; value: z.infer<Schema> } | { ok: false; response: Response }> {
  const text = await c.req.text();
  let raw: unknown;
  try {
    raw = text.length === 0 ? undefined : JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'malformed JSON';
    return { ok: false, response: failureResponse(deps, invalidInput(`Invalid input JSON: ${reason}`)) };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, value: parsed.data };
  const details = parsed.error.issues.map((issue) => ({
    message: `${issue.path.join('.') || 'body'}: ${issue.message}`,
    in: issue.path.join('.') || 'body',
    code: 'INVALID_INPUT',
  }));
  return {
    ok: false,
    response: failureResponse(
      deps,
      invalidInput(`Invalid input JSON: ${details.map((detail) => detail.message).join('; ')}`, details),
    ),
  };
}

/** Values of a repeated, comma-separated query parameter (`properties=a,b&properties=c`). */
export function listQuery(c: Context, name: string): string[] | undefined {
  const values = c.req.queries(name);
  if (values === undefined) return undefined;
  return values.flatMap((value) => value.split(',')).filter((value) => value.length > 0);
}

/** Batch timing fields. */
export function batchTimes(startedAt: number, completedAt: number): Record<string, string> {
  return { requestedAt: iso(startedAt), startedAt: iso(startedAt), completedAt: iso(completedAt) };
}

/** The JSON of a record: the asked-for properties (null when unset) or the default set, plus extra names. */
export function objectJson(
  deps: RouteDeps,
  record: StoredObject,
  requested: readonly string[] | undefined,
  extra: readonly string[] = [],
): Record<string, unknown> {
  const properties: Record<string, string | null> = {};
  if (requested === undefined) {
    for (const name of [...DEFAULT_RETURNED_PROPERTIES[record.objectType], ...extra]) {
      properties[name] = record.properties[name] ?? null;
    }
  } else {
    // HubSpot always returns the id and timestamps, whatever was asked for.
    const always =
      record.objectType === 'contacts'
        ? ['createdate', 'hs_object_id', 'lastmodifieddate']
        : ['createdate', 'hs_lastmodifieddate', 'hs_object_id'];
    for (const name of [...new Set([...requested, ...always])]) {
      if (
        deps.store.property(record.objectType, name) !== undefined ||
        record.properties[name] !== undefined
      ) {
        properties[name] = record.properties[name] ?? null;
      }
    }
  }
  return {
    id: record.id,
    properties,
    createdAt: iso(record.createdAt),
    updatedAt: iso(record.updatedAt),
    archived: record.archived,
    ...(record.archivedAt !== undefined ? { archivedAt: iso(record.archivedAt) } : {}),
  };
}

const RATE_LIMIT_MESSAGES: Readonly<Record<HubspotPolicy, string>> = {
  TEN_SECONDLY_ROLLING: 'You have reached your ten_secondly_rolling limit.',
  DAILY: 'You have reached your daily limit.',
  SECONDLY: 'You have reached your secondly limit.',
};

/** Options of one API route. */
export interface ApiRouteOptions {
  /** Counted under the search per-second limit. */
  readonly search?: boolean;
}

/**
 * Register an authenticated, rate-limited API route on every given path.
 * `endpoint` names the counter (`{objectType}` is filled from the path).
 */
export function apiRoute(
  deps: RouteDeps,
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
  paths: readonly string[],
  endpoint: string,
  options: ApiRouteOptions,
  handler: (c: Context) => Promise<Response> | Response,
): void {
  const { counters } = deps.context;
  deps.app.on(method, [...paths], async (c) => {
    const version = c.req.param('version');
    if (version !== undefined && !/^\d{4}-\d{2}$/.test(version)) return notFound(deps, undefined, version);
    const typeParam = c.req.param('objectType');
    const name = endpoint.replace('{objectType}', parseObjectType(typeParam) ?? typeParam ?? '');
    counters.increment('hubspot.calls');
    counters.increment(`hubspot.endpoint.${name}`);
    const who = deps.auth.authorize(c.req.header('authorization'));
    if (!who.ok) {
      counters.increment('hubspot.401');
      if (who.expiredForMs !== undefined) {
        const minutes = Math.floor(who.expiredForMs / 60_000);
        return errorResponse(deps, 401, {
          status: 'error',
          message: `The OAuth token used to make this call expired ${minutes} minute(s) ago.`,
          category: 'EXPIRED_AUTHENTICATION',
        });
      }
      return errorResponse(deps, 401, {
        status: 'error',
        message:
          'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
        category: 'INVALID_AUTHENTICATION',
      });
    }
    const decision = deps.limiter.admit(who.appKey, options.search === true, who.oauth);
    if (decision.refusedBy !== undefined) {
      counters.increment('hubspot.429');
      counters.increment(`hubspot.429.${decision.refusedBy}`);
      return json(
        429,
        {
          status: 'error',
          message: RATE_LIMIT_MESSAGES[decision.refusedBy],
          errorType: 'RATE_LIMIT',
          correlationId: randomUuid(deps.context.random),
          policyName: decision.refusedBy,
          ...(decision.refusedBy === 'TEN_SECONDLY_ROLLING'
            ? { groupName: `publicapi:hapikey-api-calls-ten-secondly:${deps.portalId}` }
            : {}),
          requestId: randomUuid(deps.context.random),
        },
        decision.headers,
      );
    }
    const response = await handler(c);
    for (const [header, value] of Object.entries(decision.headers)) response.headers.set(header, value);
    counters.increment(`hubspot.status.${response.status}`);
    return response;
  });
}
