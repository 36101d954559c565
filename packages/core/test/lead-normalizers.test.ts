import { describe, expect, it } from 'vitest';
import { ValidationError } from '../src/contracts/errors.js';
import {
  countryCodeFromName,
  domainFromEmail,
  domainFromUrl,
  headcountToRange,
  isFreeMailDomain,
  joinName,
  normalizeCountryCode,
  normalizeDomain,
  normalizeEmail,
  normalizeHeadcountRange,
  normalizeLinkedinUrl,
  normalizeLocation,
  normalizePhone,
  normalizeSeniority,
  normalizeTechnologies,
  parseHeadcount,
  parseRevenue,
  splitFullName,
} from '../src/lead/index.js';

/** Call `run` and return the ValidationError it throws (fails the test when it does not throw one). */
function rejection(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    expect(ValidationError.isInstance(error)).toBe(true);
    return error as ValidationError;
  }
  throw new Error('expected a ValidationError, but nothing was thrown');
}

describe('normalizeEmail', () => {
  it.each([
    ['  Jane.Doe@ACME.com ', 'jane.doe@acme.com'],
    ['MAILTO:jane@acme.com', 'jane@acme.com'],
    ['jane+leads@Sub.Acme.CO.uk', 'jane+leads@sub.acme.co.uk'],
    ['jane@bücher.de', 'jane@xn--bcher-kva.de'],
    ['\tjane@acme.com\n', 'jane@acme.com'],
  ])('normalizes %j to %j', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  it.each([
    ['', 'must not be blank'],
    ['   ', 'must not be blank'],
    ['jane', 'must be an email address such as jane@acme.com'],
    ['@acme.com', 'must be an email address such as jane@acme.com'],
    ['jane@', 'must be an email address such as jane@acme.com'],
    ['jane@acme', 'must be an email address such as jane@acme.com'],
    ['jane doe@acme.com', 'must be an email address such as jane@acme.com'],
    ['jane..doe@acme.com', 'must be an email address such as jane@acme.com'],
    [`${'a'.repeat(300)}@acme.com`, 'must be at most 254 characters'],
  ])('rejects %j', (input, reason) => {
    expect(rejection(() => normalizeEmail(input)).issues).toEqual([{ field: 'email', reason }]);
  });

  it('rejects a non-string with a typed error', () => {
    expect(rejection(() => normalizeEmail(42 as unknown as string)).issues[0]?.reason).toBe(
      'must be a string',
    );
  });
});

describe('domainFromUrl and normalizeDomain', () => {
  it.each([
    ['https://www.Acme.com:8443/about?x=1#team', 'acme.com'],
    ['http://acme.com', 'acme.com'],
    ['acme.com/pricing', 'acme.com'],
    ['//www.acme.io/', 'acme.io'],
    ['WWW.ACME.CO.UK.', 'acme.co.uk'],
    ['https://shop.acme.com', 'shop.acme.com'],
    ['https://münchen.de/stadt', 'xn--mnchen-3ya.de'],
    ['https://пример.рф/', 'xn--e1afmkfd.xn--p1ai'],
    ['acme.com:8080', 'acme.com'],
    ['www.com', 'www.com'],
  ])('domainFromUrl(%j) is %j', (input, expected) => {
    expect(domainFromUrl(input)).toBe(expected);
  });

  it.each([
    ['', 'must not be blank'],
    ['ftp://acme.com', 'must be an http or https URL'],
    ['https://jane@acme.com', 'must not contain credentials or an email address'],
    ['https://127.0.0.1/admin', 'is an IP address, not a domain'],
    ['http://[::1]:3000', 'is an IP address, not a domain'],
    ['http://localhost:3000', 'must be a domain with a top-level domain, such as acme.com'],
    ['https://acme.123', 'must be a website URL or domain such as https://acme.com'],
    ['https://acme..com', 'must be a bare domain such as acme.com'],
    ['https://exa mple.com', 'must be a website URL or domain such as https://acme.com'],
  ])('domainFromUrl rejects %j', (input, reason) => {
    expect(rejection(() => domainFromUrl(input)).issues).toEqual([{ field: 'company.domain', reason }]);
  });

  it.each([
    [' Acme.COM ', 'acme.com'],
    ['www.acme.com.', 'acme.com'],
    ['https://acme.com/about', 'acme.com'],
    ['bücher.example', 'xn--bcher-kva.example'],
  ])('normalizeDomain(%j) is %j', (input, expected) => {
    expect(normalizeDomain(input)).toBe(expected);
  });

  it.each([
    ['jane@acme.com', 'is an email address, not a domain'],
    ['acme', 'must be a domain with a top-level domain, such as acme.com'],
    ['acme com', 'must not contain spaces'],
    ['-acme.com', 'must be a bare domain such as acme.com'],
    ['10.0.0.1', 'is an IP address, not a domain'],
    ['a'.repeat(3000), 'must be at most 2048 characters'],
  ])('normalizeDomain rejects %j', (input, reason) => {
    expect(rejection(() => normalizeDomain(input)).issues).toEqual([{ field: 'company.domain', reason }]);
  });

  it('domainFromEmail returns the normalized domain, free-mail included', () => {
    expect(domainFromEmail('Jane@Mail.ACME.com')).toBe('mail.acme.com');
    expect(domainFromEmail('jane@gmail.com')).toBe('gmail.com');
    expect(rejection(() => domainFromEmail('not-an-email')).issues[0]?.field).toBe('email');
  });
});

describe('isFreeMailDomain', () => {
  it.each([
    'gmail.com',
    'googlemail.com',
    'GMAIL.COM',
    'gmail.com.',
    'yahoo.com',
    'yahoo.co.uk',
    'yahoo.com.br',
    'hotmail.fr',
    'outlook.com',
    'outlook.de',
    'live.co.za',
    'aol.com',
    'icloud.com',
    'me.com',
    'mac.com',
    'proton.me',
    'protonmail.com',
    'gmx.de',
    'gmx.at',
    'web.de',
    'mail.ru',
    'yandex.ru',
    'yandex.com.tr',
    'qq.com',
    '163.com',
    'zoho.com',
    'fastmail.com',
    'hey.com',
  ])('%s is free-mail', (domain) => {
    expect(isFreeMailDomain(domain)).toBe(true);
  });

  it.each([
    'acme.com',
    'google.com',
    'microsoft.com',
    'live.acme.com',
    'yahooinc.com',
    'mail.acme.com',
    'gmail.acme.com',
    'notgmail.com',
    'orange.com',
    '',
  ])('%s is not free-mail', (domain) => {
    expect(isFreeMailDomain(domain)).toBe(false);
  });
});

describe('splitFullName and joinName', () => {
  it.each([
    ['Jane Doe', { firstName: 'Jane', lastName: 'Doe' }],
    ['  Jane    Doe  ', { firstName: 'Jane', lastName: 'Doe' }],
    ['Doe, Jane', { firstName: 'Jane', lastName: 'Doe' }],
    ['Doe, Jane Anne', { firstName: 'Jane', middleName: 'Anne', lastName: 'Doe' }],
    ['Jane Anne Marie Doe', { firstName: 'Jane', middleName: 'Anne Marie', lastName: 'Doe' }],
    ['Dr. Jane Doe', { firstName: 'Jane', lastName: 'Doe', honorific: 'Dr.' }],
    ['Prof. Dr. Jane Doe', { firstName: 'Jane', lastName: 'Doe', honorific: 'Prof. Dr.' }],
    ['John Smith Jr.', { firstName: 'John', lastName: 'Smith', suffix: 'Jr.' }],
    ['John Smith III', { firstName: 'John', lastName: 'Smith', suffix: 'III' }],
    ['John Smith, Jr., PhD', { firstName: 'John', lastName: 'Smith', suffix: 'Jr. PhD' }],
    [
      'Smith, Dr. John Adam Jr.',
      { firstName: 'John', middleName: 'Adam', lastName: 'Smith', honorific: 'Dr.', suffix: 'Jr.' },
    ],
    ['Smith Jr., John', { firstName: 'John', lastName: 'Smith', suffix: 'Jr.' }],
    ['Ludwig van Beethoven', { firstName: 'Ludwig', lastName: 'van Beethoven' }],
    ['Vincent van der Berg', { firstName: 'Vincent', lastName: 'van der Berg' }],
    ['Mary-Jane O’Neil', { firstName: 'Mary-Jane', lastName: 'O’Neil' }],
    ['Madonna', { firstName: 'Madonna' }],
    ['Mr. Smith', { lastName: 'Smith', honorific: 'Mr.' }],
    ['   ', {}],
  ])('splits %j', (input, expected) => {
    expect(splitFullName(input)).toEqual(expected);
  });

  it('joins parts with single spaces and skips blanks', () => {
    expect(joinName({ firstName: ' Jane ', lastName: 'Doe' })).toBe('Jane Doe');
    expect(joinName({ firstName: 'Jane' })).toBe('Jane');
    expect(
      joinName({ honorific: 'Dr.', firstName: 'Jane', middleName: 'A.', lastName: 'Doe', suffix: 'PhD' }),
    ).toBe('Dr. Jane A. Doe PhD');
    expect(joinName({ firstName: '  ', lastName: '' })).toBeUndefined();
  });

  it('round-trips a split name', () => {
    const name = 'Dr. Jane Anne van der Berg Jr.';
    expect(joinName(splitFullName(name))).toBe(name);
  });
});

describe('normalizePhone', () => {
  it.each([
    ['+1 (415) 555-0100', undefined, '+14155550100'],
    ['(415) 555-0100', 'US', '+14155550100'],
    ['030 1234567', 'DE', '+49301234567'],
    ['+49 30 1234567', 'US', '+49301234567'],
    ['020 7946 0958', 'GB', '+442079460958'],
    ['tel:+44-20-7946-0958', undefined, '+442079460958'],
    [4155550100, 'US', '+14155550100'],
  ] as const)('normalizes %j with country %j', (input, defaultCountry, expected) => {
    expect(normalizePhone(input, { defaultCountry })).toBe(expected);
  });

  it('refuses to guess the country of a national number', () => {
    expect(rejection(() => normalizePhone('(415) 555-0100')).issues).toEqual([
      { field: 'phone', reason: expect.stringContaining('no country is known') },
    ]);
  });

  it.each([
    ['abc', 'is not a phone number'],
    ['+1 415 555 0100 ext. 12', 'has an extension, which E.164 cannot hold'],
    ['+1 123 456 7890', 'is not a valid phone number'],
    ['12', 'is not a valid phone number in US'],
    ['', 'must not be blank'],
    ['9'.repeat(100), 'must be at most 64 characters'],
  ])('rejects %j', (input, reason) => {
    expect(rejection(() => normalizePhone(input, { defaultCountry: 'US' })).issues).toEqual([
      { field: 'phone', reason: expect.stringContaining(reason) },
    ]);
  });

  it('rejects numbers that are not positive integers and unknown countries', () => {
    expect(rejection(() => normalizePhone(1.5, { defaultCountry: 'US' })).issues[0]?.field).toBe('phone');
    expect(rejection(() => normalizePhone(-4155550100, { defaultCountry: 'US' })).issues[0]?.field).toBe(
      'phone',
    );
    expect(
      rejection(() => normalizePhone('4155550100', { defaultCountry: 'XX' as 'US' })).issues[0]?.field,
    ).toBe('defaultCountry');
  });
});

describe('normalizeLinkedinUrl', () => {
  it.each([
    ['https://www.linkedin.com/in/jane-doe', 'https://www.linkedin.com/in/jane-doe'],
    ['linkedin.com/in/Jane-Doe/', 'https://www.linkedin.com/in/jane-doe'],
    ['http://uk.linkedin.com/in/jane-doe?trk=public_profile', 'https://www.linkedin.com/in/jane-doe'],
    ['https://m.linkedin.com/in/jane-doe/details/experience/', 'https://www.linkedin.com/in/jane-doe'],
    [
      'https://www.linkedin.com/in/j%C3%B6rg-m%C3%BCller',
      'https://www.linkedin.com/in/j%C3%B6rg-m%C3%BCller',
    ],
    ['https://www.linkedin.com/in/JÖRG', 'https://www.linkedin.com/in/j%C3%B6rg'],
    ['https://www.linkedin.com/company/Acme-Inc/about/', 'https://www.linkedin.com/company/acme-inc'],
    ['www.linkedin.com/company/1035', 'https://www.linkedin.com/company/1035'],
  ])('normalizes %j', (input, expected) => {
    expect(normalizeLinkedinUrl(input)).toBe(expected);
  });

  it.each([
    ['https://twitter.com/in/jane', 'must be a linkedin.com URL'],
    ['https://linkedin.com.evil.io/in/jane', 'must be a linkedin.com URL'],
    ['https://www.linkedin.com/feed/', 'must be a profile (/in/<handle>) or company (/company/<name>) URL'],
    ['https://www.linkedin.com/in/', 'must be a profile (/in/<handle>) or company (/company/<name>) URL'],
    ['https://www.linkedin.com/in/%E0%A4%A', 'has a malformed handle'],
    ['https://www.linkedin.com/in/jane%20doe', 'has a handle with characters LinkedIn does not allow'],
    ['javascript://linkedin.com/in/x', 'must be a linkedin.com URL'],
    ['', 'must not be blank'],
  ])('rejects %j', (input, reason) => {
    expect(rejection(() => normalizeLinkedinUrl(input)).issues).toEqual([{ field: 'linkedinUrl', reason }]);
  });
});

describe('headcounts', () => {
  it.each([
    [0, '1-10'],
    [1, '1-10'],
    [10, '1-10'],
    [11, '11-50'],
    [50, '11-50'],
    [51, '51-200'],
    [200, '51-200'],
    [201, '201-500'],
    [500, '201-500'],
    [501, '501-1000'],
    [1000, '501-1000'],
    [1001, '1001-5000'],
    [5000, '1001-5000'],
    [5001, '5001-10000'],
    [10000, '5001-10000'],
    [10001, '10001+'],
    [2_000_000, '10001+'],
  ])('headcountToRange(%d) is %s', (headcount, range) => {
    expect(headcountToRange(headcount)).toBe(range);
  });

  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('headcountToRange rejects %d', (headcount) => {
    expect(rejection(() => headcountToRange(headcount)).issues[0]?.field).toBe('company.headcount');
  });

  it.each([
    [1200, { headcount: 1200, headcountRange: '1001-5000' }],
    ['1,200', { headcount: 1200, headcountRange: '1001-5000' }],
    ['1 200', { headcount: 1200, headcountRange: '1001-5000' }],
    ['1.2k', { headcount: 1200, headcountRange: '1001-5000' }],
    ['350 employees', { headcount: 350, headcountRange: '201-500' }],
    ['51-200', { headcountRange: '51-200' }],
    ['51 – 200 employees', { headcountRange: '51-200' }],
    ['2-10', { headcountRange: '1-10' }],
    ['10001+', { headcountRange: '10001+' }],
    ['10,001+', { headcountRange: '10001+' }],
    ['10000+', { headcountRange: '10001+' }],
  ])('parseHeadcount(%j)', (input, expected) => {
    expect(parseHeadcount(input)).toEqual(expected);
  });

  it.each([
    ['51-500', 'spans more than one standard range'],
    ['200-51', 'has a lower bound above its upper bound'],
    ['500+', 'is an open range; only 10001+ is a standard open range'],
    ['lots', 'must be a number such as 1200 or a range such as 51-200'],
    ['1.5', 'must be a number such as 1200 or a range such as 51-200'],
    ['1,20', 'must be a number such as 1200 or a range such as 51-200'],
    ['', 'must not be blank'],
  ])('parseHeadcount rejects %j', (input, reason) => {
    expect(rejection(() => parseHeadcount(input)).issues).toEqual([
      { field: 'company.headcount', reason: expect.stringContaining(reason) },
    ]);
  });

  it('normalizeHeadcountRange maps ranges and counts to a standard range', () => {
    expect(normalizeHeadcountRange('11 - 50')).toBe('11-50');
    expect(normalizeHeadcountRange('700')).toBe('501-1000');
    expect(rejection(() => normalizeHeadcountRange('1-100')).issues[0]?.field).toBe('company.headcountRange');
  });
});

describe('parseRevenue', () => {
  it.each([
    [12_500_000, 12_500_000],
    ['$12.5M', 12_500_000],
    ['3B', 3_000_000_000],
    ['3 bn', 3_000_000_000],
    ['USD 1,200,000', 1_200_000],
    ['$1,200,000.50', 1_200_000.5],
    ['500k', 500_000],
    ['1.2 million', 1_200_000],
    ['2.1 billion dollars', 2_100_000_000],
    ['0', 0],
  ])('parses %j', (input, expected) => {
    expect(parseRevenue(input)).toBe(expected);
  });

  it.each([
    ['€5M', 'must be in US dollars; other currencies are not converted'],
    ['5M EUR', 'must be in US dollars; other currencies are not converted'],
    ['$1M-$10M', 'is a range; give one amount'],
    ['-5M', 'must be a non-negative amount'],
    ['a lot', 'must be an amount in US dollars such as 12500000 or $12.5M'],
    ['5 constructor', 'must be an amount in US dollars such as 12500000 or $12.5M'],
    ['12,50', 'must be an amount in US dollars such as 12500000 or $12.5M'],
  ])('rejects %j', (input, reason) => {
    expect(rejection(() => parseRevenue(input)).issues).toEqual([{ field: 'company.annualRevenue', reason }]);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('rejects the number %d', (input) => {
    expect(rejection(() => parseRevenue(input)).issues[0]?.field).toBe('company.annualRevenue');
  });
});

describe('normalizeSeniority', () => {
  it.each([
    ['VP', 'vp'],
    ['Vice President', 'vp'],
    ['SVP', 'vp'],
    ['Senior Vice President of Sales', 'vp'],
    ['C-Level', 'c_suite'],
    ['c_suite', 'c_suite'],
    ['CEO', 'c_suite'],
    ['Chief Executive Officer', 'c_suite'],
    ['Chief Revenue Officer', 'c_suite'],
    ['Sr.', 'senior'],
    ['senior', 'senior'],
    ['Head of', 'head'],
    ['Head of Marketing', 'head'],
    ['Co-Founder', 'founder'],
    ['Owner', 'owner'],
    ['Managing Partner', 'partner'],
    ['Director of Engineering', 'director'],
    ['Manager', 'manager'],
    ['Entry Level', 'entry'],
    ['Junior', 'entry'],
    ['Intern', 'intern'],
  ])('%j is %s', (input, expected) => {
    expect(normalizeSeniority(input)).toBe(expected);
  });

  it.each(['wizard', 'Chief', '', 'Engineer'])('rejects %j', (input) => {
    expect(rejection(() => normalizeSeniority(input)).issues[0]?.field).toBe('seniority');
  });
});

describe('normalizeLocation and country codes', () => {
  it.each([
    ['Berlin, Germany', { city: 'Berlin', country: 'Germany', countryCode: 'DE' }],
    ['Austin, TX', { city: 'Austin', region: 'TX' }],
    ['Atlanta, Georgia', { city: 'Atlanta', region: 'Georgia' }],
    ['Tbilisi, Georgia, GE', { city: 'Tbilisi', region: 'Georgia', country: 'Georgia', countryCode: 'GE' }],
    ['Lyon, Rhône, fr', { city: 'Lyon', region: 'Rhône', country: 'France', countryCode: 'FR' }],
    [
      'Munich, Bavaria, Deutschland',
      { city: 'Munich', region: 'Bavaria', country: 'Deutschland', countryCode: 'DE' },
    ],
    ['San Francisco, CA, USA', { city: 'San Francisco', region: 'CA', country: 'USA', countryCode: 'US' }],
    ['France', { country: 'France', countryCode: 'FR' }],
    ['DE', { countryCode: 'DE', country: 'Germany' }],
    ['Springfield', { city: 'Springfield' }],
    [
      { city: ' Paris ', countryCode: 'fr' },
      { city: 'Paris', countryCode: 'FR', country: 'France' },
    ],
    [
      { country: 'United Kingdom', region: null },
      { country: 'United Kingdom', countryCode: 'GB' },
    ],
    [{ countryCode: 'UK' }, { countryCode: 'GB', country: 'United Kingdom' }],
  ])('normalizes %j', (input, expected) => {
    expect(normalizeLocation(input)).toEqual(expected);
  });

  it('lists every bad part under the given field', () => {
    const error = rejection(() =>
      normalizeLocation(
        { city: 5 as unknown as string, countryCode: 'ZZ', street: 'Main St' } as never,
        'company.location',
      ),
    );
    expect(error.issues).toEqual([
      { field: 'company.location.street', reason: expect.stringContaining('is not a location part') },
      { field: 'company.location.city', reason: 'must be a string' },
      { field: 'company.location.countryCode', reason: expect.stringContaining('ISO 3166-1 alpha-2') },
    ]);
  });

  it('rejects a name and code that disagree, and strings with too many parts', () => {
    expect(rejection(() => normalizeLocation({ country: 'Germany', countryCode: 'FR' })).issues).toEqual([
      { field: 'location.countryCode', reason: 'does not match the country name' },
    ]);
    expect(rejection(() => normalizeLocation('1 Main St, Springfield, IL, USA')).issues[0]?.field).toBe(
      'location',
    );
    expect(rejection(() => normalizeLocation(42 as unknown as string)).issues[0]?.field).toBe('location');
  });

  it('maps country names and codes', () => {
    expect(countryCodeFromName('United States of America')).toBe('US');
    expect(countryCodeFromName('côte d’ivoire')).toBe('CI');
    expect(countryCodeFromName('The Netherlands')).toBe('NL');
    expect(countryCodeFromName('Atlantis')).toBeUndefined();
    expect(normalizeCountryCode(' us ')).toBe('US');
    expect(rejection(() => normalizeCountryCode('EU')).issues[0]?.field).toBe('location.countryCode');
  });
});

describe('normalizeTechnologies', () => {
  it('splits strings, trims, skips blanks and removes duplicates ignoring case', () => {
    expect(normalizeTechnologies('Salesforce, hubspot,, HubSpot; AWS ')).toEqual([
      'Salesforce',
      'hubspot',
      'AWS',
    ]);
    expect(normalizeTechnologies([' React ', 'react', 'Node.js'])).toEqual(['React', 'Node.js']);
  });

  it('names the index of a bad entry', () => {
    expect(rejection(() => normalizeTechnologies(['React', 7 as unknown as string])).issues).toEqual([
      { field: 'company.technologies.1', reason: 'must be a string' },
    ]);
  });
});
