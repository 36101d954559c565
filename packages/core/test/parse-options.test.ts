import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigurationError } from '../src/contracts/errors.js';
import { parseOptions } from '../src/options/parse-options.js';

const schema = z.object({
  concurrency: z.number().int().positive().default(4),
  retry: z.object({ retries: z.number().int().min(0) }).optional(),
});

describe('parseOptions', () => {
  it('returns the parsed options with defaults filled in', () => {
    expect(parseOptions(schema, {}, { name: 'createThing' })).toEqual({ concurrency: 4 });
  });

  it('throws a ConfigurationError naming every wrong option and why', () => {
    let caught: unknown;
    try {
      parseOptions(
        schema,
        { concurrency: 0, retry: { retries: -1 } },
        { name: 'createThing', providerId: 'x' },
      );
    } catch (error) {
      caught = error;
    }
    expect(ConfigurationError.isInstance(caught)).toBe(true);
    const error = caught as ConfigurationError;
    expect(error.code).toBe('invalid_configuration');
    expect(error.providerId).toBe('x');
    expect(error.issues.map((issue) => issue.field)).toEqual(['concurrency', 'retry.retries']);
    expect(error.message).toMatch(/^createThing: concurrency: .+; retry\.retries: .+/);
    expect(error.toJSON()).toMatchObject({ issues: error.issues });
  });

  it('names the options themselves when the value is not an object', () => {
    expect(() => parseOptions(schema, 'nope', { name: 'createThing' })).toThrow(/createThing: options: /);
  });

  it('names each unknown key of a strict object, nested ones by their path', () => {
    const strict = z
      .object({ apiKey: z.string().optional(), retry: z.object({}).strict().optional() })
      .strict();
    let caught: unknown;
    try {
      parseOptions(strict, { apikey: 'typo', retry: { tries: 3 } }, { name: 'createThing' });
    } catch (error) {
      caught = error;
    }
    expect((caught as ConfigurationError).issues).toEqual([
      { field: 'retry.tries', reason: 'is not a known option' },
      { field: 'apikey', reason: 'is not a known option' },
    ]);
  });
});
