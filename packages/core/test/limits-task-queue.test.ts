import { describe, expect, it } from 'vitest';
import { AbortableTaskQueue, type QueuedTask } from '../src/limits/task-queue.js';

let sequence = 0;

function task(name: string, priority = 5, options: { weight?: number; signal?: AbortSignal } = {}) {
  const settled: { value?: unknown; error?: unknown } = {};
  const entry: QueuedTask & { name: string } = {
    name,
    task: async () => name,
    weight: options.weight ?? 1,
    priority,
    sequence: sequence++,
    signal: options.signal,
    resolve: (value) => {
      settled.value = value;
    },
    reject: (error) => {
      settled.error = error;
    },
    enqueuedAt: 0,
    rateLimitRetries: 0,
  };
  return { entry, settled };
}

const names = (entries: (QueuedTask | undefined)[]) =>
  entries.map((entry) => (entry as unknown as { name: string }).name);

describe('abortable task queue', () => {
  it('orders by priority, then by scheduling order, even for a task queued again', () => {
    const queue = new AbortableTaskQueue(() => {});
    const first = task('first');
    const low = task('low', 8);
    const high = task('high', 1);
    const later = task('later');
    for (const { entry } of [later, low, high]) queue.push(entry);
    // Queued again after a 429, `first` keeps its place ahead of `later`.
    queue.push(first.entry);
    expect(queue.length).toBe(4);
    expect(queue.weights()).toEqual([1, 1, 1, 1]);
    expect(names(queue.drain())).toEqual(['high', 'first', 'later', 'low']);
    expect(queue.length).toBe(0);
  });

  it('takes the first task a predicate accepts', () => {
    const queue = new AbortableTaskQueue(() => {});
    queue.push(task('light', 5).entry);
    queue.push(task('heavy', 5, { weight: 3 }).entry);
    expect(names([queue.takeFirst((entry) => entry.weight === 3)])).toEqual(['heavy']);
    expect(queue.takeFirst((entry) => entry.weight === 3)).toBeUndefined();
    expect(names([queue.at(0)])).toEqual(['light']);
  });

  it('removes a task whose signal aborts and hands it over, once', () => {
    const aborted: string[] = [];
    const queue = new AbortableTaskQueue((entry, signal) => {
      aborted.push(`${(entry as unknown as { name: string }).name}:${String(signal.reason)}`);
    });
    const controller = new AbortController();
    queue.push(task('a').entry);
    queue.push(task('b', 5, { signal: controller.signal }).entry);
    queue.push(task('c').entry);
    controller.abort('stop');
    controller.signal.dispatchEvent(new Event('abort'));
    expect(aborted).toEqual(['b:stop']);
    expect(names(queue.drain())).toEqual(['a', 'c']);
  });

  it('detaches the abort listener of a task taken out', () => {
    const aborted: QueuedTask[] = [];
    const queue = new AbortableTaskQueue((entry) => aborted.push(entry));
    const controller = new AbortController();
    const { entry } = task('x', 5, { signal: controller.signal });
    queue.push(entry);
    expect(queue.shift()).toBe(entry);
    controller.abort();
    expect(aborted).toEqual([]);
    expect(queue.shift()).toBeUndefined();
  });
});
