import { describe, expect, it } from 'vitest';
import { applyConflictPolicy } from '../src/crm/conflict-policy.js';
import type { CrmRecordSnapshot } from '../src/index.js';

const guarded = { jobtitle: 'fillEmpty', lifecyclestage: 'never' } as const;

describe('applyConflictPolicy', () => {
  it('sends a record the CRM does not hold whole, guarded properties included', () => {
    const properties = { firstname: 'Ann', jobtitle: 'CTO', lifecyclestage: 'lead' };
    expect(applyConflictPolicy(properties, guarded, undefined)).toBe(properties);
  });

  it('drops never properties and fillEmpty ones the CRM has a value for; overwrites the rest', () => {
    const snapshot = {
      key: 'a',
      id: '1',
      properties: { jobtitle: 'CEO', lifecyclestage: '', firstname: 'Old' },
    };
    expect(
      applyConflictPolicy({ firstname: 'Ann', jobtitle: 'CTO', lifecyclestage: 'lead' }, guarded, snapshot),
    ).toEqual({ firstname: 'Ann' });
  });

  it('fills a fillEmpty property the CRM holds as missing, null or blank', () => {
    const helds: CrmRecordSnapshot['properties'][] = [{}, { jobtitle: null }, { jobtitle: '  ' }];
    for (const held of helds) {
      const snapshot = { key: 'a', id: '1', properties: held };
      expect(applyConflictPolicy({ jobtitle: 'CTO' }, guarded, snapshot)).toEqual({ jobtitle: 'CTO' });
    }
    // Zero and false are values, not empty.
    const snapshot = { key: 'a', id: '1', properties: { jobtitle: 0 } };
    expect(applyConflictPolicy({ jobtitle: 'CTO' }, guarded, snapshot)).toEqual({});
  });
});
