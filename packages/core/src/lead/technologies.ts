import { invalid, normalizeShortText } from './issues.js';

const TECHNOLOGIES_FIELD = 'company.technologies';
const MAX_TECHNOLOGIES = 1000;

/**
 * Normalize a technology list: an array of names or one string separated by
 * commas or semicolons (`"Salesforce, HubSpot; AWS"`). Names are trimmed,
 * blank entries skipped and duplicates (ignoring case) removed, keeping the
 * first spelling. Throws `ValidationError` (field `company.technologies`) for
 * non-string entries, names over 500 characters or more than 1000 entries.
 *
 * @example normalizeTechnologies('Salesforce, hubspot,, HubSpot') // ['Salesforce', 'hubspot']
 */
export function normalizeTechnologies(value: readonly string[] | string): string[] {
  let items: readonly unknown[];
  if (typeof value === 'string') items = value.split(/[,;]/);
  else if (Array.isArray(value)) items = value;
  else return invalid(TECHNOLOGIES_FIELD, 'must be an array of strings or a comma-separated string');
  if (items.length > MAX_TECHNOLOGIES)
    invalid(TECHNOLOGIES_FIELD, `must have at most ${MAX_TECHNOLOGIES} entries`);
  const seen = new Set<string>();
  const out: string[] = [];
  items.forEach((item, index) => {
    if (typeof item === 'string' && item.trim() === '') return;
    const name = normalizeShortText(item, `${TECHNOLOGIES_FIELD}.${index}`);
    const key = name.toLowerCase();
    if (seen.has(key)) return;
    seen.add(key);
    out.push(name);
  });
  return out;
}
