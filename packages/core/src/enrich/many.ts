import { setMaxListeners } from 'node:events';
import { abortError } from './failure.js';

type Settled<Out> =
  | { readonly ok: true; readonly value: Out }
  | { readonly ok: false; readonly error: unknown };

/**
 * Run `work` over `source` with at most `concurrency` items outstanding
 * (running, or finished and not yet taken by the consumer), yielding results
 * in the order they finish. The source is read only when a slot frees, so
 * memory is bounded by `concurrency` whatever the source's size.
 *
 * The first failure (in the order they finish) ends the run with its error;
 * later failures are handled and dropped, never left unhandled. When `signal`
 * aborts, no more items are read and the run rejects with an `aborted` error.
 * Every item gets one run signal of our own, which follows the caller's
 * through a single listener: the caller's signal never collects more than one,
 * and Node's more-than-10-listeners warning does not fire for a bounded run.
 *
 * p-limit bounds work pushed at it; here the bound comes from pulling (an item
 * is read only when one is taken), which p-limit cannot express: its counts
 * drop before the result reaches the consumer, so it would undercount what is
 * outstanding and could end the run before the last result is yielded.
 */
export async function* mapUnordered<In, Out>(
  source: Iterable<In> | AsyncIterable<In>,
  concurrency: number,
  work: (item: In, signal: AbortSignal | undefined) => Promise<Out>,
  signal?: AbortSignal,
): AsyncGenerator<Out> {
  const iterator =
    Symbol.asyncIterator in source
      ? (source as AsyncIterable<In>)[Symbol.asyncIterator]()
      : (source as Iterable<In>)[Symbol.iterator]();
  const controller = signal === undefined ? undefined : new AbortController();
  const onAbort = () => controller?.abort(signal?.reason);
  if (controller !== undefined) {
    setMaxListeners(0, controller.signal);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  }
  const runSignal = controller?.signal;
  const finished: Settled<Out>[] = [];
  let wake: (() => void) | undefined;
  const settle = (result: Settled<Out>) => {
    finished.push(result);
    wake?.();
    wake = undefined;
  };
  let outstanding = 0;
  let exhausted = false;
  try {
    for (;;) {
      while (!exhausted && outstanding < concurrency) {
        if (runSignal?.aborted) throw abortError(runSignal);
        const item = await iterator.next();
        if (item.done) {
          exhausted = true;
          break;
        }
        outstanding += 1;
        work(item.value, runSignal).then(
          (value) => settle({ ok: true, value }),
          (error: unknown) => settle({ ok: false, error }),
        );
      }
      if (outstanding === 0) return;
      while (finished.length === 0) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
      const next = finished.shift() as Settled<Out>;
      outstanding -= 1;
      if (!next.ok) throw next.error;
      yield next.value;
    }
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
