import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  createCsvWriter,
  createLead,
  createLeadPipeline,
  createNdjsonWriter,
  createRejectsWriter,
  defineProvider,
  type Lead,
  type RejectedRow,
  readCsv,
  readNdjson,
  type SourceRow,
  ValidationError,
} from '../src/index.js';
import { createColumnResolver, recogniseColumn } from '../src/pipeline/columns.js';

async function collect(rows: AsyncIterable<SourceRow>): Promise<SourceRow[]> {
  const out: SourceRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

const tempDir = () => mkdtemp(join(tmpdir(), 'leadpipe-pipeline-io-'));

describe('readCsv', () => {
  it('reads a BOM, CRLF, messy headers and quoted fields with delimiters, quotes and line breaks', async () => {
    const text =
      '\uFEFF E-mail ,First Name,Company,,Company\r\n' +
      'ada@acme.com,Ada,"Acme, Inc.",x,dup\r\n' +
      '\r\n' +
      'grace@hopper.dev,"Grace ""Amazing""","Multi\r\nLine",y,z\r\n';
    const rows = await collect(readCsv(Readable.from([text])));
    expect(rows).toHaveLength(2);
    expect(rows[0]?.columns).toEqual(['E-mail', 'First Name', 'Company', 'column_4', 'Company_2']);
    expect(rows[0]?.values).toEqual({
      'E-mail': 'ada@acme.com',
      'First Name': 'Ada',
      Company: 'Acme, Inc.',
      column_4: 'x',
      Company_2: 'dup',
    });
    expect(rows[1]?.values['First Name']).toBe('Grace "Amazing"');
    expect(rows[1]?.values.Company).toBe('Multi\r\nLine');
    expect(rows.map((row) => row.rowNumber)).toEqual([1, 2]);
    expect(rows[0]?.line).toBe(2);
  });

  it('yields rows with the wrong number of fields with issues, and goes on', async () => {
    const rows = await collect(readCsv(Readable.from(['email,name\na@x.com\nb@x.com,B,extra\nc@x.com,C\n'])));
    expect(rows.map((row) => row.issues?.[0]?.reason)).toEqual([
      'has 1 fields but the header has 2',
      'has 3 fields but the header has 2',
      undefined,
    ]);
  });

  it('reads from a path, with another delimiter', async () => {
    const dir = await tempDir();
    const path = join(dir, 'in.csv');
    await writeFile(path, 'email;company\nada@acme.com;Acme\n');
    const rows = await collect(readCsv(path, { delimiter: ';' }));
    expect(rows[0]?.values).toEqual({ email: 'ada@acme.com', company: 'Acme' });
  });

  it('throws a ValidationError naming the input for a header that is not CSV at all', async () => {
    const error = await collect(readCsv(Readable.from(['"email\nada@acme.com\n']))).catch(
      (caught: unknown) => caught,
    );
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).issues[0]?.field).toBe('input');
    expect((error as ValidationError).issues[0]?.reason).toMatch(/header \(line 1\).*never closed/);
  });

  it('rejects a row whose quote is never closed, with its line, instead of throwing', async () => {
    const rows = await collect(readCsv(Readable.from(['email\n"unclosed\n'])));
    expect(rows.map((row) => [row.rowNumber, row.line, row.issues?.[0]?.reason])).toEqual([
      [1, 2, 'cannot be read: a quote opened on this line is never closed'],
    ]);
  });

  it('refuses an input that is neither a path nor a stream', async () => {
    await expect(collect(readCsv(42 as unknown as string))).rejects.toThrow(/input: must be a file path/);
  });
});

describe('readNdjson', () => {
  it('reads objects line by line, with a BOM and CRLF, rejecting lines that are not objects', async () => {
    const text =
      '\uFEFF{"email":"ada@acme.com","company":{"name":"Acme"}}\r\n\r\n[1,2]\r\n{oops\r\n{"email":"b@x.com"}\r\n';
    const rows = await collect(readNdjson(Readable.from([text])));
    expect(rows.map((row) => [row.rowNumber, row.line, row.issues?.[0]?.reason.slice(0, 20)])).toEqual([
      [1, 1, undefined],
      [2, 3, 'is not a JSON object'],
      [3, 4, 'is not valid JSON: E'],
      [4, 5, undefined],
    ]);
    expect(rows[0]?.values).toEqual({ email: 'ada@acme.com', company: { name: 'Acme' } });
  });
});

describe('column mapping', () => {
  it('recognises common headers whatever their case and punctuation', () => {
    expect(
      [
        'Email',
        'E-mail',
        'Email Address',
        'First Name',
        'last_name',
        'Company',
        'Website',
        'Job Title',
        '# Employees',
        'LinkedIn URL',
        'Country',
        'Phone Number',
      ].map(recogniseColumn),
    ).toEqual([
      'email',
      'email',
      'email',
      'firstName',
      'lastName',
      'company.name',
      'company.website',
      'title',
      'company.headcount',
      'linkedinUrl',
      'location.country',
      'phone',
    ]);
    expect(recogniseColumn('Favourite colour')).toBeUndefined();
  });

  it('builds a LeadInput: explicit mapping first, unknown columns under custom, blanks skipped', () => {
    const resolver = createColumnResolver({ columns: { Mail: 'email', Notes: null } });
    const mapped = resolver.toLeadInput({
      Mail: 'ada@acme.com',
      Company: 'Acme',
      City: 'London',
      Country: 'UK',
      Plan: 'pro',
      Notes: 'ignore me',
      Title: '  ',
    });
    expect(mapped).toEqual({
      input: {
        email: 'ada@acme.com',
        company: { name: 'Acme' },
        location: { city: 'London', country: 'UK' },
        custom: { Plan: 'pro' },
      },
    });
    expect(createLead(mapped.issues ? {} : mapped.input).location).toMatchObject({
      city: 'London',
      countryCode: 'GB',
    });
  });

  it('ignores unmapped columns when asked, and passes nested objects through', () => {
    const resolver = createColumnResolver({ unmapped: 'ignore' });
    const source = { email: 'a@x.com', company: { name: 'X' }, 'Company Domain': 'x.com', Plan: 'pro' };
    expect(resolver.toLeadInput(source)).toEqual({
      input: { email: 'a@x.com', company: { name: 'X', domain: 'x.com' } },
    });
    // The source object itself is not changed.
    expect(source.company).toEqual({ name: 'X' });
  });

  it('reports a free-text location given together with its parts', () => {
    const resolver = createColumnResolver();
    const mapped = resolver.toLeadInput({ Location: 'Berlin, Germany', City: 'Berlin' });
    expect(mapped.issues?.[0]?.field).toBe('location.city');
  });
});

function enrichedLead(): Lead {
  const lead = createLead({ email: 'ada@acme.com', companyName: 'Acme' });
  return {
    ...lead,
    title: 'CTO, "Chief"',
    provenance: {
      ...lead.provenance,
      title: { providerId: 'people', confidence: 0.9, at: lead.createdAt, credits: 1 },
    },
  };
}

describe('writers', () => {
  it('CSV: keeps the input columns, adds enriched ones with provenance, quotes as needed', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.csv');
    const writer = createCsvWriter(path, { fields: ['email', 'title', 'company.name'] });
    await writer.write({
      rowNumber: 1,
      values: { 'E-mail': 'ADA@acme.com', email: 'ADA@acme.com', Notes: 'line\nbreak' },
      columns: ['E-mail', 'email', 'Notes'],
      lead: enrichedLead(),
      fields: ['title'],
    });
    await writer.close?.();
    const records = parse(await readFile(path, 'utf8')) as string[][];
    expect(records[0]).toEqual([
      'E-mail',
      'email',
      'Notes',
      'email__source',
      'email__confidence',
      'title',
      'title__source',
      'title__confidence',
      'company.name',
      'company.name__source',
      'company.name__confidence',
    ]);
    expect(records[1]).toEqual([
      // `E-mail` holds the lead's email: its cleaned value (case and spacing) is written.
      'ada@acme.com',
      'ada@acme.com',
      'line\nbreak',
      'input',
      '1',
      'CTO, "Chief"',
      'people',
      '0.9',
      'Acme',
      'input',
      '1',
    ]);
  });

  it('CSV: appends without a second header for a resumed run', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.csv');
    for (const append of [false, true]) {
      const writer = createCsvWriter(path, { append, fields: ['title'], provenance: false });
      await writer.write({
        rowNumber: 1,
        values: { email: 'a@x.com' },
        columns: ['email'],
        lead: enrichedLead(),
        fields: [],
      });
      await writer.close?.();
    }
    expect(await readFile(path, 'utf8')).toBe(
      'email,title\na@x.com,"CTO, ""Chief"""\na@x.com,"CTO, ""Chief"""\n',
    );
  });

  it('NDJSON: writes native values and skips empty fields', async () => {
    const dir = await tempDir();
    const path = join(dir, 'out.ndjson');
    const writer = createNdjsonWriter(path, { fields: ['title', 'phone'] });
    await writer.write({
      rowNumber: 1,
      values: { Email: 'a@x.com' },
      columns: ['Email'],
      lead: enrichedLead(),
      fields: [],
    });
    await writer.close?.();
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      Email: 'a@x.com',
      title: 'CTO, "Chief"',
      title__source: 'people',
      title__confidence: 0.9,
    });
  });

  it('refuses an output that is neither a path nor a stream', () => {
    expect(() => createCsvWriter(7 as unknown as string)).toThrow(/output: must be a file path/);
  });
});

describe('CSV in, CSV out through the pipeline', () => {
  it('enriches a messy CSV file and writes the input columns plus the enriched ones', async () => {
    const dir = await tempDir();
    const input = join(dir, 'in.csv');
    const output = join(dir, 'out.csv');
    await writeFile(
      input,
      '\uFEFFE-mail,First Name,Job Title,Website,Plan\r\nada@acme.com,Ada,,https://acme.com,pro\r\nbroken,X,,,\r\n"grace@hopper.dev",Grace,Admiral,,free\r\n',
    );
    const provider = defineProvider({
      id: 'people',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich: async () => ({ fields: { title: 'Engineer' }, confidence: 0.7 }),
    });
    const pipeline = createLeadPipeline({ enrichment: { providers: [provider], fields: ['title'] } });
    const report = await pipeline.run(readCsv(input), { output: createCsvWriter(output) });
    expect(report.counts).toMatchObject({ read: 3, done: 2, rejected: 1 });
    expect(report.rejects[0]).toMatchObject({ rowNumber: 2, line: 3, stage: 'validate' });
    // Rows are written as they finish (not in input order).
    const records = (
      parse(await readFile(output, 'utf8'), { columns: true }) as Record<string, string>[]
    ).sort((left, right) => (left['E-mail'] ?? '').localeCompare(right['E-mail'] ?? ''));
    expect(records).toEqual([
      {
        'E-mail': 'ada@acme.com',
        'First Name': 'Ada',
        'Job Title': '',
        Website: 'https://acme.com',
        Plan: 'pro',
        title: 'Engineer',
        title__source: 'people',
        title__confidence: '0.7',
      },
      {
        'E-mail': 'grace@hopper.dev',
        'First Name': 'Grace',
        'Job Title': 'Admiral',
        Website: '',
        Plan: 'free',
        title: 'Admiral',
        title__source: 'input',
        title__confidence: '1',
      },
    ]);
  });
});

describe('createRejectsWriter', () => {
  const rejected = (rowNumber: number, values: Record<string, unknown>, line?: number): RejectedRow => ({
    rowNumber,
    ...(line === undefined ? {} : { line }),
    stage: 'validate',
    issues: [
      { field: 'email', reason: 'must be an email address' },
      { field: 'company.domain', reason: 'has an invalid domain, "x"' },
    ],
    values,
    columns: Object.keys(values),
  });

  it('CSV: the input columns as they came, then where and why, quoted as needed', async () => {
    const path = join(await tempDir(), 'rejects.csv');
    const writer = createRejectsWriter(path);
    await writer.write(rejected(2, { 'E-mail': 'broken', Company: 'Acme, Inc.' }, 3));
    await writer.write(rejected(9, { 'E-mail': 'also broken', Company: '' }));
    expect(writer.written).toBe(2);
    await writer.close();
    const records = parse(await readFile(path, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(records).toEqual([
      {
        'E-mail': 'broken',
        Company: 'Acme, Inc.',
        leadpipe_row: '2',
        leadpipe_line: '3',
        leadpipe_stage: 'validate',
        leadpipe_reasons: 'email: must be an email address; company.domain: has an invalid domain, "x"',
        leadpipe_extra: '',
      },
      {
        'E-mail': 'also broken',
        Company: '',
        leadpipe_row: '9',
        leadpipe_line: '',
        leadpipe_stage: 'validate',
        leadpipe_reasons: 'email: must be an email address; company.domain: has an invalid domain, "x"',
        leadpipe_extra: '',
      },
    ]);
  });

  it('CSV: keeps values under columns the first row lacked, and replaces the columns of an earlier rejects file', async () => {
    const path = join(await tempDir(), 'rejects.csv');
    const writer = createRejectsWriter(path);
    await writer.write(rejected(1, { email: 'x', leadpipe_row: '7', leadpipe_reasons: 'old' }));
    await writer.write(rejected(2, { email: 'y', plan: 'pro', seats: 3 }));
    await writer.close();
    const records = parse(await readFile(path, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(Object.keys(records[0]!)).toEqual([
      'email',
      'leadpipe_row',
      'leadpipe_line',
      'leadpipe_stage',
      'leadpipe_reasons',
      'leadpipe_extra',
    ]);
    expect(records[0]).toMatchObject({ leadpipe_row: '1', leadpipe_extra: '' });
    expect(records[0]?.leadpipe_reasons).toMatch(/^email: /);
    expect(JSON.parse(records[1]!.leadpipe_extra!)).toEqual({ plan: 'pro', seats: 3 });
  });

  it('CSV: appends without a second header; a fresh writer replaces the file', async () => {
    const path = join(await tempDir(), 'rejects.csv');
    for (const append of [false, true]) {
      const writer = createRejectsWriter(path, { append });
      await writer.write(rejected(append ? 2 : 1, { email: 'x' }));
      await writer.close();
    }
    const appended = await readFile(path, 'utf8');
    expect(appended.split('\n').filter((line) => line.startsWith('email,'))).toHaveLength(1);
    expect((parse(appended, { columns: true }) as unknown[]).length).toBe(2);
    const fresh = createRejectsWriter(path);
    await fresh.write(rejected(5, { email: 'z' }));
    await fresh.close();
    expect(parse(await readFile(path, 'utf8'), { columns: true })).toMatchObject([{ leadpipe_row: '5' }]);
  });

  it('NDJSON: the input values with native types and the same keys', async () => {
    const path = join(await tempDir(), 'rejects.ndjson');
    const writer = createRejectsWriter(path, { format: 'ndjson' });
    await writer.write(rejected(4, { email: 'x', seats: 3, tags: ['a'], leadpipe_line: 99 }));
    await writer.close();
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({
      email: 'x',
      seats: 3,
      tags: ['a'],
      leadpipe_row: 4,
      leadpipe_stage: 'validate',
      leadpipe_reasons: 'email: must be an email address; company.domain: has an invalid domain, "x"',
    });
  });

  it('hands each row to the file before it resolves, and refuses writes after close', async () => {
    const path = join(await tempDir(), 'rejects.csv');
    const writer = createRejectsWriter(path);
    await writer.write(rejected(1, { email: 'x' }));
    // Not closed, not flushed: the row is in the file already.
    expect(await readFile(path, 'utf8')).toContain('x,1,,validate,');
    await writer.close();
    await expect(writer.write(rejected(2, { email: 'y' }))).rejects.toThrow(/rejects: is closed/);
    expect(() => createRejectsWriter(path, { format: 'xml' as 'csv' })).toThrow(/format: must be/);
  });

  it('through the pipeline: every rejected row, and a fixed rejects file runs clean', async () => {
    const dir = await tempDir();
    const input = join(dir, 'in.csv');
    const rejectsPath = join(dir, 'rejects.csv');
    await writeFile(
      input,
      'Email,First Name,Plan\nada@acme.com,Ada,pro\nnot-an-email,Bob,free\ngrace@hopper.dev,Grace,pro\n@nope,"Multi\nLine",team\n',
    );
    const provider = defineProvider({
      id: 'people',
      lookups: [{ requires: ['email'], supplies: ['title'] }],
      enrich: async () => ({ fields: { title: 'Engineer' }, confidence: 0.7 }),
    });
    const rejects = createRejectsWriter(rejectsPath);
    const pipeline = createLeadPipeline({
      enrichment: { providers: [provider], fields: ['title'] },
      rejects: rejects.write,
    });
    const report = await pipeline.run(readCsv(input), { output: createCsvWriter(join(dir, 'out.csv')) });
    await rejects.close();
    expect(report.counts).toMatchObject({ read: 4, done: 2, rejected: 2 });
    const records = parse(await readFile(rejectsPath, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(records.map((record) => [record.Email, record['First Name'], record.leadpipe_row])).toEqual([
      ['not-an-email', 'Bob', '2'],
      // A value a spreadsheet would run as a formula is written with a quote in front.
      ["'@nope", 'Multi\nLine', '4'],
    ]);
    expect(records.every((record) => record.leadpipe_reasons?.startsWith('email: '))).toBe(true);

    // Fix the emails and run the rejects file itself: the leadpipe_* columns are carried, not refused.
    const fixed = join(dir, 'fixed.csv');
    await writeFile(
      fixed,
      (await readFile(rejectsPath, 'utf8'))
        .replace('not-an-email', 'bob@acme.com')
        .replace("'@nope", 'm@acme.com'),
    );
    const again = createLeadPipeline({ enrichment: { providers: [provider], fields: ['title'] } });
    const second = await again.run(readCsv(fixed), { output: createCsvWriter(join(dir, 'fixed.out.csv')) });
    expect(second.counts).toMatchObject({ read: 2, done: 2, rejected: 0 });
  });
});
