import { z } from 'zod';
import { type Clock, systemClock } from '../contracts/clock.js';
import { ValidationError } from '../contracts/errors.js';
import type { Lead } from '../contracts/lead.js';
import type {
  LeadEraseTarget,
  LeadStoreEvent,
  LeadStoreMergePolicy,
  LeadStoreV1,
  LeadUpsertOutcome,
} from '../contracts/lead-store.js';
import {
  type CheckedLeadQuery,
  CUSTOM_FIELD_NAME,
  checkLeadStoreQuery,
  encodeLeadCursor,
  textWords,
} from '../kit/lead-store-query.js';
import { acceptLeadForStore, emailIdentity, projectLead } from '../kit/lead-store-records.js';
import { exportLeadPages, importLeadBatches } from '../kit/lead-store-streams.js';
import { leadIdentityKey } from '../lead/identity.js';
import { mergeStoredLead } from '../lead/store-merge.js';
import { parseOptions } from '../options/parse-options.js';

/** Options of {@link createMemoryLeadStore}. */
export interface MemoryLeadStoreOptions {
  /** How stored and incoming leads merge. Default `highestConfidence`. */
  readonly mergePolicy?: LeadStoreMergePolicy;
  /** Custom field names queries may filter on. Default: none. */
  readonly customFields?: readonly string[];
  /** The clock of `updatedAt` stamps and retention. Default `Date.now`. */
  readonly now?: Clock;
  /**
   * Other places that keep people, which `erase` clears too and names in
   * its report: `deadLetterEraseTarget(queue)`, `erasableCache(cache).target`,
   * `erasableCheckpointStore(store).target`, `campaignEraseTarget(store)` of
   * `@leadpipe/campaigns`. Default none.
   */
  readonly eraseTargets?: readonly LeadEraseTarget[];
}

const optionsSchema = z
  .object({
    mergePolicy: z.enum(['highestConfidence', 'newest']).optional(),
    customFields: z
      .array(z.string().regex(CUSTOM_FIELD_NAME, 'must be a letter or _ then letters, digits or _'))
      .optional(),
    now: z
      .custom<Clock>((value) => typeof value === 'function', { message: 'must be a function' })
      .optional(),
    eraseTargets: z
      .array(
        z.custom<LeadEraseTarget>(
          (value) =>
            typeof value === 'object' &&
            value !== null &&
            typeof (value as LeadEraseTarget).place === 'string' &&
            typeof (value as LeadEraseTarget).erase === 'function',
          { message: 'must be an erase target: { place, erase(person) }' },
        ),
      )
      .optional(),
  })
  .optional();

const DAY_MS = 86_400_000;
const IMPORT_BATCH = 500;

/** Whether every filter of `query` holds for `lead`. */
function matches(lead: Lead, query: CheckedLeadQuery): boolean {
  const where = query.where;
  if (where.emailDomain !== undefined && lead.email?.split('@')[1] !== where.emailDomain) return false;
  if (where.companyDomain !== undefined && lead.company?.domain !== where.companyDomain) return false;
  if (where.industry !== undefined && lead.company?.industry?.toLowerCase() !== where.industry) return false;
  const headcount = lead.company?.headcount;
  if (where.headcountMin !== undefined && (headcount === undefined || headcount < where.headcountMin)) {
    return false;
  }
  if (where.headcountMax !== undefined && (headcount === undefined || headcount > where.headcountMax)) {
    return false;
  }
  if (where.country !== undefined && lead.location?.countryCode !== where.country) return false;
  if (where.seniority !== undefined && !where.seniority.includes(lead.seniority as never)) return false;
  if (where.titleWords !== undefined) {
    const words = new Set(textWords(lead.title ?? ''));
    if (!where.titleWords.every((word) => words.has(word))) return false;
  }
  if (where.updatedSince !== undefined && lead.updatedAt < where.updatedSince) return false;
  for (const [name, value] of where.custom ?? []) {
    if (lead.custom?.[name] !== value) return false;
  }
  if (query.searchWords.length > 0) {
    const words = textWords([lead.fullName, lead.title, lead.company?.name].filter(Boolean).join(' '));
    if (!query.searchWords.every((prefix) => words.some((word) => word.startsWith(prefix)))) return false;
  }
  return true;
}

/** Order of `query`: by id, or by updatedAt then id. */
function compare(a: Lead, b: Lead, query: CheckedLeadQuery): number {
  if (query.orderBy === 'updatedAt' && a.updatedAt !== b.updatedAt) return a.updatedAt < b.updatedAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Whether `lead` comes after the cursor's position. */
function isAfter(lead: Lead, query: CheckedLeadQuery): boolean {
  const after = query.after;
  if (after === undefined) return true;
  if (query.orderBy === 'updatedAt') {
    const at = after.updatedAt ?? '';
    return lead.updatedAt > at || (lead.updatedAt === at && lead.id > after.id);
  }
  return lead.id > after.id;
}

/**
 * A {@link LeadStoreV1} in memory, for tests and small scripts: everything is
 * lost when the process exits. It keeps the promises of the contract suite
 * (`leadStoreContract` in `@leadpipe/testkit`) that the database stores keep,
 * scanning every lead per query (fine for thousands, not for millions).
 *
 * `erase` removes the person from the leads, the archive and the outbox,
 * and from every place given as `eraseTargets` (a cache, dead letters,
 * checkpoint answers), each named in the report.
 *
 * @throws ConfigurationError naming the option when an option is invalid.
 */
export function createMemoryLeadStore(options: MemoryLeadStoreOptions = {}): LeadStoreV1 {
  const parsed = parseOptions(optionsSchema, options, { name: 'createMemoryLeadStore' }) ?? {};
  const policy = parsed.mergePolicy ?? 'highestConfidence';
  const now = parsed.now ?? systemClock;
  const customFields: ReadonlySet<string> = new Set(parsed.customFields ?? []);
  const eraseTargets = parsed.eraseTargets ?? [];
  const leads = new Map<string, Lead>();
  const idByIdentity = new Map<string, string>();
  const archive = new Map<string, { lead: Lead; identity: string }>();
  const outbox: LeadStoreEvent[] = [];
  let position = 0;

  const record = (type: LeadStoreEvent['type'], lead: Lead, changes?: LeadStoreEvent['changes']) => {
    position += 1;
    outbox.push({
      position: String(position),
      type,
      leadId: lead.id,
      at: lead.updatedAt,
      ...(changes === undefined ? {} : { changes }),
    });
  };

  const store: LeadStoreV1 = {
    specificationVersion: 'v1',
    async upsert(input) {
      if (!Array.isArray(input)) throw new ValidationError([{ field: 'leads', reason: 'must be an array' }]);
      const at = new Date(now());
      const outcomes: LeadUpsertOutcome[] = [];
      for (const candidate of input) {
        const accepted = acceptLeadForStore(candidate);
        if (!('lead' in accepted)) {
          outcomes.push(accepted);
          continue;
        }
        const { identity } = accepted;
        const storedId = idByIdentity.get(identity);
        const stored = storedId === undefined ? undefined : leads.get(storedId);
        if (stored === undefined) {
          if (leads.has(accepted.lead.id)) {
            outcomes.push({
              status: 'rejected',
              issues: [{ field: 'id', reason: 'is the id of another stored lead' }],
            });
            continue;
          }
          const lead = structuredClone(accepted.lead);
          leads.set(lead.id, lead);
          idByIdentity.set(identity, lead.id);
          record('lead.created', lead);
          outcomes.push({ status: 'created', id: lead.id, identity });
          continue;
        }
        let merged: ReturnType<typeof mergeStoredLead>;
        try {
          merged = mergeStoredLead(stored, structuredClone(accepted.lead), policy, at);
        } catch (error) {
          if (!ValidationError.isInstance(error)) throw error;
          outcomes.push({ status: 'rejected', issues: error.issues });
          continue;
        }
        if (!merged.changed) {
          outcomes.push({ status: 'unchanged', id: stored.id, identity });
          continue;
        }
        leads.set(stored.id, merged.lead);
        record('lead.updated', merged.lead, merged.changes);
        outcomes.push({ status: 'updated', id: stored.id, identity });
      }
      return outcomes;
    },
    async get(id) {
      const lead = leads.get(id);
      return lead === undefined ? undefined : structuredClone(lead);
    },
    async getByEmail(email) {
      const id = idByIdentity.get(emailIdentity(email));
      const lead = id === undefined ? undefined : leads.get(id);
      return lead === undefined ? undefined : structuredClone(lead);
    },
    async query(query) {
      const checked = checkLeadStoreQuery(query, customFields);
      const page = [...leads.values()]
        .filter((lead) => matches(lead, checked) && isAfter(lead, checked))
        .sort((a, b) => compare(a, b, checked))
        .slice(0, checked.limit + 1);
      const more = page.length > checked.limit;
      const shown = page.slice(0, checked.limit);
      const last = shown.at(-1);
      return {
        leads: shown.map((lead) => projectLead(lead, checked.fields)),
        ...(more && last !== undefined
          ? { nextCursor: encodeLeadCursor(checked, { id: last.id, updatedAt: last.updatedAt }) }
          : {}),
      };
    },
    async count(query) {
      const checked = checkLeadStoreQuery(
        {
          ...(query?.where ? { where: query.where } : {}),
          ...(query?.search ? { search: query.search } : {}),
        },
        customFields,
      );
      let count = 0;
      for (const lead of leads.values()) if (matches(lead, checked)) count += 1;
      return { count, exact: true };
    },
    export(query) {
      return exportLeadPages(query, (page) => store.query(page));
    },
    import(source) {
      return importLeadBatches(source, IMPORT_BATCH, (leads) => store.upsert(leads));
    },
    async erase(email) {
      const identity = emailIdentity(email);
      const removed = { leads: 0, archive: 0, outbox: 0 };
      const ids = new Set<string>();
      const id = idByIdentity.get(identity);
      if (id !== undefined) {
        ids.add(id);
        leads.delete(id);
        idByIdentity.delete(identity);
        removed.leads += 1;
      }
      for (const [archivedId, entry] of archive) {
        if (entry.identity === identity) {
          ids.add(archivedId);
          archive.delete(archivedId);
          removed.archive += 1;
        }
      }
      for (let index = outbox.length - 1; index >= 0; index--) {
        if (ids.has(outbox[index]!.leadId)) {
          outbox.splice(index, 1);
          removed.outbox += 1;
        }
      }
      const address = identity.slice('email:'.length);
      const elsewhere: Record<string, number> = {};
      for (const target of eraseTargets) {
        const erased = await target.erase({ email: address, leadIds: [...ids] });
        const counts = typeof erased === 'number' ? { [target.place]: erased } : erased;
        for (const [place, count] of Object.entries(counts))
          elsewhere[place] = (elsewhere[place] ?? 0) + count;
      }
      return { email: address, removed: { ...removed, ...elsewhere } };
    },
    async retain(retention) {
      const checkDays = (value: unknown, field: string) => {
        if (value !== undefined && (typeof value !== 'number' || !Number.isInteger(value) || value < 1)) {
          throw new ValidationError([{ field, reason: 'must be a positive whole number of days' }]);
        }
      };
      checkDays(retention?.archiveAfterDays, 'archiveAfterDays');
      checkDays(retention?.purgeAfterDays, 'purgeAfterDays');
      const time = now();
      let archived = 0;
      let purged = 0;
      if (retention.archiveAfterDays !== undefined) {
        const before = new Date(time - retention.archiveAfterDays * DAY_MS).toISOString();
        for (const [id, lead] of leads) {
          if (lead.updatedAt >= before) continue;
          const identity = leadIdentityKey(lead) ?? '';
          leads.delete(id);
          idByIdentity.delete(identity);
          archive.set(id, { lead, identity });
          archived += 1;
        }
      }
      if (retention.purgeAfterDays !== undefined) {
        const before = new Date(time - retention.purgeAfterDays * DAY_MS).toISOString();
        for (const [id, entry] of archive) {
          if (entry.lead.updatedAt < before) {
            archive.delete(id);
            purged += 1;
          }
        }
      }
      return { archived, purged };
    },
    async readOutbox(read = {}) {
      const limit = read.limit ?? 100;
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
        throw new ValidationError([{ field: 'limit', reason: 'must be an integer from 1 to 1000' }]);
      }
      if (read.after !== undefined && !/^\d+$/.test(read.after)) {
        throw new ValidationError([{ field: 'after', reason: 'is not an outbox position' }]);
      }
      const after = Number(read.after ?? 0);
      return outbox
        .filter((event) => Number(event.position) > after)
        .slice(0, limit)
        .map((event) => structuredClone(event));
    },
    async close() {},
  };
  return store;
}
