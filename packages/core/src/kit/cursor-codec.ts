import type { z } from 'zod';
import { ValidationError } from '../contracts/errors.js';

/** Turns an adapter's cursor into the opaque string callers store, and back. */
export interface CursorCodec<Cursor> {
  /** The cursor as an opaque, URL-safe string (base64url of its JSON). */
  encode(cursor: Cursor): string;
  /**
   * The cursor a string from {@link CursorCodec.encode} holds.
   *
   * @throws ValidationError naming `cursor` when the string was not made by this codec's adapter.
   */
  decode(text: string): Cursor;
}

/**
 * A {@link CursorCodec} over a zod schema of the cursor's JSON form. Decoding
 * checks the JSON with the schema, so a cursor that reaches a query (SOQL,
 * a search filter) holds only what the schema lets through.
 *
 * @param schema - the cursor's JSON form.
 * @param adapterId - names the adapter in the error.
 * @param vendor - the vendor's name in the error reason, such as `HubSpot`.
 */
export function createCursorCodec<Schema extends z.ZodType>(
  schema: Schema,
  adapterId: string,
  vendor: string = adapterId,
): CursorCodec<z.output<Schema>> {
  return {
    encode(cursor) {
      return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
    },
    decode(text) {
      let raw: unknown;
      try {
        raw = JSON.parse(Buffer.from(String(text), 'base64url').toString('utf8'));
      } catch {
        raw = undefined;
      }
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        throw new ValidationError(
          [{ field: 'cursor', reason: `is not a cursor returned by this ${vendor} adapter` }],
          { providerId: adapterId },
        );
      }
      return parsed.data;
    },
  };
}
