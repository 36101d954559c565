import { BaseLimiter } from './base-limiter.js';

/**
 * The limiter of a policy with no windows and no shared datastore: only the
 * concurrency cap (and pauses) to enforce, done in-process without
 * Bottleneck, whose in-memory store yields a timer turn per job and caps
 * throughput near 1,000 tasks per second. Chosen by the registry.
 *
 * The cap counts weights (a task of weight 2 takes two slots), which p-limit
 * cannot express; a task heavier than the free slots still starts when
 * nothing runs, as Bottleneck would start it.
 */
export class DirectLimiter extends BaseLimiter {
  #runningWeight = 0;

  protected dispatch(now: number): void {
    const cap = this.maxConcurrent;
    for (;;) {
      const head = this.queue.at(0);
      if (head === undefined) return;
      if (cap !== undefined && this.#runningWeight > 0 && this.#runningWeight + head.weight > cap) return;
      this.queue.shift();
      this.syncTimerRefs();
      this.#runningWeight += head.weight;
      void this.run(head, now).finally(() => {
        this.#runningWeight -= head.weight;
        this.pump();
      });
    }
  }

  protected paceMs(): number {
    return 0;
  }

  protected limitAdopted(): void {
    // No windows: a header report can only pause this limiter.
  }

  protected remainingLowered(): void {
    // No windows: a header report can only pause this limiter.
  }

  protected waitTimers(): readonly [] {
    return [];
  }

  protected release(): Promise<void> {
    return Promise.resolve();
  }
}
