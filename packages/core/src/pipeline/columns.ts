import { ConfigurationError, type ValidationIssue } from '../contracts/errors.js';

/**
 * Where an input column goes in a `LeadInput` (what `createLead` reads): a
 * path such as `email`, `company.name`, `company.location.city`, or
 * `custom.<name>` for host-defined values. `null` drops the column from the
 * lead (it is still kept in the output).
 */
export type ColumnTarget = string | null;

/** Explicit column mapping: input header (exactly as in the input) to {@link ColumnTarget}. */
export type ColumnMapping = Readonly<Record<string, ColumnTarget>>;

const PERSON_TARGETS = [
  'id',
  'createdAt',
  'email',
  'firstName',
  'lastName',
  'fullName',
  'name',
  'linkedinUrl',
  'phone',
  'title',
  'seniority',
  'department',
  'location',
  'website',
  'companyName',
  'companyDomain',
  'company',
  'custom',
] as const;
const LOCATION_PARTS = ['city', 'region', 'country', 'countryCode'] as const;
const COMPANY_TARGETS = [
  'name',
  'domain',
  'website',
  'industry',
  'headcount',
  'headcountRange',
  'annualRevenue',
  'location',
  'technologies',
] as const;

const VALID_TARGETS: ReadonlySet<string> = new Set([
  ...PERSON_TARGETS,
  ...LOCATION_PARTS.map((part) => `location.${part}`),
  ...COMPANY_TARGETS.map((part) => `company.${part}`),
  ...LOCATION_PARTS.map((part) => `company.location.${part}`),
]);

/** Whether `target` is a place a column can go (see {@link ColumnTarget}). */
export function isColumnTarget(target: unknown): target is ColumnTarget {
  return (
    target === null ||
    (typeof target === 'string' && (VALID_TARGETS.has(target) || /^custom\.[^.\s][^.]*$/.test(target)))
  );
}

/** Common header spellings, compared lower-cased with everything but letters and digits removed. */
const RECOGNISED: Readonly<Record<string, readonly string[]>> = {
  email: [
    'email',
    'emailaddress',
    'mail',
    'workemail',
    'businessemail',
    'contactemail',
    'personemail',
    'primaryemail',
  ],
  firstName: ['firstname', 'first', 'givenname', 'fname', 'forename'],
  lastName: ['lastname', 'last', 'surname', 'familyname', 'lname'],
  fullName: ['name', 'fullname', 'contactname', 'personname', 'contact'],
  title: ['title', 'jobtitle', 'position', 'role', 'designation', 'jobrole'],
  phone: [
    'phone',
    'phonenumber',
    'mobile',
    'mobilephone',
    'mobilenumber',
    'telephone',
    'tel',
    'workphone',
    'directphone',
    'cell',
  ],
  linkedinUrl: [
    'linkedin',
    'linkedinurl',
    'linkedinprofile',
    'linkedinprofileurl',
    'personlinkedinurl',
    'linkedinlink',
  ],
  seniority: ['seniority', 'senioritylevel'],
  department: ['department', 'dept', 'jobfunction', 'function'],
  location: ['location', 'personlocation'],
  'location.city': ['city', 'town'],
  'location.region': ['state', 'region', 'province', 'stateprovince', 'county'],
  'location.country': ['country', 'countryname'],
  'location.countryCode': ['countrycode', 'countryiso', 'iso2'],
  'company.name': [
    'company',
    'companyname',
    'organization',
    'organisation',
    'organizationname',
    'organisationname',
    'org',
    'employer',
    'account',
    'accountname',
    'business',
  ],
  'company.domain': ['domain', 'companydomain', 'organizationdomain'],
  'company.website': [
    'website',
    'companywebsite',
    'url',
    'web',
    'homepage',
    'site',
    'websiteurl',
    'companyurl',
  ],
  'company.industry': ['industry', 'companyindustry', 'sector', 'vertical'],
  'company.headcount': [
    'employees',
    'headcount',
    'employeecount',
    'numberofemployees',
    'noofemployees',
    'numemployees',
    'companysize',
    'size',
    'staff',
  ],
  'company.headcountRange': ['headcountrange', 'employeerange', 'sizerange'],
  'company.annualRevenue': ['revenue', 'annualrevenue', 'companyrevenue'],
  'company.technologies': ['technologies', 'techstack', 'technology', 'tech'],
  'company.location': ['companylocation', 'headquarters', 'hq', 'hqlocation'],
  'company.location.city': ['companycity', 'hqcity'],
  'company.location.country': ['companycountry', 'hqcountry'],
};

const RECOGNISED_BY_HEADER: ReadonlyMap<string, string> = new Map(
  Object.entries(RECOGNISED).flatMap(([target, spellings]) =>
    spellings.map((spelling) => [spelling, target] as const),
  ),
);

function squash(header: string): string {
  return header
    .normalize('NFKD')
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
}

/**
 * The target of a common header (`Email`, `E-mail`, `First Name`, `Company`,
 * `Website`, `Job Title`, `# Employees`...), or `undefined` when the header
 * is not recognised. Case, spaces and punctuation do not matter.
 */
export function recogniseColumn(header: string): string | undefined {
  return RECOGNISED_BY_HEADER.get(squash(header));
}

/** Options of the column resolver: explicit header targets, and what happens to a column that is neither mapped nor recognised. */
export interface ColumnResolverOptions {
  /** Explicit targets, by header; they win over recognition. */
  readonly columns?: ColumnMapping;
  /**
   * What to do with a column that is neither mapped nor recognised:
   * `custom` (default) keeps it as `custom.<header>` so CRM mappings can use
   * it; `ignore` leaves it out of the lead (it stays in the output).
   */
  readonly unmapped?: 'custom' | 'ignore';
}

/** Turns the values of one input row into a `LeadInput` for `createLead`. */
export interface ColumnResolver {
  /** Where `header` goes (`null`: nowhere). */
  targetOf(header: string): ColumnTarget;
  /**
   * The `LeadInput` of a row, or the issues that stop it from being built
   * (two columns giving different values for one field).
   */
  toLeadInput(values: Readonly<Record<string, unknown>>):
    | {
        /** The row's non-blank values, nested by their targets (`{ company: { name } }`). */
        readonly input: Record<string, unknown>;
        /** Absent: the row's input was built. */
        readonly issues?: undefined;
      }
    | {
        /** Every conflict, named by the target path the columns disagree on. */
        readonly issues: ValidationIssue[];
      };
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
}

function sameValue(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (typeof left === 'string' && typeof right === 'string') return left.trim() === right.trim();
  return JSON.stringify(left) === JSON.stringify(right);
}

/**
 * Build the column resolver of a run. An explicit `columns` entry whose
 * target is not a place a lead value can go throws a `ConfigurationError`
 * naming `columns.<header>`.
 *
 * A header that is exactly a `LeadInput` key or path (`email`,
 * `company.domain`, `custom.plan`) goes there; otherwise a recognised header
 * goes to its field; otherwise see {@link ColumnResolverOptions.unmapped}.
 * Objects under `company`, `location` or `custom` (from NDJSON or in-memory
 * rows) are passed through as they are.
 */
export function createColumnResolver(options: ColumnResolverOptions = {}): ColumnResolver {
  const explicit = options.columns ?? {};
  const problems: string[] = [];
  for (const [header, target] of Object.entries(explicit)) {
    if (!isColumnTarget(target)) {
      problems.push(
        `columns.${header}: ${JSON.stringify(target)} is not a lead input path (such as "email", "company.name", "location.city" or "custom.<name>") or null`,
      );
    }
  }
  if (options.unmapped !== undefined && options.unmapped !== 'custom' && options.unmapped !== 'ignore') {
    problems.push('unmapped: must be "custom" or "ignore"');
  }
  if (problems.length > 0) {
    throw new ConfigurationError('invalid_configuration', { message: `columns: ${problems.join('; ')}` });
  }
  const unmapped = options.unmapped ?? 'custom';
  const targets = new Map<string, ColumnTarget>();

  function targetOf(header: string): ColumnTarget {
    const known = targets.get(header);
    if (known !== undefined) return known;
    let target: ColumnTarget;
    if (Object.hasOwn(explicit, header)) target = explicit[header] ?? null;
    else if (VALID_TARGETS.has(header) || /^custom\.[^.\s][^.]*$/.test(header)) target = header;
    else target = recogniseColumn(header) ?? (unmapped === 'custom' ? `custom.${header}` : null);
    targets.set(header, target);
    return target;
  }

  function toLeadInput(values: Readonly<Record<string, unknown>>): ReturnType<ColumnResolver['toLeadInput']> {
    // Objects without a prototype: a header such as `constructor` or `__proto__` is an ordinary key.
    const input: Record<string, unknown> = Object.create(null);
    const from = new Map<string, string>();
    const issues: ValidationIssue[] = [];
    for (const header of Object.keys(values)) {
      const value = values[header];
      if (isBlank(value)) continue;
      let target = targetOf(header);
      if (target === null) continue;
      // A plain `company` column holds the company's name; objects under it are passed through.
      if (target === 'company' && (typeof value !== 'object' || value === null)) target = 'company.name';
      const parts = target.startsWith('custom.') ? ['custom', target.slice(7)] : target.split('.');
      let node = input;
      for (let depth = 0; depth < parts.length - 1; depth++) {
        const part = parts[depth] as string;
        const next = Object.hasOwn(node, part) ? node[part] : undefined;
        if (next === undefined) {
          const created: Record<string, unknown> = Object.create(null);
          node[part] = created;
          node = created;
        } else if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
          // Copy objects handed in whole before writing into them, so the source row is never changed.
          const copy: Record<string, unknown> = Object.assign(Object.create(null), next);
          node[part] = copy;
          node = copy;
        } else {
          issues.push({
            field: target,
            reason: `column "${header}" conflicts with column "${from.get(parts.slice(0, depth + 1).join('.')) ?? '?'}"`,
          });
          node = Object.create(null);
          break;
        }
      }
      const leaf = parts[parts.length - 1] as string;
      const existing = Object.hasOwn(node, leaf) ? node[leaf] : undefined;
      if (existing !== undefined && !sameValue(existing, value)) {
        issues.push({
          field: target,
          reason: `columns "${from.get(target) ?? '?'}" and "${header}" give different values; keep one of them`,
        });
        continue;
      }
      node[leaf] = value;
      from.set(target, header);
    }
    return issues.length > 0 ? { issues } : { input };
  }

  return { targetOf, toLeadInput };
}

/** Targets that identify a lead on their own. */
const IDENTITY_TARGETS: ReadonlySet<string> = new Set([
  'email',
  'linkedinUrl',
  'company.domain',
  'companyDomain',
  'company.website',
  'website',
]);
const NAME_TARGETS: ReadonlySet<string> = new Set(['fullName', 'name']);
const COMPANY_NAME_TARGETS: ReadonlySet<string> = new Set(['company.name', 'companyName', 'company']);

/**
 * Whether a file's columns can identify a lead, before any row is read: one
 * column must go (by name, recognition or `options.columns`) to an email, a
 * LinkedIn URL, a company domain or website, or a name (full, or first and
 * last) together with a company name. Without one no provider can be asked
 * and every row would pass through unenriched, so a caller refuses the file.
 *
 * @returns `undefined` when the columns are usable; otherwise an issue on the
 * field `input` listing the columns found (a caller adds how to map one, such
 * as the CLI's `--map`).
 */
export function checkIdentityColumns(
  columns: readonly string[],
  options: ColumnResolverOptions = {},
): ValidationIssue | undefined {
  const resolver = createColumnResolver(options);
  const targets = new Set(columns.map((column) => resolver.targetOf(column)));
  const has = (set: ReadonlySet<string>) => [...targets].some((target) => target !== null && set.has(target));
  const named = has(NAME_TARGETS) || (targets.has('firstName') && targets.has('lastName'));
  if (has(IDENTITY_TARGETS) || (named && has(COMPANY_NAME_TARGETS))) return undefined;
  const found = columns.length === 0 ? 'none' : columns.map((column) => JSON.stringify(column)).join(', ');
  return {
    field: 'input',
    reason: `has no column a lead can be identified by (an email, a LinkedIn URL, a company domain or website, or a name with a company); columns found: ${found}`,
  };
}
