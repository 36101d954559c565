import { SENIORITY_LEVELS, type Seniority } from '../contracts/fields.js';
import { invalid } from './issues.js';

const SENIORITY_FIELD = 'seniority';

/** Exact phrases (after {@link seniorityKey}) and the level each names. */
const PHRASES: ReadonlyMap<string, Seniority> = new Map<string, Seniority>([
  ['owner', 'owner'],
  ['co owner', 'owner'],
  ['coowner', 'owner'],
  ['proprietor', 'owner'],
  ['business owner', 'owner'],
  ['founder', 'founder'],
  ['co founder', 'founder'],
  ['cofounder', 'founder'],
  ['founding partner', 'founder'],
  ['c suite', 'c_suite'],
  ['csuite', 'c_suite'],
  ['c level', 'c_suite'],
  ['clevel', 'c_suite'],
  ['cxo', 'c_suite'],
  ['executive', 'c_suite'],
  ['ceo', 'c_suite'],
  ['cto', 'c_suite'],
  ['cfo', 'c_suite'],
  ['coo', 'c_suite'],
  ['cmo', 'c_suite'],
  ['cio', 'c_suite'],
  ['cro', 'c_suite'],
  ['cpo', 'c_suite'],
  ['cso', 'c_suite'],
  ['ciso', 'c_suite'],
  ['cdo', 'c_suite'],
  ['president', 'c_suite'],
  ['partner', 'partner'],
  ['managing partner', 'partner'],
  ['senior partner', 'partner'],
  ['general partner', 'partner'],
  ['vp', 'vp'],
  ['svp', 'vp'],
  ['evp', 'vp'],
  ['avp', 'vp'],
  ['vice president', 'vp'],
  ['head', 'head'],
  ['head of', 'head'],
  ['director', 'director'],
  ['dir', 'director'],
  ['managing director', 'director'],
  ['senior director', 'director'],
  ['associate director', 'director'],
  ['manager', 'manager'],
  ['mgr', 'manager'],
  ['senior manager', 'manager'],
  ['team lead', 'manager'],
  ['team leader', 'manager'],
  ['management', 'manager'],
  ['senior', 'senior'],
  ['sr', 'senior'],
  ['snr', 'senior'],
  ['principal', 'senior'],
  ['staff', 'senior'],
  ['lead', 'senior'],
  ['experienced', 'senior'],
  ['entry', 'entry'],
  ['entry level', 'entry'],
  ['junior', 'entry'],
  ['jr', 'entry'],
  ['graduate', 'entry'],
  ['associate', 'entry'],
  ['intern', 'intern'],
  ['internship', 'intern'],
  ['trainee', 'intern'],
  ['apprentice', 'intern'],
  ['working student', 'intern'],
  ['werkstudent', 'intern'],
]);

/** Patterns for longer phrases ("Chief Revenue Officer", "Senior Vice President of Sales"). */
const PATTERNS: readonly (readonly [RegExp, Seniority])[] = [
  [/^(co )?founder\b/, 'founder'],
  [/^chief .*officer\b|^chief [a-z]+$/, 'c_suite'],
  [/^(senior |executive |assistant |associate |group |regional |area )?vice president\b/, 'vp'],
  [/^[sea]?vp\b/, 'vp'],
  [/^head of\b/, 'head'],
  [/^(senior |associate |executive |regional |group )?director\b/, 'director'],
];

function seniorityKey(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/\./g, '')
    .replace(/[-_/&,]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Map free seniority text to one of `SENIORITY_LEVELS`: `VP`, `Vice
 * President` and `SVP` give `vp`; `C-Level`, `CEO` and `Chief Executive
 * Officer` give `c_suite`; `Sr.` gives `senior`; `Head of` gives `head`; the
 * level names themselves (any case, `c-suite`) are accepted. Unknown text is
 * not guessed: it throws `ValidationError` (field `seniority`).
 *
 * @example normalizeSeniority('Vice President') // 'vp'
 */
export function normalizeSeniority(value: string): Seniority {
  if (typeof value !== 'string') invalid(SENIORITY_FIELD, 'must be a string');
  const key = seniorityKey(value);
  if (key === '') invalid(SENIORITY_FIELD, 'must not be blank');
  const asLevel = key.replace(/ /g, '_');
  if ((SENIORITY_LEVELS as readonly string[]).includes(asLevel)) return asLevel as Seniority;
  const phrase = PHRASES.get(key);
  if (phrase !== undefined) return phrase;
  if (key.length <= 200) {
    for (const [pattern, level] of PATTERNS) if (pattern.test(key)) return level;
  }
  return invalid(SENIORITY_FIELD, `is not a known seniority; use one of ${SENIORITY_LEVELS.join(', ')}`);
}
