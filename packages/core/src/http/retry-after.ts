const DELTA_SECONDS = /^\d+(?:\.\d+)?$/;
// IMF-fixdate, obsolete RFC 850 and asctime formats (RFC 9110, section 5.6.7).
const IMF_FIXDATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;
const RFC_850 = /^[A-Z][a-z]+, \d{2}-[A-Z][a-z]{2}-\d{2} \d{2}:\d{2}:\d{2} GMT$/;
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;

/**
 * Parse an HTTP date (any of the three formats HTTP allows) into epoch
 * milliseconds. Anything else, including text `Date.parse` would guess at, is
 * `undefined`.
 */
export function parseHttpDate(value: string): number | undefined {
  const text = value.trim();
  let parsed = Number.NaN;
  if (IMF_FIXDATE.test(text) || RFC_850.test(text)) parsed = Date.parse(text);
  else if (ASCTIME.test(text)) parsed = Date.parse(`${text} GMT`);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/**
 * Parse a `Retry-After` value into milliseconds to wait: either delta seconds
 * (`"120"`) or an HTTP date. A date already past gives `0`. Negative,
 * empty or malformed values give `undefined`.
 *
 * @param value - the header value.
 * @param now - the current time in epoch milliseconds, for dates.
 */
export function parseRetryAfter(
  value: string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (DELTA_SECONDS.test(text)) {
    const ms = Math.round(Number(text) * 1000);
    return Number.isFinite(ms) ? ms : undefined;
  }
  const date = parseHttpDate(text);
  return date === undefined ? undefined : Math.max(0, date - now);
}
