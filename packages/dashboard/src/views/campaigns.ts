import { html } from 'hono/html';
import type { DashboardCampaign, DashboardFunnelStep } from '../sources.js';
import { barChart } from './charts.js';
import { formatNumber, type Html } from './html.js';

const FUNNEL: readonly (readonly [keyof DashboardFunnelStep, string])[] = [
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['opened', 'opened'],
  ['clicked', 'clicked'],
  ['replied', 'replied'],
];

function stepFunnel(campaign: DashboardCampaign, step: DashboardFunnelStep): Html {
  const bars = FUNNEL.map(([key, label]) => ({ label, value: step[key] as number }));
  return html`<div class="funnel-step" data-step="${step.step}"><h3>Step <code>${step.step}</code></h3>
${barChart(bars, { title: `Funnel of step ${step.step} of campaign ${campaign.id}`, max: Math.max(1, step.sent) })}
<p class="muted">${formatNumber(step.bounced)} bounced · ${formatNumber(step.unsubscribed)} unsubscribed · ${formatNumber(step.failed)} failed</p></div>`;
}

function campaignCard(campaign: DashboardCampaign): Html {
  const statuses = Object.entries(campaign.byStatus);
  return html`<section class="card campaign" data-campaign="${campaign.id}">
<h2>${campaign.id}</h2>
<p>${formatNumber(campaign.enrolled)} enrolled${statuses.map(([status, count]) => ` · ${formatNumber(count)} ${status}`)}</p>
${campaign.steps.length === 0 ? html`<p class="muted">No send step has stats yet.</p>` : campaign.steps.map((step) => stepFunnel(campaign, step))}
</section>`;
}

/** The campaigns page body: a funnel per send step. */
export function campaignsPage(campaigns: readonly DashboardCampaign[]): Html {
  return html`<h1>Campaigns</h1>
${campaigns.length === 0 ? html`<section class="card"><p>No campaigns.</p></section>` : campaigns.map(campaignCard)}`;
}
