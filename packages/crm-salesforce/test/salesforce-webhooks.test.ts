import { createHmac } from 'node:crypto';
import { WebhookVerificationError } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import { createSalesforce } from '../src/index.js';
import { parseSalesforceWebhook } from '../src/salesforce-webhooks.js';

const ORG = '00D000000000001AAA';
const SECRET = 'callout-signing-secret';
const NOW = Date.UTC(2026, 10, 25, 9, 0, 0);

/** An Outbound Message as Salesforce sends it, with `count` notifications and `padding` extra characters per field. */
function outboundMessage(organizationId: string, count: number, padding = 0, tail = ''): string {
  const notifications = Array.from(
    { length: count },
    (_, index) =>
      `<Notification><Id>04l00000000${String(index).padStart(4, '0')}AAA</Id><sObject xsi:type="sf:Lead" xmlns:sf="urn:sobject.enterprise.soap.sforce.com"><sf:Id>00Q00000000${String(index).padStart(4, '0')}AAA</sf:Id><sf:LastName>Lee${'x'.repeat(padding)}</sf:LastName><sf:SystemModstamp>2026-11-25T08:59:00.000Z</sf:SystemModstamp></sObject></Notification>`,
  ).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">' +
    '<soapenv:Body><notifications xmlns="http://soap.sforce.com/2005/09/outbound">' +
    `<OrganizationId>${organizationId}</OrganizationId><ActionId>04k000000000001AAA</ActionId><SessionId xsi:nil="true"/>` +
    `${notifications}${tail}</notifications></soapenv:Body></soapenv:Envelope>`
  );
}

const xmlRequest = (rawBody: string | Uint8Array) => ({
  method: 'POST',
  url: '/salesforce/outbound',
  headers: { 'content-type': 'text/xml; charset=utf-8' },
  rawBody,
});

const adapter = createSalesforce({
  accessToken: 'y'.repeat(20),
  instanceUrl: 'https://acme.my.salesforce.com',
  organizationId: ORG,
  webhookSecret: SECRET,
  now: () => NOW,
});

async function refusal(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return WebhookVerificationError.isInstance(error) ? error.code : String(error);
}

describe('Outbound Messages are refused cheaply', () => {
  it('parses a genuine message of 100 notifications', async () => {
    const events = await adapter.doParseWebhook(xmlRequest(outboundMessage(ORG, 100)));
    expect(events).toHaveLength(100);
    expect(events[0]).toMatchObject({ type: 'record.updated', recordId: '00Q000000000000AAA' });
  });

  it('refuses a body over the cap (default 1 MiB) before reading it, from any org', async () => {
    const big = outboundMessage(ORG, 100, 10_500);
    expect(Buffer.byteLength(big)).toBeGreaterThan(1_048_576);
    expect(await refusal(adapter.doParseWebhook(xmlRequest(big)))).toBe('payload_too_large');
    expect(await refusal(adapter.doParseWebhook(xmlRequest(Buffer.from(big))))).toBe('payload_too_large');
    const roomy = createSalesforce({
      accessToken: 'y'.repeat(20),
      instanceUrl: 'https://acme.my.salesforce.com',
      organizationId: ORG,
      webhookMaxBodyBytes: 2_000_000,
    });
    expect(await roomy.doParseWebhook(xmlRequest(big))).toHaveLength(100);
    expect(() => createSalesforce({ webhookMaxBodyBytes: 0.5 })).toThrow(/webhookMaxBodyBytes/);
  });

  it('checks the org id before parsing: a forged message from another org is refused even when its XML is broken', async () => {
    // Today's parser would have to read the whole body to find it broken; the org id says "no" first.
    const forged = outboundMessage('00D000000000009ZZZ', 3, 0, '<unclosed>');
    expect(await refusal(adapter.doParseWebhook(xmlRequest(forged)))).toBe('signature_invalid');
    const anonymous = outboundMessage('', 3, 0, '<unclosed>').replace(
      '<OrganizationId></OrganizationId>',
      '',
    );
    expect(await refusal(adapter.doParseWebhook(xmlRequest(anonymous)))).toBe('signature_missing');
    // The right org with broken XML still goes to the parser, which refuses it.
    const broken = outboundMessage(ORG, 3, 0, '<unclosed>');
    expect(await refusal(adapter.doParseWebhook(xmlRequest(broken)))).toBe('payload_invalid');
  });

  it('the parsed org id is what counts: a matching org id hidden in a comment does not let another org in', async () => {
    const smuggled = outboundMessage('00D000000000009ZZZ', 1).replace(
      '<soapenv:Body>',
      `<!--<OrganizationId>${ORG}</OrganizationId>--><soapenv:Body>`,
    );
    expect(await refusal(adapter.doParseWebhook(xmlRequest(smuggled)))).toBe('signature_invalid');
  });
});

describe('signed callouts are checked over the raw bytes', () => {
  const request = (rawBody: string | Uint8Array, signature: string, timestamp = String(NOW)) => ({
    method: 'POST',
    url: '/salesforce/callout',
    headers: {
      'content-type': 'application/json',
      'x-leadpipe-timestamp': timestamp,
      'x-leadpipe-signature': signature,
    },
    rawBody,
  });
  const sign = (bytes: Uint8Array, timestamp = String(NOW)) =>
    `sha256=${createHmac('sha256', SECRET).update(`${timestamp}.`).update(bytes).digest('hex')}`;
  const event = (name: string) =>
    `{"eventId":"e1","type":"updated","recordId":"00Q000000000001AAA","occurredAt":"2026-11-25T08:59:00Z","fields":{"LastName":"${name}"}}`;

  it('accepts a callout signed over its bytes', async () => {
    const bytes = Buffer.from(event('Zoë'), 'utf8');
    const events = await adapter.doParseWebhook(request(bytes, sign(bytes)));
    expect(events[0]?.properties).toEqual({ LastName: 'Zoë' });
  });

  it('refuses bytes that differ from the signed ones even where they decode to the same text', async () => {
    // 0xFF and 0xFE are both invalid UTF-8 and both decode to U+FFFD: a check over decoded text cannot tell them apart.
    const signed = Buffer.concat([
      Buffer.from(event('A').slice(0, -3)),
      Buffer.from([0xff]),
      Buffer.from('"}}'),
    ]);
    const tampered = Buffer.from(signed);
    tampered[tampered.indexOf(0xff)] = 0xfe;
    const textSignature = `sha256=${createHmac('sha256', SECRET)
      .update(`${NOW}.${signed.toString('utf8')}`)
      .digest('hex')}`;
    expect(await refusal(adapter.doParseWebhook(request(tampered, textSignature)))).toBe('signature_invalid');
    // Signed over its raw bytes, a body that is not UTF-8 is refused as unreadable, not parsed with U+FFFD in it.
    expect(await refusal(adapter.doParseWebhook(request(signed, sign(signed))))).toBe('payload_invalid');
  });

  it('refuses a callout over the cap before hashing it, and a 10 MB signature without throwing', async () => {
    const big = Buffer.from(`{"events":[${event('A')}]}${' '.repeat(1_048_576)}`);
    expect(await refusal(adapter.doParseWebhook(request(big, sign(big))))).toBe('payload_too_large');
    const small = Buffer.from(event('A'));
    expect(
      await refusal(adapter.doParseWebhook(request(small, `sha256=${'/'.repeat(10 * 1024 * 1024)}`))),
    ).toBe('signature_invalid');
  });
});

describe('parseSalesforceWebhook options', () => {
  it('refuses a maxBodyBytes that is not a whole number of bytes, before reading the body', () => {
    for (const maxBodyBytes of [0, 1.5, -3]) {
      expect(() =>
        parseSalesforceWebhook(
          { method: 'POST', url: '/salesforce/outbound', headers: {}, rawBody: '<x/>' },
          { maxBodyBytes },
        ),
      ).toThrow(/^parseSalesforceWebhook: maxBodyBytes: must be a whole number of bytes, at least 1$/);
    }
  });
});
