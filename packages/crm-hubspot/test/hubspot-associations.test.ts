import { describe, expect, it } from 'vitest';
import { contactCompanyDomain } from '../src/hubspot-associations.js';

const record = (key: string) => ({ key, properties: {} });

describe('contactCompanyDomain', () => {
  it("takes the key's email domain in core's normal form when upserting by email", () => {
    expect(contactCompanyDomain(record('Ada@WWW.Acme.COM'), 'email', undefined)).toBe('acme.com');
    expect(contactCompanyDomain(record(' ada@shop.acme.com '), 'email', undefined)).toBe('shop.acme.com');
  });

  it('skips free-mail domains, keys that are not emails, and other id properties', () => {
    expect(contactCompanyDomain(record('ada@gmail.com'), 'email', undefined)).toBeUndefined();
    expect(contactCompanyDomain(record('not-an-email'), 'email', undefined)).toBeUndefined();
    expect(contactCompanyDomain(record('ada@acme.com'), 'external_id', undefined)).toBeUndefined();
  });

  it('normalises what a domain function returns, and skips what is not a domain', () => {
    const fromSettings = (value: string | undefined) =>
      contactCompanyDomain(record('k-1'), 'external_id', () => value);
    expect(fromSettings(' WWW.Acme.com. ')).toBe('acme.com');
    expect(fromSettings('https://www.acme.com/about')).toBe('acme.com');
    expect(fromSettings('münchen.de')).toBe('xn--mnchen-3ya.de');
    expect(fromSettings('localhost')).toBeUndefined();
    expect(fromSettings('')).toBeUndefined();
    expect(fromSettings(undefined)).toBeUndefined();
  });
});
