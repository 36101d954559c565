import { ApiCallError } from '../contracts/errors.js';

interface Waiting<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** Options of {@link MicroBatcher}. */
export interface MicroBatcherOptions<Item, Result> {
  /** Most items per batch. */
  readonly maxBatchSize: number;
  /** How long the first item of a batch waits for company before its call is queued, in ms. */
  readonly lingerMs: number;
  /**
   * Send one batch. `take()` hands over the items and must be called when
   * the call is really about to go out (after the limiter granted its slot),
   * so items that arrived while the call waited for quota ride along. Calling
   * it again (a retry) returns the same items. Resolves one result per item,
   * in order. `signal` aborts once every item taken has been aborted by its
   * own signal (no one waits for the answer any more): pass it to the call.
   */
  readonly run: (take: () => readonly Item[], signal: AbortSignal) => Promise<readonly Result[]>;
}

/**
 * Groups items into batches of at most `maxBatchSize`. A batch's contents
 * are fixed only when its call goes out, not when it is queued: while a call
 * waits for a rate-limit slot, later items join it, so a limited provider's
 * quota is spent on full batches. A batch that fails rejects each of its
 * items with the same error. An item whose signal aborts leaves at once,
 * even after its batch went out; when every item of a batch has left, the
 * batch's call is aborted too, so an abort never waits on a vendor that
 * does not answer.
 */
export class MicroBatcher<Item, Result> {
  readonly #options: MicroBatcherOptions<Item, Result>;
  readonly #waiting: Waiting<Item, Result>[] = [];
  /** Calls queued whose batch has not been taken yet. */
  #untaken = 0;
  #lingering = false;

  /** @param options - see {@link MicroBatcherOptions}. */
  constructor(options: MicroBatcherOptions<Item, Result>) {
    this.#options = options;
  }

  /** Queue one item; resolves with its result. */
  submit(item: Item, signal?: AbortSignal): Promise<Result> {
    if (signal?.aborted) {
      return Promise.reject(new ApiCallError('aborted', { message: 'Aborted before the call was made' }));
    }
    return new Promise<Result>((resolve, reject) => {
      const entry: Waiting<Item, Result> = {
        item,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = this.#waiting.indexOf(entry);
          if (index >= 0) {
            this.#waiting.splice(index, 1);
            reject(new ApiCallError('aborted', { message: 'Aborted while waiting for a batch' }));
          }
        },
      };
      signal?.addEventListener('abort', entry.onAbort, { once: true });
      this.#waiting.push(entry);
      this.#plan();
    });
  }

  /** Queue calls for whatever is waiting now, without lingering. */
  flush(): void {
    this.#lingering = false;
    this.#plan(true);
  }

  /** Make sure enough calls are queued for the waiting items. */
  #plan(now = false): void {
    const needed = Math.ceil(this.#waiting.length / this.#options.maxBatchSize);
    if (this.#untaken >= needed) return;
    const full = this.#waiting.length >= (this.#untaken + 1) * this.#options.maxBatchSize;
    if (now || full || this.#options.lingerMs <= 0) {
      while (this.#untaken < needed) this.#dispatch();
      return;
    }
    if (this.#lingering) return;
    this.#lingering = true;
    setTimeout(() => {
      if (!this.#lingering) return;
      this.#lingering = false;
      this.#plan(true);
    }, this.#options.lingerMs);
  }

  #dispatch(): void {
    this.#untaken += 1;
    let batch: Waiting<Item, Result>[] | undefined;
    const controller = new AbortController();
    const leavers: { readonly signal: AbortSignal; readonly leave: () => void }[] = [];
    const stopListening = (): void => {
      for (const { signal, leave } of leavers.splice(0)) signal.removeEventListener('abort', leave);
    };
    const take = (): readonly Item[] => {
      if (batch === undefined) {
        this.#untaken -= 1;
        batch = this.#waiting.splice(0, this.#options.maxBatchSize);
        for (const entry of batch) entry.signal?.removeEventListener('abort', entry.onAbort);
        this.#watchTaken(batch, controller, leavers);
        // Items beyond this batch still need a call of their own.
        if (this.#waiting.length > 0) this.#plan();
      }
      return batch.map((entry) => entry.item);
    };
    this.#options
      .run(take, controller.signal)
      .finally(stopListening)
      .then(
        (results) => {
          if (batch === undefined) {
            // The call never took its batch (it failed before going out): release the slot.
            this.#untaken -= 1;
            this.#plan(true);
            return;
          }
          batch.forEach((entry, index) => {
            if (index < results.length) entry.resolve(results[index] as Result);
            else
              entry.reject(new Error(`batch returned ${results.length} results for ${batch?.length} items`));
          });
        },
        (error: unknown) => {
          if (batch === undefined) {
            // Failed before taking items (breaker open, limiter closed): those items fail with it.
            this.#untaken -= 1;
            batch = this.#waiting.splice(0, this.#options.maxBatchSize);
            for (const entry of batch) entry.signal?.removeEventListener('abort', entry.onAbort);
          }
          for (const entry of batch) entry.reject(error);
          if (this.#waiting.length > 0) this.#plan();
        },
      );
  }

  /**
   * Let each taken item leave when its signal aborts (rejected at once; the
   * batch's answer, when it comes, is no longer its), and abort the batch's
   * call once every item has left. An item without a signal never leaves.
   */
  #watchTaken(
    batch: readonly Waiting<Item, Result>[],
    controller: AbortController,
    leavers: { readonly signal: AbortSignal; readonly leave: () => void }[],
  ): void {
    let staying = batch.length;
    for (const entry of batch) {
      const signal = entry.signal;
      if (signal === undefined) continue;
      const leave = (): void => {
        entry.reject(new ApiCallError('aborted', { message: 'Aborted while its batch was in flight' }));
        staying -= 1;
        if (staying === 0) controller.abort(signal.reason);
      };
      if (signal.aborted) leave();
      else {
        signal.addEventListener('abort', leave, { once: true });
        leavers.push({ signal, leave });
      }
    }
  }
}
