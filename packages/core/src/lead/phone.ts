import {
  type CountryCode,
  isSupportedCountry,
  ParseError,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/max';
import { invalid } from './issues.js';

/** An ISO 3166-1 alpha-2 country code libphonenumber-js knows, such as `US` or `DE`. */
export type { CountryCode } from 'libphonenumber-js/max';

const PHONE_FIELD = 'phone';
const MAX_PHONE_LENGTH = 64;

/** Options of {@link normalizePhone}. */
export interface NormalizePhoneOptions {
  /**
   * Country to read national numbers in (`(415) 555-0100` with `US`). Without
   * it, only numbers in international form (`+1 415 555 0100`) are accepted.
   */
  readonly defaultCountry?: CountryCode | undefined;
}

/** Whether `value` is an ISO 3166-1 alpha-2 code libphonenumber knows, such as `US`. */
export function isPhoneCountry(value: unknown): value is CountryCode {
  return typeof value === 'string' && /^[A-Z]{2}$/.test(value) && isSupportedCountry(value);
}

const PARSE_REASONS: Record<string, string> = {
  INVALID_COUNTRY:
    'has no country code and no country is known; write it as +<country code> or set defaultCountry or location.countryCode',
  NOT_A_NUMBER: 'is not a phone number',
  TOO_SHORT: 'is too short to be a phone number',
  TOO_LONG: 'is too long to be a phone number',
  INVALID_LENGTH: 'has the wrong number of digits',
};

/**
 * Normalize a phone number to E.164 (`+14155550100`) with libphonenumber-js
 * (full metadata, so numbers are validated against each country's plan).
 * A number without a country code needs `defaultCountry`; it is never
 * guessed. Extensions are rejected because E.164 cannot hold them. Throws
 * `ValidationError` (field `phone`).
 *
 * @example normalizePhone('(415) 555-0100', { defaultCountry: 'US' }) // '+14155550100'
 */
export function normalizePhone(value: string | number, options: NormalizePhoneOptions = {}): string {
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) invalid(PHONE_FIELD, 'must be a phone number');
    text = String(value);
  } else if (typeof value === 'string') {
    text = value.trim();
  } else {
    return invalid(PHONE_FIELD, 'must be a string or a number');
  }
  if (/^tel:/i.test(text)) text = text.slice(4).trim();
  if (text === '') invalid(PHONE_FIELD, 'must not be blank');
  if (text.length > MAX_PHONE_LENGTH) invalid(PHONE_FIELD, `must be at most ${MAX_PHONE_LENGTH} characters`);
  const defaultCountry = options.defaultCountry;
  if (defaultCountry !== undefined && !isPhoneCountry(defaultCountry)) {
    invalid('defaultCountry', 'must be an ISO 3166-1 alpha-2 country code such as US');
  }
  let parsed: ReturnType<typeof parsePhoneNumberWithError>;
  try {
    parsed = parsePhoneNumberWithError(text, { defaultCountry, extract: false });
  } catch (error) {
    const reason = error instanceof ParseError ? PARSE_REASONS[error.message] : undefined;
    return invalid(PHONE_FIELD, reason ?? 'is not a phone number');
  }
  if (parsed.ext !== undefined) invalid(PHONE_FIELD, 'has an extension, which E.164 cannot hold');
  if (!parsed.isValid()) {
    invalid(
      PHONE_FIELD,
      parsed.country === undefined
        ? 'is not a valid phone number'
        : `is not a valid phone number in ${parsed.country}`,
    );
  }
  return parsed.number;
}
