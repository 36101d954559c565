/**
 * Generates `leads.csv`, the demo input: about 300 rows drawn from the
 * testkit's ground truth with the seed `leadpipe enrich --emulate` serves
 * (so most people are known to the emulated providers), made messy the way
 * real exports are: bad emails, duplicates that differ in case and spaces,
 * missing names, free-mail addresses, people no provider knows.
 *
 * Deterministic: the same code always writes the same file (a test checks
 * the committed file against it). Run: pnpm exec tsx --conditions=@leadpipe/source examples/data/generate.ts
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EMULATE_SEED } from '@leadpipe/cli';
import { safeCreateLead } from '@leadpipe/core';
import { createGroundTruth, seededRandom, type TruthPerson } from '@leadpipe/testkit';

/** The CSV's header, as a CRM or spreadsheet export would have it. */
export const DEMO_HEADER = [
  'Email',
  'First Name',
  'Last Name',
  'Company',
  'Website',
  'Job Title',
  'Phone',
  'Country',
];

/** How many rows of each kind the demo file has. */
export const DEMO_MIX = {
  /** People from the ground truth, some with missing names or other gaps. */
  known: 258,
  /** Emails that are not emails. */
  badEmails: 14,
  /** Earlier rows again, with the email in other case and padded with spaces. */
  duplicates: 14,
  /** Free-mail addresses (gmail.com, outlook.com...): no company to find. */
  freeMail: 9,
  /** Work addresses no provider knows. */
  unknown: 5,
} as const;

const FREE_MAIL = ['gmail.com', 'outlook.com', 'yahoo.com', 'hotmail.com', 'icloud.com'];

function cell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** Build the demo CSV text. */
export function generateDemoCsv(): string {
  const truth = createGroundTruth({ seed: EMULATE_SEED });
  const random = seededRandom(20_261_125);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (share: number): boolean => random() < share;
  const rows: string[][] = [];

  const used = new Set<string>();
  const people: TruthPerson[] = [];
  while (people.length < DEMO_MIX.known + DEMO_MIX.badEmails + DEMO_MIX.freeMail) {
    const person = pick(truth.people);
    if (used.has(person.email)) continue;
    used.add(person.email);
    people.push(person);
  }

  function knownRow(person: TruthPerson): string[] {
    const company = truth.companyOf(person);
    const missingNames = chance(0.08);
    return [
      person.email,
      missingNames ? '' : person.firstName,
      missingNames || chance(0.03) ? '' : person.lastName,
      chance(0.7) ? company.name : '',
      chance(0.35) ? pick([company.domain, `https://www.${company.domain}`, `www.${company.domain}/`]) : '',
      chance(0.3) ? person.title : '',
      // Some generated numbers are not valid for their country: only keep the ones a CRM would take.
      chance(0.15) && safeCreateLead({ phone: person.phone }).success ? person.phone : '',
      chance(0.5) ? person.location.country : '',
    ];
  }

  for (const person of people.slice(0, DEMO_MIX.known)) rows.push(knownRow(person));

  const breakEmail = [
    (email: string) => email.replace('@', ' at '),
    (email: string) => email.replace('@', '@@'),
    (email: string) => email.split('@')[0] as string,
    (email: string) => email.replace(/\.[a-z]+$/, ''),
    (email: string) => `${email}>`,
    (email: string) => email.replace('@', ',@'),
  ];
  for (const [index, person] of people.slice(DEMO_MIX.known, DEMO_MIX.known + DEMO_MIX.badEmails).entries()) {
    const row = knownRow(person);
    row[0] = (breakEmail[index % breakEmail.length] as (email: string) => string)(person.email);
    rows.push(row);
  }

  for (const person of people.slice(DEMO_MIX.known + DEMO_MIX.badEmails)) {
    const local = `${person.firstName}.${person.lastName}${Math.floor(random() * 90 + 10)}`
      .toLowerCase()
      .replace(/[^a-z0-9.]/g, '');
    rows.push([
      `${local}@${pick(FREE_MAIL)}`,
      person.firstName,
      person.lastName,
      '',
      '',
      '',
      '',
      chance(0.5) ? person.location.country : '',
    ]);
  }

  for (let index = 0; index < DEMO_MIX.unknown; index++) {
    const company = pick(truth.companies);
    const first = pick(['Alex', 'Sam', 'Robin', 'Jordan', 'Casey', 'Morgan']);
    const last = pick(['Okafor', 'Lindqvist', 'Tanaka', 'Moreau', 'Silva', 'Novak']);
    const email = `${first}.${last}.${index + 1}@${company.domain}`.toLowerCase();
    rows.push([email, first, last, company.name, '', '', '', '']);
  }

  const originals = rows.filter((row) => truth.personByEmail(row[0] as string) !== undefined);
  for (let index = 0; index < DEMO_MIX.duplicates; index++) {
    const copy = [...(pick(originals) as string[])];
    const email = copy[0] as string;
    const variant = index % 3;
    copy[0] =
      variant === 0
        ? ` ${email.toUpperCase()} `
        : variant === 1
          ? `${(email[0] as string).toUpperCase()}${email.slice(1)}  `
          : `\t${email.replace(/^[a-z]+/, (name) => name.charAt(0).toUpperCase() + name.slice(1))}`;
    rows.push(copy);
  }

  // Shuffle (Fisher-Yates, seeded) so the messy rows are spread through the file.
  for (let index = rows.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [rows[index], rows[other]] = [rows[other] as string[], rows[index] as string[]];
  }
  return `${[DEMO_HEADER, ...rows].map((row) => row.map(cell).join(',')).join('\n')}\n`;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const target = fileURLToPath(new URL('leads.csv', import.meta.url));
  writeFileSync(target, generateDemoCsv());
  process.stdout.write(`wrote ${target}\n`);
}
