/** HTML-escape text for an attribute or element body. */
const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** The forms `text` can take in rendered HTML: as is, escaped by the engine, or escaped by liquidjs (`&amp;`). */
const htmlForms = (text: string): readonly string[] => [
  text,
  escapeHtml(text),
  text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&#34;')
    .replace(/'/g, '&#39;'),
];

/** A rendered email's bodies. */
export interface EmailBodies {
  /** The HTML part. */
  readonly html?: string | undefined;
  /** The text part. */
  readonly text?: string | undefined;
}

/**
 * Add what marketing mail must carry to each body that lacks it: the sender's
 * postal address (CAN-SPAM) and the unsubscribe link. A body whose template
 * already links `{{ unsubscribe_url }}` (campaign files must) or prints the
 * address gets neither again, so the body holds exactly one unsubscribe link.
 *
 * @param bodies - the rendered HTML and text.
 * @param link - the recipient's unsubscribe URL.
 * @param postalAddress - the sender's postal address.
 */
export function withComplianceFooter(bodies: EmailBodies, link: string, postalAddress: string): EmailBodies {
  const result: { html?: string | undefined; text?: string | undefined } = {};
  if (bodies.html !== undefined) {
    const { html } = bodies;
    const parts: string[] = [];
    if (!htmlForms(postalAddress).some((form) => html.includes(form))) parts.push(escapeHtml(postalAddress));
    if (!htmlForms(link).some((form) => html.includes(form)))
      parts.push(`<a href="${escapeHtml(link)}">Unsubscribe</a>`);
    result.html =
      parts.length === 0 ? html : `${html}\n<p style="font-size:12px;color:#666">${parts.join('<br>')}</p>`;
  }
  if (bodies.text !== undefined) {
    const { text } = bodies;
    const parts: string[] = [];
    if (!text.includes(postalAddress)) parts.push(postalAddress);
    if (!text.includes(link)) parts.push(`Unsubscribe: ${link}`);
    result.text = parts.length === 0 ? text : `${text}\n\n--\n${parts.join('\n')}`;
  }
  return result;
}
