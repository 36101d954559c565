import { html } from 'hono/html';
import type { Html } from './html.js';

/** One bar of a {@link barChart}. */
export interface Bar {
  /** Label left of the bar. */
  readonly label: string;
  /** Length of the bar, against the chart's `max`. */
  readonly value: number;
  /** Text right of the bar (default the value). */
  readonly text?: string;
}

/** Options of {@link barChart}. */
export interface BarChartOptions {
  /** Accessible title (the SVG's `<title>` and `aria-label`). */
  readonly title: string;
  /** The value of a full-width bar. Default the largest value (at least 1). */
  readonly max?: number;
  /** CSS class of the bars (colour), such as `bar-credits`. */
  readonly barClass?: string;
}

const WIDTH = 640;
const LABEL = 150;
const TEXT = 200;
const ROW = 26;

/** A horizontal bar chart as inline SVG: no script, no external fetch, readable with styles off. */
export function barChart(bars: readonly Bar[], options: BarChartOptions): Html {
  const max = options.max ?? Math.max(1, ...bars.map((bar) => bar.value));
  const span = WIDTH - LABEL - TEXT;
  const height = Math.max(ROW, bars.length * ROW) + 4;
  return html`<svg class="chart" role="img" aria-label="${options.title}" viewBox="0 0 ${WIDTH} ${height}" width="100%" preserveAspectRatio="xMinYMin meet" xmlns="http://www.w3.org/2000/svg"><title>${options.title}</title>${bars.map(
    (bar, index) => {
      const y = index * ROW + 2;
      const length = max > 0 ? Math.max(0, Math.min(1, bar.value / max)) * span : 0;
      return html`<g><text x="${LABEL - 8}" y="${y + 17}" text-anchor="end" class="chart-label">${bar.label}</text><rect x="${LABEL}" y="${y + 4}" width="${span}" height="${ROW - 8}" class="bar-track"/><rect x="${LABEL}" y="${y + 4}" width="${length.toFixed(1)}" height="${ROW - 8}" class="${options.barClass ?? 'bar'}"/><text x="${LABEL + span + 8}" y="${y + 17}" class="chart-value">${bar.text ?? String(bar.value)}</text></g>`;
    },
  )}</svg>`;
}
