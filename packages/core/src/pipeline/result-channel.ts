import type { PipelineResult } from './report.js';

/**
 * A bounded hand-over of results to an iterating caller: `push` waits while
 * `capacity` results are waiting to be taken (so a slow consumer slows the
 * run down), `next` waits for the next one, `end` closes it (with an error
 * to reject the waiting takers), and `cancel` drops what waits and lets
 * pushes through without keeping them (the caller stopped iterating).
 */
export class ResultChannel {
  readonly #items: PipelineResult[] = [];
  readonly #capacity: number;
  #takers: ((value: IteratorResult<PipelineResult>) => void)[] = [];
  #failers: ((error: unknown) => void)[] = [];
  #spaceWaiters: (() => void)[] = [];
  #ended: { error?: unknown } | undefined;
  #cancelled = false;

  /** @param capacity - results kept before `push` waits. */
  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** Whether the consumer stopped iterating. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** Hand a result over; resolves once there is room for more. */
  async push(item: PipelineResult): Promise<void> {
    if (this.#cancelled) return;
    const taker = this.#takers.shift();
    if (taker) {
      this.#failers.shift();
      taker({ value: item, done: false });
      return;
    }
    this.#items.push(item);
    while (this.#items.length >= this.#capacity && !this.#cancelled) {
      await new Promise<void>((resolve) => this.#spaceWaiters.push(resolve));
    }
  }

  /** No more results: the takers get `done`, or `error` when given. */
  end(error?: unknown): void {
    this.#ended = error === undefined ? {} : { error };
    for (const [index, taker] of this.#takers.entries()) {
      if (error === undefined) taker({ value: undefined, done: true });
      else this.#failers[index]?.(error);
    }
    this.#takers = [];
    this.#failers = [];
  }

  /** The consumer stopped: drop what waits and stop keeping results. */
  cancel(): void {
    this.#cancelled = true;
    this.#items.length = 0;
    for (const waiter of this.#spaceWaiters.splice(0)) waiter();
  }

  /** The next result, waiting for it if none is there. */
  next(): Promise<IteratorResult<PipelineResult>> {
    const item = this.#items.shift();
    if (item !== undefined) {
      this.#spaceWaiters.shift()?.();
      return Promise.resolve({ value: item, done: false });
    }
    if (this.#ended) {
      return this.#ended.error === undefined
        ? Promise.resolve({ value: undefined, done: true })
        : Promise.reject(this.#ended.error);
    }
    return new Promise((resolve, reject) => {
      this.#takers.push(resolve);
      this.#failers.push(reject);
    });
  }
}
