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

const ESC = String.fromCharCode(27);

/**
 * What a terminal shows after `text` was written to it: plain characters,
 * `\n`, and the cursor moves the progress display uses (`ESC[nF` up n lines
 * to their start, `ESC[2K` clear the line, `ESC[0J` clear to the end of the screen).
 */
export function screenAfter(text: string): string[] {
  const lines: string[] = [''];
  let row = 0;
  let column = 0;
  const pattern = new RegExp(`${ESC}\\[(\\d*)([A-Za-z])|\\n|[^${ESC}\\n]+`, 'g');
  for (const match of text.matchAll(pattern)) {
    const [token, count, command] = match;
    if (token === '\n') {
      row += 1;
      column = 0;
      while (lines.length <= row) lines.push('');
    } else if (command === 'F') {
      row = Math.max(0, row - Number(count || 1));
      column = 0;
    } else if (command === 'K') {
      lines[row] = '';
      column = 0;
    } else if (command === 'J') {
      lines[row] = (lines[row] ?? '').slice(0, column);
      lines.length = row + 1;
    } else if (command === undefined) {
      const line = lines[row] ?? '';
      lines[row] = line.slice(0, column) + token + line.slice(column + token.length);
      column += token.length;
    }
  }
  return lines.filter((line, index) => line !== '' || index < lines.length - 1);
}

/** Wait until `captured` holds a line matching `pattern` (such as `leadpipe serve`'s `listening` line); returns it. */
export async function lineMatching(
  captured: { text(): string },
  pattern: RegExp,
  timeoutMs = 90_000,
): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const line = captured
      .text()
      .split('\n')
      .find((candidate) => pattern.test(candidate));
    if (line !== undefined) return line;
    if (Date.now() > until) throw new Error(`no line matching ${pattern} in:\n${captured.text()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
