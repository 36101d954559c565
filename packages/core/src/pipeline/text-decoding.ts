import { StringDecoder } from 'node:string_decoder';
import { ValidationError } from '../contracts/errors.js';

/** Bytes looked at for NUL bytes when a file has no byte order mark. */
const SNIFF_BYTES = 4096;

type TextEncodingName = BufferEncoding | 'utf16be';

function refuse(reason: string): never {
  throw new ValidationError([{ field: 'input', reason }]);
}

/** The encoding named by a byte order mark at the start of `head`, and the mark's length. */
function byteOrderMark(head: Buffer): { encoding: TextEncodingName; length: number } | undefined {
  if (head.length >= 4 && head.readUInt32BE(0) === 0x0000feff) {
    refuse('is encoded as UTF-32 (big-endian), which is not read: save it as UTF-8');
  }
  if (head.length >= 4 && head.readUInt32BE(0) === 0xfffe0000) {
    refuse('is encoded as UTF-32 (little-endian), which is not read: save it as UTF-8');
  }
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) {
    return { encoding: 'utf8', length: 3 };
  }
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf16le', length: 2 };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf16be', length: 2 };
  return undefined;
}

/** Decodes UTF-16 big-endian by swapping byte pairs, carrying an odd byte to the next chunk. */
class Utf16BeDecoder {
  readonly #decoder = new StringDecoder('utf16le');
  #carry: Buffer | undefined;

  write(chunk: Buffer): string {
    const bytes = this.#carry ? Buffer.concat([this.#carry, chunk]) : Buffer.from(chunk);
    const even = bytes.length - (bytes.length % 2);
    this.#carry = even < bytes.length ? bytes.subarray(even) : undefined;
    const pairs = bytes.subarray(0, even);
    pairs.swap16();
    return this.#decoder.write(pairs);
  }

  end(): string {
    const rest = this.#decoder.end();
    // An odd last byte is not a character: U+FFFD, as a decoder shows broken input.
    return this.#carry ? `${rest}\uFFFD` : rest;
  }
}

/**
 * Decode a file's bytes to text, chunk by chunk. A byte order mark decides
 * the encoding and is removed: UTF-8, UTF-16 little- or big-endian; UTF-32
 * is refused. Without one, `encoding` is used (default `utf8`); a UTF-8 file
 * whose first 4 KiB hold a NUL byte is refused (UTF-16 without a byte order
 * mark, or not text at all), instead of being read as text full of control
 * characters. String chunks (a stream already decoded) pass through.
 *
 * Refusals throw a `ValidationError` on the field `input` saying what was found.
 */
export async function* decodeText(
  chunks: AsyncIterable<Buffer | string>,
  encoding: BufferEncoding = 'utf8',
): AsyncGenerator<string, void, undefined> {
  let head: Buffer | undefined = Buffer.alloc(0);
  let decoder: { write(chunk: Buffer): string; end(): string } | undefined;

  function start(bytes: Buffer): string {
    const mark = byteOrderMark(bytes);
    const chosen = mark?.encoding ?? encoding;
    if (mark === undefined && (chosen === 'utf8' || chosen === 'utf-8')) {
      const nul = bytes.subarray(0, SNIFF_BYTES).indexOf(0);
      if (nul !== -1) {
        refuse(
          `holds a NUL byte at byte ${nul + 1}: it looks like UTF-16 without a byte order mark, or it is not a text file; save it as UTF-8`,
        );
      }
    }
    decoder = chosen === 'utf16be' ? new Utf16BeDecoder() : new StringDecoder(chosen);
    return decoder.write(bytes.subarray(mark?.length ?? 0));
  }

  for await (const chunk of chunks) {
    if (typeof chunk === 'string') {
      if (decoder !== undefined || (head !== undefined && head.length > 0)) {
        refuse('is a stream that mixes text and bytes');
      }
      head = undefined;
      yield chunk;
      continue;
    }
    if (decoder !== undefined) {
      const text = decoder.write(chunk);
      if (text !== '') yield text;
      continue;
    }
    if (head === undefined) refuse('is a stream that mixes text and bytes');
    head = Buffer.concat([head, chunk]);
    // Wait for enough bytes to recognise a byte order mark and to look for NUL bytes.
    if (head.length < SNIFF_BYTES) continue;
    const text = start(head);
    head = undefined;
    if (text !== '') yield text;
  }
  if (decoder === undefined && head !== undefined && head.length > 0) {
    const text = start(head);
    if (text !== '') yield text;
  }
  if (decoder !== undefined) {
    const rest = decoder.end();
    if (rest !== '') yield rest;
  }
}
