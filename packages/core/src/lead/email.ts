import { leadFieldSchemas } from '../contracts/fields.js';
import { asciiEmailDomain, normalizeDomain } from './domain.js';
import { invalid } from './issues.js';

const EMAIL_FIELD = 'email';
const MAX_EMAIL_LENGTH = 254;

/**
 * Normalize an email address: trim, drop a `mailto:` prefix, lower-case,
 * punycode an internationalized domain, then validate. Throws
 * `ValidationError` (field `email`) when the result is not an address.
 *
 * @example normalizeEmail('  Jane.Doe@ACME.com ') // 'jane.doe@acme.com'
 */
export function normalizeEmail(value: string): string {
  if (typeof value !== 'string') invalid(EMAIL_FIELD, 'must be a string');
  let text = value.trim().normalize('NFC');
  if (/^mailto:/i.test(text)) text = text.slice('mailto:'.length).split('?')[0]!.trim();
  if (text.length === 0) invalid(EMAIL_FIELD, 'must not be blank');
  if (text.length > MAX_EMAIL_LENGTH) invalid(EMAIL_FIELD, `must be at most ${MAX_EMAIL_LENGTH} characters`);
  const at = text.lastIndexOf('@');
  if (at <= 0 || at === text.length - 1)
    invalid(EMAIL_FIELD, 'must be an email address such as jane@acme.com');
  const local = text.slice(0, at).toLowerCase();
  const domain = asciiEmailDomain(text.slice(at + 1).toLowerCase());
  if (domain === undefined) invalid(EMAIL_FIELD, 'has an invalid domain');
  const email = `${local}@${domain}`;
  if (email.length > MAX_EMAIL_LENGTH || !leadFieldSchemas.email.safeParse(email).success) {
    invalid(EMAIL_FIELD, 'must be an email address such as jane@acme.com');
  }
  return email;
}

/**
 * The domain of an email address, normalized like {@link normalizeDomain}
 * (`Jane@Mail.Acme.com` -> `mail.acme.com`). Free-mail domains are returned
 * as they are; check them with `isFreeMailDomain`. Throws `ValidationError`
 * (field `email`) when the address is invalid.
 */
export function domainFromEmail(email: string): string {
  const normalized = normalizeEmail(email);
  const domain = normalized.slice(normalized.lastIndexOf('@') + 1);
  try {
    return normalizeDomain(domain);
  } catch {
    return invalid(EMAIL_FIELD, 'has a domain that is not a valid company domain');
  }
}
