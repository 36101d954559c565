import { seededRandom } from '../emulator/create-context.js';

/**
 * A 32-bit hash of a string (cyrb53 folded to 32 bits), mixed with `seed`.
 * Stable across platforms and runs.
 */
export function hashString(text: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    h1 = Math.imul(h1 ^ code, 2654435761);
    h2 = Math.imul(h2 ^ code, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h1 ^ h2) >>> 0;
}

/**
 * A deterministic number in [0, 1) for `key` under `seed`: the same key and
 * seed always give the same number. Used for per-record, per-field choices
 * that must not depend on the order requests arrive in.
 */
export function unitHash(seed: number, key: string): number {
  return seededRandom(hashString(key, seed))();
}

/** A small helper around a seeded generator: picks, integers, weighted choices. */
export interface Rng {
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
  /** `count` distinct elements (fewer when the list is shorter). */
  sample<T>(items: readonly T[], count: number): T[];
}

/** Build an {@link Rng} on a seeded generator. */
export function createRng(seed: number): Rng {
  const next = seededRandom(seed);
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
    sample: <T>(items: readonly T[], count: number): T[] => {
      const copy = [...items];
      const out: T[] = [];
      while (out.length < count && copy.length > 0) {
        const [item] = copy.splice(Math.floor(next() * copy.length), 1);
        out.push(item as T);
      }
      return out;
    },
  };
}
