import { html } from 'hono/html';
import type { Html } from './html.js';

/** The stylesheet, served at `<basePath>/style.css` (the CSP allows styles from the app only). */
export const STYLESHEET = `
:root { --ink: #1d2430; --muted: #5b6574; --line: #d9dee5; --bg: #f6f7f9; --accent: #2f6fde; --good: #2a9d5b; --bad: #c8453c; --warn: #d08c1b; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #fff; border-bottom: 1px solid var(--line); }
header .brand { font-weight: 700; }
nav a { margin-right: 16px; color: var(--muted); text-decoration: none; }
nav a[aria-current="page"] { color: var(--ink); font-weight: 600; border-bottom: 2px solid var(--accent); }
header form { margin-left: auto; }
main { padding: 20px 24px; max-width: 1100px; }
h1 { font-size: 22px; margin: 0 0 16px; }
h2 { font-size: 17px; margin: 24px 0 8px; }
section.card { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 14px 18px; margin-bottom: 16px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px; margin-bottom: 16px; }
.tile { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; }
.tile .figure { font-size: 26px; font-weight: 700; }
.tile .caption { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 13px; }
td.number, th.number { text-align: right; font-variant-numeric: tabular-nums; }
progress { width: 160px; height: 12px; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; background: #e8ecf2; }
.status-running { background: #dfeafe; color: var(--accent); }
.status-completed { background: #dcf3e5; color: var(--good); }
.status-failed, .status-aborted { background: #fbe3e1; color: var(--bad); }
.muted { color: var(--muted); }
.notice { padding: 8px 12px; border-radius: 4px; background: #dcf3e5; margin-bottom: 12px; }
.error { padding: 8px 12px; border-radius: 4px; background: #fbe3e1; margin-bottom: 12px; }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
button.quiet { background: #fff; color: var(--accent); }
input[type="password"] { font: inherit; padding: 6px 8px; width: 100%; border: 1px solid var(--line); border-radius: 4px; }
.login { max-width: 380px; margin: 80px auto; }
.chart { max-width: 760px; display: block; }
.chart-label, .chart-value { font: 13px system-ui, sans-serif; fill: var(--ink); }
.bar-track { fill: #eef1f5; }
.bar { fill: var(--accent); }
.bar-coverage { fill: var(--good); }
.bar-credits { fill: var(--warn); }
.bar-quota { fill: var(--accent); }
.bar-quota-high { fill: var(--bad); }
code { font-size: 13px; }
`;

/** The pages of the navigation. */
export type PageName = 'overview' | 'runs' | 'providers' | 'campaigns' | 'dead-letters';

const NAV: readonly (readonly [PageName, string, string])[] = [
  ['overview', '', 'Overview'],
  ['runs', '/runs', 'Runs'],
  ['providers', '/providers', 'Providers'],
  ['campaigns', '/campaigns', 'Campaigns'],
  ['dead-letters', '/dead-letters', 'Dead letters'],
];

/** What every page's frame needs. */
export interface LayoutProps {
  /** The page title. */
  readonly title: string;
  /** Where the dashboard is mounted. */
  readonly basePath: string;
  /** The current page, highlighted in the navigation; absent on the login page (no navigation). */
  readonly page?: PageName;
  /** The session's CSRF token, for the sign-out form; absent when signed out. */
  readonly csrf?: string;
  /** Seconds until the page reloads itself (meta refresh), when set. */
  readonly refreshSeconds?: number;
}

/** The HTML document around a page's body. */
export function layout(props: LayoutProps, body: Html): Html {
  const base = props.basePath;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${props.refreshSeconds ? html`<meta http-equiv="refresh" content="${props.refreshSeconds}">` : ''}
<title>${props.title} · leadpipe</title>
<link rel="stylesheet" href="${base}/style.css">
</head>
<body>
<header>
<span class="brand">leadpipe</span>
${
  props.page === undefined
    ? ''
    : html`<nav>${NAV.map(
        ([name, path, label]) =>
          html`<a href="${path === '' ? base || '/' : `${base}${path}`}"${name === props.page ? html` aria-current="page"` : ''}>${label}</a>`,
      )}</nav>`
}
${
  props.csrf === undefined
    ? ''
    : html`<form method="post" action="${base}/logout"><input type="hidden" name="csrf" value="${props.csrf}"><button class="quiet" type="submit">Sign out</button></form>`
}
</header>
<main>
${body}
</main>
</body>
</html>`;
}
