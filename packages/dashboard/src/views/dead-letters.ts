import type { DeadLetterEntry, DeadLetterPage } from '@leadpipe/core';
import { html } from 'hono/html';
import type { DashboardRedriveResult } from '../sources.js';
import { formatNumber, type Html } from './html.js';

/** What the dead-letters page shows. */
export interface DeadLettersView {
  /** Where the dashboard is mounted. */
  readonly basePath: string;
  /** The page of entries. */
  readonly page: DeadLetterPage;
  /** Entries in the queue. */
  readonly size: number;
  /** The cursor this page was listed from (absent on the first page). */
  readonly cursor?: string;
  /** The CSRF token for the redrive forms, when the session may redrive (admin). */
  readonly csrf?: string;
  /** The outcome of the redrive that led here. */
  readonly result?: DashboardRedriveResult;
}

function redriveForm(
  basePath: string,
  csrf: string,
  ids: readonly string[],
  label: string,
  quiet: boolean,
): Html {
  return html`<form method="post" action="${basePath}/dead-letters/redrive"><input type="hidden" name="csrf" value="${csrf}">${ids.map(
    (id) => html`<input type="hidden" name="id" value="${id}">`,
  )}<button type="submit"${quiet ? html` class="quiet"` : ''}>${label}</button></form>`;
}

function entryRow(view: DeadLettersView, entry: DeadLetterEntry): Html {
  return html`<tr data-entry="${entry.id}">
<td><code>${entry.target}</code> / ${entry.object}<br><span class="muted">${entry.idProperty} = ${entry.record.key}</span></td>
<td><code>${entry.error.code}</code> ${entry.error.retryable ? html`<span class="status">retryable</span>` : ''}<br>${entry.error.message}</td>
<td class="number">${formatNumber(entry.attempts)}</td>
<td>${entry.lastFailedAt}</td>
<td>${view.csrf === undefined ? '' : redriveForm(view.basePath, view.csrf, [entry.id], 'Redrive', true)}</td>
</tr>`;
}

function resultNotice(result: DashboardRedriveResult): Html {
  const cls = result.failed > 0 || result.skipped > 0 ? 'error' : 'notice';
  return html`<p class="${cls}" role="status">Redrive of ${formatNumber(result.requested)}: ${formatNumber(result.delivered)} delivered and removed, ${formatNumber(result.failed)} failed again (kept), ${formatNumber(result.skipped)} skipped.</p>`;
}

/** The dead-letters page body: the queue, a page at a time, with redrive buttons for admins. */
export function deadLettersPage(view: DeadLettersView): Html {
  const entries = view.page.entries;
  const base = view.basePath;
  return html`<h1>Dead letters</h1>
${view.result === undefined ? '' : resultNotice(view.result)}
<p class="muted" data-size="${view.size}">${formatNumber(view.size)} entries in the queue.${view.csrf === undefined ? ' Redriving needs a key with the admin scope.' : ''}</p>
<section class="card">
${
  entries.length === 0
    ? html`<p>The queue is empty${view.cursor === undefined ? '' : ' past this point'}.</p>`
    : html`${
        view.csrf === undefined
          ? ''
          : redriveForm(
              base,
              view.csrf,
              entries.map((entry) => entry.id),
              `Redrive these ${entries.length}`,
              false,
            )
      }
<table>
<thead><tr><th>Target / record</th><th>Last error</th><th class="number">Attempts</th><th>Last failed</th><th></th></tr></thead>
<tbody>${entries.map((entry) => entryRow(view, entry))}</tbody>
</table>`
}
<p>${view.cursor === undefined ? '' : html`<a href="${base}/dead-letters">First page</a> `}${
    view.page.nextCursor === undefined
      ? ''
      : html`<a href="${base}/dead-letters?cursor=${encodeURIComponent(view.page.nextCursor)}">Next page</a>`
  }</p>
</section>`;
}
