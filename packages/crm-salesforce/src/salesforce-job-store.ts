import { randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { LeadpipeError, parseOptions, ValidationError } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import { SALESFORCE_PROVIDER_ID } from './salesforce-auth.js';
import type { SalesforceBulkJobRecord, SalesforceBulkJobStore } from './salesforce-bulk.js';

/** Version of the file format, the `v` field. */
const FORMAT_VERSION = 1;

const recordSchema = z.strictObject({
  jobId: z.string().min(1),
  object: z.string().min(1),
  externalIdField: z.string().min(1),
  records: z.number().int().nonnegative(),
  createdAt: z.number(),
});

type Issue = z.ZodError['issues'][number];

function corrupt(path: string, reason: string): LeadpipeError {
  // Never the file's contents (nor a parser's message, which quotes them): only the path and what is wrong.
  return new LeadpipeError('job_store_corrupt', {
    message: `Salesforce Bulk job store ${path} cannot be read: ${reason}. It was left as it is; move it aside to start with no recorded jobs (their batches are then uploaded again).`,
    providerId: SALESFORCE_PROVIDER_ID,
  });
}

/** What is wrong with a value, without the value. */
function problem(issue: Issue): string {
  if (issue.code === 'invalid_type') {
    return `is missing or not ${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`;
  }
  if (issue.code === 'unrecognized_keys') return 'has fields this version does not write';
  if (issue.code === 'too_small') return 'is empty or too small';
  return 'is invalid';
}

/**
 * Read the file: a missing one is empty; anything else must be this format,
 * every record valid. Errors name fields and a record's position, never a
 * value or a batch id. Records are taken from the parsed JSON itself, so no
 * key (not even `__proto__`) is lost on the way.
 */
async function load(path: string): Promise<Map<string, SalesforceBulkJobRecord>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt(path, 'it is not JSON');
  }
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    Array.isArray(parsed) ||
    !(Object.hasOwn(parsed, 'v') && Object.hasOwn(parsed, 'jobs'))
  ) {
    throw corrupt(path, 'it is not a JSON object with `v` and `jobs`, so not a Salesforce Bulk job store');
  }
  const { v, jobs, ...rest } = parsed as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw corrupt(path, 'it has fields besides `v` and `jobs`');
  if (v !== FORMAT_VERSION) throw corrupt(path, `its version \`v\` is not ${FORMAT_VERSION}`);
  if (typeof jobs !== 'object' || jobs === null || Array.isArray(jobs)) {
    throw corrupt(path, '`jobs` is not an object of job records');
  }
  const entries = Object.entries(jobs);
  const loaded = new Map<string, SalesforceBulkJobRecord>();
  entries.forEach(([batchId, value], index) => {
    const position = `job record ${index + 1} of ${entries.length}`;
    if (batchId === '') throw corrupt(path, `${position} has an empty batch id`);
    const result = recordSchema.safeParse(value);
    if (!result.success) {
      const [issue] = result.error.issues;
      const field = issue?.path[0];
      const what = issue === undefined ? 'is invalid' : problem(issue);
      throw corrupt(
        path,
        field === undefined ? `${position} ${what}` : `${position}: \`${String(field)}\` ${what}`,
      );
    }
    loaded.set(batchId, result.data);
  });
  return loaded;
}

/** Make the rename itself durable; folders cannot be opened for syncing everywhere (Windows), so best effort. */
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Not supported here: the rename is still atomic, only its durability on power loss is weaker.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** Replace `path` with `text`: a temp file in the same folder, fsynced, then renamed over it. */
async function writeAtomically(path: string, text: string): Promise<void> {
  const folder = dirname(path);
  await mkdir(folder, { recursive: true });
  const temp = join(folder, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | undefined;
  try {
    handle = await open(temp, 'wx');
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(temp, path);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await syncFolder(folder);
}

function checkBatchId(batchId: unknown): string {
  if (typeof batchId !== 'string' || batchId === '') {
    throw new ValidationError([{ field: 'batchId', reason: 'must be a non-empty string' }], {
      providerId: SALESFORCE_PROVIDER_ID,
    });
  }
  return batchId;
}

function checkJob(job: unknown): SalesforceBulkJobRecord {
  const result = recordSchema.safeParse(job);
  if (result.success) return result.data;
  throw new ValidationError(
    result.error.issues.map((issue) => ({
      field: ['job', ...issue.path.map(String)].join('.'),
      reason: problem(issue),
    })),
    { providerId: SALESFORCE_PROVIDER_ID },
  );
}

/**
 * A {@link SalesforceBulkJobStore} in a small JSON file, so a Bulk job whose
 * poll ran out of time is resumed after a restart instead of uploaded again:
 * `{"v": 1, "jobs": {"<batch id>": {jobId, object, externalIdField, records,
 * createdAt}}}`. Nothing secret is written: job ids, object and field names,
 * counts and times.
 *
 * The file is read on the first call (a missing file is an empty store; its
 * folder is not needed until the first write) and every job is then held in
 * memory: there are few, one per batch whose results were not read yet.
 * Each `set`, and each `delete` of a recorded batch, rewrites the whole file
 * atomically (a temp file in the same folder, fsynced, renamed over it, then
 * the folder fsynced where the platform allows), creating the parent folder
 * if needed, before it resolves; a crash leaves the old file or the new one,
 * never a torn one (at worst a stray `.<name>.<pid>.<random>.tmp` beside it,
 * which is never read). Calls run one at a time in the order they were made, so
 * concurrent `set`s and `delete`s all land. A write that fails rejects and
 * leaves both the file and the store as they were. Once every job has been
 * read, the file holds `{"v":1,"jobs":{}}`.
 *
 * A file that is not this format (not JSON, another version, a record that
 * does not validate) is refused, on that call and every later one, with a
 * `LeadpipeError` of code `job_store_corrupt` naming the path and what is
 * wrong, never the file's contents; the file is left as it is. Nothing is
 * dropped to make a file readable. Read and write errors of the file system
 * reject as they are.
 *
 * One store per file, in one process at a time: the file is not locked, and
 * two stores writing it would overwrite each other's jobs (a lost job only
 * means its batch is uploaded again). Across processes or hosts, implement
 * the interface on Redis or a database.
 *
 * @example
 * ```ts
 * const salesforce = createSalesforce({
 *   refreshToken, clientId, clientSecret,
 *   jobStore: createFileBulkJobStore('.leadpipe/salesforce-jobs.json'),
 * });
 * ```
 *
 * @param path - the file (a relative path is resolved against the working folder now); created on the first `set`, loaded if present.
 * @throws ConfigurationError `invalid_configuration` when `path` is not a non-empty string.
 */
export function createFileBulkJobStore(path: string): SalesforceBulkJobStore & {
  /** How many jobs are recorded now (0 until the file is read by the first call). */
  readonly size: number;
} {
  parseOptions(
    z.object({
      path: z
        .string({ error: 'must be a non-empty file path' })
        .trim()
        .min(1, { error: 'must be a non-empty file path' }),
    }),
    { path },
    {
      name: 'createFileBulkJobStore',
      providerId: SALESFORCE_PROVIDER_ID,
    },
  );
  // Fixed now: a later change of the working folder does not move the store.
  const file = resolve(path);
  let jobs: Map<string, SalesforceBulkJobRecord> | undefined;
  let tail: Promise<unknown> = Promise.resolve();

  /** Run `task` after every call made before it, with the jobs loaded (a failed load is tried again next call). */
  const serial = <T>(task: (loaded: Map<string, SalesforceBulkJobRecord>) => Promise<T> | T): Promise<T> => {
    const run = tail.then(async () => {
      jobs ??= await load(file);
      return task(jobs);
    });
    tail = run.catch(() => undefined);
    return run;
  };

  /** Write `next` to the file, then make it the store's state. */
  const commit = async (next: Map<string, SalesforceBulkJobRecord>): Promise<void> => {
    const text = `${JSON.stringify({ v: FORMAT_VERSION, jobs: Object.fromEntries(next) }, null, 2)}\n`;
    await writeAtomically(file, text);
    jobs = next;
  };

  return {
    get size() {
      return jobs?.size ?? 0;
    },
    get: async (batchId) => {
      const id = checkBatchId(batchId);
      return serial((loaded) => loaded.get(id));
    },
    set: async (batchId, job) => {
      const id = checkBatchId(batchId);
      const record = checkJob(job);
      return serial(async (loaded) => {
        const next = new Map(loaded);
        next.set(id, record);
        await commit(next);
      });
    },
    delete: async (batchId) => {
      const id = checkBatchId(batchId);
      return serial(async (loaded) => {
        if (!loaded.has(id)) return;
        const next = new Map(loaded);
        next.delete(id);
        await commit(next);
      });
    },
  };
}
