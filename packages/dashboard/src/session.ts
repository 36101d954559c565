import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A scope an API key grants. */
export type DashboardScope = 'read' | 'write' | 'admin';

const SCOPES: readonly DashboardScope[] = ['read', 'write', 'admin'];

/** A signed-in session, as carried by the cookie. */
export interface Session {
  /** Scopes of the key that signed in. */
  readonly scopes: readonly DashboardScope[];
  /** Epoch ms after which the cookie is refused. */
  readonly expiresAt: number;
  /** Random id of the session: the CSRF token is derived from it. */
  readonly nonce: string;
}

function mac(secret: string, purpose: string, value: string): string {
  return createHmac('sha256', secret).update(`${purpose}\n${value}`).digest('base64url');
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** A new session for `scopes`, valid for `ttlMs` from `now`. */
export function newSession(scopes: readonly DashboardScope[], now: number, ttlMs: number): Session {
  return { scopes: [...scopes], expiresAt: now + ttlMs, nonce: randomBytes(16).toString('base64url') };
}

/** The cookie value of `session`: its JSON, base64url, then its HMAC. Holds no key. */
export function sealSession(session: Session, secret: string): string {
  const body = Buffer.from(
    JSON.stringify({ s: session.scopes, e: session.expiresAt, n: session.nonce }),
  ).toString('base64url');
  return `${body}.${mac(secret, 'session', body)}`;
}

/** The session of a cookie value, or `undefined` when it is absent, forged, malformed or expired. */
export function openSession(value: string | undefined, secret: string, now: number): Session | undefined {
  if (value === undefined) return undefined;
  const dot = value.indexOf('.');
  if (dot <= 0) return undefined;
  const body = value.slice(0, dot);
  if (!sameText(value.slice(dot + 1), mac(secret, 'session', body))) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { s, e, n } = parsed as { s?: unknown; e?: unknown; n?: unknown };
  if (!Array.isArray(s) || !s.every((scope) => SCOPES.includes(scope))) return undefined;
  if (typeof e !== 'number' || !(e > now) || typeof n !== 'string') return undefined;
  return { scopes: s as DashboardScope[], expiresAt: e, nonce: n };
}

/** The CSRF token of a session: an HMAC of its nonce, so it needs no storage. */
export function csrfToken(session: Session, secret: string): string {
  return mac(secret, 'csrf', session.nonce);
}

/** Whether `token` is the session's CSRF token. */
export function checkCsrf(session: Session, secret: string, token: unknown): boolean {
  return typeof token === 'string' && sameText(token, csrfToken(session, secret));
}

/** Whether the session may read pages (`read` or `admin`). */
export function canRead(session: Session): boolean {
  return session.scopes.includes('read') || session.scopes.includes('admin');
}

/** Whether the session may redrive (`admin`). */
export function canAdmin(session: Session): boolean {
  return session.scopes.includes('admin');
}
