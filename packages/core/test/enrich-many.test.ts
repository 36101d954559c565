import { describe, expect, it } from 'vitest';
import { mapUnordered } from '../src/enrich/many.js';

function deferred<T>() {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A source that counts how many items were read from it. */
function counted(count: number) {
  const state = { read: 0 };
  function* source() {
    for (let index = 0; index < count; index++) {
      state.read += 1;
      yield index;
    }
  }
  return { source: source(), state };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('mapUnordered', () => {
  it('yields results in the order they finish and reads only as many items as it may hold', async () => {
    const { source, state } = counted(5);
    const pending = new Map<number, ReturnType<typeof deferred<string>>>();
    const run = mapUnordered(source, 2, (item) => {
      const entry = deferred<string>();
      pending.set(item, entry);
      return entry.promise;
    });
    const first = run.next();
    await flush();
    expect(state.read).toBe(2);
    pending.get(1)?.resolve('one');
    expect(await first).toEqual({ done: false, value: 'one' });
    // Item 0 still runs and the consumer has not asked again: nothing more is read.
    await flush();
    expect(state.read).toBe(2);
    const second = run.next();
    await flush();
    expect(state.read).toBe(3);
    pending.get(2)?.resolve('two');
    pending.get(0)?.resolve('zero');
    expect(await second).toEqual({ done: false, value: 'two' });
    const rest: string[] = [];
    const draining = (async () => {
      for (;;) {
        const next = await run.next();
        if (next.done) return;
        rest.push(next.value);
      }
    })();
    await flush();
    pending.get(3)?.resolve('three');
    await flush();
    pending.get(4)?.resolve('four');
    await draining;
    expect(rest).toEqual(['zero', 'three', 'four']);
    expect(state.read).toBe(5);
  });

  it('ends with the first failure and leaves no later failure unhandled', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const gates = [deferred<number>(), deferred<number>(), deferred<number>()];
      const run = mapUnordered([0, 1, 2], 3, (item) => gates[item]!.promise);
      const next = run.next();
      await flush();
      gates[1]!.reject(new Error('first'));
      await expect(next).rejects.toThrow('first');
      gates[2]!.reject(new Error('second'));
      gates[0]!.resolve(0);
      await flush();
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stops reading and rejects with an aborted error when the signal aborts, passing its own signal to the work', async () => {
    const { source, state } = counted(10);
    const controller = new AbortController();
    const signals: (AbortSignal | undefined)[] = [];
    const run = mapUnordered(
      source,
      2,
      (_item, signal) => {
        signals.push(signal);
        return new Promise<number>((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
      },
      controller.signal,
    );
    const next = run.next();
    await flush();
    controller.abort(new Error('stop'));
    await expect(next).rejects.toThrow('stop');
    expect(state.read).toBe(2);
    expect(signals).toHaveLength(2);
    expect(signals[0]).not.toBe(controller.signal);
    expect(signals.every((signal) => signal?.aborted)).toBe(true);
    const aborted = mapUnordered([1], 1, async (item) => item, controller.signal);
    await expect(aborted.next()).rejects.toMatchObject({ code: 'aborted' });
  });

  it('ends at once on an empty source', async () => {
    const run = mapUnordered([], 4, async (item: number) => item);
    expect(await run.next()).toEqual({ done: true, value: undefined });
  });
});
