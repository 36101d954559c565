import type { LogLevel, Observer } from '../telemetry/index.js';
import type { SafeEventBus } from './safe-event-bus.js';

/** For each event to log: its level, the message, and payload fields left out of the log line. */
export type EventLogTable<Events extends object> = {
  readonly [E in keyof Events & string]?: readonly [
    level: LogLevel,
    message: string,
    omit?: readonly string[],
  ];
};

/**
 * Log a bus's events through an observer's logger, one line per event at
 * the level the table gives, with the (already scrubbed) payload as the
 * context plus `event`. Does nothing without a logger. Lasts as long as the
 * bus (the engine, sync or pipeline that owns it).
 */
export function logEvents<Events extends object>(
  bus: SafeEventBus<Events>,
  observer: Observer,
  table: EventLogTable<Events>,
): void {
  if (!observer.logging) return;
  for (const [event, entry] of Object.entries(table) as [
    keyof Events & string,
    readonly [LogLevel, string, (readonly string[])?],
  ][]) {
    const [level, message, omit] = entry;
    bus.on(event, (payload) => {
      const context: Record<string, unknown> = { event };
      for (const [key, value] of Object.entries(payload as object)) {
        if (key !== 'type' && !omit?.includes(key)) context[key] = value;
      }
      observer.log(level, context, message);
    });
  }
}
