/**
 * JSON text with object keys sorted at every depth, so values that are equal
 * whatever their key order give the same text (`{ a: 1, b: 2 }` and
 * `{ b: 2, a: 1 }`). Arrays keep their order. A value JSON cannot hold
 * (`undefined`, a function) is written `undefined`, so it never equals a
 * value that is there.
 *
 * @param value - any JSON-like value.
 * @returns the text, for comparing values or keying them.
 */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}
