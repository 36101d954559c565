import { ValidationError } from '../contracts/errors.js';
import type { LeadLocation } from '../contracts/fields.js';
import { cleanText, IssueCollector, invalid, isPlainObject, normalizeShortText } from './issues.js';

/** A location as hosts hand it in: every part optional, `null` meaning absent. */
export interface LocationInput {
  /** City, such as `Berlin`. */
  readonly city?: string | null | undefined;
  /** Region, state or province, such as `CA` or `Bavaria`. */
  readonly region?: string | null | undefined;
  /** Country name, such as `Germany`. */
  readonly country?: string | null | undefined;
  /** ISO 3166-1 alpha-2 code, any case, such as `de`. */
  readonly countryCode?: string | null | undefined;
}

/** Codes Intl knows that are not countries or territories. */
const NOT_COUNTRIES = new Set(['EU', 'EZ', 'UN', 'ZZ', 'QO', 'XA', 'XB']);

let englishNames: Intl.DisplayNames | undefined;
let codesByName: Map<string, string> | undefined;

function displayNames(): Intl.DisplayNames {
  englishNames ??= new Intl.DisplayNames(['en'], { type: 'region', fallback: 'none' });
  return englishNames;
}

function nameKey(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[.'’]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .replace(/^the /, '')
    .trim();
}

const ALIASES: Record<string, string> = {
  usa: 'US',
  us: 'US',
  'united states of america': 'US',
  america: 'US',
  uk: 'GB',
  'great britain': 'GB',
  britain: 'GB',
  england: 'GB',
  scotland: 'GB',
  wales: 'GB',
  'northern ireland': 'GB',
  uae: 'AE',
  'south korea': 'KR',
  'republic of korea': 'KR',
  'north korea': 'KP',
  russia: 'RU',
  'russian federation': 'RU',
  'czech republic': 'CZ',
  holland: 'NL',
  'ivory coast': 'CI',
  turkey: 'TR',
  vietnam: 'VN',
  'viet nam': 'VN',
  burma: 'MM',
  'hong kong sar': 'HK',
  'macau sar': 'MO',
  'mainland china': 'CN',
  'peoples republic of china': 'CN',
  prc: 'CN',
  'democratic republic of the congo': 'CD',
  drc: 'CD',
  'republic of the congo': 'CG',
  swaziland: 'SZ',
  'cape verde': 'CV',
  'east timor': 'TL',
  'vatican city': 'VA',
};

function countryIndex(): Map<string, string> {
  if (codesByName !== undefined) return codesByName;
  const index = new Map<string, string>();
  const locales = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pt'];
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const codes: string[] = [];
  for (const first of letters) {
    for (const second of letters) {
      if (canonicalCountryCode(first + second) === first + second) codes.push(first + second);
    }
  }
  for (const locale of locales) {
    const names = new Intl.DisplayNames([locale], { type: 'region', fallback: 'none' });
    for (const code of codes) {
      const name = names.of(code);
      if (name === undefined) continue;
      const key = nameKey(name);
      if (!index.has(key)) index.set(key, code);
      // "Myanmar (Burma)", "Congo - Kinshasa": also index the part before the qualifier.
      const short = nameKey(name.replace(/\s*[(-].*$/, ''));
      if (short !== key && short !== '' && !index.has(short)) index.set(short, code);
    }
  }
  for (const [alias, code] of Object.entries(ALIASES)) index.set(alias, code);
  // Ambiguous names are not guessed: "Congo" is two countries, "Georgia" also a US state.
  index.delete('congo');
  index.delete('georgia');
  codesByName = index;
  return index;
}

/**
 * Answers of {@link canonicalCountryCode}, by code: at most 676 (two letters), and each costs an `Intl.Locale` and a
 * display-name lookup, which made country codes a visible part of a worker's CPU per lead.
 */
const canonicalCodes = new Map<string, string | undefined>();

/** The current ISO code for `code` (`UK` -> `GB`), or undefined when it names no country. */
function canonicalCountryCode(code: string): string | undefined {
  if (!/^[A-Z]{2}$/.test(code)) return undefined;
  if (canonicalCodes.has(code)) return canonicalCodes.get(code);
  const canonical = lookUpCanonicalCode(code);
  canonicalCodes.set(code, canonical);
  return canonical;
}

function lookUpCanonicalCode(code: string): string | undefined {
  if (NOT_COUNTRIES.has(code)) return undefined;
  let canonical: string | undefined;
  try {
    canonical = new Intl.Locale(`und-${code}`).region;
  } catch {
    return undefined;
  }
  if (canonical === undefined || NOT_COUNTRIES.has(canonical)) return undefined;
  return displayNames().of(canonical) === undefined ? undefined : canonical;
}

/**
 * Normalize an ISO 3166-1 alpha-2 country code: trim, upper-case, replace
 * retired or reserved aliases by the current code (`uk` -> `GB`). Throws
 * `ValidationError` (field `location.countryCode`) when the code names no
 * country.
 */
export function normalizeCountryCode(value: string): string {
  if (typeof value !== 'string') invalid('location.countryCode', 'must be a string');
  const code = canonicalCountryCode(value.trim().toUpperCase());
  if (code === undefined) {
    invalid('location.countryCode', 'must be an ISO 3166-1 alpha-2 country code such as US');
  }
  return code;
}

/**
 * The ISO 3166-1 alpha-2 code of a country name (`Germany`, `Deutschland`,
 * `USA`, `United Kingdom`), or `undefined` when the name is not recognized.
 * Matching ignores case, accents and punctuation.
 */
export function countryCodeFromName(name: string): string | undefined {
  if (typeof name !== 'string' || name.length > 100) return undefined;
  return countryIndex().get(nameKey(name));
}

/** The English name of a country code, such as `Germany` for `DE`. */
export function countryNameFromCode(code: string): string | undefined {
  const canonical = canonicalCountryCode(code);
  return canonical === undefined ? undefined : displayNames().of(canonical);
}

function parseLocationText(text: string, field: string): LocationInput {
  const parts = text
    .split(/[,;]/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
  if (parts.length === 0) return {};
  if (parts.length > 3) {
    invalid(field, 'could not be parsed: use "City, Country", "City, Region, Country" or an object');
  }
  if (parts.length === 1) {
    const only = parts[0]!;
    if (/^[A-Za-z]{2}$/.test(only) && canonicalCountryCode(only.toUpperCase()) !== undefined) {
      return { countryCode: only };
    }
    return countryCodeFromName(only) === undefined ? { city: only } : { country: only };
  }
  const last = parts[parts.length - 1]!;
  const lastIsCountry = countryCodeFromName(last) !== undefined;
  if (parts.length === 2)
    return lastIsCountry ? { city: parts[0], country: last } : { city: parts[0], region: last };
  // In "City, Region, XX" the last slot is the country, so two letters are its code.
  if (
    !lastIsCountry &&
    /^[A-Za-z]{2}$/.test(last) &&
    canonicalCountryCode(last.toUpperCase()) !== undefined
  ) {
    return { city: parts[0], region: parts[1], countryCode: last };
  }
  return { city: parts[0], region: parts[1], country: last };
}

/**
 * Normalize a location. Objects `{ city, region, country, countryCode }` are
 * cleaned part by part; strings are split on commas (`Berlin, Germany`,
 * `Austin, TX`, `Munich, Bavaria, Germany`, a lone country name or code).
 * The country code is derived from a recognized country name and the country
 * name from a code; a name and a code that disagree are an issue. Throws
 * `ValidationError` with fields under `field` (default `location`).
 *
 * @example normalizeLocation('Berlin, Germany') // { city: 'Berlin', country: 'Germany', countryCode: 'DE' }
 */
export function normalizeLocation(value: string | LocationInput, field = 'location'): LeadLocation {
  let input: LocationInput;
  if (typeof value === 'string') {
    const text = cleanText(value);
    if (text.length > 500) invalid(field, 'must be at most 500 characters');
    input = parseLocationText(text, field);
  } else if (isPlainObject(value)) {
    input = value;
  } else {
    return invalid(field, 'must be a string or an object with city, region, country and countryCode');
  }
  const collector = new IssueCollector();
  const out: { city?: string; region?: string; country?: string; countryCode?: string } = {};
  for (const key of Object.keys(input)) {
    if (key !== 'city' && key !== 'region' && key !== 'country' && key !== 'countryCode') {
      collector.add(`${field}.${key}`, 'is not a location part; use city, region, country or countryCode');
    }
  }
  for (const key of ['city', 'region', 'country', 'countryCode'] as const) {
    const raw: unknown = input[key];
    if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) continue;
    const normalized = collector.run(`${field}.${key}`, () =>
      key === 'countryCode' ? normalizeCountryCode(raw as string) : normalizeShortText(raw, key),
    );
    if (normalized !== undefined) out[key] = normalized;
  }
  if (collector.ok && out.country !== undefined) {
    const fromName = countryCodeFromName(out.country);
    if (out.countryCode === undefined) {
      if (fromName !== undefined) out.countryCode = fromName;
    } else if (fromName !== undefined && fromName !== out.countryCode) {
      collector.add(`${field}.countryCode`, 'does not match the country name');
    }
  }
  if (collector.ok && out.country === undefined && out.countryCode !== undefined) {
    out.country = countryNameFromCode(out.countryCode);
  }
  if (!collector.ok) throw new ValidationError(collector.issues);
  return out;
}
