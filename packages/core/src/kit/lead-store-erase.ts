import type { Cache } from '../contracts/cache.js';
import type { CheckpointStore } from '../contracts/checkpoint-store.js';
import type { DeadLetterEntry, DeadLetterQueue } from '../contracts/dead-letter-queue.js';
import type { ErasedPerson, LeadEraseTarget } from '../contracts/lead-store.js';

/**
 * Whether `text` names `email` as a whole address (case-insensitive): not
 * inside a longer address (`nada@acme.com` does not name `ada@acme.com`).
 * The same test the Postgres store's erase runs in SQL.
 */
export function mentionsEmail(text: string, email: string): boolean {
  const escaped = email.toLowerCase().replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^a-z0-9._%+-])${escaped}($|[^a-z0-9.-])`, 'i').test(text);
}

/** Whether a record (its JSON) names the person: the email, or one of the lead ids. */
function namesPerson(json: string, person: ErasedPerson): boolean {
  return mentionsEmail(json, person.email) || person.leadIds.some((id) => json.includes(`"${id}"`));
}

/**
 * An erase target over any {@link DeadLetterQueue}: every entry whose
 * record names the email, or whose `leadIds` hold one of the person's
 * leads, is removed (the queue is listed page by page).
 */
export function deadLetterEraseTarget(queue: DeadLetterQueue, place = 'deadLetters'): LeadEraseTarget {
  return {
    place,
    async erase(person) {
      const doomed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await queue.list(cursor === undefined ? { limit: 500 } : { limit: 500, cursor });
        for (const entry of page.entries as readonly DeadLetterEntry[]) {
          if (
            entry.leadIds.some((id) => person.leadIds.includes(id)) ||
            namesPerson(JSON.stringify(entry), person)
          ) {
            doomed.push(entry.id);
          }
        }
        cursor = page.nextCursor;
      } while (cursor !== undefined);
      return doomed.length === 0 ? 0 : queue.remove(doomed);
    },
  };
}

/** A cache and the erase target that clears the person from it. */
export interface ErasableCache {
  /** The cache to use in place of the one given: it notes the keys written through it. */
  readonly cache: Cache;
  /** Clears every entry written through `cache` whose key or value names the person. */
  readonly target: LeadEraseTarget;
}

/** Wrap `cache` so the keys written through it can be searched, pruning keys the cache no longer holds. */
function noteKeys(cache: Cache): { cache: Cache; erase: (person: ErasedPerson) => Promise<number> } {
  const keys = new Set<string>();
  return {
    cache: {
      get: (key) => cache.get(key),
      async set(key, value, ttlMs) {
        await cache.set(key, value, ttlMs);
        if (ttlMs > 0) keys.add(key);
        else keys.delete(key);
      },
      async delete(key) {
        await cache.delete(key);
        keys.delete(key);
      },
    },
    async erase(person) {
      let removed = 0;
      for (const key of [...keys]) {
        const value = await cache.get(key);
        if (value === undefined) {
          keys.delete(key); // expired or evicted
          continue;
        }
        if (namesPerson(key, person) || namesPerson(JSON.stringify(value), person)) {
          await cache.delete(key);
          keys.delete(key);
          removed += 1;
        }
      }
      return removed;
    },
  };
}

/**
 * Make a {@link Cache} erasable: `Cache` cannot list its keys, so the
 * returned `cache` notes the keys written through it (in this process), and
 * `target` searches those entries for the person (email as a whole address
 * in the key or value, or a lead id in the value). Entries other processes
 * wrote to a shared cache are not seen: a shared store erases in its own
 * database (the Postgres store does).
 *
 * @example
 * ```ts
 * const answers = erasableCache(createMemoryCache());
 * const leads = createMemoryLeadStore({ eraseTargets: [answers.target] });
 * // give answers.cache to the enrichment engine
 * ```
 */
export function erasableCache(cache: Cache, place = 'cache'): ErasableCache {
  const noted = noteKeys(cache);
  return { cache: noted.cache, target: { place, erase: noted.erase } };
}

/** A checkpoint store and the erase target that clears the person from its checkpoints' answers. */
export interface ErasableCheckpointStore {
  /** The checkpoint store to use in place of the one given. */
  readonly store: CheckpointStore;
  /** Clears the person from the answers (`results`) of the checkpoints opened through `store`. */
  readonly target: LeadEraseTarget;
}

/**
 * Make a {@link CheckpointStore}'s answers erasable, as {@link erasableCache}
 * does for a cache: every checkpoint opened through the returned `store`
 * notes the answer keys written to its `results`.
 */
export function erasableCheckpointStore(
  store: CheckpointStore,
  place = 'checkpointResults',
): ErasableCheckpointStore {
  const erasers: ((person: ErasedPerson) => Promise<number>)[] = [];
  return {
    store: {
      async open(request) {
        const checkpoint = await store.open(request);
        const noted = noteKeys(checkpoint.results);
        erasers.push(noted.erase);
        return Object.assign(Object.create(Object.getPrototypeOf(checkpoint) as object), checkpoint, {
          results: noted.cache,
        });
      },
    },
    target: {
      place,
      async erase(person) {
        let removed = 0;
        for (const erase of erasers) removed += await erase(person);
        return removed;
      },
    },
  };
}
