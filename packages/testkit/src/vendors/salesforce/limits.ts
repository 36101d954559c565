const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;

/**
 * API request usage over a rolling 24 hours of emulated time, counted in
 * one-minute buckets so memory stays small whatever the volume.
 */
export class ApiUsage {
  private readonly buckets = new Map<number, number>();

  /** @param now - the emulated clock. */
  constructor(private readonly now: () => number) {}

  private prune(): void {
    const oldest = Math.floor((this.now() - DAY_MS) / MINUTE_MS);
    for (const minute of this.buckets.keys()) {
      if (minute <= oldest) this.buckets.delete(minute);
    }
  }

  /** Requests counted in the last 24 hours. */
  used(): number {
    this.prune();
    let total = 0;
    for (const count of this.buckets.values()) total += count;
    return total;
  }

  /** Count one request now. */
  record(): void {
    const minute = Math.floor(this.now() / MINUTE_MS);
    this.buckets.set(minute, (this.buckets.get(minute) ?? 0) + 1);
  }

  /** Forget every request. */
  clear(): void {
    this.buckets.clear();
  }
}

/**
 * Requests in flight, to enforce Salesforce's cap on concurrent long-running
 * requests (those running 20 s or more of emulated time).
 */
export class InFlightRequests {
  private readonly started = new Map<number, number>();
  private sequence = 0;

  /** @param now - the emulated clock. */
  constructor(private readonly now: () => number) {}

  /** How many in-flight requests have run for `thresholdMs` or more. */
  longRunning(thresholdMs: number): number {
    const now = this.now();
    let count = 0;
    for (const start of this.started.values()) {
      if (now - start >= thresholdMs) count += 1;
    }
    return count;
  }

  /** Register a request; returns the function that ends it. */
  begin(): () => void {
    this.sequence += 1;
    const key = this.sequence;
    this.started.set(key, this.now());
    return () => {
      this.started.delete(key);
    };
  }
}
