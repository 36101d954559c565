import { describe, expect, it } from 'vitest';
import { stableJson } from '../src/index.js';

describe('stableJson', () => {
  it('gives equal text for values equal whatever their key order, at every depth', () => {
    expect(stableJson({ b: 2, a: { d: [1, { y: 1, x: 2 }], c: null } })).toBe(
      stableJson({ a: { c: null, d: [1, { x: 2, y: 1 }] }, b: 2 }),
    );
    expect(stableJson({ b: 2, a: 1 })).toBe('{"a":1,"b":2}');
  });

  it('keeps array order and tells a missing value from null', () => {
    expect(stableJson([1, 2])).not.toBe(stableJson([2, 1]));
    expect(stableJson({ a: undefined })).not.toBe(stableJson({ a: null }));
    expect(stableJson(undefined)).toBe('undefined');
  });
});
