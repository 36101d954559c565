import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/contracts/errors.js';
import { leadSchema } from '../src/contracts/lead.js';
import { createLead, type LeadInput, leadInputSchema, safeCreateLead } from '../src/lead/index.js';

/** mulberry32: a small seeded PRNG, so every run throws the same junk. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FRAGMENTS = [
  'jane@acme.com',
  'JANE@GMAIL.COM',
  '@',
  '.',
  ',',
  '-',
  '+',
  '$',
  '€',
  'https://',
  'www.',
  'linkedin.com/in/',
  'linkedin.com/company/',
  '%E0%A4%A',
  '%',
  'xn--',
  '51-200',
  '10001+',
  '1,200',
  '1.2k',
  '$12.5M',
  '3B',
  '+1 415 555 0100',
  '(415) 555-0100',
  'ext. 9',
  'Dr.',
  'Jr.',
  'van',
  'Berlin, Germany',
  'VP',
  'Chief',
  'Head of',
  '__proto__',
  'constructor',
  'toString',
  '\u0000',
  '\u202e',
  '\ud800',
  '🦄',
  'ß',
  'İ',
  ' ',
  '\t\n',
  '0',
  '-1',
  'NaN',
  'Infinity',
  '2026-01-01T00:00:00Z',
  '019b7ca9-8c88-764e-8e19-6c49a3b9b6cf',
  'localhost',
  '127.0.0.1',
  '[::1]',
];

const KEYS = [
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
  'id',
  'createdAt',
  'junk',
  '__proto__',
];
const COMPANY_KEYS = [
  'name',
  'domain',
  'website',
  'industry',
  'headcount',
  'headcountRange',
  'annualRevenue',
  'location',
  'technologies',
  'extra',
];
const LOCATION_KEYS = ['city', 'region', 'country', 'countryCode', 'street'];

function junk(random: () => number, depth: number): unknown {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const roll = random();
  if (roll < 0.3) {
    const count = 1 + Math.floor(random() * 4);
    return Array.from({ length: count }, () => pick(FRAGMENTS)).join(random() < 0.5 ? '' : ' ');
  }
  if (roll < 0.4) {
    return String.fromCharCode(
      ...Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 0xffff)),
    );
  }
  if (roll < 0.5) {
    return pick([
      0,
      -0,
      -1,
      1.5,
      4155550100,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.MAX_SAFE_INTEGER * 10,
      1e308,
      -1e-9,
    ]);
  }
  if (roll < 0.55) return pick([null, undefined, true, false]);
  if (roll < 0.6) {
    return pick<unknown>([
      new Date('invalid'),
      new Date(-8.64e15),
      new Date(8.64e15),
      new Date(0),
      () => 'x',
      Symbol('s'),
      10n,
      new Map([['a', 1]]),
      /regex/,
      Object.create(null),
      new (class Custom {
        field = 1;
      })(),
    ]);
  }
  if (roll < 0.62) return pick(FRAGMENTS).repeat(1_000 + Math.floor(random() * 2_000));
  if (depth > 2) return pick(FRAGMENTS);
  if (roll < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => junk(random, depth + 1));
  const keys = roll < 0.85 ? LOCATION_KEYS : roll < 0.95 ? COMPANY_KEYS : KEYS;
  const object: Record<string, unknown> = {};
  for (const key of keys) if (random() < 0.5) object[key] = junk(random, depth + 1);
  return object;
}

/** Plausible values, so that a good share of inputs get past validation into the deeper code. */
const PLAUSIBLE: Record<string, readonly unknown[]> = {
  email: ['jane@acme.com', ' JANE@Acme.io ', 'j@gmail.com', 'x@bücher.de'],
  firstName: ['Jane', ' Ana María '],
  lastName: ['Doe', 'van der Berg'],
  fullName: ['Jane Doe', 'Doe, Jane', 'Dr. Jane Doe Jr.', 'Madonna'],
  name: ['Jane Doe'],
  linkedinUrl: ['linkedin.com/in/jane', 'https://www.linkedin.com/company/acme/'],
  phone: ['+1 415 555 0100', '+44 20 7946 0958', '+49 30 1234567'],
  title: ['CTO', '  VP  Sales '],
  seniority: ['VP', 'C-Level', 'Sr.', 'Head of'],
  department: ['Engineering'],
  location: ['Berlin, Germany', { city: 'Paris', countryCode: 'fr' }, 'Austin, TX'],
  website: ['https://www.acme.com/about', 'acme.io'],
  companyName: ['Acme'],
  companyDomain: ['acme.com'],
  company: [
    { headcount: '1,200', annualRevenue: '$12.5M', technologies: 'React, Node' },
    { domain: 'www.acme.com', headcount: '51-200', location: 'London, United Kingdom' },
    { name: 'Acme', industry: 'Software', headcount: 12 },
  ],
  custom: [{ a: 1 }, {}],
  id: ['019b7ca9-8c88-764e-8e19-6c49a3b9b6cf'],
  createdAt: ['2025-05-05T05:05:05Z', new Date(0)],
};

function randomInput(random: () => number): unknown {
  if (random() < 0.05) return junk(random, 0);
  const input: Record<string, unknown> = {};
  for (const key of KEYS) {
    if (random() >= 0.4) continue;
    const plausible = PLAUSIBLE[key];
    const value =
      plausible !== undefined && random() < 0.85
        ? plausible[Math.floor(random() * plausible.length)]
        : junk(random, 1);
    Object.defineProperty(input, key, { value, enumerable: true });
  }
  return input;
}

describe('createLead fuzz', () => {
  it('only ever returns a valid lead or a ValidationError, for 3000 random inputs', () => {
    const random = seeded(20261125);
    let accepted = 0;
    let rejected = 0;
    // Problems are collected and checked once: calling expect() per round would dominate the run time.
    const problems: string[] = [];
    for (let round = 0; round < 3000; round += 1) {
      const input = randomInput(random);
      const result = safeCreateLead(input, { now: () => new Date('2026-01-01T00:00:00Z') });
      if (result.success) {
        accepted += 1;
        if (!leadSchema.safeParse(result.lead).success)
          problems.push(`round ${round}: lead fails leadSchema`);
      } else {
        rejected += 1;
        if (!ValidationError.isInstance(result.error)) problems.push(`round ${round}: not a ValidationError`);
        if (result.error.issues.length === 0) problems.push(`round ${round}: no issues`);
        for (const issue of result.error.issues) {
          if (typeof issue.field !== 'string' || issue.field === '')
            problems.push(`round ${round}: unnamed field`);
          if (/could not be read/.test(issue.reason))
            problems.push(`round ${round}: unexpected error ${issue.field}`);
          // Reasons describe the problem; they never echo huge input back.
          if (issue.reason.length >= 300) problems.push(`round ${round}: reason too long on ${issue.field}`);
        }
      }
    }
    expect(problems).toEqual([]);
    // The generator must exercise both outcomes, or the test proves nothing.
    expect(accepted).toBeGreaterThan(300);
    expect(rejected).toBeGreaterThan(300);
  });

  it('createLead throws nothing but ValidationError', () => {
    const random = seeded(7);
    for (let round = 0; round < 500; round += 1) {
      const input = randomInput(random);
      try {
        createLead(input as LeadInput);
      } catch (error) {
        if (!ValidationError.isInstance(error)) throw error;
      }
    }
  });

  it('turns hostile objects and a throwing clock into a ValidationError on input', () => {
    const getter = {
      get email(): string {
        throw new Error('boom');
      },
    };
    Object.defineProperty(getter, 'email', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new TypeError('no keys');
        },
      },
    );
    const clock = () => {
      throw new Error('clock broke');
    };
    for (const [input, options] of [
      [getter, undefined],
      [proxy, undefined],
      [{ email: 'jane@acme.com' }, { now: clock }],
    ] as const) {
      const result = safeCreateLead(input, options);
      expect(result.success).toBe(false);
      if (!result.success) {
        expect(ValidationError.isInstance(result.error)).toBe(true);
        expect(result.error.issues).toEqual([
          { field: 'input', reason: expect.stringContaining('could not be read') },
        ]);
      }
    }
  });

  it('accepts what leadInputSchema accepts, or names a field when normalization refuses it', () => {
    const random = seeded(99);
    for (let round = 0; round < 500; round += 1) {
      const input = randomInput(random);
      if (!leadInputSchema.safeParse(input).success) continue;
      const result = safeCreateLead(input);
      if (!result.success && result.error.issues.some((issue) => issue.field === 'input')) {
        throw new Error(`round ${round}: a schema-valid input was refused as a whole`);
      }
    }
  });
});
