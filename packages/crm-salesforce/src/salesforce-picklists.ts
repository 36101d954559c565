/**
 * Enriched values (LinkedIn-style industries from Apollo, Clearbit and
 * others) and the Salesforce picklist values they stand for, in order of
 * preference: the first one the org's picklist has is used. Keys are
 * compared after {@link normalizePicklistText} (lower case, `&` as `and`,
 * punctuation as spaces). The README lists this table; keep them in step.
 */
const DEFAULT_SYNONYMS: Readonly<Record<string, readonly string[]>> = {
  internet: ['Technology'],
  'computer software': ['Technology'],
  software: ['Technology'],
  'software development': ['Technology'],
  saas: ['Technology'],
  'information technology and services': ['Technology'],
  'information technology': ['Technology'],
  'it services and it consulting': ['Technology', 'Consulting'],
  'computer and network security': ['Technology'],
  'computer network security': ['Technology'],
  'computer hardware': ['Technology', 'Electronics'],
  semiconductors: ['Electronics', 'Technology'],
  'management consulting': ['Consulting'],
  'business consulting and services': ['Consulting'],
  'professional services': ['Consulting'],
  'financial services': ['Finance', 'Banking'],
  'investment management': ['Finance'],
  'investment banking': ['Banking', 'Finance'],
  'capital markets': ['Finance'],
  'venture capital and private equity': ['Finance'],
  accounting: ['Finance'],
  'marketing and advertising': ['Media'],
  'advertising services': ['Media'],
  'online media': ['Media'],
  'broadcast media': ['Media'],
  publishing: ['Media'],
  'media production': ['Media'],
  'hospital and health care': ['Healthcare'],
  'hospitals and health care': ['Healthcare'],
  'health care': ['Healthcare'],
  'medical devices': ['Healthcare'],
  'medical practice': ['Healthcare'],
  pharmaceuticals: ['Biotechnology', 'Healthcare'],
  'education management': ['Education'],
  'higher education': ['Education'],
  'primary secondary education': ['Education'],
  'e learning': ['Education'],
  'logistics and supply chain': ['Transportation', 'Shipping'],
  'transportation trucking railroad': ['Transportation'],
  'airlines aviation': ['Transportation'],
  'package freight delivery': ['Shipping', 'Transportation'],
  maritime: ['Shipping'],
  wireless: ['Telecommunications'],
  'oil and energy': ['Energy'],
  'renewables and environment': ['Energy', 'Environmental'],
  'environmental services': ['Environmental'],
  'nonprofit organization management': ['Not For Profit'],
  'non profit organizations': ['Not For Profit'],
  nonprofit: ['Not For Profit'],
  'government administration': ['Government'],
  'food and beverages': ['Food & Beverage'],
  'food production': ['Food & Beverage'],
  restaurants: ['Food & Beverage', 'Hospitality'],
  'leisure travel and tourism': ['Hospitality'],
  'apparel and fashion': ['Apparel'],
  textiles: ['Apparel'],
  'mechanical or industrial engineering': ['Engineering'],
  'civil engineering': ['Engineering'],
  'electrical electronic manufacturing': ['Electronics', 'Manufacturing'],
  'consumer electronics': ['Electronics'],
  'building materials': ['Construction'],
  farming: ['Agriculture'],
  sports: ['Recreation'],
  'recreational facilities and services': ['Recreation'],
  'industrial automation': ['Machinery'],
  automotive: ['Manufacturing'],
  'consumer goods': ['Retail'],
};

/** How picklist text is compared: lower case, `&` read as `and`, anything but letters and digits a single space. */
function normalizePicklistText(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** How an enriched value was matched to a picklist value. */
export type PicklistMatch = {
  /** The picklist value to send, in the org's own spelling. */
  readonly value: string;
  /** `exact`, `spelling` (case, `&`/`and`, punctuation) or `synonym` (the table). */
  readonly via: 'exact' | 'spelling' | 'synonym';
};

/** Synonyms by normalised enriched value: the defaults, with `extra` taking precedence. */
export type PicklistSynonyms = ReadonlyMap<string, readonly string[]>;

/** The synonym table in use: {@link DEFAULT_SYNONYMS} overlaid with the adapter's `picklistSynonyms`. */
export function buildPicklistSynonyms(
  extra: Readonly<Record<string, string | readonly string[]>> = {},
): PicklistSynonyms {
  const table = new Map<string, readonly string[]>();
  for (const [from, to] of Object.entries(DEFAULT_SYNONYMS)) table.set(normalizePicklistText(from), to);
  for (const [from, to] of Object.entries(extra)) {
    table.set(normalizePicklistText(from), typeof to === 'string' ? [to] : to);
  }
  return table;
}

/**
 * Map `text` onto one of `values` (a picklist's active values): the same
 * text; else the same after {@link normalizePicklistText}; else the first
 * synonym the picklist has. `undefined` when nothing fits.
 */
export function matchPicklistValue(
  text: string,
  values: readonly string[],
  synonyms: PicklistSynonyms,
): PicklistMatch | undefined {
  if (values.includes(text)) return { value: text, via: 'exact' };
  const byNormal = new Map<string, string>();
  for (const value of values) {
    const key = normalizePicklistText(value);
    if (!byNormal.has(key)) byNormal.set(key, value);
  }
  const normal = normalizePicklistText(text);
  const spelled = byNormal.get(normal);
  if (spelled !== undefined) return { value: spelled, via: 'spelling' };
  for (const candidate of synonyms.get(normal) ?? []) {
    const value = byNormal.get(normalizePicklistText(candidate));
    if (value !== undefined) return { value, via: 'synonym' };
  }
  return undefined;
}
