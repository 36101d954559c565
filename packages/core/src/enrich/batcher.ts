import { ApiCallError } from '../spec/errors.js';

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
  /** How long the first item of a batch waits for company, in ms. */
  readonly lingerMs: number;
  /** Process one batch; must resolve one result per item, in order. */
  readonly run: (items: readonly Item[]) => Promise<readonly Result[]>;
}

/**
 * Groups items submitted close together into batches of at most
 * `maxBatchSize`, waiting at most `lingerMs` after the first item. A batch
 * that fails rejects each of its items with the same error.
 */
export class MicroBatcher<Item, Result> {
  readonly #options: MicroBatcherOptions<Item, Result>;
  #waiting: Waiting<Item, Result>[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;

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
      if (this.#waiting.length >= this.#options.maxBatchSize) this.#flush();
      else this.#timer ??= setTimeout(() => this.#flush(), this.#options.lingerMs);
    });
  }

  /** Send whatever is waiting now. */
  flush(): void {
    this.#flush();
  }

  #flush(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#options.maxBatchSize);
      for (const entry of batch) entry.signal?.removeEventListener('abort', entry.onAbort);
      this.#options.run(batch.map((entry) => entry.item)).then(
        (results) => {
          batch.forEach((entry, index) => {
            if (index < results.length) entry.resolve(results[index] as Result);
            else
              entry.reject(new Error(`batch returned ${results.length} results for ${batch.length} items`));
          });
        },
        (error: unknown) => {
          for (const entry of batch) entry.reject(error);
        },
      );
    }
  }
}
