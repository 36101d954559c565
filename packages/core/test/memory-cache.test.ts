import { describe, expect, it } from 'vitest';
import { ConfigurationError, createMemoryCache } from '../src/index.js';

describe('createMemoryCache', () => {
  it('drops the least recently used entry past maxEntries', async () => {
    const cache = createMemoryCache({ maxEntries: 2 });
    await cache.set('a', 1, 60_000);
    await cache.set('b', 2, 60_000);
    expect(await cache.get('a')).toBe(1);
    await cache.set('c', 3, 60_000);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe(1);
    expect(await cache.get('c')).toBe(3);
  });

  it('rejects a bad maxEntries or clock with a ConfigurationError naming the option', () => {
    for (const [options, field] of [
      [{ maxEntries: 0 }, 'maxEntries'],
      [{ maxEntries: 1.5 }, 'maxEntries'],
      [{ now: 42 }, 'now'],
    ] as const) {
      let thrown: unknown;
      try {
        createMemoryCache(options as never);
      } catch (error) {
        thrown = error;
      }
      expect(ConfigurationError.isInstance(thrown)).toBe(true);
      expect((thrown as ConfigurationError).issues.map((issue) => issue.field)).toEqual([field]);
    }
  });
});
