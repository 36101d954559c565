import { leadFieldSchemas } from '../contracts/fields.js';
import { invalid } from './issues.js';

const DOMAIN_FIELD = 'company.domain';
const MAX_URL_LENGTH = 2048;
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

/**
 * Turn a host name into lower-case ASCII (IDNs become punycode, `münchen.de`
 * -> `xn--mnchen-3ya.de`) with the WHATWG URL parser. Throws on hosts the
 * parser refuses.
 */
function toAsciiHost(host: string, field: string): string {
  let url: URL;
  try {
    url = new URL(`http://${host}`);
  } catch {
    return invalid(field, 'must be a domain such as acme.com');
  }
  if (
    url.pathname !== '/' ||
    url.search !== '' ||
    url.hash !== '' ||
    url.port !== '' ||
    url.username !== ''
  ) {
    invalid(field, 'must be a domain such as acme.com');
  }
  return url.hostname;
}

/** Check an ASCII host against the `company.domain` contract, after `www.` and a trailing dot are dropped. */
function finishDomain(asciiHost: string, field: string): string {
  let host = asciiHost.replace(/\.$/, '');
  if (IPV4.test(host) || host.startsWith('[')) invalid(field, 'is an IP address, not a domain');
  if (host.startsWith('www.') && host.indexOf('.', 4) !== -1) host = host.slice(4);
  if (!host.includes('.')) invalid(field, 'must be a domain with a top-level domain, such as acme.com');
  if (!leadFieldSchemas['company.domain'].safeParse(host).success) {
    invalid(field, 'must be a bare domain such as acme.com');
  }
  return host;
}

/**
 * Normalize a company domain: trim, lower-case, drop a trailing dot and a
 * leading `www.`, and convert internationalized names to punycode. A value
 * that looks like a URL (`https://acme.com/about`) goes through
 * {@link domainFromUrl}. Throws `ValidationError` (field `company.domain`)
 * when the value is not a domain (IP addresses, `localhost`, email addresses,
 * blank text).
 *
 * @example normalizeDomain(' WWW.Acme.COM. ') // 'acme.com'
 */
export function normalizeDomain(value: string): string {
  if (typeof value !== 'string') invalid(DOMAIN_FIELD, 'must be a string');
  const text = value.trim();
  if (text.length === 0) invalid(DOMAIN_FIELD, 'must not be blank');
  if (text.length > MAX_URL_LENGTH) invalid(DOMAIN_FIELD, `must be at most ${MAX_URL_LENGTH} characters`);
  if (text.includes('@')) invalid(DOMAIN_FIELD, 'is an email address, not a domain');
  if (/[/:?#\\]/.test(text)) return domainFromUrl(text);
  if (/\s/.test(text)) invalid(DOMAIN_FIELD, 'must not contain spaces');
  return finishDomain(toAsciiHost(text, DOMAIN_FIELD), DOMAIN_FIELD);
}

/**
 * The domain of a website URL: scheme, `www.`, port, credentials, path, query
 * and fragment are stripped, the host lower-cased and punycoded. The scheme
 * may be missing (`acme.com/about`); when present it must be `http` or
 * `https`. Subdomains other than `www.` are kept (`shop.acme.com`). Throws
 * `ValidationError` (field `company.domain`) for values that carry no domain.
 *
 * @example domainFromUrl('https://www.Acme.com:8443/about?x=1#team') // 'acme.com'
 */
export function domainFromUrl(url: string): string {
  if (typeof url !== 'string') invalid(DOMAIN_FIELD, 'must be a string');
  let text = url.trim();
  if (text.length === 0) invalid(DOMAIN_FIELD, 'must not be blank');
  if (text.length > MAX_URL_LENGTH) invalid(DOMAIN_FIELD, `must be at most ${MAX_URL_LENGTH} characters`);
  if (text.startsWith('//')) text = text.slice(2);
  if (!SCHEME.test(text)) text = `https://${text}`;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    return invalid(DOMAIN_FIELD, 'must be a website URL or domain such as https://acme.com');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    invalid(DOMAIN_FIELD, 'must be an http or https URL');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    invalid(DOMAIN_FIELD, 'must not contain credentials or an email address');
  }
  if (parsed.hostname === '') invalid(DOMAIN_FIELD, 'has no host name');
  return finishDomain(parsed.hostname, DOMAIN_FIELD);
}

/** Internal: host part of an email address as ASCII, or a reason it is not one. */
export function asciiEmailDomain(domain: string): string | undefined {
  try {
    const host = toAsciiHost(domain, 'email');
    return host.replace(/\.$/, '');
  } catch {
    return undefined;
  }
}
