import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, open, rename, rm } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import {
  createFileDeadLetterQueue,
  type DeadLetterEntry,
  type ErasedPerson,
  LeadpipeError,
  type LeadStoreV1,
  leadIdentityKey,
  mentionsEmail,
  ValidationError,
  type ValidationIssue,
} from '@leadpipe/core';

/** The kinds of file `leads erase` clears a person from. */
type EraseFileKind = 'answers' | 'deadLetters' | 'archive';

/** A file `leads erase` clears a person from, as its flags named it. */
export interface EraseFile {
  /** `answers` (a `--cache` file or a checkpoint's `.results`), `deadLetters`, or `archive` (NDJSON of stored leads). */
  readonly kind: EraseFileKind;
  /** The file (absolute). */
  readonly path: string;
  /** The flag that named it (`--cache`, `--checkpoint`, `--dead-letters`, `--archive-file`, `--run`). */
  readonly flag: string;
  /** Whether a missing file is a usage error (named directly) or nothing to erase (found through `--run`). */
  readonly required: boolean;
}

/** The flags of `leads erase` that name files, with what each names. */
export const ERASE_FILE_FLAGS = {
  cache: { type: 'string', multiple: true },
  checkpoint: { type: 'string', multiple: true },
  'dead-letters': { type: 'string', multiple: true },
  'archive-file': { type: 'string', multiple: true },
  run: { type: 'string', multiple: true },
} as const;

/** Usage lines of {@link ERASE_FILE_FLAGS}. */
export const ERASE_FILE_HELP = `  --run <output>         An enrich output file: also erase from the files that run keeps beside
                         it by default (<output>.checkpoint.results, <name>.dead-letters.ndjson)
  --cache <file>         An enrich --cache file of provider answers
  --checkpoint <file>    An enrich --checkpoint file: erase from its answers (<file>.results)
  --dead-letters <file>  A dead-letters file (enrich --dead-letters, or the default one)
  --archive-file <file>  A leads retain --archive-file
                         (each file flag may be repeated; run erase while no leadpipe enrich
                         or redrive uses those files)`;

/** Whether any file flag of `leads erase` was given: then `--store` may be left out. */
export function eraseFilesGiven(values: Readonly<Record<string, unknown>>): boolean {
  return Object.keys(ERASE_FILE_FLAGS).some((flag) => values[flag] !== undefined);
}

/**
 * The files the file flags of `leads erase` name, resolved against `cwd`.
 * `--run <output>` names the files `leadpipe enrich` keeps beside that output
 * by default, as `leadpipe enrich` names them.
 */
export function eraseFiles(
  values: Readonly<Record<string, unknown>>,
  cwd: string,
  issues: ValidationIssue[],
): EraseFile[] {
  const list = (flag: keyof typeof ERASE_FILE_FLAGS) => (values[flag] as string[] | undefined) ?? [];
  const files: EraseFile[] = [];
  const add = (kind: EraseFileKind, path: string, flag: string, required: boolean) => {
    if (!files.some((file) => file.path === path)) files.push({ kind, path, flag, required });
  };
  for (const value of list('cache')) add('answers', resolve(cwd, value), '--cache', true);
  for (const value of list('checkpoint'))
    add('answers', `${resolve(cwd, value)}.results`, '--checkpoint', true);
  for (const value of list('dead-letters')) add('deadLetters', resolve(cwd, value), '--dead-letters', true);
  for (const value of list('archive-file')) add('archive', resolve(cwd, value), '--archive-file', true);
  for (const value of list('run')) {
    if (!/\.(csv|tsv|ndjson|jsonl)$/i.test(value)) {
      issues.push({
        field: '--run',
        reason: `"${value}" must be an enrich output file (.csv, .tsv, .ndjson or .jsonl)`,
      });
      continue;
    }
    const out = resolve(cwd, value);
    const base = out.replace(/(\.enriched)?\.(csv|tsv|ndjson|jsonl)$/i, '');
    add('answers', `${out}.checkpoint.results`, '--run', false);
    add('deadLetters', `${base}.dead-letters.ndjson`, '--run', false);
  }
  for (const file of files) {
    if (file.kind === 'deadLetters' && !/\.(ndjson|jsonl)$/i.test(file.path)) {
      issues.push({ field: file.flag, reason: `"${file.path}" must end in .ndjson or .jsonl` });
    }
  }
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether a record's JSON names the person: their email as a whole address, or one of their lead ids. */
function namesPerson(json: string, person: ErasedPerson): boolean {
  return mentionsEmail(json, person.email) || person.leadIds.some((id) => json.includes(`"${id}"`));
}

/**
 * Rewrite a line file (answers: `{"k","v","x"}` lines; an archive: one
 * stored lead a line) without the lines that name the person: into a
 * temporary file beside it, synced, then renamed over it, so a crash
 * leaves the old file or the new one. Resolves with the lines removed.
 */
async function dropLines(path: string, person: ErasedPerson): Promise<number> {
  const temporary = `${path}.erasing`;
  let removed = 0;
  const output = createWriteStream(temporary);
  const closed = new Promise<void>((done, fail) => {
    output.on('close', done);
    output.on('error', fail);
  });
  try {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
    for await (const line of lines) {
      if (line !== '' && namesPerson(line, person)) {
        removed += 1;
        continue;
      }
      if (!output.write(`${line}\n`)) await once(output, 'drain');
    }
    output.end();
    await closed;
  } catch (error) {
    output.destroy();
    await rm(temporary, { force: true });
    throw error;
  }
  if (removed === 0) {
    await rm(temporary, { force: true });
    return 0;
  }
  const handle = await open(temporary, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  return removed;
}

/**
 * Clear the person from a dead-letters file. Its removals are append-only
 * (a `{"r": id}` line leaves the entry's line in the file), so the entries
 * that stay are written to a new file, in order and unchanged, which is
 * renamed over the old one: nothing of the person is left on disk.
 */
async function dropDeadLetters(path: string, person: ErasedPerson): Promise<number> {
  const queue = createFileDeadLetterQueue(path);
  const kept: DeadLetterEntry[] = [];
  let removed = 0;
  try {
    let cursor: string | undefined;
    do {
      const page = await queue.list(cursor === undefined ? { limit: 500 } : { cursor, limit: 500 });
      for (const entry of page.entries) {
        if (
          entry.leadIds.some((id) => person.leadIds.includes(id)) ||
          namesPerson(JSON.stringify(entry), person)
        ) {
          removed += 1;
        } else kept.push(entry);
      }
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } finally {
    await queue.close();
  }
  if (removed === 0) return 0;
  const temporary = `${path}.erasing`;
  const fresh = createFileDeadLetterQueue(temporary, { fresh: true });
  try {
    for (const entry of kept) await fresh.put(entry);
  } catch (error) {
    await fresh.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await fresh.close();
  await rename(temporary, path);
  return removed;
}

/** Where the report names a file: what it holds and its path (relative to `cwd` when inside it). */
function placeOf(file: EraseFile, cwd: string): string {
  const shown = relative(cwd, file.path);
  const path = shown === '' || shown.startsWith('..') ? file.path : shown;
  const what = file.kind === 'answers' ? 'answers' : file.kind === 'deadLetters' ? 'dead letters' : 'archive';
  return `${what} ${path}`;
}

/**
 * Before anything is erased: every file named directly must exist, and the
 * output a `--run` names too (a typo would otherwise erase nothing and say so
 * quietly).
 */
export async function checkEraseFiles(
  files: readonly EraseFile[],
  runs: readonly string[],
  cwd: string,
): Promise<void> {
  const issues: ValidationIssue[] = [];
  for (const file of files) {
    if (file.required && !(await exists(file.path))) {
      issues.push({ field: file.flag, reason: `${file.path} does not exist or cannot be read` });
    }
  }
  for (const run of runs) {
    const path = resolve(cwd, run);
    if (!(await exists(path))) {
      issues.push({
        field: '--run',
        reason: `${path} does not exist: name the output of a leadpipe enrich run`,
      });
    }
  }
  if (issues.length > 0) {
    throw new ValidationError(issues, {
      message: issues.map((issue) => `${issue.field}: ${issue.reason}`).join('\n'),
    });
  }
}

/** What {@link erasePerson} removed: the normalized email, and each place with the records removed (0: nothing there). */
export interface PersonErasure {
  /** The normalized email. */
  readonly email: string;
  /** Place to records removed, the store's places first. */
  readonly removed: Readonly<Record<string, number>>;
}

/**
 * Erase one person from the store (when there is one) and from each file:
 * the store's report with the files' places merged in. A file that cannot
 * be read as what it is named as is a `ValidationError` naming its flag.
 */
export async function erasePerson(
  email: string,
  store: LeadStoreV1 | undefined,
  files: readonly EraseFile[],
  cwd: string,
): Promise<PersonErasure> {
  const identity = leadIdentityKey({ email } as Parameters<typeof leadIdentityKey>[0]);
  let normalized = identity?.startsWith('email:')
    ? identity.slice('email:'.length)
    : email.trim().toLowerCase();
  const leadIds: string[] = [];
  let removed: Record<string, number> = {};
  if (store !== undefined) {
    const stored = await store.getByEmail(normalized);
    if (stored !== undefined) leadIds.push(stored.id);
    const report = await store.erase(email);
    normalized = report.email;
    removed = { ...report.removed };
  }
  const person: ErasedPerson = { email: normalized, leadIds };
  for (const file of files) {
    const place = placeOf(file, cwd);
    if (!(await exists(file.path))) {
      removed[place] = 0;
      continue;
    }
    try {
      removed[place] =
        file.kind === 'deadLetters'
          ? await dropDeadLetters(file.path, person)
          : await dropLines(file.path, person);
    } catch (error) {
      if (!LeadpipeError.isInstance(error)) throw error;
      throw new ValidationError([{ field: file.flag, reason: error.message }], {
        message: `${file.flag}: ${error.message}`,
      });
    }
  }
  return { email: normalized, removed };
}
