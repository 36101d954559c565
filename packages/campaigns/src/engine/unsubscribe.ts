import { computeHmac, registerSecret, verifyHmacSignature } from '@leadpipe/core/adapter-kit';

/** What an unsubscribe token says. */
export interface UnsubscribeClaims {
  /** The address, lower case. */
  readonly email: string;
  /** The campaign the email came from. */
  readonly campaignId: string;
  /** The send it came with. */
  readonly ledgerKey?: string;
}

/** A framework-agnostic HTTP request to the unsubscribe endpoint. */
export interface UnsubscribeRequest {
  /** `GET` (shows the confirmation page) or `POST` (one-click, RFC 8058, or the page's button). */
  readonly method: string;
  /** The request URL: absolute, or a path with its query (the token is the `token` query parameter). */
  readonly url: string;
}

/** The response to send back. */
export interface UnsubscribeResponse {
  /** HTTP status. */
  readonly status: number;
  /** Response headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** Response body (HTML). */
  readonly body: string;
}

const encode = (text: string): string => Buffer.from(text, 'utf8').toString('base64url');

/**
 * A signed, unguessable unsubscribe token: the claims in base64url, a dot,
 * and the HMAC-SHA256 of that text with `secret` (hex). Anyone can read the
 * claims; nobody without the secret can make one.
 */
export function createUnsubscribeToken(claims: UnsubscribeClaims, secret: string): string {
  registerSecret(secret);
  const payload = encode(
    JSON.stringify({
      e: claims.email.toLowerCase(),
      c: claims.campaignId,
      ...(claims.ledgerKey === undefined ? {} : { l: claims.ledgerKey }),
    }),
  );
  return `${payload}.${computeHmac({ algorithm: 'sha256', secret, payload, encoding: 'hex' })}`;
}

/** The claims of a token signed with `secret`, or undefined when it is malformed or forged (timing-safe). */
export function verifyUnsubscribeToken(token: string, secret: string): UnsubscribeClaims | undefined {
  const dot = token.indexOf('.');
  if (dot <= 0 || token.length > 4096) return undefined;
  const payload = token.slice(0, dot);
  const signature = token.slice(dot + 1);
  if (!verifyHmacSignature({ algorithm: 'sha256', secret, payload, encoding: 'hex', signature }))
    return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof parsed.e !== 'string' || typeof parsed.c !== 'string') return undefined;
    return {
      email: parsed.e,
      campaignId: parsed.c,
      ...(typeof parsed.l === 'string' ? { ledgerKey: parsed.l } : {}),
    };
  } catch {
    return undefined;
  }
}

/** The unsubscribe URL of a token: `baseUrl` with `token` set. */
export function unsubscribeUrl(baseUrl: string, token: string): string {
  const url = new URL(baseUrl);
  url.searchParams.set('token', token);
  return url.toString();
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

/** An HTML page. */
export function unsubscribePage(status: number, title: string, body: string): UnsubscribeResponse {
  return {
    status,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'x-robots-tag': 'noindex',
    },
    body: `<!doctype html><html><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
  };
}

/** The confirmation page a GET shows: a button that POSTs to the same URL (a GET never unsubscribes: link scanners follow links). */
export function confirmationPage(url: string, email: string): UnsubscribeResponse {
  return unsubscribePage(
    200,
    'Unsubscribe',
    `<p>Stop emails to ${escapeHtml(email)}?</p><form method="post" action="${escapeHtml(url)}"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">Unsubscribe</button></form>`,
  );
}
