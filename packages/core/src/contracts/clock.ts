/**
 * The time source every part of leadpipe reads: milliseconds since the Unix
 * epoch, like `Date.now`. Limiter, breaker, engine, CRM sync, pipeline and
 * webhook checks all take one (option `now`), so a test can drive them all
 * from one fake clock.
 */
export type Clock = () => number;

/** The system clock, `Date.now`. */
export const systemClock: Clock = () => Date.now();
