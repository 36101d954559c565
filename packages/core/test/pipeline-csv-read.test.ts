import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  ConfigurationError,
  checkIdentityColumns,
  createCsvWriter,
  createLeadPipeline,
  createNdjsonWriter,
  defineProvider,
  readCsv,
  readCsvHeader,
  type SourceRow,
  ValidationError,
} from '../src/index.js';
import { CsvRecordSplitter, detectDelimiter, headerNames } from '../src/pipeline/csv-records.js';

async function collect(rows: AsyncIterable<SourceRow>): Promise<SourceRow[]> {
  const out: SourceRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

const tempDir = () => mkdtemp(join(tmpdir(), 'leadpipe-csv-read-'));

/** [rowNumber, line, first name or the reason it was rejected]. */
function summary(rows: readonly SourceRow[]): [number, number, unknown][] {
  return rows.map((row) => [row.rowNumber, row.line, row.issues?.[0]?.reason ?? row.values.first_name]);
}

/** Issue 11's file: a stray quote in row 2 pulled rows 3 and 4 into row 2's first name. */
const STRAY_QUOTE =
  'first_name,last_name,email\n' +
  'Ann,Lee,ann@example.com\n' +
  '"Bob" Builder,Jones,bob@example.com\n' +
  'Carl,Doe,carl@example.com\n' +
  'Dee,Roe,dee@example.com\n' +
  '"Eve",Poe,eve@example.com\n' +
  'Fay,Lo,fay@example.com\n';

describe('readCsv: quotes are read strictly, nothing is merged', () => {
  it("rejects the line with a stray quote and reads the rows it used to swallow (issue 11's file)", async () => {
    const rows = await collect(readCsv(Readable.from([STRAY_QUOTE])));
    expect(summary(rows)).toEqual([
      [1, 2, 'Ann'],
      [2, 3, 'cannot be read: a closing quote is followed by a space instead of a delimiter or a line end'],
      [3, 4, 'Carl'],
      [4, 5, 'Dee'],
      [5, 6, 'Eve'],
      [6, 7, 'Fay'],
    ]);
    // Nothing of another row ends up in a value.
    for (const row of rows) {
      for (const value of Object.values(row.values)) expect(String(value)).not.toMatch(/\n|example\.com.*,/);
    }
  });

  it('through the pipeline: the broken row is rejected with its line, the others are done', async () => {
    const dir = await tempDir();
    const input = join(dir, 'in.csv');
    await writeFile(input, STRAY_QUOTE);
    const provider = defineProvider({
      id: 'people',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich: async () => ({ fields: { title: 'Engineer' }, confidence: 0.7 }),
    });
    const pipeline = createLeadPipeline({ enrichment: { providers: [provider], fields: ['title'] } });
    const report = await pipeline.run(readCsv(input), { output: createCsvWriter(join(dir, 'out.csv')) });
    expect(report.counts).toMatchObject({ read: 6, done: 5, rejected: 1 });
    expect(report.rejects).toEqual([expect.objectContaining({ rowNumber: 2, line: 3, stage: 'read' })]);
    const written = await readFile(join(dir, 'out.csv'), 'utf8');
    expect(written).toContain('carl@example.com');
    expect(written).toContain('dee@example.com');
    expect(written).not.toContain('Builder');
  });

  it('an unclosed quote costs one line: the lines after it are read as rows', async () => {
    const text = 'first_name,email\nAnn,ann@x.com\n"Bob,bob@x.com\nCarl,carl@x.com\nDee,dee@x.com\n';
    expect(summary(await collect(readCsv(Readable.from([text]))))).toEqual([
      [1, 2, 'Ann'],
      [2, 3, 'cannot be read: a quote opened on this line is never closed'],
      [3, 4, 'Carl'],
      [4, 5, 'Dee'],
    ]);
  });

  it('a quoted field that pairs with a later quote into a record of the wrong size is rejected, not merged', async () => {
    // The quote opened on line 3 closes on line 4, and the record it makes has 2 fields, not 3.
    const text =
      'first_name,last_name,email\nAnn,Lee,a@x.com\n"Bob,Jones,b@x.com\nCarl,Doe",c@x.com\nDee,Roe,d@x.com\n';
    expect(summary(await collect(readCsv(Readable.from([text]))))).toEqual([
      [1, 2, 'Ann'],
      [
        2,
        3,
        'cannot be read: a quoted field opened on this line runs to line 4 and the record has 2 fields, not 3: a stray quote?',
      ],
      // Line 4 read on its own: a quote inside an unquoted field is an ordinary character.
      [3, 4, 'Carl'],
      [4, 5, 'Dee'],
    ]);
  });

  it('keeps quoted line breaks, doubled quotes and quotes inside unquoted fields', async () => {
    const text = 'first_name,note\r\n"Ann","two\r\nlines, ""quoted"""\r\nBob,5" screen\r\nCarl,"a\rb"\n';
    const rows = await collect(readCsv(Readable.from([text])));
    expect(rows.map((row) => [row.line, row.values.note])).toEqual([
      [3, 'two\r\nlines, "quoted"'],
      [4, '5" screen'],
      [6, 'a\rb'],
    ]);
  });

  it('reads a file split into chunks anywhere the same as in one piece', async () => {
    const text = `${STRAY_QUOTE}"Gil\r\n""G""",Ng,"g@x.com"\r\n\r\nHal,Ox,h@x.com`;
    const whole = await collect(readCsv(Readable.from([text])));
    for (const size of [1, 2, 3, 7]) {
      const pieces: string[] = [];
      for (let at = 0; at < text.length; at += size) pieces.push(text.slice(at, at + size));
      const split = await collect(readCsv(Readable.from(pieces)));
      expect(split.map((row) => [row.rowNumber, row.line, { ...row.values }, row.issues])).toEqual(
        whole.map((row) => [row.rowNumber, row.line, { ...row.values }, row.issues]),
      );
    }
    expect(whole.at(-2)?.values.first_name).toBe('Gil\r\n"G"');
    expect(whole.at(-1)).toMatchObject({ rowNumber: 8, line: 11 });
  });
});

describe('readCsv: the record size is bounded', () => {
  it('rejects a record longer than maxRecordSize on its first line and reads on', async () => {
    const text = `email,note\na@x.com,ok\nb@x.com,"${'x,y\n'.repeat(40)}c@x.com,fine\n`;
    const rows = await collect(readCsv(Readable.from([text]), { maxRecordSize: 64 }));
    expect(rows[0]?.values.email).toBe('a@x.com');
    expect(rows[1]).toMatchObject({
      rowNumber: 2,
      line: 3,
      issues: [
        {
          field: 'row',
          reason:
            'cannot be read: the record is longer than 64 characters (maxRecordSize): an unclosed quote?',
        },
      ],
    });
    // Every line after it is a row of its own (here `x,y`: two fields, like the header).
    expect(rows).toHaveLength(2 + 39 + 1);
    expect(rows[2]).toMatchObject({ rowNumber: 3, line: 4, values: { email: 'x', note: 'y' } });
    expect(rows.at(-1)).toMatchObject({
      rowNumber: 42,
      line: 43,
      values: { email: 'c@x.com', note: 'fine' },
    });
  });

  it('drops a single line longer than the limit up to its end, streaming', async () => {
    const long = 'z'.repeat(100);
    const pieces = ['email\n', 'a@x.com\n', ...long.match(/.{1,10}/g)!, '\n', 'b@x.com\n'];
    const rows = await collect(readCsv(Readable.from(pieces), { maxRecordSize: 32 }));
    expect(summary(rows).map(([row, line]) => [row, line])).toEqual([
      [1, 2],
      [2, 3],
      [3, 4],
    ]);
    expect(rows[1]?.issues?.[0]?.reason).toMatch(/longer than 32 characters/);
    expect(rows[2]?.values.email).toBe('b@x.com');
  });

  it('refuses a maxRecordSize that is not a positive whole number', async () => {
    const error = await collect(readCsv(Readable.from(['email\n']), { maxRecordSize: 0 })).catch(
      (caught: unknown) => caught,
    );
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as ConfigurationError).issues).toEqual([
      { field: 'maxRecordSize', reason: 'must be positive' },
    ]);
    // An option readCsv does not know (csv-parse's, say) is refused rather than ignored.
    const unknown = await collect(
      readCsv(Readable.from(['email\n']), { relax_quotes: true } as unknown as { delimiter: string }),
    ).catch((caught: unknown) => caught);
    expect(ConfigurationError.isInstance(unknown)).toBe(true);
    expect((unknown as ConfigurationError).message).toMatch(/relax_quotes/);
  });

  it('refuses a delimiter that is a quote, a line break or not one character, in readCsv and readCsvHeader', async () => {
    for (const [delimiter, reason] of [
      ['"', 'must not be a quote or a line break'],
      ['\n', 'must not be a quote or a line break'],
      ['\r', 'must not be a quote or a line break'],
      [',,', 'must be one character'],
      ['', 'must be one character'],
    ] as const) {
      const error = await collect(readCsv(Readable.from(['a,b\n1,2\n']), { delimiter })).catch(
        (caught: unknown) => caught,
      );
      expect(ConfigurationError.isInstance(error)).toBe(true);
      expect((error as ConfigurationError).code).toBe('invalid_configuration');
      expect((error as ConfigurationError).issues).toEqual([{ field: 'delimiter', reason }]);
      expect((error as ConfigurationError).message).toBe(`readCsv: delimiter: ${reason}`);
      await expect(readCsvHeader(Readable.from(['a,b\n']), { delimiter })).rejects.toThrow(
        `readCsv: delimiter: ${reason}`,
      );
    }
  });
});

describe('readCsv: headers', () => {
  it('reads constructor, toString, hasOwnProperty and __proto__ as ordinary columns', async () => {
    const rows = await collect(
      readCsv(
        Readable.from([
          'email,constructor,toString,hasOwnProperty,__proto__\na@x.com,c,t,h,p\nb@x.com,,,,\n',
        ]),
      ),
    );
    expect(rows[0]?.columns).toEqual(['email', 'constructor', 'toString', 'hasOwnProperty', '__proto__']);
    expect(Object.entries(rows[0]?.values ?? {})).toEqual([
      ['email', 'a@x.com'],
      ['constructor', 'c'],
      ['toString', 't'],
      ['hasOwnProperty', 'h'],
      ['__proto__', 'p'],
    ]);
    expect(Object.getPrototypeOf(rows[1]?.values)).toBeNull();
    expect(rows[1]?.values.constructor).toBe('');
  });

  it('generated names never take a name the header has: Email,Email,Email_2 keeps three columns', () => {
    expect(headerNames(['Email', 'Email', 'Email_2'])).toEqual(['Email', 'Email_3', 'Email_2']);
    expect(headerNames([' a ', 'a', 'a', 'a_2', ''])).toEqual(['a', 'a_3', 'a_4', 'a_2', 'column_5']);
    expect(headerNames(['', 'column_1', ''])).toEqual(['column_1_2', 'column_1', 'column_3']);
  });

  it('through the pipeline: every column, prototype names included, reaches CSV and NDJSON output', async () => {
    const dir = await tempDir();
    const input = join(dir, 'in.csv');
    await writeFile(
      input,
      'Email,Email,Email_2,constructor,toString,hasOwnProperty,__proto__\na@x.com,b,c,d,e,f,g\n',
    );
    const provider = defineProvider({
      id: 'people',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich: async () => ({ fields: { title: 'Engineer' }, confidence: 0.7 }),
    });
    const pipeline = createLeadPipeline({ enrichment: { providers: [provider], fields: ['title'] } });
    const csv = await pipeline.run(readCsv(input), { output: createCsvWriter(join(dir, 'out.csv')) });
    expect(csv.rejects).toEqual([]);
    expect(csv.counts).toMatchObject({ read: 1, done: 1, rejected: 0 });
    expect((await readFile(join(dir, 'out.csv'), 'utf8')).split('\n').slice(0, 2)).toEqual([
      'Email,Email_3,Email_2,constructor,toString,hasOwnProperty,__proto__,title,title__source,title__confidence',
      'a@x.com,b,c,d,e,f,g,Engineer,people,0.7',
    ]);
    const ndjson = await pipeline.run(readCsv(input), {
      output: createNdjsonWriter(join(dir, 'out.ndjson')),
    });
    expect(ndjson.counts).toMatchObject({ done: 1, rejected: 0 });
    const line = (await readFile(join(dir, 'out.ndjson'), 'utf8')).trim();
    expect(line).toContain('"__proto__":"g"');
    expect(Object.entries(JSON.parse(line) as object).slice(0, 7)).toEqual([
      ['Email', 'a@x.com'],
      ['Email_3', 'b'],
      ['Email_2', 'c'],
      ['constructor', 'd'],
      ['toString', 'e'],
      ['hasOwnProperty', 'f'],
      ['__proto__', 'g'],
    ]);
  });
});

describe('readCsv: encodings and delimiters', () => {
  const text = 'email,name\nada@acme.com,Ada Lovelace\nzoë@example.com,Zoë\n';
  const expected = [
    { email: 'ada@acme.com', name: 'Ada Lovelace' },
    { email: 'zoë@example.com', name: 'Zoë' },
  ];
  const values = (rows: SourceRow[]) => rows.map((row) => ({ ...row.values }));

  it('decodes UTF-16 LE and BE with a byte order mark, and strips a UTF-8 one', async () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le).swap16();
    const utf8 = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]);
    for (const bytes of [le, be, utf8]) {
      // Odd-sized chunks split characters and the mark itself.
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; at += 5) chunks.push(bytes.subarray(at, at + 5));
      const rows = await collect(readCsv(Readable.from(chunks)));
      expect(values(rows)).toEqual(expected);
      expect(rows.every((row) => row.issues === undefined)).toBe(true);
    }
    const dir = await tempDir();
    await writeFile(join(dir, 'le.csv'), le);
    expect(values(await collect(readCsv(join(dir, 'le.csv'))))).toEqual(expected);
  });

  it('refuses UTF-16 without a byte order mark, and UTF-32, with an encoding message', async () => {
    const bare = Buffer.from(text, 'utf16le');
    const utf32 = Buffer.from([0xff, 0xfe, 0, 0, 0x65, 0, 0, 0]);
    for (const [bytes, reason] of [
      [bare, /NUL byte at byte 2: it looks like UTF-16 without a byte order mark/],
      [utf32, /is encoded as UTF-32 \(little-endian\)/],
    ] as const) {
      const error = await collect(readCsv(Readable.from([bytes]))).catch((caught: unknown) => caught);
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as ValidationError).issues[0]).toMatchObject({
        field: 'input',
        reason: expect.stringMatching(reason),
      });
    }
  });

  it('reads latin1 when told, and a BOM still wins over the option', async () => {
    const latin1 = Buffer.from(text, 'latin1');
    expect(values(await collect(readCsv(Readable.from([latin1]), { encoding: 'latin1' })))).toEqual(expected);
  });

  it('finds the delimiter from the header line: tab, semicolon, comma', async () => {
    for (const delimiter of ['\t', ';', ',']) {
      const rows = await collect(readCsv(Readable.from([text.replaceAll(',', delimiter)])));
      expect(values(rows)).toEqual(expected);
    }
    expect(detectDelimiter('"a;b;c",d,e')).toBe(',');
    expect(detectDelimiter('a\tb\tc;d')).toBe('\t');
    expect(detectDelimiter('email')).toBe(',');
    expect(detectDelimiter('a;b,c')).toBe(',');
  });

  it('a given delimiter wins over the detected one', async () => {
    const rows = await collect(readCsv(Readable.from(['a,b;c\n1,2;3\n']), { delimiter: ';' }));
    expect(values(rows)).toEqual([{ 'a,b': '1,2', c: '3' }]);
  });

  it('readCsvHeader gives the columns and the delimiter, or undefined for an empty file', async () => {
    expect(await readCsvHeader(Readable.from(['\uFEFF\n\nemail\tEmail\tname\nx\ty\tz\n']))).toEqual({
      columns: ['email', 'Email', 'name'],
      delimiter: '\t',
      line: 3,
    });
    expect(await readCsvHeader(Readable.from(['\n\n']))).toBeUndefined();
    expect(await readCsvHeader(Readable.from([]))).toBeUndefined();
  });

  it('an empty or header-only file yields no rows', async () => {
    expect(await collect(readCsv(Readable.from([''])))).toEqual([]);
    expect(await collect(readCsv(Readable.from(['email,name\r\n'])))).toEqual([]);
  });

  it('a directory or a missing file is refused naming the input', async () => {
    const dir = await tempDir();
    for (const [path, reason] of [
      [dir, 'is a directory, not a file'],
      [join(dir, 'missing.csv'), 'does not exist'],
    ] as const) {
      const error = await collect(readCsv(path)).catch((caught: unknown) => caught);
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as ValidationError).issues).toEqual([{ field: 'input', reason }]);
      await expect(readCsvHeader(path)).rejects.toThrow(reason);
    }
  });
});

describe('CsvRecordSplitter', () => {
  it('counts LF, CRLF and CR line ends alike, inside quotes too', () => {
    const splitter = new CsvRecordSplitter({ delimiter: ',', maxRecordSize: 100 });
    const records = [...splitter.push('a\rb\r\n"c\rd"\n\r\ne'), ...splitter.end()];
    expect(records).toEqual([
      { kind: 'record', fields: ['a'], startLine: 1, line: 1 },
      { kind: 'record', fields: ['b'], startLine: 2, line: 2 },
      { kind: 'record', fields: ['c\rd'], startLine: 3, line: 4 },
      { kind: 'record', fields: ['e'], startLine: 6, line: 6 },
    ]);
  });
});

describe('checkIdentityColumns', () => {
  it('accepts columns that identify a lead: email, LinkedIn, domain or website, a name with a company', () => {
    for (const columns of [
      ['E-mail', 'Plan'],
      ['LinkedIn URL'],
      ['Company Domain'],
      ['Website'],
      ['Full Name', 'Company'],
      ['First Name', 'Last Name', 'Organization'],
    ]) {
      expect(checkIdentityColumns(columns)).toBeUndefined();
    }
  });

  it('refuses columns that do not, listing them; an explicit mapping makes them usable', () => {
    expect(checkIdentityColumns(['Full Name', 'Plan'])).toEqual({
      field: 'input',
      reason:
        'has no column a lead can be identified by (an email, a LinkedIn URL, a company domain or website, or a name with a company); columns found: "Full Name", "Plan"',
    });
    expect(checkIdentityColumns(['First Name', 'Company'])?.reason).toMatch(
      /columns found: "First Name", "Company"/,
    );
    expect(checkIdentityColumns([])?.reason).toMatch(/columns found: none$/);
    expect(
      checkIdentityColumns(['Contact', 'Mail Address'], { columns: { 'Mail Address': 'email' } }),
    ).toBeUndefined();
    expect(checkIdentityColumns(['Email'], { columns: { Email: null } })).toBeDefined();
  });

  it('a TSV read as comma-separated has one column and is refused; read with detection it is usable', async () => {
    const tsv = 'email\tname\nada@acme.com\tAda\n';
    const forced = await readCsvHeader(Readable.from([tsv]), { delimiter: ',' });
    expect(checkIdentityColumns(forced?.columns ?? [])?.reason).toMatch(/columns found: "email\\tname"$/);
    const detected = await readCsvHeader(Readable.from([tsv]));
    expect(checkIdentityColumns(detected?.columns ?? [])).toBeUndefined();
  });
});

describe('CsvRecordSplitter: cases the fuzz test found', () => {
  it('a CR at the end of a chunk still ends the line of a record rejected as too long', () => {
    const splitter = new CsvRecordSplitter({ delimiter: ',', maxRecordSize: 1 });
    const records = [...splitter.push('"😀a""\r'), ...splitter.push('a'), ...splitter.end()];
    expect(records).toEqual([
      { kind: 'malformed', line: 1, reason: expect.stringMatching(/longer than 1 characters/) },
      { kind: 'record', fields: ['a'], startLine: 2, line: 2 },
    ]);
  });
});
