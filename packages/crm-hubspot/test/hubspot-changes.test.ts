import { type CrmChangesPage, createCrmSync, defineFieldMapping, ValidationError } from '@leadpipe/core';
import type { CallSchedulerSource, RateLimitPolicy } from '@leadpipe/core/adapter-kit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodeChangesCursor, encodeChangesCursor, nextChangesPage } from '../src/hubspot-changes.js';
import { createHubspot } from '../src/index.js';
import { cannedFetch, type HubspotFixture, startHubspot } from './support.js';

let hub: HubspotFixture;

// A clock 10 times faster: the search limit (5 per emulated second) allows 50 searches per real second.
beforeAll(async () => {
  hub = await startHubspot({
    seed: 9,
    timeScale: 10,
    limits: { hubspot: { tenSecondly: 100_000, daily: 10_000_000 } },
  });
});
afterAll(() => hub.close());
beforeEach(() => hub.instance.reset());

const adapters: ReturnType<typeof createHubspot>[] = [];
afterAll(async () => {
  for (const adapter of adapters) await adapter.close();
});

function adapter(fetch?: typeof globalThis.fetch, searchPerSecond?: number) {
  const hubspot = createHubspot({
    accessToken: hub.token,
    baseUrl: hub.baseUrl,
    now: hub.now,
    rateLimits: { windowMs: 1_000, ...(searchPerSecond === undefined ? {} : { searchPerSecond }) },
    ...(fetch === undefined ? {} : { fetch }),
  });
  adapters.push(hubspot);
  return hubspot;
}

async function listAll(hubspot: ReturnType<typeof createHubspot>, cursor?: string, limit = 200) {
  const pages: CrmChangesPage[] = [];
  let next = cursor;
  for (let guard = 0; guard < 500; guard++) {
    const page = await hubspot.doListChanges(
      {
        object: 'contacts',
        ...(next === undefined ? {} : { cursor: next }),
        limit,
        properties: ['firstname'],
      },
      {},
    );
    pages.push(page);
    next = page.nextCursor;
    if (!page.hasMore) break;
  }
  return { pages, cursor: next!, records: pages.flatMap((page) => page.records) };
}

function seedContacts(count: number, prefix: string) {
  const rows = Array.from({ length: count }, (_, index) => ({
    email: `${prefix}${index}@changes.example`,
    firstname: `F${index}`,
  }));
  for (let start = 0; start < rows.length; start += 1_000)
    hub.emulator.seed('contacts', rows.slice(start, start + 1_000));
}

describe('doListChanges', () => {
  it('asks a search refused with a secondly 429 again instead of failing the listing', async () => {
    seedContacts(3_000, 'burst');
    // Told the account allows 9 searches a second where HubSpot allows 5: some searches are refused.
    const { records } = await listAll(adapter(undefined, 9), undefined, 100);
    expect(new Set(records.map((record) => record.id)).size).toBe(3_000);
    expect(hub.instance.counters.get('hubspot.429')).toBeGreaterThan(0);
  });

  it('lists more than 10,000 changed contacts without any search paging past the cap, oldest change first', async () => {
    seedContacts(10_500, 'bulk');
    const canned = cannedFetch();
    const { records, pages } = await listAll(adapter(canned.fetch));
    const ids = new Set(records.map((record) => record.id));
    expect(ids.size).toBe(10_500);
    expect(hub.instance.counters.get('hubspot.search.capExceeded')).toBe(0);
    const afters = canned.calls.map((call) => JSON.parse(call.body ?? '{}').after as string | undefined);
    expect(afters.every((after) => after === undefined)).toBe(true);
    const times = records.map((record) => Date.parse(record.updatedAt ?? ''));
    expect(times.every((time, index) => index === 0 || time >= times[index - 1]!)).toBe(true);
    expect(pages.at(-1)?.hasMore).toBe(false);
    expect(records[0]?.key).toMatch(/^bulk\d+@changes\.example$/);
    expect(records[0]?.properties.firstname).toMatch(/^F\d+$/);
  });

  it('resumes from the last cursor with only what changed since', async () => {
    seedContacts(300, 'base');
    const hubspot = adapter();
    const first = await listAll(hubspot);
    expect(new Set(first.records.map((record) => record.id)).size).toBe(300);
    await new Promise((resolve) => setTimeout(resolve, 5));
    await hubspot.doUpsert(
      {
        object: 'contacts',
        idProperty: 'email',
        records: [
          { key: 'base7@changes.example', properties: { firstname: 'Changed' } },
          { key: 'new@changes.example', properties: { firstname: 'New' } },
        ],
      },
      {},
    );
    const second = await listAll(hubspot, first.cursor);
    expect(second.records.map((record) => [record.key, record.properties.firstname])).toEqual([
      ['base7@changes.example', 'Changed'],
      ['new@changes.example', 'New'],
    ]);
    const third = await listAll(hubspot, second.cursor);
    expect(third.records).toEqual([]);
    expect(third.pages[0]?.hasMore).toBe(false);
  });

  it('pages through createCrmSync().listChanges, its limiter and retries', async () => {
    seedContacts(450, 'engine');
    const hubspot = adapter();
    const sync = createCrmSync({
      crms: [
        {
          adapter: hubspot,
          mapping: defineFieldMapping({
            object: 'contacts',
            idProperty: { from: 'email', to: 'email' },
            fields: [],
          }),
        },
      ],
    });
    const ids = new Set<string>();
    let pages = 0;
    for await (const page of sync.listChanges('hubspot', { object: 'contacts', limit: 200 })) {
      pages += 1;
      for (const record of page.records) ids.add(record.id);
    }
    expect(ids.size).toBe(450);
    expect(pages).toBeGreaterThanOrEqual(3);
    await sync.close();
  });

  it('refuses a cursor it did not make and a bad since, naming the field', async () => {
    const hubspot = adapter();
    const badCursor = await hubspot
      .doListChanges({ object: 'contacts', cursor: 'not-a-cursor' }, {})
      .catch((caught: unknown) => caught);
    expect((badCursor as ValidationError).issues[0]?.field).toBe('cursor');
    const badSince = await hubspot
      .doListChanges({ object: 'contacts', since: 'yesterday' }, {})
      .catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(badSince)).toBe(true);
    expect((badSince as ValidationError).issues[0]?.field).toBe('since');
  });

  it('runs its searches through a limiter registry passed in, with the search window as policy', async () => {
    seedContacts(3, 'shared');
    const asked: { id: string; key: string; policy: RateLimitPolicy }[] = [];
    let scheduled = 0;
    const registry: CallSchedulerSource = {
      get(id, key, policy) {
        asked.push({ id, key, policy });
        return {
          schedule(task) {
            scheduled += 1;
            return task();
          },
        };
      },
    };
    const hubspot = createHubspot({
      accessToken: hub.token,
      baseUrl: hub.baseUrl,
      now: hub.now,
      rateLimits: { windowMs: 1_000 },
      limiterRegistry: registry,
    });
    adapters.push(hubspot);
    const page = await hubspot.doListChanges({ object: 'contacts', limit: 2 }, {});
    await hubspot.doListChanges({ object: 'contacts', cursor: page.nextCursor, limit: 2 }, {});
    expect(page.records).toHaveLength(2);
    expect(scheduled).toBe(2);
    expect(asked).toEqual([
      {
        id: 'hubspot:search',
        key: expect.any(String),
        policy: { windows: [{ name: 'search', limit: 5, intervalMs: 100 }] },
      },
    ]);
  });
});

describe('nextChangesPage', () => {
  const rows = (spec: [id: string, at: number][]) => spec.map(([id, at]) => ({ id, at }));

  it('drops records already returned at the cursor millisecond and remembers the ones at the new one', () => {
    const page = nextChangesPage(
      { mode: 'time', t: 10, ids: ['1'] },
      rows([
        ['1', 10],
        ['2', 10],
        ['3', 12],
        ['4', 12],
      ]),
      10,
      false,
    );
    expect(page.records.map((record) => record.id)).toEqual(['2', '3', '4']);
    expect(page.cursor).toEqual({ mode: 'time', t: 12, ids: ['3', '4'] });
    expect(page.hasMore).toBe(false);
  });

  it('says there is more when the page was cut at the limit', () => {
    const page = nextChangesPage(
      { mode: 'time', t: 0, ids: [] },
      rows([
        ['1', 1],
        ['2', 2],
        ['3', 3],
      ]),
      2,
      false,
    );
    expect(page.records.map((record) => record.id)).toEqual(['1', '2']);
    expect(page).toMatchObject({ cursor: { mode: 'time', t: 2, ids: ['2'] }, hasMore: true });
  });

  it('pages a crowded millisecond by id, then moves past it', () => {
    const crowded = rows(
      Array.from({ length: 101 }, (_, index) => [String(index + 1), 50] as [string, number]),
    );
    const page = nextChangesPage({ mode: 'time', t: 50, ids: [] }, crowded, 200, false);
    expect(page.cursor).toEqual({ mode: 'tie', t: 50, afterId: '0' });
    const tie = nextChangesPage({ mode: 'tie', t: 50, afterId: '0' }, crowded.slice(0, 100), 100, true);
    expect(tie.cursor).toEqual({ mode: 'tie', t: 50, afterId: '100' });
    const end = nextChangesPage({ mode: 'tie', t: 50, afterId: '100' }, crowded.slice(100), 100, false);
    expect(end).toMatchObject({ cursor: { mode: 'time', t: 51, ids: [] }, hasMore: true });
  });

  it('round-trips cursors', () => {
    for (const cursor of [
      { mode: 'time', t: 1_700_000_000_000, ids: ['1', '2'] },
      { mode: 'tie', t: 5, afterId: '42' },
    ] as const) {
      expect(decodeChangesCursor(encodeChangesCursor(cursor), 'hubspot')).toEqual(cursor);
    }
  });
});
