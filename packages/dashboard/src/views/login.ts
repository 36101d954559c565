import { html } from 'hono/html';
import type { Html } from './html.js';

/** The login page body: one field for an API key. `problem` is shown above the form. */
export function loginPage(basePath: string, problem?: string): Html {
  return html`<section class="card login">
<h1>Sign in</h1>
${problem === undefined ? '' : html`<p class="error" role="alert">${problem}</p>`}
<form method="post" action="${basePath}/login">
<p><label for="key">API key</label><br><input id="key" name="key" type="password" autocomplete="off" required></p>
<p><button type="submit">Sign in</button></p>
</form>
<p class="muted">A key with the read scope opens the pages; redriving dead letters needs the admin scope.</p>
</section>`;
}
