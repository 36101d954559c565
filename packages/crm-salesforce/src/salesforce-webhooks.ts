import {
  assertFreshTimestamp,
  assertHmacSignature,
  assertWebhookBodySize,
  type Clock,
  ConfigurationError,
  type CrmEvent,
  type CrmEventType,
  type CrmPropertySnapshot,
  DEFAULT_WEBHOOK_MAX_BODY_BYTES,
  getHeader,
  type InboundWebhookRequest,
  parseOptions,
  rawBodyToBuffer,
  rawBodyToString,
  registerSecret,
  type WebhookResponse,
  WebhookVerificationError,
} from '@leadpipe/core/adapter-kit';
import { XMLParser } from 'fast-xml-parser';
import { z } from 'zod';
import { SALESFORCE_PROVIDER_ID } from './salesforce-auth.js';

/** Header carrying the HMAC-SHA256 signature of an Apex or Flow callout: `sha256=<hex>`. */
const SALESFORCE_SIGNATURE_HEADER = 'x-leadpipe-signature';
/** Header carrying the epoch-millisecond time the callout was signed at. */
const SALESFORCE_TIMESTAMP_HEADER = 'x-leadpipe-timestamp';

/** The SOAP answer that acknowledges an Outbound Message; without it Salesforce delivers it again (for 24 h). */
export const SALESFORCE_OUTBOUND_ACK =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>';

/**
 * What to answer an Outbound Message with: 200 and the SOAP `<Ack>true</Ack>`
 * once its notifications are safely handled; otherwise a 500 with a SOAP
 * fault, so Salesforce delivers it again later.
 */
export function salesforceOutboundResponse(acknowledged = true): WebhookResponse {
  if (acknowledged) {
    return {
      status: 200,
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: SALESFORCE_OUTBOUND_ACK,
    };
  }
  return {
    status: 500,
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    body: '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>not processed; deliver again</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>',
  };
}

/** Options of {@link parseSalesforceWebhook}. */
export interface ParseSalesforceWebhookOptions {
  /** Org id (`00D…`, 15 or 18 characters) Outbound Messages must come from. Env `SALESFORCE_ORGANIZATION_ID`. */
  readonly organizationId?: string;
  /** Secret that Apex/Flow callouts are signed with. Env `SALESFORCE_WEBHOOK_SECRET`. */
  readonly webhookSecret?: string;
  /** How old a signed callout may be, ms. Default 5 minutes. */
  readonly toleranceMs?: number;
  /** The clock, epoch ms. Default `Date.now`. */
  readonly now?: Clock;
  /**
   * Largest body read, in bytes; a larger one is refused
   * (`payload_too_large`, answer 413) before anything parses it. Default
   * 1 MiB (`DEFAULT_WEBHOOK_MAX_BODY_BYTES`): an Outbound Message carries
   * at most 100 notifications; raise it if yours send long text fields.
   */
  readonly maxBodyBytes?: number;
}

const xml = new XMLParser({
  ignoreAttributes: false,
  removeNSPrefix: true,
  parseTagValue: false,
  trimValues: true,
  isArray: (name) => name === 'Notification',
});

function fail(message: string): WebhookVerificationError {
  return new WebhookVerificationError('payload_invalid', { message, providerId: SALESFORCE_PROVIDER_ID });
}

function text(value: unknown): string | null | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const record = value as Record<string, unknown>;
    if (record['@_nil'] === 'true') return null;
    if (typeof record['#text'] === 'string') return record['#text'];
    return '';
  }
  return undefined;
}

function sameOrg(a: string, b: string): boolean {
  return a.slice(0, 15) === b.slice(0, 15);
}

/**
 * The first `<OrganizationId>` element's text, found by scanning the raw
 * body without parsing it (bounded quantifiers: linear, whatever the
 * body). `undefined` when there is none in plain form.
 */
const ORGANIZATION_ID_ELEMENT =
  /<(?:[A-Za-z_][\w.-]{0,64}:)?OrganizationId(?:\s[^<>]{0,512})?>\s{0,64}([^<]{0,64}?)\s{0,64}<\//;

function scanOrganizationId(body: string): string | undefined {
  return ORGANIZATION_ID_ELEMENT.exec(body)?.[1];
}

function orgMissing(): WebhookVerificationError {
  return new WebhookVerificationError('signature_missing', {
    message: 'Outbound Message: OrganizationId is missing',
    providerId: SALESFORCE_PROVIDER_ID,
  });
}

function orgWrong(): WebhookVerificationError {
  return new WebhookVerificationError('signature_invalid', {
    message: 'Outbound Message: OrganizationId is not the configured org',
    providerId: SALESFORCE_PROVIDER_ID,
  });
}

function toIso(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const ms = Date.parse(value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/**
 * Verify and parse a SOAP Outbound Message: the `OrganizationId` must be the
 * configured org (Outbound Messages carry no signature; also restrict the
 * endpoint to Salesforce's IP ranges or use mutual TLS). Every notification
 * becomes a `record.updated` event whose id is the notification id (deliveries
 * repeat: dedupe on it) and whose properties are the fields sent.
 */
function parseOutboundMessage(body: string, organizationId: string, now: Clock): CrmEvent[] {
  // What can be checked before parsing is checked first: a forged message from another org (or with
  // no org id) is refused after one linear scan, without building its XML tree.
  const scanned = scanOrganizationId(body);
  if (scanned === undefined || scanned === '') throw orgMissing();
  if (!sameOrg(scanned, organizationId)) throw orgWrong();
  let parsed: unknown;
  try {
    parsed = xml.parse(body, true);
  } catch {
    throw fail('Outbound Message: the body is not well-formed XML');
  }
  const envelope = (parsed as Record<string, unknown>).Envelope as Record<string, unknown> | undefined;
  const soapBody = envelope?.Body as Record<string, unknown> | undefined;
  const notifications = soapBody?.notifications as Record<string, unknown> | undefined;
  if (notifications === undefined) throw fail('Outbound Message: no SOAP notifications element');
  // The parsed element is the one that counts: the scan above only refuses early.
  const org = text(notifications.OrganizationId);
  if (typeof org !== 'string' || org === '') throw orgMissing();
  if (!sameOrg(org, organizationId)) throw orgWrong();
  const list = Array.isArray(notifications.Notification) ? notifications.Notification : [];
  return list.map((raw: unknown, index: number) => {
    const notification = raw as Record<string, unknown>;
    const id = text(notification.Id);
    const sObject = notification.sObject as Record<string, unknown> | undefined;
    if (typeof id !== 'string' || id === '' || sObject === undefined) {
      throw fail(`Outbound Message: notification ${index} has no Id or sObject`);
    }
    const type = typeof sObject['@_type'] === 'string' ? sObject['@_type'].replace(/^.*:/, '') : 'Lead';
    const properties: Record<string, string | null> = {};
    for (const [name, value] of Object.entries(sObject)) {
      if (name.startsWith('@_')) continue;
      const fieldValue = text(value);
      if (fieldValue !== undefined) properties[name] = fieldValue;
    }
    const recordId = properties.Id;
    if (typeof recordId !== 'string' || recordId === '') {
      throw fail(`Outbound Message: notification ${index} carries no record Id`);
    }
    const occurredAt =
      toIso(properties.SystemModstamp) ?? toIso(properties.LastModifiedDate) ?? new Date(now()).toISOString();
    const event: CrmEvent = {
      eventId: id,
      type: 'record.updated',
      object: type,
      recordId,
      occurredAt,
      properties: properties as CrmPropertySnapshot,
      raw: { notificationId: id, organizationId: org },
    };
    return event;
  });
}

const CALLOUT_TYPES: Readonly<Record<string, CrmEventType>> = {
  created: 'record.created',
  insert: 'record.created',
  updated: 'record.updated',
  update: 'record.updated',
  deleted: 'record.deleted',
  delete: 'record.deleted',
  merged: 'record.merged',
  undeleted: 'record.restored',
  restored: 'record.restored',
};

const calloutEventSchema = z.object({
  eventId: z.string().min(1),
  type: z.string().min(1),
  object: z.string().min(1).default('Lead'),
  recordId: z.string().min(1),
  occurredAt: z.string().min(1),
  changeSource: z.string().optional(),
  fields: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
});

const calloutSchema = z.union([z.object({ events: z.array(calloutEventSchema) }), calloutEventSchema]);

/**
 * Verify and parse an HMAC-signed callout sent by Apex or a Flow: headers
 * `X-Leadpipe-Timestamp` (epoch ms) and `X-Leadpipe-Signature:
 * sha256=<hex of HMAC-SHA256(secret, timestamp + "." + rawBody)>`, body
 * `{"events":[{eventId, type, object, recordId, occurredAt, fields?}]}` or
 * one such event. `type` is `created`, `updated`, `deleted`, `merged` or
 * `undeleted` (or the `record.*` names). The signature is checked over the
 * raw bytes received, before they are decoded.
 */
function parseSignedCallout(
  request: InboundWebhookRequest,
  secret: string,
  options: { readonly toleranceMs?: number; readonly now?: Clock } = {},
): CrmEvent[] {
  const bytes = rawBodyToBuffer(request.rawBody, SALESFORCE_PROVIDER_ID);
  const timestamp = getHeader(request.headers, SALESFORCE_TIMESTAMP_HEADER);
  assertHmacSignature({
    algorithm: 'sha256',
    secret,
    payload: [timestamp ?? '', '.', bytes],
    encoding: 'hex',
    signature: getHeader(request.headers, SALESFORCE_SIGNATURE_HEADER),
    prefix: 'sha256=',
    providerId: SALESFORCE_PROVIDER_ID,
    signatureName: 'X-Leadpipe-Signature',
  });
  assertFreshTimestamp(timestamp, {
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.toleranceMs === undefined ? {} : { toleranceMs: options.toleranceMs }),
    providerId: SALESFORCE_PROVIDER_ID,
    fieldName: 'X-Leadpipe-Timestamp',
  });
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw fail('callout: the body is not UTF-8 JSON');
  }
  const parsed = calloutSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`callout: ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  }
  const events = 'events' in parsed.data ? parsed.data.events : [parsed.data];
  return events.map((event, index) => {
    const type = event.type.startsWith('record.') ? event.type : CALLOUT_TYPES[event.type.toLowerCase()];
    if (type === undefined || !(type in REVERSE_TYPES)) {
      throw fail(
        `callout: events.${index}.type: unknown event type ${JSON.stringify(event.type.slice(0, 40))}`,
      );
    }
    const occurredAt = toIso(event.occurredAt);
    if (occurredAt === undefined) throw fail(`callout: events.${index}.occurredAt: not a date`);
    return {
      eventId: event.eventId,
      type: type as CrmEventType,
      object: event.object,
      recordId: event.recordId,
      occurredAt,
      ...(event.fields === undefined ? {} : { properties: event.fields }),
      ...(event.changeSource === undefined ? {} : { changeSource: event.changeSource }),
      raw: event,
    };
  });
}

const REVERSE_TYPES: Readonly<Record<string, true>> = {
  'record.created': true,
  'record.updated': true,
  'record.deleted': true,
  'record.merged': true,
  'record.restored': true,
};

/** Whether the body's first non-blank character is `<` (an XML body sent without an XML content type). */
function startsWithMarkup(rawBody: string | Uint8Array): boolean {
  const head =
    typeof rawBody === 'string'
      ? rawBody.slice(0, 1024)
      : rawBodyToBuffer(rawBody).subarray(0, 1024).toString('utf8');
  return head.trimStart().startsWith('<');
}

function setting(value: string | undefined, env: string): string | undefined {
  if (value !== undefined && value !== '') return value;
  const fromEnv = typeof process === 'undefined' ? undefined : process.env[env];
  return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
}

/**
 * Verify and parse an inbound Salesforce notification: an Outbound Message
 * (SOAP, recognised by an XML body; answer it with
 * {@link salesforceOutboundResponse}) or an HMAC-signed Apex/Flow callout
 * (JSON). Cheap checks come first: the body size (`maxBodyBytes`), then an
 * Outbound Message's org id (read without parsing the XML) or a callout's
 * signature over the raw bytes; only then is the body parsed. Rejects with a
 * `WebhookVerificationError` when the body is too large or the org,
 * signature or timestamp is wrong, and with a `ConfigurationError` naming
 * the option and variable when the org id or secret it needs is not
 * configured.
 */
/** The one setting checked up front; the others are checked where they are used (a missing secret is a 401). */
const webhookOptionsSchema = z.looseObject({
  maxBodyBytes: z
    .number({ error: 'must be a whole number of bytes, at least 1' })
    .int({ error: 'must be a whole number of bytes, at least 1' })
    .min(1, { error: 'must be a whole number of bytes, at least 1' })
    .optional(),
});

export function parseSalesforceWebhook(
  request: InboundWebhookRequest,
  options: ParseSalesforceWebhookOptions = {},
): CrmEvent[] {
  const checked = parseOptions(webhookOptionsSchema, options, {
    name: 'parseSalesforceWebhook',
    providerId: SALESFORCE_PROVIDER_ID,
  });
  const maxBodyBytes = checked.maxBodyBytes ?? DEFAULT_WEBHOOK_MAX_BODY_BYTES;
  assertWebhookBodySize(request.rawBody, maxBodyBytes, SALESFORCE_PROVIDER_ID);
  const contentType = getHeader(request.headers, 'content-type') ?? '';
  if (/xml/i.test(contentType) || startsWithMarkup(request.rawBody)) {
    const body = rawBodyToString(request.rawBody, SALESFORCE_PROVIDER_ID);
    const organizationId = setting(options.organizationId, 'SALESFORCE_ORGANIZATION_ID');
    if (organizationId === undefined) {
      throw new ConfigurationError('invalid_configuration', {
        message:
          "Salesforce organization id setting is missing. Pass it using the 'organizationId' option or set the SALESFORCE_ORGANIZATION_ID environment variable.",
        providerId: SALESFORCE_PROVIDER_ID,
      });
    }
    return parseOutboundMessage(body, organizationId, options.now ?? Date.now);
  }
  const secret = setting(options.webhookSecret, 'SALESFORCE_WEBHOOK_SECRET');
  if (secret === undefined) {
    throw new ConfigurationError('missing_credentials', {
      message:
        "Salesforce webhook secret is missing. Pass it using the 'webhookSecret' option or set the SALESFORCE_WEBHOOK_SECRET environment variable.",
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
  registerSecret(secret);
  return parseSignedCallout(request, secret, {
    ...(options.toleranceMs === undefined ? {} : { toleranceMs: options.toleranceMs }),
    ...(options.now === undefined ? {} : { now: options.now }),
  });
}
