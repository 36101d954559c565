import type { CampaignEnrollment, CampaignSendClaim, CampaignStoreV1 } from '@leadpipe/core/adapter-kit';
import type { ContractExpect, ContractTestFunction } from './enrichment-provider.js';

/** Names of the campaign store checks, to skip some with `skip`. */
export type CampaignStoreContractCheck =
  | 'enroll'
  | 'enrollRace'
  | 'compareAndSet'
  | 'due'
  | 'claimOnce'
  | 'claimRace'
  | 'claimSuppressed'
  | 'claimRetry'
  | 'mailboxCaps'
  | 'resolve'
  | 'events'
  | 'exitAtomic'
  | 'deadLetters'
  | 'timers'
  | 'stats'
  | 'copies'
  | 'persistence';

/** Options of {@link campaignStoreContract}. */
export interface CampaignStoreContractOptions {
  /** Prefix of every test name. Default: `campaign store contract`. */
  readonly name?: string;
  /** A new, empty store for one check. */
  readonly open: () => CampaignStoreV1 | Promise<CampaignStoreV1>;
  /** Release a store the suite opened. Default: `store.close()`. */
  readonly close?: (store: CampaignStoreV1) => void | Promise<void>;
  /**
   * Present when the store persists: open again the storage `store` used
   * (after the suite closed it). The `persistence` check then runs.
   */
  readonly reopen?: (store: CampaignStoreV1) => CampaignStoreV1 | Promise<CampaignStoreV1>;
  /** Checks to leave out. */
  readonly skip?: readonly CampaignStoreContractCheck[];
}

const T0 = Date.parse('2026-12-07T09:00:00.000Z');

function enrollmentOf(id: string, overrides: Partial<CampaignEnrollment> = {}): CampaignEnrollment {
  return {
    id,
    campaignId: 'welcome',
    campaignVersion: 1,
    leadId: `lead-${id}`,
    status: 'active',
    stepId: 'first',
    version: 1,
    nextRunAt: T0,
    enrolledAt: T0,
    stepStartedAt: T0,
    attempts: 0,
    trigger: 'lead.created',
    data: { source: 'contract', nested: { n: 1, list: [1, 'two', null] } },
    ...overrides,
  };
}

function claimOf(key: string, overrides: Partial<CampaignSendClaim> = {}): CampaignSendClaim {
  return {
    ledgerKey: key,
    enrollmentId: `e-${key}`,
    campaignId: 'welcome',
    stepId: 'first',
    leadId: `lead-${key}`,
    email: `${key}@contract.example`,
    at: T0,
    cap: { mailbox: 'sales@contract.example', day: '2026-12-07' },
    ...overrides,
  };
}

/**
 * The `CampaignStoreV1` contract suite, Keyv-style: one test per check with
 * your runner's `it` and `expect`, so the memory store and one on a database
 * prove the same promises. Concurrency checks fire calls at once and require
 * exactly one winner: a store must make them atomic (a transaction or a
 * compare-and-set), not just correct one at a time.
 *
 * Checks: enrollment is unique per (campaign, lead), also under concurrent
 * calls; updates are compare-and-set on `version`; `due` is the next-run
 * index (active, due, earliest first, limited) and `nextWakeAt` its minimum
 * with timers; a send is claimed once, also under concurrent claims; a
 * suppressed address is refused in the claim; `retry` and `not_sent` rows can
 * be claimed again, `claimed`, `sent` and `failed` cannot; mailbox daily caps
 * and minimum gaps; crashed claims are settled; events deduplicate by id,
 * and an event exits enrollments and suppresses in one step; dead letters;
 * timers; stats; stored values are copies; and a persistent store keeps all
 * of it across a reopen.
 *
 * @example
 * ```ts
 * campaignStoreContract(it, expect, { open: () => createMemoryCampaignStore() });
 * ```
 */
export function campaignStoreContract(
  it: ContractTestFunction,
  expect: ContractExpect,
  options: CampaignStoreContractOptions,
): void {
  const prefix = options.name ?? 'campaign store contract';
  const skip = new Set(options.skip ?? []);
  const check = (
    name: CampaignStoreContractCheck,
    title: string,
    fn: (store: CampaignStoreV1, replacedBy: (reopened: CampaignStoreV1) => void) => Promise<void>,
  ) => {
    if (skip.has(name)) return;
    it(`${prefix}: ${title}`, async () => {
      let store = await options.open();
      try {
        await fn(store, (reopened) => {
          store = reopened;
        });
      } finally {
        await (options.close ?? ((opened: CampaignStoreV1) => opened.close()))(store);
      }
    });
  };

  check('enroll', 'an enrollment is stored once per (campaign, lead)', async (store) => {
    const first = await store.enroll(enrollmentOf('a'));
    expect(first.created, 'first enrollment').toBe(true);
    expect(first.enrollment, 'stored as given').toEqual(enrollmentOf('a'));
    const again = await store.enroll(enrollmentOf('b', { leadId: 'lead-a' }));
    expect(again.created, 'second enrollment of the same lead').toBe(false);
    expect(again.enrollment.id, 'the existing enrollment is returned').toBe('a');
    const other = await store.enroll(enrollmentOf('c', { leadId: 'lead-a', campaignId: 'other' }));
    expect(other.created, 'the same lead in another campaign').toBe(true);
    expect(
      (await store.enrollmentsOfLead('lead-a')).map((e) => e.id).sort(),
      'enrollments of the lead',
    ).toEqual(['a', 'c']);
    expect(await store.getEnrollment('b'), 'the refused one was not stored').toBe(undefined);
  });

  check('enrollRace', 'concurrent enrollments of one lead: exactly one is created', async (store) => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        store.enroll(enrollmentOf(`race-${index}`, { leadId: 'lead-race' })),
      ),
    );
    expect(results.filter((result) => result.created).length, 'created').toBe(1);
    expect(new Set(results.map((result) => result.enrollment.id)).size, 'all see the same one').toBe(1);
  });

  check(
    'compareAndSet',
    'updates are compare-and-set on version; final states drop nextRunAt',
    async (store) => {
      await store.enroll(enrollmentOf('a'));
      const next = enrollmentOf('a', { version: 2, stepId: 'second', nextRunAt: T0 + 1000 });
      const both = await Promise.all([
        store.updateEnrollment(next),
        store.updateEnrollment({ ...next, stepId: 'other' }),
      ]);
      expect(both.filter(Boolean).length, 'one of two concurrent updates of version 1 wins').toBe(1);
      expect(await store.updateEnrollment(enrollmentOf('a', { version: 2 })), 'a stale version').toBe(false);
      expect(await store.updateEnrollment(enrollmentOf('missing', { version: 2 })), 'an unknown id').toBe(
        false,
      );
      const done = await store.updateEnrollment(
        enrollmentOf('a', { version: 3, status: 'completed', nextRunAt: T0 }),
      );
      expect(done, 'version 3').toBe(true);
      const stored = await store.getEnrollment('a');
      expect(stored?.status, 'status').toBe('completed');
      expect(stored?.nextRunAt, 'a final enrollment has no nextRunAt').toBe(undefined);
    },
  );

  check(
    'due',
    'due lists active enrollments due by now, earliest first, limited; nextWakeAt is the minimum',
    async (store) => {
      expect(await store.nextWakeAt(), 'empty store').toBe(undefined);
      await store.enroll(enrollmentOf('late', { nextRunAt: T0 + 5000 }));
      await store.enroll(enrollmentOf('early', { nextRunAt: T0 - 5000 }));
      await store.enroll(enrollmentOf('now', { nextRunAt: T0 }));
      await store.enroll(
        enrollmentOf('done', { status: 'exited', nextRunAt: undefined, reason: 'email.replied' }),
      );
      expect(
        (await store.due(T0, 10)).map((e) => e.id),
        'due at T0',
      ).toEqual(['early', 'now']);
      expect(
        (await store.due(T0, 1)).map((e) => e.id),
        'limit 1',
      ).toEqual(['early']);
      expect(
        (await store.due(T0 + 5000, 10)).map((e) => e.id),
        'due later',
      ).toEqual(['early', 'now', 'late']);
      expect(await store.nextWakeAt(), 'nextWakeAt').toBe(T0 - 5000);
      await store.setTimer({ key: 'cron-x', runAt: T0 - 9000 });
      expect(await store.nextWakeAt(), 'a timer counts').toBe(T0 - 9000);
    },
  );

  check(
    'claimOnce',
    'a send is claimed once; sent and failed rows are never claimed again',
    async (store) => {
      const first = await store.claimSend(claimOf('k1'));
      expect(first.status, 'first claim').toBe('claimed');
      const second = await store.claimSend(claimOf('k1'));
      expect(second.status, 'second claim of a claimed row').toBe('exists');
      expect(await store.markSent('k1', 'msg-1', T0 + 10), 'markSent').toBe(true);
      expect(await store.markSent('k1', 'msg-2', T0 + 20), 'markSent twice').toBe(false);
      const sent = await store.getSend('k1');
      expect([sent?.status, sent?.messageId, sent?.sentAt, sent?.attempts], 'the sent row').toEqual([
        'sent',
        'msg-1',
        T0 + 10,
        1,
      ]);
      expect((await store.claimSend(claimOf('k1'))).status, 'claim of a sent row').toBe('exists');
      await store.claimSend(claimOf('k2'));
      expect(
        await store.markFailed('k2', { code: 'invalid_request', message: 'bad address' }, false),
        'markFailed',
      ).toBe(true);
      expect((await store.claimSend(claimOf('k2'))).status, 'claim of a failed row').toBe('exists');
      expect(await store.reopenSend('k2'), 'reopen a failed row').toBe(true);
      expect((await store.claimSend(claimOf('k2'))).status, 'claim after reopening').toBe('claimed');
      expect((await store.getSend('k2'))?.attempts, 'attempts counted').toBe(2);
    },
  );

  check('claimRace', 'concurrent claims of one ledger key: exactly one wins', async (store) => {
    const results = await Promise.all(Array.from({ length: 10 }, () => store.claimSend(claimOf('race'))));
    expect(results.filter((result) => result.status === 'claimed').length, 'claimed').toBe(1);
    expect((await store.mailboxUsage('sales@contract.example', '2026-12-07')).sentToday, 'counted once').toBe(
      1,
    );
  });

  check(
    'claimSuppressed',
    'a suppressed address is refused in the claim, case-insensitively, and nothing is written',
    async (store) => {
      await store.suppress({
        email: 'Gone@Contract.example',
        reason: 'unsubscribed',
        source: 'link',
        at: T0,
      });
      await store.suppress({
        email: 'gone@contract.example',
        reason: 'bounced',
        source: 'later',
        at: T0 + 1,
      });
      expect((await store.getSuppression('GONE@contract.example'))?.reason, 'first reason kept').toBe(
        'unsubscribed',
      );
      const claim = await store.claimSend(claimOf('s1', { email: 'gone@contract.example' }));
      expect(claim.status, 'claim').toBe('suppressed');
      expect(await store.getSend('s1'), 'no ledger row').toBe(undefined);
      expect(
        (await store.mailboxUsage('sales@contract.example', '2026-12-07')).sentToday,
        'not counted',
      ).toBe(0);
    },
  );

  check(
    'claimRetry',
    'retry and not_sent rows may be claimed again; a claimed row cannot be marked twice',
    async (store) => {
      await store.claimSend(claimOf('r1'));
      expect(await store.markFailed('r1', { code: 'server_error', message: '503' }, true), 'retryable').toBe(
        true,
      );
      expect(
        await store.markFailed('r1', { code: 'server_error', message: '503' }, true),
        'not claimed any more',
      ).toBe(false);
      expect((await store.getSend('r1'))?.status, 'status').toBe('retry');
      expect((await store.claimSend(claimOf('r1'))).status, 'claimed again').toBe('claimed');
      expect((await store.getSend('r1'))?.attempts, 'attempts').toBe(2);
    },
  );

  check(
    'mailboxCaps',
    'a mailbox over its daily cap or inside its minimum gap is capped, and nothing is written',
    async (store) => {
      const cap = { mailbox: 'm@contract.example', day: '2026-12-07', dailyCap: 2, minGapMs: 60_000 };
      expect((await store.claimSend(claimOf('c1', { cap, at: T0 }))).status, 'first').toBe('claimed');
      const gap = await store.claimSend(claimOf('c2', { cap, at: T0 + 30_000 }));
      expect(gap.status === 'capped' && gap.cap, 'inside the gap').toBe('minGap');
      expect((await store.claimSend(claimOf('c2', { cap, at: T0 + 60_000 }))).status, 'after the gap').toBe(
        'claimed',
      );
      const daily = await store.claimSend(claimOf('c3', { cap, at: T0 + 200_000 }));
      expect(daily.status === 'capped' && daily.cap, 'over the daily cap').toBe('dailyCap');
      expect(await store.getSend('c3'), 'no row for a capped claim').toBe(undefined);
      const nextDay = await store.claimSend(
        claimOf('c3', { cap: { ...cap, day: '2026-12-08' }, at: T0 + 86_400_000 }),
      );
      expect(nextDay.status, 'the next day').toBe('claimed');
      expect(await store.mailboxUsage('m@contract.example', '2026-12-07'), 'usage').toEqual({
        sentToday: 2,
        lastSentAt: T0 + 86_400_000,
      });
    },
  );

  check('resolve', 'a crashed claim is listed and settled, as sent or not sent', async (store) => {
    await store.claimSend(claimOf('x1', { at: T0 }));
    await store.claimSend(claimOf('x2', { at: T0 + 100, cap: { mailbox: 'other', day: 'd' } }));
    await store.claimSend(claimOf('x3', { at: T0 + 200, cap: { mailbox: 'third', day: 'd' } }));
    await store.markSent('x3', 'm3', T0 + 300);
    expect(
      (await store.listSends({ status: 'claimed' })).map((send) => send.ledgerKey),
      'claimed rows',
    ).toEqual(['x1', 'x2']);
    expect(
      (await store.listSends({ status: 'claimed', claimedBefore: T0 + 50 })).map((send) => send.ledgerKey),
      'stale',
    ).toEqual(['x1']);
    expect(
      await store.resolveClaim('x1', { sent: true, messageId: 'found', at: T0 + 400 }),
      'resolve sent',
    ).toBe(true);
    expect(await store.resolveClaim('x2', { sent: false }), 'resolve not sent').toBe(true);
    expect(await store.resolveClaim('x3', { sent: false }), 'a sent row is not claimed').toBe(false);
    expect((await store.getSend('x1'))?.messageId, 'message id').toBe('found');
    expect(
      (await store.claimSend(claimOf('x2', { at: T0 + 500, cap: { mailbox: 'other', day: 'd' } }))).status,
      'not_sent claims again',
    ).toBe('claimed');
  });

  check('events', 'events deduplicate by id and are read since a time, by type', async (store) => {
    expect(
      (await store.recordEvent({ id: 'e1', type: 'email.opened', leadId: 'L', at: T0 })).recorded,
      'new',
    ).toBe(true);
    expect(
      (await store.recordEvent({ id: 'e1', type: 'email.opened', leadId: 'L', at: T0 })).recorded,
      'duplicate',
    ).toBe(false);
    await store.recordEvent({
      id: 'e2',
      type: 'email.replied',
      leadId: 'L',
      at: T0 - 1000,
      data: { text: 'hi' },
    });
    await store.recordEvent({ id: 'e3', type: 'email.replied', leadId: 'other', at: T0 });
    expect(
      (await store.eventsSince('L', T0 - 5000)).map((event) => event.id),
      'oldest first',
    ).toEqual(['e2', 'e1']);
    expect(
      (await store.eventsSince('L', T0)).map((event) => event.id),
      'since T0',
    ).toEqual(['e1']);
    expect(
      (await store.eventsSince('L', 0, ['email.replied'])).map((event) => event.data),
      'by type, with data',
    ).toEqual([{ text: 'hi' }]);
  });

  check(
    'exitAtomic',
    'an exit event exits the named campaigns and suppresses in the same call, once',
    async (store) => {
      await store.enroll(enrollmentOf('a', { leadId: 'L' }));
      await store.enroll(enrollmentOf('b', { leadId: 'L', campaignId: 'other' }));
      await store.enroll(
        enrollmentOf('c', { leadId: 'L', campaignId: 'done', status: 'completed', nextRunAt: undefined }),
      );
      const suppress = {
        email: 'l@contract.example',
        reason: 'unsubscribed' as const,
        source: 'test',
        at: T0,
      };
      const result = await store.recordEvent(
        { id: 'u1', type: 'email.unsubscribed', leadId: 'L', at: T0 },
        { exit: { welcome: 'email.unsubscribed', done: 'email.unsubscribed' }, suppress },
      );
      expect(
        result.exited.map((e) => [e.id, e.status, e.reason, e.version]),
        'exited',
      ).toEqual([['a', 'exited', 'email.unsubscribed', 2]]);
      expect((await store.getEnrollment('a'))?.status, 'stored').toBe('exited');
      expect((await store.getEnrollment('b'))?.status, 'another campaign untouched').toBe('active');
      expect((await store.getEnrollment('c'))?.status, 'a completed one untouched').toBe('completed');
      expect((await store.getSuppression('l@contract.example'))?.reason, 'suppressed').toBe('unsubscribed');
      expect(
        (await store.due(T0 + 1, 10)).map((e) => e.id),
        'no longer due',
      ).toEqual(['b']);
      const again = await store.recordEvent(
        { id: 'u1', type: 'email.unsubscribed', leadId: 'L', at: T0 },
        { exit: { other: 'x' } },
      );
      expect(
        [again.recorded, again.exited.length, (await store.getEnrollment('b'))?.status],
        'a duplicate changes nothing',
      ).toEqual([false, 0, 'active']);
    },
  );

  check(
    'deadLetters',
    'dead letters are kept, listed oldest first, replaced by id and removed',
    async (store) => {
      const letter = {
        id: 'd1',
        enrollmentId: 'a',
        campaignId: 'welcome',
        stepId: 's',
        code: 'invalid_request',
        message: 'bad',
        attempts: 1,
        at: T0 + 10,
      };
      await store.putDeadLetter(letter);
      await store.putDeadLetter({ ...letter, id: 'd0', at: T0, campaignId: 'other' });
      await store.putDeadLetter({ ...letter, attempts: 2 });
      expect(
        (await store.listDeadLetters()).map((l) => [l.id, l.attempts]),
        'all',
      ).toEqual([
        ['d0', 1],
        ['d1', 2],
      ]);
      expect(
        (await store.listDeadLetters('welcome')).map((l) => l.id),
        'by campaign',
      ).toEqual(['d1']);
      expect(await store.removeDeadLetter('d1'), 'removed').toBe(true);
      expect(await store.removeDeadLetter('d1'), 'unknown').toBe(false);
    },
  );

  check(
    'timers',
    'timers are due by time, replaced by key, removed only at the time they had',
    async (store) => {
      await store.setTimer({ key: 'a', runAt: T0 + 10 });
      await store.setTimer({ key: 'b', runAt: T0 });
      expect(
        (await store.dueTimers(T0 + 10)).map((t) => t.key),
        'due',
      ).toEqual(['b', 'a']);
      await store.setTimer({ key: 'a', runAt: T0 + 99 });
      expect(await store.removeTimer('a', T0 + 10), 'a replaced timer stays').toBe(false);
      expect(await store.removeTimer('a', T0 + 99), 'removed').toBe(true);
      expect(
        (await store.dueTimers(T0 + 1000)).map((t) => t.key),
        'left',
      ).toEqual(['b']);
    },
  );

  check(
    'stats',
    'stats count enrollments by status and reason, and sends and their events per step',
    async (store) => {
      await store.enroll(enrollmentOf('a'));
      await store.enroll(
        enrollmentOf('b', { status: 'exited', reason: 'email.replied', nextRunAt: undefined }),
      );
      await store.claimSend(claimOf('k1', { enrollmentId: 'a', leadId: 'lead-a' }));
      await store.markSent('k1', 'm1', T0);
      await store.recordEvent({
        id: 'v1',
        type: 'email.delivered',
        leadId: 'lead-a',
        at: T0,
        ledgerKey: 'k1',
      });
      await store.recordEvent({ id: 'v2', type: 'email.opened', leadId: 'lead-a', at: T0, ledgerKey: 'k1' });
      await store.recordEvent({ id: 'v3', type: 'email.opened', leadId: 'lead-a', at: T0, ledgerKey: 'k1' });
      const stats = await store.stats('welcome');
      expect([stats.enrolled, stats.byStatus.active, stats.byStatus.exited], 'enrollments').toEqual([
        2, 1, 1,
      ]);
      expect(stats.exitedByReason, 'by reason').toEqual({ 'email.replied': 1 });
      expect(stats.steps.first, 'step').toEqual({
        sent: 1,
        failed: 0,
        delivered: 1,
        opened: 1,
        clicked: 0,
        replied: 0,
        bounced: 0,
        unsubscribed: 0,
      });
    },
  );

  check(
    'copies',
    "the store keeps copies: changing the caller's or a returned object changes nothing stored",
    async (store) => {
      const enrollment = enrollmentOf('a');
      await store.enroll(enrollment);
      (enrollment.data as Record<string, unknown>).source = 'mutated';
      const read = await store.getEnrollment('a');
      (read?.data as Record<string, unknown>).source = 'mutated again';
      expect((await store.getEnrollment('a'))?.data?.source, 'stored data').toBe('contract');
    },
  );

  if (options.reopen !== undefined) {
    const reopen = options.reopen;
    check('persistence', 'a reopened store holds everything it held', async (store, replacedBy) => {
      await store.enroll(enrollmentOf('a'));
      await store.updateEnrollment(enrollmentOf('a', { version: 2, stepId: 'second' }));
      await store.claimSend(claimOf('k1', { cap: { mailbox: 'm', day: 'd', dailyCap: 1 } }));
      await store.markSent('k1', 'm1', T0);
      await store.claimSend(claimOf('k2', { cap: { mailbox: 'n', day: 'd' } }));
      await store.suppress({
        email: 'gone@contract.example',
        reason: 'complained',
        source: 'sendgrid',
        at: T0,
      });
      await store.recordEvent({ id: 'e1', type: 'email.replied', leadId: 'lead-a', at: T0 });
      await store.putDeadLetter({
        id: 'd1',
        enrollmentId: 'a',
        campaignId: 'welcome',
        stepId: 's',
        code: 'c',
        message: 'm',
        attempts: 1,
        at: T0,
      });
      await store.setTimer({ key: 'cron-x', runAt: T0 });
      await store.close();
      const reopened = await reopen(store);
      replacedBy(reopened);
      expect((await reopened.getEnrollment('a'))?.stepId, 'enrollment').toBe('second');
      expect((await reopened.enroll(enrollmentOf('z', { leadId: 'lead-a' }))).created, 'unique index').toBe(
        false,
      );
      expect((await reopened.getSend('k1'))?.status, 'sent row').toBe('sent');
      expect(
        (await reopened.claimSend(claimOf('k2', { cap: { mailbox: 'n', day: 'd' } }))).status,
        'a crashed claim stays claimed',
      ).toBe('exists');
      expect(
        (await reopened.claimSend(claimOf('k3', { cap: { mailbox: 'm', day: 'd', dailyCap: 1 } }))).status,
        'mailbox counters',
      ).toBe('capped');
      expect((await reopened.getSuppression('gone@contract.example'))?.reason, 'suppression').toBe(
        'complained',
      );
      expect(
        (await reopened.recordEvent({ id: 'e1', type: 'email.replied', leadId: 'lead-a', at: T0 })).recorded,
        'event ids',
      ).toBe(false);
      expect((await reopened.listDeadLetters()).length, 'dead letters').toBe(1);
      expect((await reopened.dueTimers(T0)).length, 'timers').toBe(1);
    });
  }
}
