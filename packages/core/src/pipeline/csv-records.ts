/**
 * Splitting CSV text into records, strictly and with bounded memory: the
 * tokenizer behind `readCsv`. Pure (text in, records out), fed chunk by chunk.
 *
 * Why not csv-parse: with `relax_quotes` it merges the rows after a stray
 * quote into one field silently; without it, `skip_records_with_error`
 * resumes at the point of the error, so the rows inside the broken quote
 * are lost without a count, and after a record that is too long it reads
 * nothing more. This splitter rejects the line a broken record starts on and
 * reads the following lines again as records of their own, so every line
 * of the file ends up in exactly one record or one rejection.
 */

/** Longest record read by default, in characters (1 MiB of ASCII text). */
export const DEFAULT_MAX_RECORD_SIZE = 1_048_576;

/** Delimiters {@link detectDelimiter} chooses from, in order of preference on a tie. */
const DETECTED_DELIMITERS = [',', '\t', ';'] as const;

/** A record read from CSV text, or the reason the line it started on could not be read. */
export type CsvRecord =
  | {
      readonly kind: 'record';
      /** The record's fields, unquoted. */
      readonly fields: string[];
      /** 1-based line the record starts on. */
      readonly startLine: number;
      /** 1-based line the record ends on (later than `startLine` when a quoted field holds line breaks). */
      readonly line: number;
    }
  | {
      readonly kind: 'malformed';
      /** 1-based line that is rejected (the line the broken record starts on). */
      readonly line: number;
      /** Why, in words (`a closing quote is followed by " "`). */
      readonly reason: string;
    };

/** Options of {@link CsvRecordSplitter}, already checked (readCsv's options schema checks `delimiter`). */
export interface CsvRecordSplitterOptions {
  /** One-character field delimiter, not a quote or a line break (checked by `readCsv`'s options schema). */
  readonly delimiter: string;
  /** Longest record, in characters; a longer one is rejected. */
  readonly maxRecordSize: number;
}

const QUOTE = 34; // "
const LF = 10;
const CR = 13;

type Scan =
  | { readonly kind: 'record'; readonly fields: string[]; readonly end: number; readonly breaks: number }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'more' };

function charName(char: string): string {
  if (char === '\t') return 'a tab';
  if (char === ' ') return 'a space';
  return JSON.stringify(char);
}

/**
 * Splits CSV text into records (RFC 4180: fields separated by the
 * delimiter, records by CRLF, LF or CR; a field that starts with a quote is
 * quoted, `""` inside it is one quote, and it may hold delimiters and line
 * breaks). Empty lines are skipped. A quote inside a field that does not
 * start with one is an ordinary character (`5" screen`), which cannot merge
 * lines.
 *
 * A record that cannot be read is reported as `malformed` on the line it
 * starts on, and reading goes on at the next line, so lines that a stray
 * quote would have pulled into it are read as records of their own:
 * - a closing quote followed by anything but a delimiter or a line end;
 * - a quote never closed before the end of the text;
 * - a record longer than `maxRecordSize` (memory stays bounded: text is
 *   held only up to that size plus one chunk);
 * - a record spanning several lines whose field count differs from the
 *   first record's (the header's): a broken quote that happened to pair
 *   with a later one.
 */
export class CsvRecordSplitter {
  readonly #delimiter: number;
  readonly #maxRecordSize: number;
  #text = '';
  #line = 1;
  #started = false;
  /** Discarding the rest of a line longer than the limit: its line break has not come yet. */
  #skippingLine = false;
  /** Field count of the first record (the header), which a record spanning several lines must have. */
  #expectFields: number | undefined;

  constructor(options: CsvRecordSplitterOptions) {
    this.#delimiter = options.delimiter.charCodeAt(0);
    this.#maxRecordSize = options.maxRecordSize;
  }

  /** Feed the next piece of text; returns the records it completes. */
  push(chunk: string): CsvRecord[] {
    let text = chunk;
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.#text += text;
    return this.#drain(false);
  }

  /** The text has ended: returns the last records. */
  end(): CsvRecord[] {
    return this.#drain(true);
  }

  #drain(final: boolean): CsvRecord[] {
    const out: CsvRecord[] = [];
    for (;;) {
      if (this.#skippingLine) {
        const lineEnd = this.#lineBreak(0, final);
        if (lineEnd === undefined) {
          this.#text = final ? '' : this.#text.slice(-1) === '\r' ? '\r' : '';
          if (final) this.#skippingLine = false;
          return out;
        }
        this.#text = this.#text.slice(lineEnd.next);
        this.#line += 1;
        this.#skippingLine = false;
      }
      // Empty lines between records are skipped.
      let start = 0;
      for (;;) {
        const code = this.#text.charCodeAt(start);
        if (code === LF) {
          start += 1;
          this.#line += 1;
        } else if (code === CR) {
          if (start + 1 >= this.#text.length && !final) break;
          start += this.#text.charCodeAt(start + 1) === LF ? 2 : 1;
          this.#line += 1;
        } else break;
      }
      this.#text = this.#text.slice(start);
      if (this.#text.length === 0) return out;
      const scan = this.#scan(final);
      if (scan.kind === 'more') return out;
      if (scan.kind === 'record') {
        const multiLine = scan.breaks > 0;
        if (multiLine && this.#expectFields !== undefined && scan.fields.length !== this.#expectFields) {
          this.#reject(
            out,
            `a quoted field opened on this line runs to line ${this.#line + scan.breaks} and the record has ${scan.fields.length} fields, not ${this.#expectFields}: a stray quote?`,
            final,
          );
          continue;
        }
        this.#expectFields ??= scan.fields.length;
        out.push({
          kind: 'record',
          fields: scan.fields,
          startLine: this.#line,
          line: this.#line + scan.breaks,
        });
        this.#text = this.#text.slice(scan.end);
        // The breaks inside quoted fields, and the one that ends the record.
        this.#line += scan.breaks + 1;
        continue;
      }
      this.#reject(out, scan.reason, final);
    }
  }

  /** Report the current line as malformed and go on at the line after it. */
  #reject(out: CsvRecord[], reason: string, final: boolean): void {
    out.push({ kind: 'malformed', line: this.#line, reason });
    const lineEnd = this.#lineBreak(0, final);
    if (lineEnd === undefined) {
      // The line goes on past what is held: drop it up to its line break (keeping a last CR,
      // which ends the line whatever follows it).
      this.#text = !final && this.#text.endsWith('\r') ? '\r' : '';
      this.#skippingLine = !final;
      if (final) this.#line += 1;
      return;
    }
    this.#text = this.#text.slice(lineEnd.next);
    this.#line += 1;
  }

  /** The first line break at or after `from`, ignoring quotes. */
  #lineBreak(from: number, final: boolean): { readonly next: number } | undefined {
    const text = this.#text;
    for (let index = from; index < text.length; index++) {
      const code = text.charCodeAt(index);
      if (code === LF) return { next: index + 1 };
      if (code === CR) {
        if (index + 1 >= text.length && !final) return undefined;
        return { next: text.charCodeAt(index + 1) === LF ? index + 2 : index + 1 };
      }
    }
    return undefined;
  }

  /** Read one record from the start of the held text. */
  #scan(final: boolean): Scan {
    const text = this.#text;
    const length = text.length;
    const limit = this.#maxRecordSize;
    const tooLong: Scan = {
      kind: 'malformed',
      reason: `the record is longer than ${limit} characters (maxRecordSize): an unclosed quote?`,
    };
    const fields: string[] = [];
    let breaks = 0;
    let index = 0;
    for (;;) {
      // At the start of a field.
      if (index < length && text.charCodeAt(index) === QUOTE) {
        let value = '';
        let from = index + 1;
        for (;;) {
          const quote = text.indexOf('"', from);
          if (quote === -1 || quote >= limit) {
            if (length > limit) return tooLong;
            if (!final) return { kind: 'more' };
            return { kind: 'malformed', reason: 'a quote opened on this line is never closed' };
          }
          value += text.slice(from, quote);
          const after = quote + 1;
          if (after >= length && !final) return { kind: 'more' };
          const next = text.charCodeAt(after);
          if (next === QUOTE) {
            value += '"';
            from = after + 1;
            continue;
          }
          if (after < length && next !== this.#delimiter && next !== LF && next !== CR) {
            return {
              kind: 'malformed',
              reason: `a closing quote is followed by ${charName(text.charAt(after))} instead of a delimiter or a line end`,
            };
          }
          for (let at = index + 1; at < quote; at++) {
            const code = text.charCodeAt(at);
            if (code === LF) breaks += 1;
            else if (code === CR && text.charCodeAt(at + 1) !== LF) breaks += 1;
          }
          fields.push(value);
          index = after;
          break;
        }
      } else {
        let at = index;
        while (at < length) {
          const code = text.charCodeAt(at);
          if (code === this.#delimiter || code === LF || code === CR) break;
          at += 1;
        }
        if (at > limit) return tooLong;
        if (at >= length && !final) return { kind: 'more' };
        fields.push(text.slice(index, at));
        index = at;
      }
      if (index > limit) return tooLong;
      // After a field: a delimiter, a line end, or the end of the text.
      if (index >= length) {
        if (!final) return { kind: 'more' };
        return { kind: 'record', fields, end: index, breaks };
      }
      const code = text.charCodeAt(index);
      if (code === this.#delimiter) {
        index += 1;
        if (index >= length && !final) return { kind: 'more' };
        continue;
      }
      if (code === LF) return { kind: 'record', fields, end: index + 1, breaks };
      // CR: wait to know whether an LF follows.
      if (index + 1 >= length && !final) return { kind: 'more' };
      return {
        kind: 'record',
        fields,
        end: text.charCodeAt(index + 1) === LF ? index + 2 : index + 1,
        breaks,
      };
    }
  }
}

/**
 * The delimiter of a CSV text, from its first line (quotes respected): the
 * most frequent of comma, tab and semicolon; a comma when none appears or
 * on a tie with it.
 */
export function detectDelimiter(firstLine: string): string {
  const counts = new Map<string, number>(DETECTED_DELIMITERS.map((delimiter) => [delimiter, 0]));
  let quoted = false;
  for (const char of firstLine) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && counts.has(char)) counts.set(char, (counts.get(char) ?? 0) + 1);
    else if (!quoted && (char === '\n' || char === '\r')) break;
  }
  let best: string = ',';
  for (const delimiter of DETECTED_DELIMITERS) {
    if ((counts.get(delimiter) ?? 0) > (counts.get(best) ?? 0)) best = delimiter;
  }
  return best;
}

/**
 * Column names from a header record: trimmed; a blank name becomes
 * `column_<n>` (its 1-based position); a repeated name gets `_2`, `_3`...
 * Generated names never take a name the header has itself
 * (`Email,Email,Email_2` gives `Email`, `Email_3`, `Email_2`), so no column
 * is lost.
 */
export function headerNames(record: readonly string[]): string[] {
  const trimmed = record.map((raw) => raw.trim());
  const taken = new Set(trimmed.filter((name) => name !== ''));
  const used = new Set<string>();
  return trimmed.map((name, index) => {
    if (name !== '' && !used.has(name)) {
      used.add(name);
      return name;
    }
    const base = name === '' ? `column_${index + 1}` : name;
    let candidate = base;
    for (let suffix = 2; used.has(candidate) || (candidate !== name && taken.has(candidate)); suffix++) {
      candidate = `${base}_${suffix}`;
    }
    used.add(candidate);
    return candidate;
  });
}
