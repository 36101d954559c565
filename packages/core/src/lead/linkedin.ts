import { invalid } from './issues.js';

const LINKEDIN_FIELD = 'linkedinUrl';
const MAX_URL_LENGTH = 2048;
const HANDLE = /^[\p{L}\p{M}\p{N}_-]{1,200}$/u;

/**
 * Normalize a LinkedIn profile or company URL to its canonical form:
 * `https://www.linkedin.com/in/<handle>` or
 * `https://www.linkedin.com/company/<slug>`. Accepts missing schemes,
 * country and mobile hosts (`uk.linkedin.com`, `m.linkedin.com`), trailing
 * slashes, sub-pages, query strings and percent-encoded handles; the handle is
 * lower-cased. Throws `ValidationError` (field `linkedinUrl`) for anything
 * else.
 *
 * @example normalizeLinkedinUrl('linkedin.com/in/Jane-Doe/?trk=x') // 'https://www.linkedin.com/in/jane-doe'
 */
export function normalizeLinkedinUrl(value: string): string {
  if (typeof value !== 'string') invalid(LINKEDIN_FIELD, 'must be a string');
  let text = value.trim();
  if (text === '') invalid(LINKEDIN_FIELD, 'must not be blank');
  if (text.length > MAX_URL_LENGTH) invalid(LINKEDIN_FIELD, `must be at most ${MAX_URL_LENGTH} characters`);
  if (text.startsWith('//')) text = text.slice(2);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) text = `https://${text}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return invalid(LINKEDIN_FIELD, 'must be a LinkedIn URL such as https://www.linkedin.com/in/jane-doe');
  }
  const host = url.hostname.replace(/\.$/, '');
  if (
    (url.protocol !== 'https:' && url.protocol !== 'http:') ||
    (host !== 'linkedin.com' && !host.endsWith('.linkedin.com'))
  ) {
    invalid(LINKEDIN_FIELD, 'must be a linkedin.com URL');
  }
  const [kind, encoded] = url.pathname.split('/').filter((segment) => segment !== '');
  if ((kind !== 'in' && kind !== 'company') || encoded === undefined) {
    invalid(LINKEDIN_FIELD, 'must be a profile (/in/<handle>) or company (/company/<name>) URL');
  }
  let handle: string;
  try {
    handle = decodeURIComponent(encoded).normalize('NFC').toLowerCase();
  } catch {
    return invalid(LINKEDIN_FIELD, 'has a malformed handle');
  }
  if (!HANDLE.test(handle)) invalid(LINKEDIN_FIELD, 'has a handle with characters LinkedIn does not allow');
  return `https://www.linkedin.com/${kind}/${encodeURIComponent(handle)}`;
}

/** Whether a canonical LinkedIn URL is a person's profile (`/in/`) rather than a company page. */
export function isLinkedinProfileUrl(url: string): boolean {
  return /^https:\/\/www\.linkedin\.com\/in\//.test(url);
}
