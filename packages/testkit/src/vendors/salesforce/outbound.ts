import { type FieldValue, formatDatetime } from './schema.js';
import type { LeadRecord } from './store.js';

/** One delivery attempt of a SOAP Outbound Message. */
export interface OutboundDelivery {
  /** Where it was POSTed. */
  readonly url: string;
  /** Notification ids it carried (at most 100). */
  readonly notificationIds: readonly string[];
  /** Lead ids it carried, in notification order. */
  readonly leadIds: readonly string[];
  /** HTTP status of the answer, or 0 when the request itself failed. */
  readonly status: number;
  /** Whether the answer was 2xx with a SOAP `<Ack>true</Ack>`. */
  readonly acknowledged: boolean;
  /** Emulated time of the attempt. */
  readonly at: number;
}

/** One queued notification: a snapshot of a Lead. */
export interface OutboundNotification {
  readonly id: string;
  readonly lead: LeadRecord;
}

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

function xmlValue(name: string, value: FieldValue, datetimeFields: ReadonlySet<string>): string {
  if (value === null) return `<sf:${name} xsi:nil="true"/>`;
  const text =
    typeof value === 'number' && datetimeFields.has(name)
      ? formatDatetime(value).replace('+0000', 'Z')
      : String(value);
  return `<sf:${name}>${escapeXml(text)}</sf:${name}>`;
}

/** The SOAP envelope Salesforce POSTs for an Outbound Message. */
export function outboundEnvelope(options: {
  readonly organizationId: string;
  readonly actionId: string;
  readonly instanceUrl: string;
  readonly apiVersion: string;
  readonly fields: readonly string[];
  readonly datetimeFields: ReadonlySet<string>;
  readonly notifications: readonly OutboundNotification[];
}): string {
  const { organizationId, actionId, instanceUrl, apiVersion } = options;
  const notifications = options.notifications
    .map(
      (notification) =>
        `<Notification><Id>${notification.id}</Id><sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">${options.fields
          .filter((field) => field in notification.lead)
          .map((field) => xmlValue(field, notification.lead[field] ?? null, options.datetimeFields))
          .join('')}</sObject></Notification>`,
    )
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">' +
    `<OrganizationId>${organizationId}</OrganizationId><ActionId>${actionId}</ActionId><SessionId xsi:nil="true"/>` +
    `<EnterpriseUrl>${escapeXml(`${instanceUrl}/services/Soap/c/${apiVersion}/${organizationId}`)}</EnterpriseUrl>` +
    `<PartnerUrl>${escapeXml(`${instanceUrl}/services/Soap/u/${apiVersion}/${organizationId}`)}</PartnerUrl>` +
    `${notifications}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}

/** Whether a listener's answer acknowledges the message: a SOAP body with `<Ack>true</Ack>`. */
function isAcknowledged(body: string): boolean {
  return (
    /<(?:[\w-]+:)?Ack>\s*true\s*<\/(?:[\w-]+:)?Ack>/.test(body) &&
    /<(?:[\w-]+:)?notificationsResponse\b/.test(body)
  );
}

/**
 * POST one batch of notifications as a SOAP Outbound Message to `url` and
 * report the attempt: acknowledged only by a 2xx answer with `<Ack>true</Ack>`.
 * A request that fails outright is reported with status 0, never thrown.
 */
export async function deliverOutboundBatch(options: {
  /** Where to POST. */
  readonly url: string;
  /** The fetch to POST with. */
  readonly send: typeof fetch;
  /** The SOAP envelope (see {@link outboundEnvelope}). */
  readonly envelope: string;
  /** The notifications it carries. */
  readonly batch: readonly OutboundNotification[];
  /** Emulated time of the attempt. */
  readonly at: number;
}): Promise<OutboundDelivery> {
  const { url, batch } = options;
  let status = 0;
  let answer = '';
  try {
    const response = await options.send(url, {
      method: 'POST',
      headers: { 'Content-Type': 'text/xml; charset=utf-8', SOAPAction: '""' },
      body: options.envelope,
    });
    status = response.status;
    answer = await response.text();
  } catch {
    status = 0;
  }
  return {
    url,
    notificationIds: batch.map((notification) => notification.id),
    leadIds: batch.map((notification) => String(notification.lead.Id)),
    status,
    acknowledged: status >= 200 && status < 300 && isAcknowledged(answer),
    at: options.at,
  };
}
