import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  ApiCallError,
  ConfigurationError,
  type CrmChangesPage,
  type CrmEvent,
  type CrmListChangesRequest,
  createCrmEventDeduper,
  createCrmSync,
  defineFieldMapping,
  type InboundWebhookRequest,
  parseCrmWebhook,
  WebhookVerificationError,
} from '../src/index.js';
import { FAST_RETRY, FakeCrm } from './crm-fixtures.js';

const mapping = defineFieldMapping({
  object: 'contacts',
  idProperty: { from: 'email', to: 'email' },
  fields: [],
});

/** A CRM whose change feed is a list of records, paged two at a time, cursor = offset. */
class ChangingCrm extends FakeCrm {
  readonly feed = ['a', 'b', 'c', 'd', 'e'].map((name, index) => ({
    key: `${name}@acme.com`,
    id: `id-${name}`,
    properties: { firstname: name.toUpperCase() },
    updatedAt: `2026-11-25T08:0${index}:00.000Z`,
  }));
  readonly pageRequests: CrmListChangesRequest[] = [];
  failNextPage = false;

  async doListChanges(request: CrmListChangesRequest): Promise<CrmChangesPage> {
    this.pageRequests.push(request);
    if (this.failNextPage) {
      this.failNextPage = false;
      throw new ApiCallError('server_error', { message: 'search 502', status: 502 });
    }
    const start = request.cursor === undefined ? 0 : Number(request.cursor);
    const records = this.feed.slice(start, start + 2);
    const next = start + records.length;
    return { records, nextCursor: String(next), hasMore: next < this.feed.length };
  }
}

describe('CrmSync.listChanges', () => {
  it('pages from a cursor to the end through the limiter, retrying a failed page', async () => {
    const crm = new ChangingCrm('crm-a');
    crm.failNextPage = true;
    const sync = createCrmSync({ crms: [{ adapter: crm, mapping }], retry: FAST_RETRY });
    const keys: string[] = [];
    const cursors: string[] = [];
    for await (const page of sync.listChanges('crm-a', { object: 'contacts', cursor: '1' })) {
      keys.push(...page.records.map((record) => record.key));
      cursors.push(page.nextCursor);
    }
    expect(keys).toEqual(['b@acme.com', 'c@acme.com', 'd@acme.com', 'e@acme.com']);
    expect(cursors).toEqual(['3', '5']);
    expect(crm.pageRequests.map((request) => request.cursor)).toEqual(['1', '1', '3']);
    await sync.close();
  });

  it('rejects an unknown CRM, an adapter without a change feed, and a page that does not advance', async () => {
    const plain = new FakeCrm('plain');
    const stuck = new ChangingCrm('stuck');
    stuck.doListChanges = async () => ({ records: [], nextCursor: 'same', hasMore: true });
    const sync = createCrmSync({
      crms: [
        { adapter: plain, mapping },
        { adapter: stuck, mapping },
      ],
      retry: FAST_RETRY,
    });
    const drain = async (adapterId: string, request: CrmListChangesRequest) => {
      for await (const _page of sync.listChanges(adapterId, request)) {
        // consume
      }
    };
    await expect(drain('nope', { object: 'contacts' })).rejects.toThrow(ConfigurationError);
    await expect(drain('plain', { object: 'contacts' })).rejects.toThrow(/cannot list changes/);
    await expect(drain('stuck', { object: 'contacts', cursor: 'same' })).rejects.toThrow(/same cursor/);
    await sync.close();
  });
});

const SECRET = 'whsec-crm-test-1234567';

function sign(body: string): string {
  return createHmac('sha256', SECRET).update(body).digest('hex');
}

function event(eventId: string, occurredAt: string, overrides: Partial<CrmEvent> = {}): CrmEvent {
  return {
    eventId,
    type: 'record.updated',
    object: 'contacts',
    recordId: `r-${eventId}`,
    occurredAt,
    ...overrides,
  };
}

/** A CRM adapter that signs webhook bodies with HMAC-SHA256 in `x-signature`, as the tests' vendor. */
class WebhookCrm extends FakeCrm {
  async doParseWebhook(request: InboundWebhookRequest): Promise<CrmEvent[]> {
    const headers = request.headers as Record<string, string | undefined>;
    const given = Buffer.from(headers['x-signature'] ?? '', 'hex');
    const body =
      typeof request.rawBody === 'string' ? request.rawBody : Buffer.from(request.rawBody).toString();
    const expected = Buffer.from(sign(body), 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new WebhookVerificationError('signature_invalid', { message: 'signature does not match' });
    }
    return JSON.parse(body) as CrmEvent[];
  }
}

function delivery(events: readonly unknown[], signature?: string): InboundWebhookRequest {
  const rawBody = JSON.stringify(events);
  return {
    method: 'POST',
    url: '/hooks/crm',
    headers: { 'x-signature': signature ?? sign(rawBody) },
    rawBody,
  };
}

describe('createCrmEventDeduper', () => {
  it('checks its options, naming each wrong one', () => {
    expect(() => createCrmEventDeduper({ max: 0 })).toThrow(
      /^createCrmEventDeduper: max: must be a positive integer$/,
    );
    expect(() => createCrmEventDeduper({ max: 1.5 })).toThrow(/^createCrmEventDeduper: max: /);
    expect(() => createCrmEventDeduper({ ttlMs: -1 })).toThrow(
      /^createCrmEventDeduper: ttlMs: must be a positive number$/,
    );
    expect(() => createCrmEventDeduper({ ttl: 5 } as never)).toThrow(
      /^createCrmEventDeduper: ttl: is not a known option$/,
    );
    const deduper = createCrmEventDeduper({ max: 1, ttlMs: 60_000 });
    expect(deduper.seen('crm', 'a')).toBe(false);
    expect(deduper.seen('crm', 'a')).toBe(true);
  });
});

describe('parseCrmWebhook', () => {
  it('drops duplicate events and orders the rest by occurredAt', async () => {
    const crm = new WebhookCrm('crm-a');
    const events = await parseCrmWebhook(
      crm,
      delivery([
        event('3', '2026-11-25T08:03:00Z'),
        event('1', '2026-11-25T08:01:00Z'),
        event('3', '2026-11-25T08:03:00Z'),
        event('2', '2026-11-25T08:02:00.000+00:00', { type: 'record.deleted' }),
      ]),
    );
    expect(events.map((item) => [item.eventId, item.type])).toEqual([
      ['1', 'record.updated'],
      ['2', 'record.deleted'],
      ['3', 'record.updated'],
    ]);
  });

  it('drops redeliveries across requests with a deduper', async () => {
    const crm = new WebhookCrm('crm-a');
    const deduper = createCrmEventDeduper({ max: 100 });
    const first = await parseCrmWebhook(crm, delivery([event('1', '2026-11-25T08:01:00Z')]), { deduper });
    const again = await parseCrmWebhook(
      crm,
      delivery([event('1', '2026-11-25T08:01:00Z'), event('2', '2026-11-25T08:02:00Z')]),
      { deduper },
    );
    expect(first.map((item) => item.eventId)).toEqual(['1']);
    expect(again.map((item) => item.eventId)).toEqual(['2']);
  });

  it('rejects a bad signature, and an invalid event without marking the delivery seen', async () => {
    const crm = new WebhookCrm('crm-a');
    const deduper = createCrmEventDeduper();
    await expect(
      parseCrmWebhook(crm, delivery([event('1', '2026-11-25T08:01:00Z')], 'ab12')),
    ).rejects.toSatisfy(
      (error) => WebhookVerificationError.isInstance(error) && error.code === 'signature_invalid',
    );
    const bad = delivery([event('1', '2026-11-25T08:01:00Z'), { ...event('2', 'yesterday') }]);
    await expect(parseCrmWebhook(crm, bad, { deduper })).rejects.toSatisfy(
      (error) =>
        WebhookVerificationError.isInstance(error) &&
        error.code === 'payload_invalid' &&
        /event 1: occurredAt/.test(error.message),
    );
    const retried = await parseCrmWebhook(crm, delivery([event('1', '2026-11-25T08:01:00Z')]), { deduper });
    expect(retried).toHaveLength(1);
  });

  it('refuses a body over maxBodyBytes (default 1 MiB) before the adapter sees it', async () => {
    let parsed = 0;
    class CountingCrm extends WebhookCrm {
      override async doParseWebhook(request: InboundWebhookRequest): Promise<CrmEvent[]> {
        parsed += 1;
        return super.doParseWebhook(request);
      }
    }
    const crm = new CountingCrm('crm-a');
    const big = delivery([event('1', '2026-11-25T08:01:00Z', { raw: 'x'.repeat(1_048_576) })]);
    await expect(parseCrmWebhook(crm, big)).rejects.toSatisfy(
      (error) => WebhookVerificationError.isInstance(error) && error.code === 'payload_too_large',
    );
    expect(parsed).toBe(0);
    expect(await parseCrmWebhook(crm, big, { maxBodyBytes: 2_000_000 })).toHaveLength(1);
    expect(parsed).toBe(1);
    await expect(parseCrmWebhook(crm, big, { maxBodyBytes: 0 })).rejects.toThrow(
      /^parseCrmWebhook: maxBodyBytes: must be a whole number of bytes, at least 1$/,
    );
    await expect(parseCrmWebhook(crm, big, { maxBodyByte: 10 } as never)).rejects.toThrow(
      /^parseCrmWebhook: maxBodyByte: is not a known option$/,
    );
  });

  it('says clearly when an adapter does not parse webhooks', async () => {
    await expect(parseCrmWebhook(new FakeCrm('plain'), delivery([]))).rejects.toThrow(
      /does not parse webhooks/,
    );
  });
});
