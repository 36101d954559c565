import EventEmitter from 'eventemitter3';
import { redactValue } from '../contracts/secrets.js';

/**
 * The one event mechanism of leadpipe's orchestration (engine, CRM sync,
 * pipeline, limiter): typed `noun.verb` events on eventemitter3, whose `emit`
 * isolates listeners. Events only observe: a listener that throws (or returns
 * a rejected promise) is reported to `onListenerError` and the others still
 * run; nothing a listener does changes an outcome.
 */
export class SafeEventBus<Events extends object> {
  readonly #emitter = new EventEmitter();
  readonly #onListenerError: ((error: unknown, event: string) => void) | undefined;

  /** @param onListenerError - told about listeners that throw; default: ignore. */
  constructor(onListenerError?: (error: unknown, event: string) => void) {
    this.#onListenerError = onListenerError;
  }

  /** Add a listener. Returns a function that removes it. */
  on<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): () => void {
    this.#emitter.on(event, listener);
    return () => {
      this.#emitter.off(event, listener);
    };
  }

  /** Remove a listener. */
  off<E extends keyof Events & string>(event: E, listener: (payload: Events[E]) => void): void {
    this.#emitter.off(event, listener);
  }

  /** Whether anyone listens to `event`. */
  hasListeners(event: keyof Events & string): boolean {
    return this.#emitter.listenerCount(event) > 0;
  }

  /** Emit to every listener; payloads are scrubbed of secrets first. Never throws. */
  emit<E extends keyof Events & string>(event: E, payload: Events[E]): void {
    const listeners = this.#emitter.listeners(event);
    if (listeners.length === 0) return;
    const safePayload = redactValue(payload);
    for (const listener of listeners) {
      try {
        const returned: unknown = listener(safePayload);
        if (returned instanceof Promise) {
          returned.catch((error: unknown) => this.#report(error, event));
        }
      } catch (error) {
        this.#report(error, event);
      }
    }
  }

  #report(error: unknown, event: string): void {
    try {
      this.#onListenerError?.(error, event);
    } catch {
      // The error reporter itself failed: nothing more can be done without breaking the run.
    }
  }
}
