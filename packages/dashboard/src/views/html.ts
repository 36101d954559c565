import type { html } from 'hono/html';

/** An escaped HTML fragment made with Hono's `html` helper. */
export type Html = ReturnType<typeof html>;

/** A number for people: thousands separated, at most two decimals. */
export function formatNumber(value: number): string {
  return value.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** `part / whole` as a percentage, one decimal; `-` when `whole` is 0. */
export function percent(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)}%` : '-';
}
