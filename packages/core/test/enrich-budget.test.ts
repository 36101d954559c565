import { describe, expect, it } from 'vitest';
import { CreditBudget } from '../src/enrich/budget.js';

describe('CreditBudget', () => {
  it('lets every call through without budgets, and free calls through any budget', () => {
    expect(new CreditBudget({}).check(1_000, 50)).toBeUndefined();
    const tight = new CreditBudget({ perLead: 0, perRun: 0 });
    expect(tight.check(0, 0)).toBeUndefined();
    expect(tight.refusals).toBe(0);
  });

  it('refuses a call that would pass the per-lead budget first', () => {
    const budget = new CreditBudget({ perLead: 3, perRun: 1 });
    expect(budget.check(2, 2)).toEqual({ scope: 'lead', spent: 2, reserved: 0, cost: 2, budget: 3 });
    expect(budget.refusals).toBe(1);
  });

  it('counts credits held by calls in flight against the run budget until released', () => {
    const budget = new CreditBudget({ perRun: 3 });
    budget.spend(1);
    const release = budget.reserve(1);
    expect(budget.check(0, 1)).toBeUndefined();
    const second = budget.reserve(1);
    expect(budget.check(0, 1)).toEqual({ scope: 'run', spent: 1, reserved: 2, cost: 1, budget: 3 });
    release();
    release();
    expect(budget.reserved).toBe(1);
    expect(budget.check(0, 1)).toBeUndefined();
    second();
    expect(budget.reserved).toBe(0);
    expect(budget.spent).toBe(1);
    expect(budget.refusals).toBe(1);
  });
});
