import { type DeadLetterEntry, type DeadLetterQueue, ValidationError } from '@leadpipe/core/adapter-kit';
import type { ContractExpect, ContractTestFunction } from './enrichment-provider.js';
import { describeError, settle } from './support.js';

/** Names of the dead-letter queue checks, to skip some with `skip`. */
export type DeadLetterQueueContractCheck =
  | 'empty'
  | 'roundTrip'
  | 'copies'
  | 'replace'
  | 'paging'
  | 'defaultPage'
  | 'pagingWhileChanging'
  | 'remove'
  | 'redaction'
  | 'ids'
  | 'badInput'
  | 'persistence';

/** Options of {@link deadLetterQueueContract}. */
export interface DeadLetterQueueContractOptions {
  /** Prefix of every test name. Default: `dead-letter queue contract`. */
  readonly name?: string;
  /** A new, empty queue for one check. */
  readonly open: () => DeadLetterQueue | Promise<DeadLetterQueue>;
  /** Release a queue the suite opened (files, connections). Default: nothing to release. */
  readonly close?: (queue: DeadLetterQueue) => void | Promise<void>;
  /**
   * Present when the queue persists: open again the storage `queue` used
   * (after the suite closed it). The `persistence` check then runs: after a
   * reopen the queue holds exactly what it held, in the same order, scrubbed,
   * and takes new calls. Absent for an in-memory queue.
   */
  readonly reopen?: (queue: DeadLetterQueue) => DeadLetterQueue | Promise<DeadLetterQueue>;
  /** Checks to leave out. */
  readonly skip?: readonly DeadLetterQueueContractCheck[];
}

/** A complete dead letter with every optional field set. */
function entryOf(id: string, overrides: Partial<DeadLetterEntry> = {}): DeadLetterEntry {
  return {
    id,
    target: 'contract-crm',
    object: 'contacts',
    idProperty: 'email',
    record: {
      key: `${id}@contract.example`,
      properties: { firstname: 'Zoë', lastname: `Lead ${id}`, employees: 120, active: true },
    },
    leadIds: [`lead-${id}`, `lead-${id}-merged`],
    error: {
      code: 'validation_failed',
      message: `record ${id} was rejected`,
      retryable: false,
      vendorCode: 'INVALID_EMAIL_ADDRESS',
      retryAfterMs: 1_500,
      raw: { status: 400, errors: [{ field: 'email', code: 'INVALID' }] },
    },
    attempts: 1,
    firstFailedAt: '2026-11-25T08:00:00.000Z',
    lastFailedAt: '2026-11-25T08:00:00.000Z',
    ...overrides,
  };
}

/** Credentials hidden in an entry's error: each must be gone from what the queue stores. */
const SECRETS = ['abcdefgh123', 'dXNlcjpwYXNz', 'k3y-s3cr3t', 's3cr3t-value', 'pa55word-xyz', 'zyxwvu987'];

function entryWithSecrets(id: string): DeadLetterEntry {
  return entryOf(id, {
    error: {
      code: 'unauthorized',
      message: 'denied for Bearer abcdefgh123',
      retryable: false,
      raw: {
        headers: { authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'zyxwvu987' },
        url: 'https://api.example.com/v1?api_key=k3y-s3cr3t',
        body: 'token=s3cr3t-value',
        password: 'pa55word-xyz',
      },
    },
  });
}

const idsOf = (entries: readonly DeadLetterEntry[]) => entries.map((entry) => entry.id);

/**
 * The `DeadLetterQueue` contract suite, Keyv-style: registers one test per
 * check with your runner's `it`, asserting with its `expect`, so every
 * implementation (the memory and file queues, one on a database) proves the
 * same promises in a few lines.
 *
 * Checks: an empty queue lists nothing; an entry round-trips with every
 * field; the queue keeps copies (changing the caller's object or a listed one
 * changes nothing stored); a put with a known id replaces the entry in place;
 * listing is oldest first, a page at a time, the last page (even a full one)
 * without a cursor; the default page size pages through every entry; entries
 * put, replaced or removed between pages make the listing neither skip nor
 * repeat the others; `remove` counts what it removed and ignores unknown and
 * repeated ids; secrets in an entry's error never reach what is stored; ids
 * are kept exactly as given; a bad limit, cursor, id or entry is a
 * `ValidationError` naming the field; and, for a persistent queue, a close
 * and reopen keeps exactly what was stored, in order.
 *
 * @example
 * ```ts
 * deadLetterQueueContract(it, expect, { open: () => createMemoryDeadLetterQueue() });
 * ```
 */
export function deadLetterQueueContract(
  it: ContractTestFunction,
  expect: ContractExpect,
  options: DeadLetterQueueContractOptions,
): void {
  const prefix = options.name ?? 'dead-letter queue contract';
  const skip = new Set(options.skip ?? []);

  /** A fresh queue for the check, closed after it (or the queue it was reopened as, given to `replacedBy`). */
  const check = (
    name: DeadLetterQueueContractCheck,
    title: string,
    fn: (queue: DeadLetterQueue, replacedBy: (reopened: DeadLetterQueue) => void) => Promise<void>,
  ) => {
    if (skip.has(name)) return;
    it(`${prefix}: ${title}`, async () => {
      let queue = await options.open();
      try {
        await fn(queue, (reopened) => {
          queue = reopened;
        });
      } finally {
        await options.close?.(queue);
      }
    });
  };

  /** Every entry, following cursors with `limit`, failing on a loop. */
  const listAll = async (queue: DeadLetterQueue, limit?: number): Promise<DeadLetterEntry[]> => {
    const all: DeadLetterEntry[] = [];
    let cursor: string | undefined;
    for (let pages = 0; pages < 10_000; pages++) {
      const page = await queue.list({
        ...(cursor === undefined ? {} : { cursor }),
        ...(limit ? { limit } : {}),
      });
      all.push(...page.entries);
      if (page.nextCursor === undefined) return all;
      expect(page.entries.length > 0, 'a page with a nextCursor holds entries').toBe(true);
      cursor = page.nextCursor;
    }
    throw new Error(`${prefix}: listing did not end after 10,000 pages`);
  };

  const putAll = async (queue: DeadLetterQueue, ids: readonly string[]) => {
    for (const id of ids) await queue.put(entryOf(id));
  };

  const expectInvalid = async (promise: Promise<unknown>, field: string, label: string) => {
    const outcome = await settle(promise);
    expect(outcome.ok, `${label}: must reject`).toBe(false);
    if (outcome.ok) return;
    expect(
      ValidationError.isInstance(outcome.error),
      `${label}: must reject with a ValidationError, got ${describeError(outcome.error)}`,
    ).toBe(true);
    const issues = ValidationError.isInstance(outcome.error) ? outcome.error.issues : [];
    expect(
      issues.map((issue) => issue.field),
      `${label}: the issue names the field`,
    ).toContain(field);
  };

  check('empty', 'an empty queue lists nothing and counts 0', async (queue) => {
    expect(await queue.size(), 'size').toBe(0);
    const page = await queue.list();
    expect(page.entries, 'entries').toEqual([]);
    expect(page.nextCursor, 'nextCursor').toBe(undefined);
    expect(await queue.remove(['nobody']), 'removing from an empty queue').toBe(0);
  });

  check('roundTrip', 'an entry round-trips with every field', async (queue) => {
    const entry = entryOf('round-trip');
    await queue.put(entry);
    expect(await queue.size(), 'size').toBe(1);
    const page = await queue.list();
    expect(page.entries, 'the listed entry').toEqual([entry]);
    expect(page.nextCursor, 'nextCursor of the only page').toBe(undefined);
  });

  check(
    'copies',
    "the queue keeps copies: changing the caller's or a listed object changes nothing stored",
    async (queue) => {
      const entry = entryOf('copied');
      const expected = entryOf('copied');
      await queue.put(entry);
      (entry.leadIds as string[]).push('mutated');
      (entry.record.properties as Record<string, unknown>).firstname = 'mutated';
      (entry as { attempts: number }).attempts = 99;
      const [listed] = (await queue.list()).entries;
      expect(listed, 'after changing the object put').toEqual(expected);
      if (listed !== undefined) {
        (listed.leadIds as string[]).push('mutated');
        (listed.error as { message: string }).message = 'mutated';
      }
      expect((await queue.list()).entries, 'after changing a listed object').toEqual([expected]);
    },
  );

  check('replace', 'a put with a known id replaces the entry and keeps its place', async (queue) => {
    await putAll(queue, ['a', 'b', 'c']);
    const replacement = entryOf('a', { attempts: 4, lastFailedAt: '2026-11-26T08:00:00.000Z' });
    await queue.put(replacement);
    expect(await queue.size(), 'size after a replacement').toBe(3);
    const listed = await listAll(queue);
    expect(idsOf(listed), 'order after a replacement').toEqual(['a', 'b', 'c']);
    expect(listed[0], 'the replaced entry').toEqual(replacement);
  });

  check(
    'paging',
    'lists oldest first, a page at a time; the last page, even a full one, has no cursor',
    async (queue) => {
      await putAll(queue, ['e1', 'e2', 'e3', 'e4', 'e5']);
      expect(await queue.size(), 'size').toBe(5);
      const first = await queue.list({ limit: 2 });
      expect(idsOf(first.entries), 'first page').toEqual(['e1', 'e2']);
      expect(typeof first.nextCursor, 'cursor after the first page').toBe('string');
      const second = await queue.list({ cursor: first.nextCursor, limit: 2 });
      expect(idsOf(second.entries), 'second page').toEqual(['e3', 'e4']);
      const third = await queue.list({ cursor: second.nextCursor, limit: 2 });
      expect(idsOf(third.entries), 'last page').toEqual(['e5']);
      expect(third.nextCursor, 'cursor after the last page').toBe(undefined);
      expect(idsOf(await listAll(queue, 1)), 'pages of 1').toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
      expect(idsOf(await listAll(queue, 5)), 'one full page').toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
      expect((await queue.list({ limit: 5 })).nextCursor, 'a full last page has no cursor').toBe(undefined);
      expect(idsOf((await queue.list({ limit: 50 })).entries), 'a limit above the size').toEqual([
        'e1',
        'e2',
        'e3',
        'e4',
        'e5',
      ]);
      await queue.remove(['e4', 'e5']);
      const atEnd = await queue.list({ cursor: second.nextCursor, limit: 2 });
      expect(atEnd.entries, 'a cursor past every remaining entry').toEqual([]);
      expect(atEnd.nextCursor, 'a cursor past every remaining entry: no further cursor').toBe(undefined);
    },
  );

  check('defaultPage', 'pages of the default size list every entry once, in order', async (queue) => {
    const ids = Array.from({ length: 250 }, (_, index) => `bulk-${String(index).padStart(3, '0')}`);
    await putAll(queue, ids);
    expect(await queue.size(), 'size').toBe(250);
    const first = await queue.list();
    expect(first.entries.length > 0, 'the first page holds entries').toBe(true);
    expect(idsOf(first.entries), 'the first page is the oldest entries').toEqual(
      ids.slice(0, first.entries.length),
    );
    expect(idsOf(await listAll(queue)), 'every entry, by default-size pages').toEqual(ids);
  });

  check(
    'pagingWhileChanging',
    'entries put, replaced or removed between pages make the listing neither skip nor repeat the others',
    async (queue) => {
      await putAll(queue, ['a', 'b', 'c', 'd', 'e', 'f']);
      const seen: string[] = [];
      const first = await queue.list({ limit: 2 });
      seen.push(...idsOf(first.entries));
      // Remove what was listed, put one of them back (it is new: it goes last), replace the next one.
      await queue.remove(['a', 'b']);
      await queue.put(entryOf('b', { attempts: 2 }));
      await queue.put(entryOf('c', { attempts: 2 }));
      const second = await queue.list({ cursor: first.nextCursor, limit: 2 });
      seen.push(...idsOf(second.entries));
      expect(second.entries[0]?.attempts, 'a replaced entry is listed as replaced').toBe(2);
      // Remove the next entry to list and one further on; put a new one.
      await queue.remove(['e']);
      await queue.put(entryOf('g'));
      await queue.remove(['g']);
      await queue.put(entryOf('h'));
      const rest = await queue.list({ cursor: second.nextCursor, limit: 10 });
      seen.push(...idsOf(rest.entries));
      expect(rest.nextCursor, 'the last page').toBe(undefined);
      expect(seen, 'every entry once, in order').toEqual(['a', 'b', 'c', 'd', 'f', 'b', 'h']);
      expect(await queue.size(), 'size').toBe(5);
    },
  );

  check('remove', 'remove counts what it removed and ignores unknown and repeated ids', async (queue) => {
    await putAll(queue, ['a', 'b', 'c', 'd']);
    expect(await queue.remove([]), 'removing nothing').toBe(0);
    expect(await queue.remove(['a', 'zzz', 'a', 'c']), 'removing a, an unknown id, a again and c').toBe(2);
    expect(await queue.size(), 'size after removing').toBe(2);
    expect(idsOf(await listAll(queue)), 'what is left').toEqual(['b', 'd']);
    expect(await queue.remove(['a']), 'removing an id already removed').toBe(0);
    await queue.put(entryOf('a', { attempts: 3 }));
    const listed = await listAll(queue);
    expect(idsOf(listed), 'a removed id put again is new: it comes last').toEqual(['b', 'd', 'a']);
    expect(listed[2]?.attempts, 'the entry put again').toBe(3);
    expect(await queue.remove(['b', 'd', 'a']), 'removing every entry').toBe(3);
    expect(await queue.size(), 'size when emptied').toBe(0);
    expect((await queue.list()).entries, 'an emptied queue').toEqual([]);
  });

  check('redaction', 'secrets in an entry never reach what the queue stores', async (queue) => {
    await queue.put(entryWithSecrets('secret'));
    await queue.put(entryWithSecrets('replaced'));
    await queue.put({ ...entryWithSecrets('replaced'), attempts: 2 });
    const text = JSON.stringify(await listAll(queue));
    for (const secret of SECRETS) {
      expect(text.includes(secret), `the stored entries must not hold ${secret.slice(0, 3)}…`).toBe(false);
    }
    const [first] = (await queue.list({ limit: 1 })).entries;
    expect(first?.error.code, 'the error code is kept').toBe('unauthorized');
    expect(
      first?.error.message.includes('denied for Bearer'),
      'the message is kept, its secret scrubbed',
    ).toBe(true);
    expect(first?.record, 'the record is kept').toEqual(entryOf('secret').record);
  });

  check('ids', 'ids are kept exactly as given, even ones that look like a credential', async (queue) => {
    const ids = ['Ünïcode id ✓', 'id with "quotes" and \\ backslash', 'token=abcdef123456', 'x'.repeat(300)];
    await putAll(queue, ids);
    expect(idsOf(await listAll(queue)), 'listed ids').toEqual(ids);
    expect(await queue.remove([ids[2]!]), 'removed by the id as given').toBe(1);
    expect(await queue.size(), 'size').toBe(3);
  });

  check(
    'badInput',
    'a bad limit, cursor, id or entry is a ValidationError naming the field',
    async (queue) => {
      await putAll(queue, ['a', 'b']);
      for (const limit of [0, -1, 1.5, Number.NaN]) {
        await expectInvalid(queue.list({ limit }), 'limit', `list({ limit: ${limit} })`);
      }
      for (const cursor of ['not a cursor', '']) {
        await expectInvalid(queue.list({ cursor }), 'cursor', `list({ cursor: ${JSON.stringify(cursor)} })`);
      }
      await expectInvalid(queue.put(entryOf('')), 'id', 'put with an empty id');
      await expectInvalid(
        queue.put({ ...entryOf('x'), id: 7 as unknown as string }),
        'id',
        'put with a number id',
      );
      await expectInvalid(
        queue.put(entryOf('x', { attempts: 10n as unknown as number })),
        'entry',
        'put of an entry that is not JSON-serializable',
      );
      await expectInvalid(
        queue.put({
          ...entryOf('y'),
          record: { key: 'y', properties: { pick: () => 'x' } },
        } as unknown as DeadLetterEntry),
        'entry',
        'put of an entry holding a function',
      );
      expect(idsOf(await listAll(queue)), 'refused calls change nothing').toEqual(['a', 'b']);
    },
  );

  if (options.reopen !== undefined) {
    const reopen = options.reopen;
    check(
      'persistence',
      'a close and reopen keeps exactly what was stored, in order',
      async (queue, replacedBy) => {
        await putAll(queue, ['a', 'b', 'c', 'd']);
        await queue.put(entryOf('b', { attempts: 5 }));
        await queue.remove(['c']);
        await queue.put(entryWithSecrets('secret'));
        const before = await listAll(queue);
        await options.close?.(queue);
        const reopened = await reopen(queue);
        replacedBy(reopened);
        expect(await reopened.size(), 'size after a reopen').toBe(4);
        const after = await listAll(reopened, 2);
        expect(after, 'the entries after a reopen').toEqual(before);
        expect(idsOf(after), 'order after a reopen').toEqual(['a', 'b', 'd', 'secret']);
        expect(after[1]?.attempts, 'a replacement survives a reopen').toBe(5);
        const text = JSON.stringify(after);
        for (const secret of SECRETS) {
          expect(text.includes(secret), `entries after a reopen must not hold ${secret.slice(0, 3)}…`).toBe(
            false,
          );
        }
        await reopened.put(entryOf('e'));
        await reopened.put(entryOf('a', { attempts: 7 }));
        expect(await reopened.remove(['d']), 'removing after a reopen').toBe(1);
        const latest = await listAll(reopened);
        expect(idsOf(latest), 'order of new calls after a reopen').toEqual(['a', 'b', 'secret', 'e']);
        expect(latest[0]?.attempts, 'a replacement after a reopen').toBe(7);
      },
    );
  }
}
