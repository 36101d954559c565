import { describe, expect, it } from 'vitest';
import type { LeadField, ProviderLookup } from '../src/contracts/index.js';
import { defineProvider } from '../src/enrich/define-provider.js';
import {
  costEstimate,
  nextProvider,
  requestInput,
  suppliableFields,
  unavailableReason,
  unreachedReason,
  type WaterfallOrder,
} from '../src/enrich/plan.js';

const provider = (id: string, lookups: ProviderLookup[], cost = { perRequest: 0, perMatch: 1 }) =>
  defineProvider({ id, lookups, cost, enrich: async () => null });

const byEmail = provider('people', [{ requires: ['email'], supplies: ['title', 'company.name'] }]);
const byDomain = provider('firms', [
  { requires: ['company.domain'], supplies: ['company.name', 'company.industry'] },
]);
const byLinkedin = provider('social', [{ requires: ['linkedinUrl'], supplies: ['title'] }]);

const orderOf = (
  providers: ReturnType<typeof provider>[],
  fieldOrder: Partial<Record<LeadField, readonly string[]>> = {},
): WaterfallOrder => ({ providers: new Map(providers.map((p) => [p.providerId, p])), fieldOrder });

describe('suppliableFields', () => {
  it('unions the supplies of the lookups whose inputs are all known', () => {
    const both = provider('both', [
      { requires: ['email'], supplies: ['title'] },
      { requires: ['email', 'company.domain'], supplies: ['company.industry'] },
    ]);
    expect([...suppliableFields(both, new Set(['email']))]).toEqual(['title']);
    expect([...suppliableFields(both, new Set(['email', 'company.domain']))]).toEqual([
      'title',
      'company.industry',
    ]);
    expect(suppliableFields(both, new Set())).toEqual(new Set());
  });
});

describe('nextProvider', () => {
  it('picks, for the first missing field, the first untried provider that can supply it from what is known', () => {
    const order = orderOf([byLinkedin, byEmail, byDomain]);
    const known = new Set(['email', 'company.domain']);
    expect(nextProvider(order, ['title', 'company.industry'], known, new Set())?.providerId).toBe('people');
    expect(nextProvider(order, ['title', 'company.industry'], known, new Set(['people']))?.providerId).toBe(
      'firms',
    );
    expect(nextProvider(order, ['title'], known, new Set(['people']))).toBeUndefined();
  });

  it('tries a field order before the main order', () => {
    const order = orderOf([byEmail, byDomain], { 'company.name': ['firms'] });
    const known = new Set(['email', 'company.domain']);
    expect(nextProvider(order, ['company.name'], known, new Set())?.providerId).toBe('firms');
    expect(nextProvider(order, ['company.name'], known, new Set(['firms']))?.providerId).toBe('people');
    expect(nextProvider(order, ['title', 'company.name'], known, new Set())?.providerId).toBe('people');
  });
});

describe('requestInput', () => {
  const firmo = provider('firmo', [
    { requires: ['email'], supplies: ['title', 'company.industry'] },
    { requires: ['company.domain'], supplies: ['company.industry'], preferWhenSufficient: true },
  ]);
  const flat = { email: 'ada@acme.io', 'company.domain': 'acme.io', firstName: 'Ada' };
  const known = new Set(Object.keys(flat));

  it('sends only the inputs of a preferWhenSufficient lookup that covers every missing field it can supply', () => {
    expect(requestInput(firmo, ['company.industry'], known, flat)).toEqual({ 'company.domain': 'acme.io' });
  });

  it('sends the whole lead when a field that lookup cannot supply is missing', () => {
    expect(requestInput(firmo, ['title', 'company.industry'], known, flat)).toBe(flat);
  });

  it('sends the whole lead when the preferred lookup lacks its inputs, or there is none', () => {
    const noDomain = { email: 'ada@acme.io' };
    expect(requestInput(firmo, ['company.industry'], new Set(['email']), noDomain)).toBe(noDomain);
    expect(requestInput(byEmail, ['title'], known, flat)).toBe(flat);
  });
});

describe('unreachedReason', () => {
  it('says missing_inputs for a provider that supplies a missing field but lacks its inputs', () => {
    expect(unreachedReason(byLinkedin, new Set(['title']), new Set(['email']))).toBe('missing_inputs');
  });

  it('says no_missing_fields for a provider that supplies nothing missing, or could have', () => {
    expect(unreachedReason(byDomain, new Set(['title']), new Set(['email']))).toBe('no_missing_fields');
    expect(unreachedReason(byEmail, new Set(['title']), new Set(['email']))).toBe('no_missing_fields');
    expect(unreachedReason(byEmail, new Set(), new Set(['email']))).toBe('no_missing_fields');
  });
});

describe('unavailableReason', () => {
  const available = { disabled: false, unavailableUntil: undefined, circuitOpen: false };

  it('passes a provider over when disabled, out of quota until a time, or with an open circuit', () => {
    expect(unavailableReason(available, 1_000)).toBeUndefined();
    expect(unavailableReason({ ...available, disabled: true, circuitOpen: true }, 1_000)).toBe('disabled');
    expect(unavailableReason({ ...available, unavailableUntil: 2_000 }, 1_999)).toBe('quota_exhausted');
    expect(unavailableReason({ ...available, unavailableUntil: 2_000 }, 2_000)).toBeUndefined();
    expect(unavailableReason({ ...available, circuitOpen: true }, 1_000)).toBe('circuit_open');
  });
});

describe('costEstimate', () => {
  it('is the per-request plus the per-match price', () => {
    expect(
      costEstimate(
        provider('p', [{ requires: ['email'], supplies: ['title'] }], { perRequest: 0.5, perMatch: 2 }),
      ),
    ).toBe(2.5);
  });
});
