import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationError } from '../src/index.js';
import { type Hash64, hash64 } from '../src/stores/hash-map.js';
import { SpillingHash64Index } from '../src/stores/spilling-index.js';

const directories: string[] = [];
function scratch(): string {
  const directory = mkdtempSync(join(tmpdir(), 'leadpipe-index-test-'));
  directories.push(directory);
  return directory;
}
afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

const keyOf = (index: number): Hash64 => hash64(`person${index}@acme.com`);

describe('SpillingHash64Index', () => {
  it('answers exactly like a map across many spilled runs: first value kept, new keys stored', () => {
    const directory = scratch();
    const index = new SpillingHash64Index({ maxMemoryEntries: 1024, directory });
    const oracle = new Map<number, number>();
    // 20,000 distinct keys, each stored with its own value, spilling every 1,024.
    for (let key = 0; key < 20_000; key++) {
      expect(index.setIfAbsent(keyOf(key), key * 10)).toBeUndefined();
      oracle.set(key, key * 10);
    }
    // 19 spills; runs of one size merge like a binary counter: 19 = 10011b leaves 3 runs.
    expect(index.runs).toBe(3);
    expect(index.size).toBe(20_000);
    // Every key again, old and recent, on disk and in memory: the first value comes back, nothing is replaced.
    for (let key = 0; key < 20_000; key += 7) expect(index.setIfAbsent(keyOf(key), -1)).toBe(oracle.get(key));
    expect(index.diskReads).toBeGreaterThan(0);
    // Keys never seen are stored, and found the next time.
    for (let key = 20_000; key < 22_000; key++) expect(index.setIfAbsent(keyOf(key), key)).toBeUndefined();
    for (let key = 20_000; key < 22_000; key += 3) expect(index.setIfAbsent(keyOf(key), -1)).toBe(key);
    expect(index.size).toBe(22_000);
    index.close();
  });

  it('set and get: the newest value wins over copies spilled earlier, through merges, and size counts keys once', () => {
    const index = new SpillingHash64Index({ maxMemoryEntries: 1024, directory: scratch() });
    for (let key = 0; key < 5000; key++) index.set(keyOf(key), key);
    for (let key = 0; key < 5000; key += 2) index.set(keyOf(key), -key - 1);
    for (let key = 5000; key < 6000; key++) index.set(keyOf(key), key);
    // 8,500 entries went to memory (6,000 keys, 2,500 set again after they were spilled): 8 spills, merged
    // into one run that held both copies of the keys set twice.
    expect(index.runs).toBe(1);
    expect(index.size).toBe(6000);
    for (let key = 0; key < 6000; key++) {
      expect(index.get(keyOf(key))).toBe(key < 5000 && key % 2 === 0 ? -key - 1 : key);
    }
    expect(index.get(keyOf(99_999))).toBeUndefined();
    expect(index.setIfAbsent(keyOf(4), 1)).toBe(-5);
    index.close();
  });

  it('reaches the disk only when the Bloom filter lets a key through', () => {
    const index = new SpillingHash64Index({ maxMemoryEntries: 1024, directory: scratch() });
    for (let key = 0; key < 4096; key++) index.setIfAbsent(keyOf(key), key);
    const before = index.diskReads;
    // 5,000 new keys against 4 runs: an 8 MB filter holding 4,096 keys lets almost none through.
    for (let key = 100_000; key < 105_000; key++) index.setIfAbsent(keyOf(key), key);
    expect(index.diskReads - before).toBeLessThan(5);
    index.close();
  });

  it('writes its runs in a folder of its own and removes it on close; the index is empty and usable after', () => {
    const directory = scratch();
    const index = new SpillingHash64Index({ maxMemoryEntries: 1024, directory });
    for (let key = 0; key < 3000; key++) index.setIfAbsent(keyOf(key), key);
    const folders = readdirSync(directory);
    expect(folders).toHaveLength(1);
    // Two spills (run-0, run-1) of the same size merged into run-2.
    expect(readdirSync(join(directory, folders[0]!))).toEqual(['run-2.bin']);
    index.close();
    expect(existsSync(join(directory, folders[0]!))).toBe(false);
    expect(index.size).toBe(0);
    expect(index.setIfAbsent(keyOf(1), 5)).toBeUndefined();
    expect(index.setIfAbsent(keyOf(1), 6)).toBe(5);
    index.close();
  });

  it('rejects bad options with a typed error naming the field', () => {
    for (const maxMemoryEntries of [0, 1023, 2048.5, Number.NaN]) {
      let caught: unknown;
      try {
        new SpillingHash64Index({ maxMemoryEntries });
      } catch (error) {
        caught = error;
      }
      expect(ValidationError.isInstance(caught)).toBe(true);
      expect((caught as ValidationError).issues[0]?.field).toBe('maxMemoryEntries');
    }
    expect(() => new SpillingHash64Index({ directory: '' })).toThrow(/directory/);
  });
});
