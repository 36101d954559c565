import { Readable } from 'node:stream';
import { fc, it } from '@fast-check/vitest';
import { stringify } from 'csv-stringify/sync';
import { describe, expect } from 'vitest';
import { readCsv, type SourceRow, ValidationError } from '../src/index.js';
import { type CsvRecord, CsvRecordSplitter } from '../src/pipeline/csv-records.js';

/** Characters that make CSV hard, weighted towards them. */
const HOSTILE = ['"', '"', ',', ';', '\t', '\n', '\r', '\r\n', ' ', '=', '\uFEFF', '\u0000', 'é', '😀'];
const hostileText = fc.string({
  unit: fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
    { weight: 2, arbitrary: fc.constantFrom('a', 'b', 'x') },
  ),
  maxLength: 120,
});
const cellText = fc.string({
  unit: fc.oneof(
    {
      weight: 2,
      arbitrary: fc.constantFrom('"', ',', ';', '\t', '\n', '\r', '\r\n', ' ', '=', '+', 'é', '😀'),
    },
    { weight: 3, arbitrary: fc.constantFrom('a', 'b', 'c', '1') },
  ),
  maxLength: 12,
});
const headerName = fc.oneof(
  fc.constantFrom('constructor', 'toString', 'hasOwnProperty', '__proto__', 'valueOf', 'Email', 'email'),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9_]{0,8}$/),
);
const encoding = fc.constantFrom('utf8', 'utf8-bom', 'utf16le-bom', 'utf16be-bom', 'string');
const cuts = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 8 });

/** Encode `text` and cut it into chunks of the given sizes (cycled), as a file or a socket delivers it. */
function chunked(text: string, how: string, sizes: readonly number[]): (string | Buffer)[] {
  let bytes: Buffer;
  if (how === 'string') {
    const out: string[] = [];
    for (let at = 0, index = 0; at < text.length; index++) {
      const size = sizes[index % sizes.length] ?? 1;
      out.push(text.slice(at, at + size));
      at += size;
    }
    return out;
  }
  if (how === 'utf8') bytes = Buffer.from(text);
  else if (how === 'utf8-bom') bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
  else {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    bytes = how === 'utf16le-bom' ? le : le.swap16();
  }
  const out: Buffer[] = [];
  for (let at = 0, index = 0; at < bytes.length; index++) {
    const size = sizes[index % sizes.length] ?? 1;
    out.push(bytes.subarray(at, at + size));
    at += size;
  }
  return out;
}

async function readAll(
  chunks: (string | Buffer)[],
  options: Parameters<typeof readCsv>[1],
): Promise<SourceRow[] | ValidationError> {
  const rows: SourceRow[] = [];
  try {
    for await (const row of readCsv(Readable.from(chunks), options)) rows.push(row);
  } catch (error) {
    if (ValidationError.isInstance(error)) return error;
    throw error;
  }
  return rows;
}

/** The file's lines after a leading BOM: [text of each line]. */
function linesOf(text: string): string[] {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (body === '') return [];
  const lines = body.split(/\r\n|\n|\r/);
  if (/[\r\n]$/.test(body)) lines.pop();
  return lines;
}

describe('readCsv under random input', () => {
  it.prop(
    [
      hostileText,
      encoding,
      cuts,
      fc.constantFrom(',', '\t', ';', undefined),
      fc.integer({ min: 4, max: 64 }),
    ],
    {
      numRuns: 300,
    },
  )(
    'never crashes; rows are numbered 1..n in line order; each has its header keys or says why not',
    async (text, how, sizes, delimiter, maxRecordSize) => {
      const result = await readAll(chunked(text, how, sizes), {
        maxRecordSize,
        ...(delimiter === undefined ? {} : { delimiter }),
      });
      if (result instanceof ValidationError) {
        // Only a whole-file refusal: an unreadable header, NUL bytes in a file without a byte order
        // mark, or a UTF-16 LE mark followed by a NUL character (which is the UTF-32 LE mark).
        expect(result.issues.map((issue) => issue.field)).toEqual(['input']);
        expect(result.issues[0]?.reason).toMatch(/^(has a header|holds a NUL byte|is encoded as UTF-32)/);
        return;
      }
      const lineCount = linesOf(text).length;
      result.forEach((row, index) => {
        expect(row.rowNumber).toBe(index + 1);
        if (index > 0) expect(row.line).toBeGreaterThan(result[index - 1]?.line ?? 0);
        expect(row.line).toBeLessThanOrEqual(lineCount);
        expect(Object.getPrototypeOf(row.values)).toBeNull();
        if (row.issues === undefined) expect(Object.keys(row.values)).toEqual(row.columns);
        else expect(row.issues.length).toBeGreaterThan(0);
      });
    },
  );

  it.prop(
    [
      fc.uniqueArray(headerName, { minLength: 1, maxLength: 6 }),
      fc.array(fc.array(cellText, { minLength: 6, maxLength: 6 }), { maxLength: 12 }),
      fc.constantFrom(',', '\t', ';'),
      encoding,
      cuts,
    ],
    { numRuns: 200 },
  )(
    'reads well-formed CSV back exactly: every row, in order, any encoding, chunking, delimiter and header names',
    async (header, body, delimiter, how, sizes) => {
      const rows = body.map((cells) => cells.slice(0, header.length));
      const text = stringify([header, ...rows], { delimiter, quoted_empty: true });
      // Header names are plain words, so the delimiter is found from a header line with two columns or more;
      // a single column has none to find.
      const result = await readAll(chunked(text, how, sizes), header.length === 1 ? { delimiter } : {});
      if (result instanceof ValidationError) throw result;
      expect(result.map((row) => row.rowNumber)).toEqual(rows.map((_, index) => index + 1));
      expect(result.map((row) => row.issues)).toEqual(rows.map(() => undefined));
      expect(result.map((row) => header.map((name) => row.values[name]))).toEqual(rows);
      expect(result[0]?.columns ?? header).toEqual(header);
    },
  );
});

describe('CsvRecordSplitter under random input', () => {
  it.prop([hostileText, cuts, fc.constantFrom(',', '\t', ';'), fc.integer({ min: 1, max: 64 })], {
    numRuns: 500,
  })(
    'accounts for every line exactly once: in one record, one rejection, or blank',
    (text, sizes, delimiter, maxRecordSize) => {
      const splitter = new CsvRecordSplitter({ delimiter, maxRecordSize });
      const records: CsvRecord[] = [];
      for (const chunk of chunked(text, 'string', sizes)) records.push(...splitter.push(chunk as string));
      records.push(...splitter.end());
      const lines = linesOf(text);
      const covered: number[] = [];
      for (const record of records) {
        if (record.kind === 'record') {
          expect(record.line).toBeGreaterThanOrEqual(record.startLine);
          for (let line = record.startLine; line <= record.line; line++) covered.push(line);
        } else covered.push(record.line);
      }
      // Strictly increasing: no line is in two records, and records come in file order.
      covered.forEach((line, index) => {
        if (index > 0) expect(line).toBeGreaterThan(covered[index - 1] ?? 0);
      });
      const blank = lines.flatMap((line, index) => (line === '' ? [index + 1] : []));
      const all = new Set([...covered, ...blank]);
      expect([...all].sort((a, b) => a - b)).toEqual(lines.map((_, index) => index + 1));
      for (const record of records) {
        if (record.kind === 'record') {
          const size = record.fields.reduce((sum, field) => sum + field.length, 0);
          expect(size).toBeLessThanOrEqual(maxRecordSize);
        }
      }
    },
  );
});
