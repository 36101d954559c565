import { html } from 'hono/html';
import type { DashboardRun } from '../sources.js';
import { formatNumber, type Html } from './html.js';
import { progressOf, statusBadge } from './runs.js';

/** A figure of the overview that may have failed to load. */
export type Figure<T> = { readonly value: T } | { readonly unavailable: string } | undefined;

/** What the overview shows. */
export interface OverviewView {
  /** Where the dashboard is mounted. */
  readonly basePath: string;
  /** Stored leads, when a lead store is configured. */
  readonly leads: Figure<{ readonly count: number; readonly exact: boolean }>;
  /** Runs, when a runs source is configured. */
  readonly runs: Figure<readonly DashboardRun[]>;
  /** Dead letters queued, when a dead-letter source is configured. */
  readonly deadLetters: Figure<number>;
  /** Campaigns, when a campaigns source is configured. */
  readonly campaigns: Figure<number>;
}

function tile<T>(figure: Figure<T>, caption: string, show: (value: T) => string, href?: string): Html {
  if (figure === undefined) return html``;
  const body =
    'value' in figure
      ? html`<div class="figure">${show(figure.value)}</div>`
      : html`<div class="figure muted">?</div><div class="caption">unavailable: ${figure.unavailable}</div>`;
  return html`<div class="tile">${body}<div class="caption">${href === undefined ? caption : html`<a href="${href}">${caption}</a>`}</div></div>`;
}

/** The overview page body: tiles, and the latest runs. */
export function overviewPage(view: OverviewView): Html {
  const base = view.basePath;
  const runs = view.runs !== undefined && 'value' in view.runs ? view.runs.value : [];
  return html`<h1>Overview</h1>
<div class="tiles">
${tile(view.leads, 'leads stored', (leads) => `${leads.exact ? '' : '~'}${formatNumber(leads.count)}`)}
${tile(view.runs, 'runs', (all) => formatNumber(all.length), `${base}/runs`)}
${tile(view.runs, 'running now', (all) => formatNumber(all.filter((run) => run.status === 'running').length), `${base}/runs`)}
${tile(view.campaigns, 'campaigns', formatNumber, `${base}/campaigns`)}
${tile(view.deadLetters, 'dead letters', formatNumber, `${base}/dead-letters`)}
</div>
${
  runs.length === 0
    ? ''
    : html`<section class="card"><h2>Latest runs</h2><table><thead><tr><th>Run</th><th>Status</th><th>Progress</th></tr></thead><tbody>${runs
        .slice(0, 5)
        .map(
          (run) =>
            html`<tr><td><a href="${base}/runs#run-${run.id}">${run.label ?? run.id}</a></td><td>${statusBadge(run.status)}</td><td>${progressOf(run)}</td></tr>`,
        )}</tbody></table></section>`
}`;
}
