import { cleanText, invalid, normalizeShortText } from './issues.js';

/** The parts of a person's name, as {@link splitFullName} finds them. */
export interface NameParts {
  /** Given name, such as `Jane`. */
  readonly firstName?: string;
  /** Middle names and initials, space-separated, such as `Anne M.`. */
  readonly middleName?: string;
  /** Family name, including particles such as `van der` (`van der Berg`). */
  readonly lastName?: string;
  /** Honorifics before the name, such as `Dr.` or `Prof. Dr.`. */
  readonly honorific?: string;
  /** Suffixes after the name, such as `Jr.`, `III` or `PhD`. */
  readonly suffix?: string;
}

const HONORIFICS = new Set([
  'mr',
  'mrs',
  'ms',
  'miss',
  'mx',
  'dr',
  'prof',
  'professor',
  'sir',
  'dame',
  'rev',
  'fr',
  'hon',
  'lord',
  'lady',
  'herr',
  'frau',
  'mme',
  'mlle',
]);

const SUFFIXES = new Set([
  'jr',
  'jnr',
  'sr',
  'snr',
  'ii',
  'iii',
  'iv',
  'phd',
  'md',
  'dds',
  'dvm',
  'esq',
  'mba',
  'cpa',
  'cfa',
  'jd',
  'rn',
]);

const PARTICLES = new Set([
  'van',
  'von',
  'der',
  'den',
  'de',
  'del',
  'della',
  'di',
  'da',
  'du',
  'dos',
  'das',
  'la',
  'le',
  'ter',
  'ten',
  'bin',
  'ibn',
  'al',
  'st',
]);

function bare(token: string): string {
  return token.toLowerCase().replace(/[.,]/g, '');
}

function isHonorific(token: string): boolean {
  return HONORIFICS.has(bare(token));
}

function isSuffix(token: string): boolean {
  return SUFFIXES.has(bare(token));
}

function compact(parts: {
  firstName?: string | undefined;
  middleName?: string | undefined;
  lastName?: string | undefined;
  honorific?: string | undefined;
  suffix?: string | undefined;
}): NameParts {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(parts)) {
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out as NameParts;
}

function splitNatural(tokens: string[], forcedLast?: string): NameParts {
  const honorifics: string[] = [];
  const suffixes: string[] = [];
  const rest = [...tokens];
  while (rest.length > 0 && isHonorific(rest[0]!)) honorifics.push(rest.shift()!);
  while (rest.length > 1 && isSuffix(rest[rest.length - 1]!)) suffixes.unshift(rest.pop()!);
  const honorific = honorifics.join(' ') || undefined;
  const suffix = suffixes.join(' ') || undefined;
  if (forcedLast !== undefined) {
    return compact({
      firstName: rest[0],
      middleName: rest.slice(1).join(' '),
      lastName: forcedLast,
      honorific,
      suffix,
    });
  }
  if (rest.length === 0) return compact({ honorific, suffix });
  if (rest.length === 1) {
    // "Dr. Smith" names the family; "Madonna" is a given name.
    return honorific === undefined
      ? compact({ firstName: rest[0], suffix })
      : compact({ lastName: rest[0], honorific, suffix });
  }
  let lastStart = rest.length - 1;
  while (lastStart > 1 && PARTICLES.has(bare(rest[lastStart - 1]!))) lastStart -= 1;
  return compact({
    firstName: rest[0],
    middleName: rest.slice(1, lastStart).join(' '),
    lastName: rest.slice(lastStart).join(' '),
    honorific,
    suffix,
  });
}

/**
 * Split a full name into its parts. Handles extra whitespace, the
 * `Last, First Middle` order, honorifics (`Dr.`, `Mrs`), suffixes (`Jr.`,
 * `III`, `PhD`, also after a comma) and family-name particles (`van`, `de`).
 * A single word is a first name, unless an honorific shows it is a family
 * name (`Dr. Smith`). Never throws; blank input gives `{}`.
 *
 * @example splitFullName('Smith, Dr. John Adam Jr.') // { firstName: 'John', middleName: 'Adam', lastName: 'Smith', honorific: 'Dr.', suffix: 'Jr.' }
 */
export function splitFullName(fullName: string): NameParts {
  if (typeof fullName !== 'string') return {};
  const text = cleanText(fullName);
  if (text === '') return {};
  const segments = text
    .split(',')
    .map((segment) => segment.trim())
    .filter((segment) => segment !== '');
  const trailingSuffixes: string[] = [];
  while (segments.length > 1 && segments[segments.length - 1]!.split(' ').every(isSuffix)) {
    trailingSuffixes.unshift(segments.pop()!);
  }
  const withSuffix = (parts: NameParts): NameParts =>
    trailingSuffixes.length === 0
      ? parts
      : compact({ ...parts, suffix: [parts.suffix, ...trailingSuffixes].filter(Boolean).join(' ') });
  if (segments.length === 2) {
    // "Last, First Middle": the family name comes first.
    const lastTokens = segments[0]!.split(' ');
    const lastSuffixes: string[] = [];
    while (lastTokens.length > 1 && isSuffix(lastTokens[lastTokens.length - 1]!)) {
      lastSuffixes.unshift(lastTokens.pop()!);
    }
    const given = splitNatural(segments[1]!.split(' '), lastTokens.join(' '));
    const suffix = [given.suffix, ...lastSuffixes].filter(Boolean).join(' ') || undefined;
    return withSuffix(compact({ ...given, suffix }));
  }
  return withSuffix(splitNatural(segments.join(' ').split(' ')));
}

/**
 * Join name parts into a display name: honorific, first, middle, last and
 * suffix, separated by single spaces; blank parts are skipped. Returns
 * `undefined` when every part is blank.
 *
 * @example joinName({ firstName: ' Jane ', lastName: 'Doe' }) // 'Jane Doe'
 */
export function joinName(parts: NameParts): string | undefined {
  const joined = cleanText(
    [parts.honorific, parts.firstName, parts.middleName, parts.lastName, parts.suffix]
      .filter((part): part is string => typeof part === 'string')
      .join(' '),
  );
  return joined === '' ? undefined : joined;
}

/**
 * Clean one name (whitespace collapsed, NFC) and check it holds at least one
 * letter and no more than 500 characters. Throws `ValidationError` under
 * `field`. Internal to the lead module.
 */
export function normalizePersonName(value: unknown, field: string): string {
  const name = normalizeShortText(value, field);
  if (!/\p{L}/u.test(name)) invalid(field, 'must contain a letter');
  return name;
}
