import { html } from 'hono/html';
import type { DashboardRun } from '../sources.js';
import { barChart } from './charts.js';
import { formatNumber, type Html, percent } from './html.js';

/** One provider's figures summed over runs. */
interface ProviderTotals {
  /** The provider id. */
  readonly provider: string;
  /** Runs that used it. */
  readonly runs: number;
  /** Calls made. */
  readonly calls: number;
  /** Leads it was asked about. */
  readonly requests: number;
  /** Leads it found. */
  readonly matches: number;
  /** Leads it did not find. */
  readonly misses: number;
  /** Credits spent. */
  readonly credits: number;
}

/** Per provider, the sum over `runs`, in first-seen order. */
function providerTotals(runs: readonly DashboardRun[]): ProviderTotals[] {
  const totals = new Map<
    string,
    { runs: number; calls: number; requests: number; matches: number; misses: number; credits: number }
  >();
  for (const run of runs) {
    for (const use of run.providers) {
      const total = totals.get(use.provider) ?? {
        runs: 0,
        calls: 0,
        requests: 0,
        matches: 0,
        misses: 0,
        credits: 0,
      };
      total.runs += 1;
      total.calls += use.calls;
      total.requests += use.requests;
      total.matches += use.matches;
      total.misses += use.misses;
      total.credits += use.credits;
      totals.set(use.provider, total);
    }
  }
  return [...totals].map(([provider, total]) => ({ provider, ...total }));
}

/** The providers page body: coverage and credits per provider, as charts and a table. */
export function providersPage(runs: readonly DashboardRun[]): Html {
  const totals = providerTotals(runs);
  if (totals.length === 0) {
    return html`<h1>Providers</h1><section class="card"><p>No provider has been called in the runs shown.</p></section>`;
  }
  const coverage = totals.map((total) => {
    const asked = total.requests;
    return {
      label: total.provider,
      value: asked > 0 ? total.matches / asked : 0,
      text: `${percent(total.matches, asked)} of ${formatNumber(asked)}`,
    };
  });
  const credits = totals.map((total) => ({
    label: total.provider,
    value: total.credits,
    text: `${formatNumber(total.credits)} credits`,
  }));
  return html`<h1>Providers</h1>
<p class="muted">Summed over ${formatNumber(runs.length)} runs. Coverage: leads a provider found, of the leads it was asked about (answers still pending and errors count as not found).</p>
<section class="card"><h2>Coverage</h2>${barChart(coverage, { title: 'Coverage per provider', max: 1, barClass: 'bar-coverage' })}</section>
<section class="card"><h2>Credits</h2>${barChart(credits, { title: 'Credits per provider', barClass: 'bar-credits' })}</section>
<section class="card"><table>
<thead><tr><th>Provider</th><th class="number">Runs</th><th class="number">Calls</th><th class="number">Leads asked</th><th class="number">Found</th><th class="number">Not found</th><th class="number">Coverage</th><th class="number">Credits</th></tr></thead>
<tbody>${totals.map(
    (total) =>
      html`<tr><td>${total.provider}</td><td class="number">${formatNumber(total.runs)}</td><td class="number">${formatNumber(total.calls)}</td><td class="number">${formatNumber(total.requests)}</td><td class="number">${formatNumber(total.matches)}</td><td class="number">${formatNumber(total.misses)}</td><td class="number">${percent(total.matches, total.requests)}</td><td class="number">${formatNumber(total.credits)}</td></tr>`,
  )}</tbody></table></section>`;
}
