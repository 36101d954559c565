import { createHash } from 'node:crypto';
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import {
  type CampaignClaimResult,
  type CampaignDeadLetter,
  type CampaignEnrollment,
  type CampaignEnrollmentStatus,
  type CampaignMailboxUsage,
  type CampaignSend,
  type CampaignStats,
  type CampaignStepStats,
  type CampaignStoredEvent,
  type CampaignStoreV1,
  type CampaignSuppression,
  type CampaignTimer,
  type ErasedPerson,
  LeadpipeError,
  mentionsEmail,
} from '@leadpipe/core';
import { parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';

/** Options of {@link createMemoryCampaignStore}. */
export interface MemoryCampaignStoreOptions {
  /**
   * A journal file: every change is appended to it as one JSON line before
   * the call resolves, and the file is replayed on open, so the store
   * survives a crash or restart of the process (a torn last line is
   * ignored). One process at a time. Absent: memory only.
   */
  readonly file?: string;
  /** `fsync` the journal after every change (survives a machine crash, not only a process crash). Default false. */
  readonly fsync?: boolean;
}

const optionsSchema = z
  .object({ file: z.string().min(1, 'must not be empty').optional(), fsync: z.boolean().optional() })
  .optional();

/** What {@link MemoryCampaignStore.erase} removed, by kind (the names the PostgreSQL store's erase report uses). */
export interface CampaignEraseCounts {
  /** Enrollments of the person's leads. */
  readonly campaignEnrollments: number;
  /** Send ledger rows of their leads or addressed to them. */
  readonly campaignSends: number;
  /** Stored events of their leads, of their ledger rows, or naming the address in their data. */
  readonly campaignEvents: number;
  /** Dead letters of their enrollments, or naming the address. */
  readonly campaignDeadLetters: number;
}

/** The memory campaign store: a `CampaignStoreV1` that can also erase a person. */
export interface MemoryCampaignStore extends CampaignStoreV1 {
  /**
   * Remove the person's enrollments, ledger rows, stored events and dead
   * letters, and rewrite the journal without them (a new file, renamed over
   * the old one). Their suppression stays, kept as a SHA-256 of the address.
   */
  erase(person: ErasedPerson): Promise<CampaignEraseCounts>;
}

/** A suppression as kept: no address, only its hash (the key). */
type StoredSuppression = Omit<CampaignSuppression, 'email'>;

/** SHA-256 (hex) of the lower-cased address: what a suppression is kept under. */
const addressHash = (email: string): string => createHash('sha256').update(email.toLowerCase()).digest('hex');

/** One change, as journaled. */
type Change =
  | { readonly t: 'enrollment'; readonly v: CampaignEnrollment }
  | { readonly t: 'send'; readonly v: CampaignSend }
  | { readonly t: 'suppressed'; readonly h: string; readonly v: StoredSuppression }
  /** A suppression as journals before 0.2 wrote it (the address in clear): replayed under its hash. */
  | { readonly t: 'suppression'; readonly v: CampaignSuppression }
  | { readonly t: 'event'; readonly v: CampaignStoredEvent }
  | { readonly t: 'deadLetter'; readonly v: CampaignDeadLetter }
  | { readonly t: 'deadLetterRemoved'; readonly id: string }
  | { readonly t: 'timer'; readonly v: CampaignTimer }
  | { readonly t: 'timerRemoved'; readonly key: string }
  | {
      readonly t: 'usage';
      readonly mailbox: string;
      readonly day: string;
      readonly sentToday: number;
      readonly at: number;
    };

const copy = <T>(value: T): T => structuredClone(value);

const EVENT_STATS: Readonly<Record<string, keyof CampaignStepStats>> = {
  'email.delivered': 'delivered',
  'email.opened': 'opened',
  'email.clicked': 'clicked',
  'email.replied': 'replied',
  'email.bounced': 'bounced',
  'email.unsubscribed': 'unsubscribed',
};

const emptyStepStats = (): Record<keyof CampaignStepStats, number> => ({
  sent: 0,
  failed: 0,
  delivered: 0,
  opened: 0,
  clicked: 0,
  replied: 0,
  bounced: 0,
  unsubscribed: 0,
});

/**
 * A `CampaignStoreV1` in memory, optionally journaled to a file so it
 * survives a restart (see {@link MemoryCampaignStoreOptions.file}). Every
 * method runs without yielding between its reads and writes, so each is one
 * transaction within the process. For several processes, use a store on a
 * database.
 *
 * @example
 * ```ts
 * const store = createMemoryCampaignStore({ file: './campaign-state.ndjson' });
 * ```
 */
export function createMemoryCampaignStore(options: MemoryCampaignStoreOptions = {}): MemoryCampaignStore {
  const parsed = parseOptions(optionsSchema, options, { name: 'createMemoryCampaignStore' }) ?? {};
  const enrollments = new Map<string, CampaignEnrollment>();
  const byLeadAndCampaign = new Map<string, string>();
  const byLead = new Map<string, Set<string>>();
  const sends = new Map<string, CampaignSend>();
  const suppressions = new Map<string, StoredSuppression>();
  const eventIds = new Set<string>();
  const eventsByLead = new Map<string, CampaignStoredEvent[]>();
  const eventsByLedgerKey = new Map<string, Set<string>>();
  const deadLetters = new Map<string, CampaignDeadLetter>();
  const timers = new Map<string, CampaignTimer>();
  const usage = new Map<string, number>();
  const lastSent = new Map<string, number>();
  let closed = false;

  const apply = (change: Change): void => {
    switch (change.t) {
      case 'enrollment': {
        const enrollment = change.v;
        enrollments.set(enrollment.id, enrollment);
        byLeadAndCampaign.set(`${enrollment.campaignId}\u0000${enrollment.leadId}`, enrollment.id);
        const ids = byLead.get(enrollment.leadId) ?? new Set<string>();
        byLead.set(enrollment.leadId, ids);
        ids.add(enrollment.id);
        break;
      }
      case 'send':
        sends.set(change.v.ledgerKey, change.v);
        break;
      case 'suppressed':
        suppressions.set(change.h, change.v);
        break;
      case 'suppression': {
        const { email, ...rest } = change.v;
        suppressions.set(addressHash(email), rest);
        break;
      }
      case 'event': {
        const event = change.v;
        eventIds.add(event.id);
        const list = eventsByLead.get(event.leadId) ?? [];
        eventsByLead.set(event.leadId, list);
        list.push(event);
        if (event.ledgerKey !== undefined) {
          const types = eventsByLedgerKey.get(event.ledgerKey) ?? new Set<string>();
          eventsByLedgerKey.set(event.ledgerKey, types);
          types.add(event.type);
        }
        break;
      }
      case 'deadLetter':
        deadLetters.set(change.v.id, change.v);
        break;
      case 'deadLetterRemoved':
        deadLetters.delete(change.id);
        break;
      case 'timer':
        timers.set(change.v.key, change.v);
        break;
      case 'timerRemoved':
        timers.delete(change.key);
        break;
      case 'usage':
        usage.set(`${change.mailbox}\u0000${change.day}`, change.sentToday);
        lastSent.set(change.mailbox, change.at);
        break;
    }
  };

  const file = parsed.file;
  if (file !== undefined && existsSync(file)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((line, index) => {
      if (line.trim() === '') return;
      let changes: Change[];
      try {
        changes = JSON.parse(line) as Change[];
      } catch (cause) {
        // A crash mid-append leaves a torn last line: that change never committed.
        if (index === lines.length - 1) return;
        throw new LeadpipeError('checkpoint_corrupt', {
          message: `Campaign store journal ${file} is corrupt at line ${index + 1}`,
          cause,
        });
      }
      for (const change of changes) apply(change);
    });
  }

  /** Apply and journal one transaction's changes. */
  const commit = (changes: readonly Change[]): void => {
    if (closed) throw new LeadpipeError('invalid_configuration', { message: 'The campaign store is closed' });
    if (changes.length === 0) return;
    if (file !== undefined) {
      const line = `${JSON.stringify(changes)}\n`;
      if (parsed.fsync === true) {
        const fd = openSync(file, 'a');
        try {
          appendFileSync(fd, line);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      } else {
        appendFileSync(file, line);
      }
    }
    for (const change of changes) apply(copy(change));
  };

  const activeLeadEnrollments = (leadId: string): CampaignEnrollment[] =>
    [...(byLead.get(leadId) ?? [])].flatMap((id) => {
      const enrollment = enrollments.get(id);
      return enrollment === undefined ? [] : [enrollment];
    });

  /** The change that stores a suppression under the address's hash, or undefined when one is already kept. */
  const suppressionChange = (suppression: CampaignSuppression): Change | undefined => {
    const h = addressHash(suppression.email);
    if (suppressions.has(h)) return undefined;
    const { email: _email, ...v } = suppression;
    return { t: 'suppressed', h, v };
  };

  /** Everything held, as changes that rebuild it: the journal rewritten after an erase. */
  const snapshot = (): Change[] => [
    ...[...enrollments.values()].map((v): Change => ({ t: 'enrollment', v })),
    ...[...sends.values()].map((v): Change => ({ t: 'send', v })),
    ...[...suppressions].map(([h, v]): Change => ({ t: 'suppressed', h, v })),
    ...[...eventsByLead.values()].flat().map((v): Change => ({ t: 'event', v })),
    ...[...deadLetters.values()].map((v): Change => ({ t: 'deadLetter', v })),
    ...[...timers.values()].map((v): Change => ({ t: 'timer', v })),
    ...[...usage].map(([key, sentToday]): Change => {
      const [mailbox = '', day = ''] = key.split('\u0000');
      return { t: 'usage', mailbox, day, sentToday, at: lastSent.get(mailbox) ?? 0 };
    }),
  ];

  /** Replace the journal with `changes` in one line: written beside it, flushed, renamed over it. */
  const rewriteJournal = (changes: readonly Change[]): void => {
    if (file === undefined) return;
    const temporary = `${file}.${process.pid}.tmp`;
    const fd = openSync(temporary, 'w');
    try {
      writeFileSync(fd, changes.length === 0 ? '' : `${JSON.stringify(changes)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  };

  const store: MemoryCampaignStore = {
    specificationVersion: 'v1',

    async enroll(enrollment) {
      const existingId = byLeadAndCampaign.get(`${enrollment.campaignId}\u0000${enrollment.leadId}`);
      const existing = existingId === undefined ? undefined : enrollments.get(existingId);
      if (existing !== undefined) return { created: false, enrollment: copy(existing) };
      if (enrollments.has(enrollment.id)) {
        throw new LeadpipeError('validation_failed', { message: `Enrollment id ${enrollment.id} is taken` });
      }
      commit([{ t: 'enrollment', v: enrollment }]);
      return { created: true, enrollment: copy(enrollment) };
    },

    async getEnrollment(id) {
      const enrollment = enrollments.get(id);
      return enrollment === undefined ? undefined : copy(enrollment);
    },

    async enrollmentsOfLead(leadId) {
      return copy(activeLeadEnrollments(leadId));
    },

    async updateEnrollment(next) {
      const current = enrollments.get(next.id);
      if (current === undefined || current.version !== next.version - 1) return false;
      if (current.campaignId !== next.campaignId || current.leadId !== next.leadId) return false;
      const stored: CampaignEnrollment =
        next.status === 'active' ? next : (({ nextRunAt: _dropped, ...rest }) => rest)(next);
      commit([{ t: 'enrollment', v: stored }]);
      return true;
    },

    async due(now, limit) {
      const ready: CampaignEnrollment[] = [];
      for (const enrollment of enrollments.values()) {
        if (
          enrollment.status === 'active' &&
          enrollment.nextRunAt !== undefined &&
          enrollment.nextRunAt <= now
        ) {
          ready.push(enrollment);
        }
      }
      ready.sort((a, b) => (a.nextRunAt ?? 0) - (b.nextRunAt ?? 0) || (a.id < b.id ? -1 : 1));
      return copy(ready.slice(0, Math.max(0, limit)));
    },

    async nextWakeAt() {
      let earliest: number | undefined;
      for (const enrollment of enrollments.values()) {
        if (enrollment.status !== 'active' || enrollment.nextRunAt === undefined) continue;
        if (earliest === undefined || enrollment.nextRunAt < earliest) earliest = enrollment.nextRunAt;
      }
      for (const timer of timers.values()) {
        if (earliest === undefined || timer.runAt < earliest) earliest = timer.runAt;
      }
      return earliest;
    },

    async claimSend(claim): Promise<CampaignClaimResult> {
      const email = claim.email.toLowerCase();
      const suppression = suppressions.get(addressHash(email));
      if (suppression !== undefined)
        return { status: 'suppressed', suppression: { ...copy(suppression), email } };
      const existing = sends.get(claim.ledgerKey);
      if (existing !== undefined && existing.status !== 'retry' && existing.status !== 'not_sent') {
        return { status: 'exists', send: copy(existing) };
      }
      const { cap } = claim;
      const sentToday = usage.get(`${cap.mailbox}\u0000${cap.day}`) ?? 0;
      const lastSentAt = lastSent.get(cap.mailbox);
      const capped =
        cap.dailyCap !== undefined && sentToday >= cap.dailyCap
          ? 'dailyCap'
          : cap.minGapMs !== undefined && lastSentAt !== undefined && claim.at - lastSentAt < cap.minGapMs
            ? 'minGap'
            : undefined;
      if (capped !== undefined) {
        return {
          status: 'capped',
          cap: capped,
          sentToday,
          ...(lastSentAt === undefined ? {} : { lastSentAt }),
        };
      }
      const send: CampaignSend = {
        ledgerKey: claim.ledgerKey,
        enrollmentId: claim.enrollmentId,
        campaignId: claim.campaignId,
        stepId: claim.stepId,
        leadId: claim.leadId,
        email,
        mailbox: cap.mailbox,
        ...(claim.variant === undefined ? {} : { variant: claim.variant }),
        status: 'claimed',
        attempts: (existing?.attempts ?? 0) + 1,
        claimedAt: claim.at,
      };
      commit([
        { t: 'send', v: send },
        { t: 'usage', mailbox: cap.mailbox, day: cap.day, sentToday: sentToday + 1, at: claim.at },
      ]);
      return { status: 'claimed', send: copy(send) };
    },

    async markSent(ledgerKey, messageId, at) {
      const send = sends.get(ledgerKey);
      if (send?.status !== 'claimed') return false;
      commit([{ t: 'send', v: { ...send, status: 'sent', messageId, sentAt: at } }]);
      return true;
    },

    async markFailed(ledgerKey, error, retryable) {
      const send = sends.get(ledgerKey);
      if (send?.status !== 'claimed') return false;
      const v: CampaignSend = {
        ...send,
        status: retryable ? 'retry' : 'failed',
        error: { code: error.code, message: error.message },
      };
      commit([{ t: 'send', v }]);
      return true;
    },

    async resolveClaim(ledgerKey, outcome) {
      const send = sends.get(ledgerKey);
      if (send?.status !== 'claimed') return false;
      const v: CampaignSend = outcome.sent
        ? { ...send, status: 'sent', messageId: outcome.messageId, sentAt: outcome.at }
        : { ...send, status: 'not_sent' };
      commit([{ t: 'send', v }]);
      return true;
    },

    async reopenSend(ledgerKey) {
      const send = sends.get(ledgerKey);
      if (send?.status !== 'failed') return false;
      commit([{ t: 'send', v: { ...send, status: 'not_sent' } }]);
      return true;
    },

    async getSend(ledgerKey) {
      const send = sends.get(ledgerKey);
      return send === undefined ? undefined : copy(send);
    },

    async listSends(query = {}) {
      const rows = [...sends.values()].filter(
        (send) =>
          (query.status === undefined || send.status === query.status) &&
          (query.claimedBefore === undefined || send.claimedAt <= query.claimedBefore) &&
          (query.enrollmentId === undefined || send.enrollmentId === query.enrollmentId),
      );
      rows.sort((a, b) => a.claimedAt - b.claimedAt || (a.ledgerKey < b.ledgerKey ? -1 : 1));
      return copy(rows.slice(0, query.limit ?? 100));
    },

    async mailboxUsage(mailbox, day): Promise<CampaignMailboxUsage> {
      const at = lastSent.get(mailbox);
      return {
        sentToday: usage.get(`${mailbox}\u0000${day}`) ?? 0,
        ...(at === undefined ? {} : { lastSentAt: at }),
      };
    },

    async suppress(suppression) {
      const change = suppressionChange(suppression);
      if (change !== undefined) commit([change]);
    },

    async getSuppression(email) {
      const suppression = suppressions.get(addressHash(email));
      return suppression === undefined ? undefined : { ...copy(suppression), email: email.toLowerCase() };
    },

    async recordEvent(event, options = {}) {
      if (eventIds.has(event.id)) return { recorded: false, exited: [] };
      const changes: Change[] = [{ t: 'event', v: event }];
      const exited: CampaignEnrollment[] = [];
      const exits = options.exit ?? {};
      for (const enrollment of activeLeadEnrollments(event.leadId)) {
        const reason = Object.hasOwn(exits, enrollment.campaignId) ? exits[enrollment.campaignId] : undefined;
        if (reason === undefined || enrollment.status !== 'active') continue;
        const { nextRunAt: _dropped, ...rest } = enrollment;
        const next: CampaignEnrollment = {
          ...rest,
          status: 'exited',
          reason,
          version: enrollment.version + 1,
        };
        changes.push({ t: 'enrollment', v: next });
        exited.push(next);
      }
      const suppression = options.suppress === undefined ? undefined : suppressionChange(options.suppress);
      if (suppression !== undefined) changes.push(suppression);
      commit(changes);
      return { recorded: true, exited: copy(exited) };
    },

    async eventsSince(leadId, since, types) {
      const wanted = types === undefined ? undefined : new Set(types);
      const events = (eventsByLead.get(leadId) ?? []).filter(
        (event) => event.at >= since && (wanted === undefined || wanted.has(event.type)),
      );
      return copy(events.sort((a, b) => a.at - b.at));
    },

    async putDeadLetter(letter) {
      commit([{ t: 'deadLetter', v: letter }]);
    },

    async listDeadLetters(campaignId) {
      return copy(
        [...deadLetters.values()]
          .filter((letter) => campaignId === undefined || letter.campaignId === campaignId)
          .sort((a, b) => a.at - b.at),
      );
    },

    async removeDeadLetter(id) {
      if (!deadLetters.has(id)) return false;
      commit([{ t: 'deadLetterRemoved', id }]);
      return true;
    },

    async setTimer(timer) {
      commit([{ t: 'timer', v: timer }]);
    },

    async dueTimers(now) {
      return copy(
        [...timers.values()].filter((timer) => timer.runAt <= now).sort((a, b) => a.runAt - b.runAt),
      );
    },

    async removeTimer(key, runAt) {
      if (timers.get(key)?.runAt !== runAt) return false;
      commit([{ t: 'timerRemoved', key }]);
      return true;
    },

    async stats(campaignId): Promise<CampaignStats> {
      const byStatus: Record<CampaignEnrollmentStatus, number> = {
        active: 0,
        completed: 0,
        exited: 0,
        failed: 0,
      };
      const exitedByReason: Record<string, number> = {};
      let enrolled = 0;
      for (const enrollment of enrollments.values()) {
        if (enrollment.campaignId !== campaignId) continue;
        enrolled++;
        byStatus[enrollment.status]++;
        if (enrollment.status === 'exited' && enrollment.reason !== undefined) {
          exitedByReason[enrollment.reason] = (exitedByReason[enrollment.reason] ?? 0) + 1;
        }
      }
      const steps: Record<string, Record<keyof CampaignStepStats, number>> = {};
      for (const send of sends.values()) {
        if (send.campaignId !== campaignId) continue;
        const step = steps[send.stepId] ?? emptyStepStats();
        steps[send.stepId] = step;
        if (send.status === 'sent') step.sent++;
        if (send.status === 'failed') step.failed++;
        for (const type of eventsByLedgerKey.get(send.ledgerKey) ?? []) {
          const name = EVENT_STATS[type];
          if (name !== undefined) step[name]++;
        }
      }
      return { enrolled, byStatus, exitedByReason, steps };
    },

    async erase(person) {
      if (closed)
        throw new LeadpipeError('invalid_configuration', { message: 'The campaign store is closed' });
      const address = person.email.toLowerCase();
      const ids = new Set(person.leadIds);
      const theirSends = [...sends.values()].filter((send) => ids.has(send.leadId) || send.email === address);
      const theirKeys = new Set(theirSends.map((send) => send.ledgerKey));
      const theirEnrollments = [...enrollments.values()].filter((enrollment) => ids.has(enrollment.leadId));
      const theirEnrollmentIds = new Set(theirEnrollments.map((enrollment) => enrollment.id));
      let campaignEvents = 0;
      for (const [leadId, list] of eventsByLead) {
        const kept = list.filter(
          (event) =>
            !(
              ids.has(event.leadId) ||
              (event.ledgerKey !== undefined && theirKeys.has(event.ledgerKey)) ||
              (event.data !== undefined && mentionsEmail(JSON.stringify(event.data), address))
            ),
        );
        for (const event of list) if (!kept.includes(event)) eventIds.delete(event.id);
        campaignEvents += list.length - kept.length;
        if (kept.length === 0) eventsByLead.delete(leadId);
        else eventsByLead.set(leadId, kept);
      }
      eventsByLedgerKey.clear();
      for (const event of [...eventsByLead.values()].flat()) {
        if (event.ledgerKey === undefined) continue;
        const types = eventsByLedgerKey.get(event.ledgerKey) ?? new Set<string>();
        eventsByLedgerKey.set(event.ledgerKey, types);
        types.add(event.type);
      }
      let campaignDeadLetters = 0;
      for (const [id, letter] of deadLetters) {
        if (theirEnrollmentIds.has(letter.enrollmentId) || mentionsEmail(letter.message, address)) {
          deadLetters.delete(id);
          campaignDeadLetters++;
        }
      }
      for (const key of theirKeys) sends.delete(key);
      for (const enrollment of theirEnrollments) {
        enrollments.delete(enrollment.id);
        byLeadAndCampaign.delete(`${enrollment.campaignId}\u0000${enrollment.leadId}`);
        byLead.delete(enrollment.leadId);
      }
      const counts: CampaignEraseCounts = {
        campaignEnrollments: theirEnrollments.length,
        campaignSends: theirKeys.size,
        campaignEvents,
        campaignDeadLetters,
      };
      // The old journal still names the person: replace it with what is left.
      if (Object.values(counts).some((count) => count > 0)) rewriteJournal(snapshot());
      return counts;
    },

    async close() {
      closed = true;
    },
  };
  return store;
}
