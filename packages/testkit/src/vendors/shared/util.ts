import { hashString } from '../../truth/random.js';

/** A deterministic credential-looking string for `name` under `seed`. */
export function deterministicSecret(prefix: string, name: string, seed: number, length = 24): string {
  let out = '';
  let round = 0;
  while (out.length < length) out += hashString(`${name}|${round++}`, seed).toString(16).padStart(8, '0');
  return `${prefix}${out.slice(0, length)}`;
}

const PLACEHOLDER = '__leadpipe_raw_number__';

/**
 * JSON text of `body` with `key` set to `rawNumber` written as a bare JSON
 * number, digits untouched: for integers too big for a JS number.
 */
export function jsonWithRawNumber(body: Record<string, unknown>, key: string, rawNumber: string): string {
  if (!/^-?\d+$/.test(rawNumber)) throw new RangeError(`not an integer: ${rawNumber}`);
  return JSON.stringify({ ...body, [key]: PLACEHOLDER }).replace(`"${PLACEHOLDER}"`, rawNumber);
}

/** A signed 64-bit integer as decimal text, from two 32-bit draws. */
export function signed64(random: () => number): string {
  const high = BigInt(Math.floor(random() * 2 ** 32));
  const low = BigInt(Math.floor(random() * 2 ** 32));
  return BigInt.asIntN(64, (high << 32n) | low).toString();
}

/** Read a JSON body; `undefined` for an empty body; throws SyntaxError on bad JSON. */
export async function readJsonBody(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === '') return undefined;
  return JSON.parse(text);
}

/** Interpret `true`/`'true'`/`1` as true. */
export function truthy(value: unknown): boolean {
  return value === true || value === 'true' || value === 1 || value === '1';
}
