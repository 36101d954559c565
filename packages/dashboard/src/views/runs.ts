import { html } from 'hono/html';
import type { DashboardProviderUse, DashboardRun } from '../sources.js';
import { barChart } from './charts.js';
import { formatNumber, type Html, percent } from './html.js';

/** The status badge of a run. */
export function statusBadge(status: DashboardRun['status']): Html {
  return html`<span class="status status-${status}">${status}</span>`;
}

/** Rows that reached a terminal state (done, rejected, dead-lettered) or were skipped. */
function finished(run: DashboardRun): number {
  return run.counts.done + run.counts.rejected + run.counts.deadLettered + run.counts.skipped;
}

/** A run's progress: a `<progress>` bar when the input size is known, else the rows finished. */
export function progressOf(run: DashboardRun): Html {
  const done = finished(run);
  if (run.totalRows === undefined || run.totalRows <= 0) {
    return html`<span>${formatNumber(done)} rows finished</span>`;
  }
  return html`<progress max="${run.totalRows}" value="${Math.min(done, run.totalRows)}">${percent(done, run.totalRows)}</progress> <span>${formatNumber(done)} / ${formatNumber(run.totalRows)} (${percent(done, run.totalRows)})</span>`;
}

function quotaChart(run: DashboardRun, providers: readonly DashboardProviderUse[]): Html {
  const withQuota = providers.filter((provider) => provider.quota !== undefined);
  if (withQuota.length === 0) return html``;
  return html`<h3>Quota use</h3>${withQuota.map((provider) => {
    const quota = provider.quota!;
    const share = quota.limit > 0 ? quota.used / quota.limit : 0;
    return barChart(
      [
        {
          label: provider.provider,
          value: quota.used,
          text: `${formatNumber(quota.used)} / ${formatNumber(quota.limit)} ${quota.unit}`,
        },
      ],
      {
        title: `Quota use of ${provider.provider} in run ${run.id}`,
        max: quota.limit,
        barClass: share >= 0.9 ? 'bar-quota-high' : 'bar-quota',
      },
    );
  })}`;
}

function providerTable(providers: readonly DashboardProviderUse[]): Html {
  if (providers.length === 0) return html`<p class="muted">No provider was called.</p>`;
  return html`<table>
<thead><tr><th>Provider</th><th class="number">Calls</th><th class="number">Leads asked</th><th class="number">Found</th><th class="number">Coverage</th><th class="number">Credits</th><th class="number">429s</th></tr></thead>
<tbody>${providers.map(
    (provider) =>
      html`<tr><td>${provider.provider}</td><td class="number">${formatNumber(provider.calls)}</td><td class="number">${formatNumber(provider.requests)}</td><td class="number">${formatNumber(provider.matches)}</td><td class="number">${percent(provider.matches, provider.requests)}</td><td class="number">${formatNumber(provider.credits)}</td><td class="number">${formatNumber(provider.rateLimited)}</td></tr>`,
  )}</tbody></table>`;
}

/** One run's card: status, progress, counts, per-provider use and quota. */
function runCard(run: DashboardRun): Html {
  const counts = run.counts;
  return html`<section class="card run" id="run-${run.id}" data-run="${run.id}">
<h2>${run.label ?? run.id} ${statusBadge(run.status)}</h2>
<p class="muted">Run <code>${run.id}</code>, started ${run.startedAt}, figures of ${run.updatedAt}</p>
<p>${progressOf(run)}</p>
${run.error === undefined ? '' : html`<p class="error">${run.error.code}: ${run.error.message}</p>`}
<p>${formatNumber(counts.read)} read · ${formatNumber(counts.done)} done · ${formatNumber(counts.rejected)} rejected · ${formatNumber(counts.deadLettered)} dead-lettered${counts.skipped > 0 ? ` · ${formatNumber(counts.skipped)} skipped (finished earlier)` : ''}</p>
${providerTable(run.providers)}
${quotaChart(run, run.providers)}
</section>`;
}

/** The runs page body. */
export function runsPage(runs: readonly DashboardRun[]): Html {
  const running = runs.filter((run) => run.status === 'running').length;
  return html`<h1>Runs</h1>
<p class="muted">${formatNumber(runs.length)} runs, ${formatNumber(running)} running.${running > 0 ? ' This page reloads itself while a run is running.' : ''}</p>
${runs.length === 0 ? html`<section class="card"><p>No runs yet.</p></section>` : runs.map(runCard)}`;
}
