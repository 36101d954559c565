import { hash } from 'node:crypto';

/** A 64-bit hash of a string, as two unsigned 32-bit halves (never both zero). */
export interface Hash64 {
  /** The high 32 bits: bytes 0 to 3 of the digest, big-endian. */
  readonly high: number;
  /** The low 32 bits: bytes 4 to 7 of the digest, big-endian (1 when both halves would be 0). */
  readonly low: number;
}

/**
 * A 64-bit hash of `key`: the first 8 bytes of its SHA-1 (node:crypto). The
 * chance that two of a million distinct keys collide is about 3 in 10^8.
 */
export function hash64(key: string): Hash64 {
  const digest = hash('sha1', key, 'buffer');
  const high = digest.readUInt32BE(0);
  const low = digest.readUInt32BE(4);
  // (0, 0) marks an empty slot.
  return high === 0 && low === 0 ? { high: 0, low: 1 } : { high, low };
}

const MAX_LOAD = 0.7;

/**
 * An open-addressing hash map from 64-bit key hashes to a number, in typed
 * arrays: 16 bytes per slot (two 32-bit hash halves and a float64 value),
 * kept at most 70% full, so about 23 bytes per key (23 MB per million keys)
 * and no per-key objects for the garbage collector. Keys are never removed.
 *
 * Used by the pipeline to dedupe leads by identity and by the file
 * checkpoint store to index its result log. The trade-off of storing hashes,
 * not keys: two distinct keys with the same 64-bit hash are taken for one
 * (see {@link hash64} for how rare that is).
 */
export class Hash64Map {
  #high: Uint32Array;
  #low: Uint32Array;
  #values: Float64Array;
  #mask: number;
  #size = 0;

  /** @param initialCapacity - slots to start with (rounded up to a power of two, at least 1024). */
  constructor(initialCapacity = 1024) {
    let capacity = 1024;
    while (capacity < initialCapacity) capacity *= 2;
    this.#high = new Uint32Array(capacity);
    this.#low = new Uint32Array(capacity);
    this.#values = new Float64Array(capacity);
    this.#mask = capacity - 1;
  }

  /** How many keys are stored. */
  get size(): number {
    return this.#size;
  }

  /** Bytes held by the typed arrays. */
  get byteLength(): number {
    return this.#high.byteLength + this.#low.byteLength + this.#values.byteLength;
  }

  #slot(key: Hash64): number {
    let index = (key.low ^ Math.imul(key.high, 0x9e3779b1)) & this.#mask;
    for (;;) {
      const high = this.#high[index] ?? 0;
      const low = this.#low[index] ?? 0;
      if ((high === 0 && low === 0) || (high === key.high && low === key.low)) return index;
      index = (index + 1) & this.#mask;
    }
  }

  /** The value stored for `key`, or `undefined`. */
  get(key: Hash64): number | undefined {
    const index = this.#slot(key);
    return this.#high[index] === 0 && this.#low[index] === 0 ? undefined : this.#values[index];
  }

  /** Store `value` for `key`, replacing any earlier value. */
  set(key: Hash64, value: number): void {
    let index = this.#slot(key);
    if (this.#high[index] === 0 && this.#low[index] === 0) {
      if ((this.#size + 1) / (this.#mask + 1) > MAX_LOAD) {
        this.#grow();
        index = this.#slot(key);
      }
      this.#size += 1;
      this.#high[index] = key.high;
      this.#low[index] = key.low;
    }
    this.#values[index] = value;
  }

  /**
   * Store `value` for `key` unless the key is there already. Returns the
   * value already stored, or `undefined` when `value` was stored.
   */
  setIfAbsent(key: Hash64, value: number): number | undefined {
    const existing = this.get(key);
    if (existing !== undefined) return existing;
    this.set(key, value);
    return undefined;
  }

  /** Calls `visit` with every key and its value, in slot order. */
  forEach(visit: (key: Hash64, value: number) => void): void {
    for (let index = 0; index < this.#high.length; index++) {
      const high = this.#high[index] ?? 0;
      const low = this.#low[index] ?? 0;
      if (high === 0 && low === 0) continue;
      visit({ high, low }, this.#values[index] ?? 0);
    }
  }

  #grow(): void {
    const high = this.#high;
    const low = this.#low;
    const values = this.#values;
    const capacity = high.length * 2;
    this.#high = new Uint32Array(capacity);
    this.#low = new Uint32Array(capacity);
    this.#values = new Float64Array(capacity);
    this.#mask = capacity - 1;
    for (let index = 0; index < high.length; index++) {
      const h = high[index] ?? 0;
      const l = low[index] ?? 0;
      if (h === 0 && l === 0) continue;
      const slot = this.#slot({ high: h, low: l });
      this.#high[slot] = h;
      this.#low[slot] = l;
      this.#values[slot] = values[index] ?? 0;
    }
  }
}
