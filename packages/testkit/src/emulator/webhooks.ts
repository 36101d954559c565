import type { EmulatorContext, VendorName } from './context.js';

/** One webhook the emulator delivered (or tried to). */
export interface SentWebhook {
  /** The vendor that sent it. */
  readonly vendor: VendorName;
  /** Receiver URL. */
  readonly url: string;
  /** Extra headers sent, such as a signature. */
  readonly headers: Readonly<Record<string, string>>;
  /** The exact body sent (signatures are computed over it). */
  readonly body: string;
  /** The receiver's status, or 0 when it could not be reached. */
  readonly status: number;
  /** Attempts made. */
  readonly attempts: number;
  /** Emulated time of the last attempt. */
  readonly at: number;
}

/** Delivers vendor webhooks later, on the emulated clock, with a few retries. */
export interface WebhookDispatcher {
  /** POST `body` to `url` after `delayMs` emulated ms. */
  schedule(url: string, body: string, headers: Readonly<Record<string, string>>, delayMs: number): void;
  /** Webhooks delivered or given up on, oldest first. */
  sent(): readonly SentWebhook[];
  /** How many deliveries are still waiting or in flight. */
  pending(): number;
  /** Resolves once nothing is waiting or in flight. */
  idle(): Promise<void>;
  /**
   * Cancel everything waiting, abort deliveries in flight (they are neither
   * logged nor retried), and forget what was sent.
   */
  reset(): void;
}

const MAX_ATTEMPTS = 3;
const RETRY_DELAY_MS = 5_000;
const DELIVERY_TIMEOUT_MS = 10_000;

/** Create a {@link WebhookDispatcher} for one vendor; counts `<vendor>.webhooks.sent` and `.failed`. */
export function createWebhookDispatcher(context: EmulatorContext, vendor: VendorName): WebhookDispatcher {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const log: SentWebhook[] = [];
  // Deliveries in flight, so reset() can abort them: a delivery started before a reset
  // must not land (or retry into) whatever runs after it.
  const controllers = new Set<AbortController>();
  let inFlight = 0;
  let waiters: (() => void)[] = [];
  const settle = () => {
    if (timers.size === 0 && inFlight === 0) {
      const current = waiters;
      waiters = [];
      for (const resolve of current) resolve();
    }
  };
  const later = (delayMs: number, run: () => void) => {
    const timer = setTimeout(
      () => {
        timers.delete(timer);
        run();
      },
      Math.max(0, context.clock.toRealMs(delayMs)),
    );
    timers.add(timer);
  };
  const deliver = (url: string, body: string, headers: Readonly<Record<string, string>>, attempt: number) => {
    inFlight++;
    const controller = new AbortController();
    controllers.add(controller);
    const finish = (status: number) => {
      controllers.delete(controller);
      inFlight--;
      if (controller.signal.aborted) {
        // Cancelled by reset(): forgotten, not logged, not retried.
        settle();
        return;
      }
      const ok = status >= 200 && status < 300;
      if (!ok && attempt < MAX_ATTEMPTS) {
        later(RETRY_DELAY_MS * attempt, () => deliver(url, body, headers, attempt + 1));
      } else {
        log.push({ vendor, url, headers, body, status, attempts: attempt, at: context.clock.now() });
        context.counters.increment(`${vendor}.webhooks.${ok ? 'sent' : 'failed'}`);
      }
      settle();
    };
    fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': `leadpipe-emulator/${vendor}`,
        ...headers,
      },
      body,
      signal: AbortSignal.any([controller.signal, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
    })
      .then(async (response) => {
        await response.arrayBuffer().catch(() => undefined);
        finish(response.status);
      })
      .catch(() => finish(0));
  };
  return {
    schedule: (url, body, headers, delayMs) => later(delayMs, () => deliver(url, body, headers, 1)),
    sent: () => [...log],
    pending: () => timers.size + inFlight,
    idle: () =>
      new Promise<void>((resolve) => {
        waiters.push(resolve);
        settle();
      }),
    reset: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const controller of controllers) controller.abort();
      log.length = 0;
      settle();
    },
  };
}
