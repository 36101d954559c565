import { describe, expect, it } from 'vitest';
import { checkBusEvents, checkBusSubscription, topicMatches } from '../src/adapter-kit.js';

describe('topicMatches (AMQP topic rules)', () => {
  it.each([
    ['lead.created', 'lead.created', true],
    ['lead.created', 'lead.updated', false],
    ['lead.*', 'lead.created', true],
    ['lead.*', 'lead', false],
    ['lead.*', 'lead.created.twice', false],
    ['lead.#', 'lead', true],
    ['lead.#', 'lead.created.twice', true],
    ['#', 'anything.at.all', true],
    ['*.created', 'lead.created', true],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c', false],
    ['#.z', 'z', true],
    ['*.*', 'a', false],
  ])('%s against %s is %s', (pattern, type, matches) => {
    expect(topicMatches(pattern, type)).toBe(matches);
  });
});

describe('bus input checks', () => {
  it('names every bad event field and fills subscription defaults', () => {
    expect(() =>
      checkBusEvents([{ id: 'x', type: 'lead..created', occurredAt: 'now', payload: { big: 10n } } as never]),
    ).toThrow(/events\.0\.type.*events\.0\.occurredAt.*events\.0\.payload/s);
    const checked = checkBusSubscription({ name: 'n', types: ['lead.*'], handler: async () => {} }, 'test');
    expect([checked.concurrency, checked.maxDeliveries]).toEqual([16, 5]);
    expect(() =>
      checkBusSubscription({ name: 'n', types: ['lead.cre*'], handler: async () => {} }, 'test'),
    ).toThrow('types.0');
    expect(() => checkBusSubscription({ name: 'n', types: ['a'], handler: 'no' }, 'test')).toThrow('handler');
  });
});
