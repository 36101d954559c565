/** A task waiting in a limiter, with what it needs to run and to settle its caller. */
export interface QueuedTask {
  /** The work. */
  readonly task: () => Promise<unknown>;
  /** Units of quota (and concurrency) it uses. */
  readonly weight: number;
  /** 0 (first) to 9 (last). */
  readonly priority: number;
  /** Order of scheduling: equal priorities run in this order, re-runs keep theirs. */
  readonly sequence: number;
  /** Removes the task while it waits. */
  readonly signal: AbortSignal | undefined;
  /** Settles the caller with a value. */
  readonly resolve: (value: unknown) => void;
  /** Settles the caller with an error. */
  readonly reject: (error: unknown) => void;
  /** When it (last) started waiting, epoch ms. */
  enqueuedAt: number;
  /** 429 re-runs so far. */
  rateLimitRetries: number;
}

/**
 * The waiting tasks of one limiter: ordered by priority, then by scheduling
 * order; a task whose signal aborts while it waits leaves the queue at once
 * and is handed to `onAborted` (which settles it). Taking a task out detaches
 * its abort listener.
 */
export class AbortableTaskQueue {
  readonly #entries: QueuedTask[] = [];
  readonly #listeners = new Map<QueuedTask, () => void>();
  readonly #onAborted: (task: QueuedTask, signal: AbortSignal) => void;

  /** @param onAborted - told about a task its signal removed (already out of the queue). */
  constructor(onAborted: (task: QueuedTask, signal: AbortSignal) => void) {
    this.#onAborted = onAborted;
  }

  /** Tasks waiting. */
  get length(): number {
    return this.#entries.length;
  }

  /** The task at `index` in running order, without taking it. */
  at(index: number): QueuedTask | undefined {
    return this.#entries[index];
  }

  /** The weights of the waiting tasks, in running order. */
  weights(): number[] {
    return this.#entries.map((entry) => entry.weight);
  }

  /** Adds a task in its place (after every task of a lower priority number or an earlier sequence). */
  push(entry: QueuedTask): void {
    let index = this.#entries.length;
    while (index > 0) {
      const previous = this.#entries[index - 1]!;
      if (previous.priority < entry.priority) break;
      if (previous.priority === entry.priority && previous.sequence < entry.sequence) break;
      index -= 1;
    }
    this.#entries.splice(index, 0, entry);
    const signal = entry.signal;
    if (signal !== undefined) {
      const onAbort = () => {
        const position = this.#entries.indexOf(entry);
        if (position < 0) return;
        this.#entries.splice(position, 1);
        this.#listeners.delete(entry);
        this.#onAborted(entry, signal);
      };
      this.#listeners.set(entry, onAbort);
      signal.addEventListener('abort', onAbort, { once: true });
    }
  }

  /** Takes the first task. */
  shift(): QueuedTask | undefined {
    const entry = this.#entries.shift();
    if (entry !== undefined) this.#detach(entry);
    return entry;
  }

  /** Takes the first task that `accepts`. */
  takeFirst(accepts: (entry: QueuedTask) => boolean): QueuedTask | undefined {
    const index = this.#entries.findIndex(accepts);
    if (index < 0) return undefined;
    const entry = this.#entries.splice(index, 1)[0]!;
    this.#detach(entry);
    return entry;
  }

  /** Takes every task, in running order. */
  drain(): QueuedTask[] {
    const all = this.#entries.splice(0);
    for (const entry of all) this.#detach(entry);
    return all;
  }

  #detach(entry: QueuedTask): void {
    const onAbort = this.#listeners.get(entry);
    if (onAbort === undefined) return;
    this.#listeners.delete(entry);
    entry.signal?.removeEventListener('abort', onAbort);
  }
}
