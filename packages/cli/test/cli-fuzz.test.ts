import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fc, it } from '@fast-check/vitest';
import { type PipelineReport, readCsv } from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { EXIT_CODES, emulatorOptions, runCli } from '../src/index.js';
import { capture, tempDir } from './support.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators(emulatorOptions({ vendors: ['apollo'] }));
});
afterAll(async () => {
  await running?.close();
});

/** Text that makes delimited files hard: quotes, delimiters, line breaks, a BOM, NUL, formulas, non-ASCII. */
const cell = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom('ada@acme.com', 'bob@initech.io', 'not-an-email', 'Acme', '') },
  {
    weight: 3,
    arbitrary: fc.string({
      unit: fc.constantFrom(
        '"',
        ',',
        ';',
        '\t',
        '\n',
        '\r',
        ' ',
        '=',
        '@',
        '\uFEFF',
        '\u0000',
        'é',
        '😀',
        'a',
        'b',
      ),
      maxLength: 10,
    }),
  },
);
const headerName = fc.oneof(
  fc.constantFrom(
    'Email',
    'email',
    'Company',
    'Website',
    'constructor',
    '__proto__',
    'toString',
    'Email',
    '"Email"',
  ),
  fc.stringMatching(/^[A-Za-z][A-Za-z0-9 _]{0,8}$/),
);
const file = fc.record({
  headers: fc.array(headerName, { minLength: 1, maxLength: 5 }),
  rows: fc.array(fc.array(cell, { minLength: 0, maxLength: 6 }), { maxLength: 12 }),
  delimiter: fc.constantFrom(',', '\t', ';'),
  lineEnd: fc.constantFrom('\n', '\r\n'),
  quoteAll: fc.boolean(),
  encoding: fc.constantFrom('utf8', 'utf8-bom', 'utf16le-bom'),
  extension: fc.constantFrom('csv', 'tsv'),
  garbage: fc.option(fc.uint8Array({ maxLength: 40 }), { freq: 5 }),
});

/** One generated file. */
type HostileFile = typeof file extends fc.Arbitrary<infer T> ? T : never;

function encode(text: string, encoding: string): Buffer {
  if (encoding === 'utf8') return Buffer.from(text);
  if (encoding === 'utf8-bom') return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

function render(input: HostileFile): Buffer {
  const field = (value: string) => (input.quoteAll ? `"${value.replaceAll('"', '""')}"` : value);
  const lines = [input.headers, ...input.rows].map((values) => values.map(field).join(input.delimiter));
  const bytes = encode(`${lines.join(input.lineEnd)}${input.lineEnd}`, input.encoding);
  return input.garbage ? Buffer.concat([bytes, Buffer.from(input.garbage)]) : bytes;
}

async function rowsIn(path: string, delimiter?: string): Promise<number> {
  let count = 0;
  for await (const _row of readCsv(path, delimiter === undefined ? {} : { delimiter })) count += 1;
  return count;
}

/**
 * Records of a file the run wrote. NUL characters are taken out first: a
 * rejected row keeps its values as they came (a NUL included), and the
 * reader refuses NUL in a file without a byte order mark.
 */
async function recordsWritten(path: string, delimiter: string): Promise<number> {
  const text = readFileSync(path, 'utf8').replaceAll('\u0000', '');
  let count = 0;
  for await (const _row of readCsv(Readable.from([text]), { delimiter })) count += 1;
  return count;
}

describe('leadpipe enrich on hostile files (fast-check)', () => {
  it.prop([file], {
    numRuns: 40,
    examples: [
      // Found by this test: a cell holding a lone carriage return was written unquoted and split its record in two.
      [
        {
          headers: ['A', 'Email'],
          rows: [['', '\r']],
          delimiter: ',',
          lineEnd: '\n',
          quoteAll: true,
          encoding: 'utf8',
          extension: 'csv',
          garbage: null,
        },
      ],
    ],
  })(
    'never crashes: a documented exit code, and every row of a run accounted for in the output and rejects files',
    async (input) => {
      const dir = tempDir();
      const name = `in.${input.extension}`;
      writeFileSync(join(dir, name), render(input));
      const stdout = capture();
      const stderr = capture();
      const code = await runCli(
        [
          'enrich',
          name,
          '--emulate',
          '--providers',
          'apollo',
          '--fields',
          'title',
          '--quiet',
          '--report',
          'r.json',
        ],
        { stdout, stderr, env: {}, cwd: dir, emulators: running },
      );
      expect([EXIT_CODES.done, EXIT_CODES.usage, EXIT_CODES.finishedWithProblems], stderr.text()).toContain(
        code,
      );
      if (code === EXIT_CODES.usage) {
        // Refused before anything was written, with a reason.
        expect(stderr.text()).toMatch(/^leadpipe: /);
        expect(readdirSync(dir)).toEqual([name]);
        return;
      }
      const report = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as PipelineReport;
      const { counts } = report;
      expect(report.status).toBe('completed');
      // Every row the reader yields is read by the run, and ends in exactly one state.
      const rows = await rowsIn(join(dir, name), input.extension === 'tsv' ? '\t' : undefined);
      expect(counts.read).toBe(rows);
      expect(counts.done + counts.rejected + counts.deadLettered).toBe(counts.read);
      // ... and is in a file: done rows (duplicates folded) in the output, rejected ones in the rejects file.
      const output = join(dir, `in.enriched.${input.extension}`);
      expect(existsSync(output)).toBe(true);
      const delimiter = input.extension === 'tsv' ? '\t' : ',';
      expect(await recordsWritten(output, delimiter)).toBe(counts.done - counts.duplicates);
      const rejects = join(dir, `in.rejects.${input.extension}`);
      expect(counts.rejected === 0 ? 0 : await recordsWritten(rejects, delimiter)).toBe(counts.rejected);
      expect(code).toBe(counts.rejected > 0 ? EXIT_CODES.finishedWithProblems : EXIT_CODES.done);
    },
    120_000,
  );
});
