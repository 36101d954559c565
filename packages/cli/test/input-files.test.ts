import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineReport } from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, emulatorOptions, runCli } from '../src/index.js';
import { capture, DEMO_CSV, tempDir } from './support.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators(emulatorOptions({ vendors: ['apollo', 'clearbit'] }));
});
afterAll(async () => {
  await running?.close();
});

async function cli(argv: string[], cwd: string) {
  const stdout = capture();
  const stderr = capture();
  const code = await runCli(argv, { env: {}, cwd, emulators: running, stdout, stderr });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

function report(path: string): PipelineReport {
  return JSON.parse(readFileSync(path, 'utf8')) as PipelineReport;
}

/** The demo's first `rows` leads with the given delimiter (the demo file has no quoted fields). */
function demoWith(delimiter: string, rows: number): string {
  const lines = readFileSync(DEMO_CSV, 'utf8')
    .split('\n')
    .slice(0, rows + 1);
  return `${lines.map((line) => line.split(',').join(delimiter)).join('\n')}\n`;
}

function calls(): number {
  return running.counters.get('apollo.requests') + running.counters.get('clearbit.requests');
}

describe('leadpipe enrich: input files', () => {
  it('reads a .tsv file and writes the output as TSV', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'leads.tsv'), demoWith('\t', 20));
    const result = await cli(['enrich', 'leads.tsv', '--emulate', '--report', 'r.json'], dir);
    expect([EXIT_CODES.done, EXIT_CODES.finishedWithProblems]).toContain(result.code);
    const lines = readFileSync(join(dir, 'leads.enriched.tsv'), 'utf8').trim().split('\n');
    expect(lines[0]?.split('\t').slice(0, 3)).toEqual(['Email', 'First Name', 'Last Name']);
    expect(lines[0]).toContain('\ttitle\ttitle__source\t');
    expect(lines[0]).not.toContain(',');
    const counts = report(join(dir, 'r.json')).counts;
    expect(lines).toHaveLength(1 + counts.done - counts.duplicates);
    expect(counts.enriched).toBeGreaterThan(5);
  });

  it('refuses a file with no column that identifies a lead, with exit 2, listing its columns and --map, writing nothing', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'people.csv'), 'Vorname,Firma,Notiz\nAda,Acme,hi\nAlan,Initech,yo\n');
    const before = calls();
    const result = await cli(['enrich', 'people.csv', '--emulate'], dir);
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toContain('has no column a lead can be identified by');
    expect(result.stderr).toContain('columns found: "Vorname", "Firma", "Notiz"');
    expect(result.stderr).toContain('--map "Work Email=email"');
    expect(calls()).toBe(before);
    expect(readdirSync(dir)).toEqual(['people.csv']);

    // Told which column is which, the same file runs.
    const mapped = await cli(
      ['enrich', 'people.csv', '--emulate', '--map', 'Vorname=fullName,Firma=company.name'],
      dir,
    );
    expect(mapped.code).toBe(EXIT_CODES.done);
    expect(mapped.stdout).toContain('2 read, 2 done');
  });

  it('counts as enriched only leads that gained a field', async () => {
    const dir = tempDir();
    // Nobody the emulated vendors know: every lead is done, none enriched.
    writeFileSync(
      join(dir, 'unknown.csv'),
      'Email\nnobody.one@unknown-domain-one.test\nnobody.two@unknown-domain-two.test\nnobody.three@unknown-domain-three.test\n',
    );
    const result = await cli(['enrich', 'unknown.csv', '--emulate', '--report', 'r.json'], dir);
    expect(result.code).toBe(EXIT_CODES.done);
    const counts = report(join(dir, 'r.json')).counts;
    expect(counts.done).toBe(3);
    expect(counts.enriched).toBe(0);
    expect(result.stdout).toContain('0 enriched');
  });

  it('gives a header-only file an output with its header, and says 0 rows', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'empty.csv'), 'Email,Company\n');
    const result = await cli(['enrich', 'empty.csv', '--emulate', '--fields', 'title'], dir);
    expect(result.code).toBe(EXIT_CODES.done);
    expect(result.stdout).toContain('0 read, 0 done');
    expect(readFileSync(join(dir, 'empty.enriched.csv'), 'utf8')).toBe(
      'Email,Company,title,title__source,title__confidence,leadpipe_row\n',
    );
  });

  it('runs an empty file as 0 rows', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'nothing.csv'), '');
    const result = await cli(['enrich', 'nothing.csv', '--emulate'], dir);
    expect(result.code).toBe(EXIT_CODES.done);
    expect(result.stdout).toContain('0 read, 0 done');
    expect(existsSync(join(dir, 'nothing.enriched.csv'))).toBe(true);
  });

  it('refuses a directory as input before any file is written', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'folder.csv'));
    const result = await cli(['enrich', 'folder.csv', '--emulate'], dir);
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toContain('is a directory');
    expect(readdirSync(dir)).toEqual(['folder.csv']);
    expect(readdirSync(join(dir, 'folder.csv'))).toEqual([]);
  });

  it('refuses a file it cannot read (UTF-32) with exit 2 before any file is written', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'wide.csv'), Buffer.from([0xff, 0xfe, 0x00, 0x00, 0x45, 0, 0, 0]));
    const result = await cli(['enrich', 'wide.csv', '--emulate'], dir);
    expect(result.code).toBe(EXIT_CODES.usage);
    expect(result.stderr).toContain('cannot be read');
    expect(readdirSync(dir)).toEqual(['wide.csv']);
  });

  it('writes --map columns under their own names, in their place, with the cleaned value', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'mapped.csv'), 'Notiz,Kontakt\nhello,"  Nobody.One@Unknown-Domain-One.TEST "\n');
    const result = await cli(
      ['enrich', 'mapped.csv', '--emulate', '--fields', 'title', '--map', 'Kontakt=email'],
      dir,
    );
    expect(result.code).toBe(EXIT_CODES.done);
    const lines = readFileSync(join(dir, 'mapped.enriched.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('Notiz,Kontakt,title,title__source,title__confidence,leadpipe_row');
    expect(lines[1]).toBe('hello,nobody.one@unknown-domain-one.test,,,,1');
  });
});
