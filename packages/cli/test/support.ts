import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCsv } from '@leadpipe/core';
import type { CliOutput } from '../src/index.js';

/** The committed demo input. */
export const DEMO_CSV = fileURLToPath(new URL('../../../examples/data/leads.csv', import.meta.url));

/** A stream that keeps what is written, optionally posing as a terminal. */
export interface Captured extends CliOutput {
  /** Everything written so far. */
  text(): string;
}

/** Capture a stream; `onWrite` sees each chunk. */
export function capture(options: { isTTY?: boolean; onWrite?: (chunk: string) => void } = {}): Captured {
  const chunks: string[] = [];
  return {
    isTTY: options.isTTY ?? false,
    columns: 200,
    write(chunk: string) {
      chunks.push(chunk);
      options.onWrite?.(chunk);
      return true;
    },
    text: () => chunks.join(''),
  };
}

/** A fresh temporary directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'leadpipe-cli-'));
}

/** Write the demo CSV's header and its first `rows` data lines to `dir/name`; returns the path. */
export function demoSubset(dir: string, rows: number, name = 'leads.csv'): string {
  const lines = readFileSync(DEMO_CSV, 'utf8').split('\n');
  const path = join(dir, name);
  writeFileSync(path, `${lines.slice(0, rows + 1).join('\n')}\n`);
  return path;
}

/** Every row of a CSV file, as column to value. */
export async function readRows(path: string): Promise<Record<string, string>[]> {
  const rows: Record<string, string>[] = [];
  for await (const row of readCsv(path)) rows.push(row.values as Record<string, string>);
  return rows;
}
