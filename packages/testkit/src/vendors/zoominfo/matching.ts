import type { LeadFieldPatch } from '@leadpipe/core/adapter-kit';
import type { GroundTruth, ProviderView, TruthCompany, TruthPerson } from '../../truth/index.js';
import { unitHash } from '../../truth/random.js';
import {
  companyRecord,
  contactAccuracyScore,
  contactRecord,
  type ZoomInfoRecord,
  zoominfoId,
} from './shapes.js';

/** Every contact `matchStatus` ZoomInfo documents. */
type ContactMatchStatus =
  | 'FULL_MATCH'
  | 'CONTACT_ONLY_MATCH'
  | 'COMPANY_ONLY_MATCH'
  | 'NON_MATCH_BY_REQUIRED_FIELDS'
  | 'NON_MATCH_BY_LAST_UPDATED_DATE'
  | 'NON_MATCH_BY_VALID_DATE'
  | 'NON_MATCH_BY_CONTACT_ACCURACY_MIN'
  | 'NO_MATCH'
  | 'OPT_OUT'
  | 'LIMIT_EXCEEDED'
  | 'INVALID_INPUT';

/** What one input matched, before record limits are applied. */
export interface MatchOutcome {
  /** The match status (never `LIMIT_EXCEEDED`: that is decided when the record is charged). */
  readonly status: ContactMatchStatus;
  /** The full record when matched. */
  readonly record?: ZoomInfoRecord;
  /** Key of the record for credits (`contact:<id>` / `company:<id>`). */
  readonly key?: string;
}

type Input = Record<string, unknown>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function text(input: Input, ...names: string[]): string | undefined {
  for (const name of names) {
    const value = input[name];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  }
  return undefined;
}

/** Lower-cased keys, as ZoomInfo echoes inputs. */
export function echoInput(input: Input): Input {
  return Object.fromEntries(
    Object.entries(input).map(([key, value]) => [
      key.toLowerCase(),
      typeof value === 'string' ? value.toLowerCase() : value,
    ]),
  );
}

/** The matcher over the ground truth, seen through ZoomInfo's coverage. */
export interface ZoomInfoMatcher {
  /** Match one `matchPersonInput` entry. */
  contact(input: unknown, requiredFields: readonly string[]): MatchOutcome;
  /** Match one `matchCompanyInput` entry. */
  company(input: unknown, requiredFields: readonly string[]): MatchOutcome;
}

/** Create the matcher. `optOutShare` of known people are opted out (GDPR/CCPA requests). */
export function createMatcher(
  truth: GroundTruth,
  view: ProviderView,
  seed: number,
  optOutShare: number,
): ZoomInfoMatcher {
  const byName = new Map(truth.companies.map((company) => [company.name.toLowerCase(), company]));
  const byId = new Map<number, TruthCompany>(
    truth.companies.map((company) => [zoominfoId(company.id), company]),
  );
  let peopleById: Map<number, TruthPerson> | undefined;
  const companyOf = (input: Input): TruthCompany | undefined => {
    const id = text(input, 'companyId', 'personCompanyId');
    if (id !== undefined) return byId.get(Number(id));
    const name = text(input, 'companyName', 'personCompanyName');
    if (name !== undefined) return byName.get(name.toLowerCase());
    const website = text(input, 'companyWebsite');
    if (website !== undefined) {
      return truth.companyByDomain(
        website
          .replace(/^https?:\/\//i, '')
          .replace(/^www\./i, '')
          .replace(/\/.*$/, ''),
      );
    }
    return undefined;
  };
  const missingRequired = (record: ZoomInfoRecord, required: readonly string[]) =>
    required.some((field) => {
      const value = record[field];
      return value === null || value === undefined || (Array.isArray(value) && value.length === 0);
    });
  return {
    contact(raw, requiredFields) {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { status: 'INVALID_INPUT' };
      const input = raw as Input;
      const email = text(input, 'emailAddress', 'personEmailAddress');
      const personId = text(input, 'personId');
      const url = text(input, 'externalURL', 'personExternalURL');
      const first = text(input, 'firstName', 'personFirstName');
      const last = text(input, 'lastName', 'personLastName');
      const full = text(input, 'fullName', 'personFullName');
      const company = companyOf(input);
      const companyGiven = text(input, 'companyId', 'companyName', 'personCompanyName') !== undefined;
      const named = (first !== undefined && last !== undefined) || full !== undefined;
      if (email === undefined && personId === undefined && url === undefined && !(named && companyGiven)) {
        return { status: 'INVALID_INPUT' };
      }
      if (email !== undefined && !EMAIL.test(email)) return { status: 'INVALID_INPUT' };
      for (const name of ['lastUpdatedDateAfter', 'validDateAfter']) {
        if (
          input[name] !== undefined &&
          !(typeof input[name] === 'string' && DATE.test(input[name] as string))
        )
          return { status: 'INVALID_INPUT' };
      }
      let person: TruthPerson | undefined;
      if (personId !== undefined) {
        peopleById ??= new Map(truth.people.map((item) => [zoominfoId(item.id), item]));
        person = peopleById.get(Number(personId));
      } else if (email !== undefined) person = truth.personByEmail(email);
      else if (url !== undefined) person = truth.personByLinkedin(url);
      else if (company !== undefined) {
        const [given, ...rest] = (full ?? '').split(/\s+/);
        person = truth.personByNameAndDomain(first ?? given ?? '', last ?? rest.join(' '), company.domain);
      }
      const fields: LeadFieldPatch | null = person === undefined ? null : view.person(person);
      if (person === undefined || fields === null) {
        const companyFields = company === undefined ? null : view.company(company);
        return { status: companyFields === null ? 'NO_MATCH' : 'COMPANY_ONLY_MATCH' };
      }
      if (optOutShare > 0 && unitHash(seed, `zoominfo|optout|${person.id}`) < optOutShare)
        return { status: 'OPT_OUT' };
      const record = contactRecord(person, truth.companyOf(person), fields);
      const min = Number(input.contactAccuracyScoreMin);
      if (Number.isFinite(min) && contactAccuracyScore(person) < min) {
        return { status: 'NON_MATCH_BY_CONTACT_ACCURACY_MIN' };
      }
      const after = (name: string, field: string) =>
        typeof input[name] === 'string' && String(record[field]) <= String(input[name]);
      if (after('lastUpdatedDateAfter', 'lastUpdatedDate'))
        return { status: 'NON_MATCH_BY_LAST_UPDATED_DATE' };
      if (after('validDateAfter', 'validDate')) return { status: 'NON_MATCH_BY_VALID_DATE' };
      if (missingRequired(record, requiredFields)) return { status: 'NON_MATCH_BY_REQUIRED_FIELDS' };
      const otherCompany = company !== undefined && company.id !== person.companyId;
      return {
        status: otherCompany ? 'CONTACT_ONLY_MATCH' : 'FULL_MATCH',
        record,
        key: `contact:${person.id}`,
      };
    },
    company(raw, requiredFields) {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { status: 'INVALID_INPUT' };
      const input = raw as Input;
      if (
        text(
          input,
          'companyId',
          'companyName',
          'companyWebsite',
          'companyTicker',
          'companyPhone',
          'ipAddress',
        ) === undefined
      ) {
        return { status: 'INVALID_INPUT' };
      }
      const company = companyOf(input);
      const fields = company === undefined ? null : view.company(company);
      if (company === undefined || fields === null) return { status: 'NO_MATCH' };
      const record = companyRecord(company, fields);
      if (missingRequired(record, requiredFields)) return { status: 'NO_MATCH' };
      return { status: 'FULL_MATCH', record, key: `company:${company.id}` };
    },
  };
}
