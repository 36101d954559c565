import type { LeadLocation } from '@leadpipe/core/adapter-kit';
import { ConfigurationError } from '@leadpipe/core/adapter-kit';
import { IANAZone } from 'luxon';

/**
 * Countries that keep one civil time zone (or whose population overwhelmingly lives in one), keyed by
 * ISO 3166-1 alpha-2 code. Countries that span several zones (US, CA, AU, BR, MX, RU, ID, KZ, …) are not
 * here: their zone comes from {@link REGION_TIME_ZONES}, or else from the campaign.
 */
export const COUNTRY_TIME_ZONES: Readonly<Record<string, string>> = Object.freeze({
  AE: 'Asia/Dubai',
  AR: 'America/Argentina/Buenos_Aires',
  AT: 'Europe/Vienna',
  BE: 'Europe/Brussels',
  BG: 'Europe/Sofia',
  CH: 'Europe/Zurich',
  CN: 'Asia/Shanghai',
  CO: 'America/Bogota',
  CY: 'Asia/Nicosia',
  CZ: 'Europe/Prague',
  DE: 'Europe/Berlin',
  DK: 'Europe/Copenhagen',
  EE: 'Europe/Tallinn',
  EG: 'Africa/Cairo',
  ES: 'Europe/Madrid',
  FI: 'Europe/Helsinki',
  FR: 'Europe/Paris',
  GB: 'Europe/London',
  GR: 'Europe/Athens',
  HK: 'Asia/Hong_Kong',
  HR: 'Europe/Zagreb',
  HU: 'Europe/Budapest',
  IE: 'Europe/Dublin',
  IL: 'Asia/Jerusalem',
  IN: 'Asia/Kolkata',
  IS: 'Atlantic/Reykjavik',
  IT: 'Europe/Rome',
  JP: 'Asia/Tokyo',
  KE: 'Africa/Nairobi',
  KR: 'Asia/Seoul',
  LT: 'Europe/Vilnius',
  LU: 'Europe/Luxembourg',
  LV: 'Europe/Riga',
  MT: 'Europe/Malta',
  MY: 'Asia/Kuala_Lumpur',
  NG: 'Africa/Lagos',
  NL: 'Europe/Amsterdam',
  NO: 'Europe/Oslo',
  NZ: 'Pacific/Auckland',
  PE: 'America/Lima',
  PH: 'Asia/Manila',
  PK: 'Asia/Karachi',
  PL: 'Europe/Warsaw',
  PT: 'Europe/Lisbon',
  RO: 'Europe/Bucharest',
  RS: 'Europe/Belgrade',
  SA: 'Asia/Riyadh',
  SE: 'Europe/Stockholm',
  SG: 'Asia/Singapore',
  SI: 'Europe/Ljubljana',
  SK: 'Europe/Bratislava',
  TH: 'Asia/Bangkok',
  TR: 'Europe/Istanbul',
  TW: 'Asia/Taipei',
  UA: 'Europe/Kyiv',
  VN: 'Asia/Ho_Chi_Minh',
  ZA: 'Africa/Johannesburg',
});

const US: Record<string, string> = {
  AL: 'America/Chicago',
  AK: 'America/Anchorage',
  AZ: 'America/Phoenix',
  AR: 'America/Chicago',
  CA: 'America/Los_Angeles',
  CO: 'America/Denver',
  CT: 'America/New_York',
  DC: 'America/New_York',
  DE: 'America/New_York',
  FL: 'America/New_York',
  GA: 'America/New_York',
  HI: 'Pacific/Honolulu',
  IA: 'America/Chicago',
  ID: 'America/Boise',
  IL: 'America/Chicago',
  IN: 'America/Indiana/Indianapolis',
  KS: 'America/Chicago',
  KY: 'America/New_York',
  LA: 'America/Chicago',
  MA: 'America/New_York',
  MD: 'America/New_York',
  ME: 'America/New_York',
  MI: 'America/Detroit',
  MN: 'America/Chicago',
  MO: 'America/Chicago',
  MS: 'America/Chicago',
  MT: 'America/Denver',
  NC: 'America/New_York',
  ND: 'America/Chicago',
  NE: 'America/Chicago',
  NH: 'America/New_York',
  NJ: 'America/New_York',
  NM: 'America/Denver',
  NV: 'America/Los_Angeles',
  NY: 'America/New_York',
  OH: 'America/New_York',
  OK: 'America/Chicago',
  OR: 'America/Los_Angeles',
  PA: 'America/New_York',
  PR: 'America/Puerto_Rico',
  RI: 'America/New_York',
  SC: 'America/New_York',
  SD: 'America/Chicago',
  TN: 'America/Chicago',
  TX: 'America/Chicago',
  UT: 'America/Denver',
  VA: 'America/New_York',
  VT: 'America/New_York',
  WA: 'America/Los_Angeles',
  WI: 'America/Chicago',
  WV: 'America/New_York',
  WY: 'America/Denver',
};
const US_NAMES: Record<string, string> = {
  alabama: 'AL',
  alaska: 'AK',
  arizona: 'AZ',
  arkansas: 'AR',
  california: 'CA',
  colorado: 'CO',
  connecticut: 'CT',
  'district of columbia': 'DC',
  'washington dc': 'DC',
  'washington d.c.': 'DC',
  delaware: 'DE',
  florida: 'FL',
  georgia: 'GA',
  hawaii: 'HI',
  iowa: 'IA',
  idaho: 'ID',
  illinois: 'IL',
  indiana: 'IN',
  kansas: 'KS',
  kentucky: 'KY',
  louisiana: 'LA',
  massachusetts: 'MA',
  maryland: 'MD',
  maine: 'ME',
  michigan: 'MI',
  minnesota: 'MN',
  missouri: 'MO',
  mississippi: 'MS',
  montana: 'MT',
  'north carolina': 'NC',
  'north dakota': 'ND',
  nebraska: 'NE',
  'new hampshire': 'NH',
  'new jersey': 'NJ',
  'new mexico': 'NM',
  nevada: 'NV',
  'new york': 'NY',
  ohio: 'OH',
  oklahoma: 'OK',
  oregon: 'OR',
  pennsylvania: 'PA',
  'puerto rico': 'PR',
  'rhode island': 'RI',
  'south carolina': 'SC',
  'south dakota': 'SD',
  tennessee: 'TN',
  texas: 'TX',
  utah: 'UT',
  virginia: 'VA',
  vermont: 'VT',
  washington: 'WA',
  wisconsin: 'WI',
  'west virginia': 'WV',
  wyoming: 'WY',
};
const CA: Record<string, string> = {
  AB: 'America/Edmonton',
  BC: 'America/Vancouver',
  MB: 'America/Winnipeg',
  NB: 'America/Moncton',
  NL: 'America/St_Johns',
  NS: 'America/Halifax',
  NT: 'America/Yellowknife',
  NU: 'America/Iqaluit',
  ON: 'America/Toronto',
  PE: 'America/Halifax',
  QC: 'America/Toronto',
  SK: 'America/Regina',
  YT: 'America/Whitehorse',
};
const CA_NAMES: Record<string, string> = {
  alberta: 'AB',
  'british columbia': 'BC',
  manitoba: 'MB',
  'new brunswick': 'NB',
  'newfoundland and labrador': 'NL',
  newfoundland: 'NL',
  'nova scotia': 'NS',
  'northwest territories': 'NT',
  nunavut: 'NU',
  ontario: 'ON',
  'prince edward island': 'PE',
  quebec: 'QC',
  québec: 'QC',
  saskatchewan: 'SK',
  yukon: 'YT',
};
const AU: Record<string, string> = {
  ACT: 'Australia/Sydney',
  NSW: 'Australia/Sydney',
  NT: 'Australia/Darwin',
  QLD: 'Australia/Brisbane',
  SA: 'Australia/Adelaide',
  TAS: 'Australia/Hobart',
  VIC: 'Australia/Melbourne',
  WA: 'Australia/Perth',
};
const AU_NAMES: Record<string, string> = {
  'australian capital territory': 'ACT',
  'new south wales': 'NSW',
  'northern territory': 'NT',
  queensland: 'QLD',
  'south australia': 'SA',
  tasmania: 'TAS',
  victoria: 'VIC',
  'western australia': 'WA',
};
const BR: Record<string, string> = {
  SP: 'America/Sao_Paulo',
  RJ: 'America/Sao_Paulo',
  MG: 'America/Sao_Paulo',
  PR: 'America/Sao_Paulo',
  RS: 'America/Sao_Paulo',
  SC: 'America/Sao_Paulo',
  DF: 'America/Sao_Paulo',
  BA: 'America/Bahia',
  PE: 'America/Recife',
  CE: 'America/Fortaleza',
  AM: 'America/Manaus',
};
const BR_NAMES: Record<string, string> = {
  'sao paulo': 'SP',
  'são paulo': 'SP',
  'rio de janeiro': 'RJ',
  'minas gerais': 'MG',
  parana: 'PR',
  paraná: 'PR',
  'rio grande do sul': 'RS',
  'santa catarina': 'SC',
  'distrito federal': 'DF',
  bahia: 'BA',
  pernambuco: 'PE',
  ceara: 'CE',
  ceará: 'CE',
  amazonas: 'AM',
};

/**
 * Region (state, province) to zone for countries that span several zones, keyed by country code, then by the
 * region's postal abbreviation (`CA`, `ON`, `NSW`). States split between zones get their most populous zone.
 * {@link recipientTimeZone} also accepts the regions' English names (`California`, `New South Wales`).
 */
export const REGION_TIME_ZONES: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
  US,
  CA,
  AU,
  BR,
});

const REGION_NAMES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  US: US_NAMES,
  CA: CA_NAMES,
  AU: AU_NAMES,
  BR: BR_NAMES,
};

/** Every country code either table knows, to map English country names back to codes. */
const KNOWN_CODES = [...Object.keys(COUNTRY_TIME_ZONES), ...Object.keys(REGION_TIME_ZONES)];
let countryNames: Map<string, string> | undefined;

function countryCodeOfName(name: string): string | undefined {
  if (countryNames === undefined) {
    countryNames = new Map();
    const display = new Intl.DisplayNames(['en'], { type: 'region' });
    for (const code of KNOWN_CODES) {
      const english = display.of(code);
      if (english !== undefined) countryNames.set(english.toLowerCase(), code);
    }
    for (const [alias, code] of [
      ['usa', 'US'],
      ['united states of america', 'US'],
      ['us', 'US'],
      ['uk', 'GB'],
      ['great britain', 'GB'],
      ['england', 'GB'],
      ['scotland', 'GB'],
      ['wales', 'GB'],
    ] as const) {
      countryNames.set(alias, code);
    }
  }
  return countryNames.get(name.trim().toLowerCase());
}

/** Zone names found valid (invalid ones are not kept), up to {@link MAX_REMEMBERED_ZONES}. */
const VALID_ZONES = new Set<string>();
const MAX_REMEMBERED_ZONES = 1024;

/** Whether `zone` is an IANA time zone this runtime knows (`Europe/Berlin`, `UTC`). */
export function isValidTimeZone(zone: string): boolean {
  if (typeof zone !== 'string' || zone.length === 0) return false;
  if (VALID_ZONES.has(zone)) return true;
  // luxon builds an Intl.DateTimeFormat to find out, every time: the check was most of a send's cost.
  if (!IANAZone.isValidZone(zone)) return false;
  // Intl takes any letter case ("europe/berlin"), so the names seen are bounded by a cap, not by the IANA list.
  if (VALID_ZONES.size >= MAX_REMEMBERED_ZONES) VALID_ZONES.clear();
  VALID_ZONES.add(zone);
  return true;
}

/**
 * Returns `zone` when it is a known IANA time zone, else throws a `ConfigurationError`
 * (`invalid_configuration`) whose issue names `field`.
 *
 * @param zone - the zone to check, such as `America/New_York`.
 * @param field - the option the zone came from, such as `timeZone` or `trigger.time.timeZone`.
 */
export function assertTimeZone(zone: string, field: string): string {
  if (isValidTimeZone(zone)) return zone;
  const reason = `${JSON.stringify(String(zone))} is not a known IANA time zone (such as "Europe/Berlin")`;
  throw new ConfigurationError('invalid_configuration', {
    issues: [{ field, reason }],
    message: `${field}: ${reason}`,
  });
}

/** The parts of a lead {@link recipientTimeZone} reads (a `Lead` has them). */
export interface RecipientLocations {
  /** Where the person is based. */
  readonly location?: LeadLocation;
  /** The person's company and its headquarters. */
  readonly company?: {
    /** The company headquarters. */
    readonly location?: LeadLocation;
  };
}

/** Where {@link recipientTimeZone} found the zone. */
export type TimeZoneSource = 'lead.location' | 'company.location' | 'campaign';

/** The answer of {@link recipientTimeZone}. */
export interface RecipientTimeZone {
  /** The IANA zone to schedule the recipient's steps in. */
  readonly zone: string;
  /** Whether it came from the lead's own location, the company's, or the campaign's default. */
  readonly source: TimeZoneSource;
}

/**
 * The zone of one location by the tables above: the region's zone for a multi-zone country, the country's zone
 * for a single-zone one, or `undefined` when the location says too little (a US lead with no state).
 *
 * @param location - a lead or company location; `countryCode` is preferred, else the English `country` name.
 */
export function timeZoneOfLocation(location: LeadLocation | undefined): string | undefined {
  if (location === undefined) return undefined;
  const code =
    location.countryCode?.toUpperCase() ??
    (location.country === undefined ? undefined : countryCodeOfName(location.country));
  if (code === undefined) return undefined;
  const single = COUNTRY_TIME_ZONES[code];
  if (single !== undefined) return single;
  const regions = REGION_TIME_ZONES[code];
  if (regions === undefined || location.region === undefined) return undefined;
  const region = location.region.trim();
  const byCode = regions[region.toUpperCase()];
  if (byCode !== undefined) return byCode;
  const abbreviation = REGION_NAMES[code]?.[region.toLowerCase()];
  return abbreviation === undefined ? undefined : regions[abbreviation];
}

/**
 * The recipient's time zone: from the lead's own location, else the company's location, else the campaign's zone.
 * Throws a `ConfigurationError` naming `field` when the campaign's zone is not a known IANA zone (checked
 * even when the lead's location decides, so a bad campaign zone fails at once, not on the first lead without a
 * location).
 *
 * @param lead - the lead (only `location` and `company.location` are read).
 * @param campaignTimeZone - the campaign's zone, such as `America/New_York`.
 * @param field - the option name to put in the error, `timeZone` by default.
 */
export function recipientTimeZone(
  lead: RecipientLocations | undefined,
  campaignTimeZone: string,
  field = 'timeZone',
): RecipientTimeZone {
  assertTimeZone(campaignTimeZone, field);
  const own = timeZoneOfLocation(lead?.location);
  if (own !== undefined) return { zone: own, source: 'lead.location' };
  const company = timeZoneOfLocation(lead?.company?.location);
  if (company !== undefined) return { zone: company, source: 'company.location' };
  return { zone: campaignTimeZone, source: 'campaign' };
}
