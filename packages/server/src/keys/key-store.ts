import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { registerSecret, ValidationError } from '@leadpipe/core';

/** What a key may do. `admin` includes `write`, which includes `read`. */
export type ApiKeyScope = 'read' | 'write' | 'admin';

/** The scopes, weakest first. */
export const API_KEY_SCOPES: readonly ApiKeyScope[] = ['read', 'write', 'admin'];

/** A stored key: never the key itself, only its SHA-256. */
export interface ApiKeyRecord {
  /** Public id, the part of the key before its secret: `lpk_<id>_<secret>`. */
  readonly id: string;
  /** A label for people, such as `crm-sync job`. */
  readonly name: string;
  /** What the key may do. */
  readonly scopes: readonly ApiKeyScope[];
  /** SHA-256 of the secret part, hex. */
  readonly hash: string;
  /** When it was made (ISO 8601). */
  readonly createdAt: string;
  /** Set once revoked (ISO 8601): a revoked key is refused. */
  readonly revokedAt?: string;
  /** For a key made by rotation: the id of the key it replaced. */
  readonly rotatedFrom?: string;
}

/** A key just made: the only time its text is known. */
export interface IssuedApiKey {
  /** The key to hand to the client, `lpk_<id>_<secret>`. Shown once; only its hash is kept. */
  readonly key: string;
  /** What is stored. */
  readonly record: ApiKeyRecord;
}

/** A key that checked out. */
export interface VerifiedKey {
  /** The key's id (the public part). */
  readonly id: string;
  /** What it may do. */
  readonly scopes: ApiKeyScope[];
}

/** The key's scopes, as a dashboard's `verifyKey` option takes them; `null` when the key is unknown or revoked. */
export type VerifyKeyResult = VerifiedKey | null;

/** Where key records live. Two are built in: {@link createMemoryKeyStore} and {@link createFileKeyStore}. */
export interface ApiKeyStore {
  /** Check a presented key: its record's scopes, or `null`. Constant-time on the secret. */
  verifyKey(key: string): Promise<VerifyKeyResult>;
  /** Make a key. */
  create(input: { readonly name: string; readonly scopes: readonly ApiKeyScope[] }): Promise<IssuedApiKey>;
  /** Replace a key by a new one with the same name and scopes; the old one is revoked at once. `undefined` for an unknown or revoked id. */
  rotate(id: string): Promise<IssuedApiKey | undefined>;
  /** Revoke a key. Resolves with false for an unknown or already revoked id. */
  revoke(id: string): Promise<boolean>;
  /** Every record, revoked ones included (hashes, never keys). */
  list(): Promise<readonly ApiKeyRecord[]>;
}

const KEY_PATTERN = /^lpk_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** SHA-256 of a key's secret, hex. */
function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new key: a 12-character id and 32 random bytes of secret (256 bits). */
function issue(name: string, scopes: readonly ApiKeyScope[], now: Date, rotatedFrom?: string): IssuedApiKey {
  const id = randomBytes(9).toString('base64url').replace(/[-_]/g, 'x').slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  const key = `lpk_${id}_${secret}`;
  registerSecret(key);
  return {
    key,
    record: {
      id,
      name,
      scopes: [...scopes],
      hash: hashSecret(secret),
      createdAt: now.toISOString(),
      ...(rotatedFrom === undefined ? {} : { rotatedFrom }),
    },
  };
}

function checkInput(input: { readonly name: string; readonly scopes: readonly ApiKeyScope[] }): void {
  const issues = [];
  if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200)
    issues.push({ field: 'name', reason: 'must be 1 to 200 characters' });
  if (!Array.isArray(input.scopes) || input.scopes.length === 0)
    issues.push({ field: 'scopes', reason: 'must list at least one of read, write, admin' });
  else
    for (const scope of input.scopes)
      if (!API_KEY_SCOPES.includes(scope))
        issues.push({ field: 'scopes', reason: `"${String(scope)}" is not one of read, write, admin` });
  if (issues.length > 0) throw new ValidationError(issues);
}

/** Key records kept by {@link createKeyStoreOn}: load them all, save them all. */
interface RecordBackend {
  load(): Promise<ApiKeyRecord[]>;
  save(records: readonly ApiKeyRecord[]): Promise<void>;
}

function createKeyStoreOn(backend: RecordBackend, now: () => Date): ApiKeyStore {
  // One change at a time, so two rotations never both save over each other.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(work: () => Promise<T>): Promise<T> => {
    const next = chain.then(work, work);
    chain = next.catch(() => undefined);
    return next;
  };
  return {
    async verifyKey(key) {
      if (typeof key !== 'string') return null;
      const match = KEY_PATTERN.exec(key.trim());
      if (match === null) return null;
      const [, id, secret] = match as unknown as [string, string, string];
      const record = (await backend.load()).find((candidate) => candidate.id === id);
      if (record === undefined || record.revokedAt !== undefined) return null;
      const expected = Buffer.from(record.hash, 'hex');
      const given = Buffer.from(hashSecret(secret), 'hex');
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
      return { id: record.id, scopes: [...record.scopes] };
    },
    async create(input) {
      checkInput(input);
      return serial(async () => {
        const issued = issue(input.name.trim(), input.scopes, now());
        await backend.save([...(await backend.load()), issued.record]);
        return issued;
      });
    },
    rotate(id) {
      return serial(async () => {
        const records = await backend.load();
        const old = records.find((record) => record.id === id);
        if (old === undefined || old.revokedAt !== undefined) return undefined;
        const at = now();
        const issued = issue(old.name, old.scopes, at, old.id);
        const revoked = { ...old, revokedAt: at.toISOString() };
        await backend.save([
          ...records.map((record) => (record.id === id ? revoked : record)),
          issued.record,
        ]);
        return issued;
      });
    },
    revoke(id) {
      return serial(async () => {
        const records = await backend.load();
        const old = records.find((record) => record.id === id);
        if (old === undefined || old.revokedAt !== undefined) return false;
        const revoked = { ...old, revokedAt: now().toISOString() };
        await backend.save(records.map((record) => (record.id === id ? revoked : record)));
        return true;
      });
    },
    async list() {
      return backend.load();
    },
  };
}

/** Options of the built-in key stores. */
export interface KeyStoreOptions {
  /** The clock for `createdAt` and `revokedAt`. Default the system clock. */
  readonly now?: () => Date;
}

/** Keys kept in memory: for tests and for a server whose keys come from code. */
export function createMemoryKeyStore(options: KeyStoreOptions = {}): ApiKeyStore {
  let records: ApiKeyRecord[] = [];
  return createKeyStoreOn(
    {
      load: async () => records,
      save: async (next) => {
        records = [...next];
      },
    },
    options.now ?? (() => new Date()),
  );
}

/**
 * Keys kept in a JSON file (hashes only: the file gives nobody a key),
 * written atomically (a temporary file renamed over it). Every check looks at
 * the file's mtime and size and reads it again when they changed, so a key
 * revoked by another process is refused at once. A missing file is an empty store.
 */
export function createFileKeyStore(path: string, options: KeyStoreOptions = {}): ApiKeyStore {
  let cached: { readonly version: string; readonly records: ApiKeyRecord[] } | undefined;
  return createKeyStoreOn(
    {
      async load() {
        // Parsed again only when the file changed (a save renames a new file over it), so a check costs one stat.
        let version: string;
        try {
          const info = await stat(path);
          version = `${info.ino}:${info.mtimeMs}:${info.size}`;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw error;
        }
        if (cached !== undefined && cached.version === version) return cached.records;
        const parsed = JSON.parse(await readFile(path, 'utf8')) as { keys?: ApiKeyRecord[] };
        const records = Array.isArray(parsed.keys) ? parsed.keys : [];
        cached = { version, records };
        return records;
      },
      async save(records) {
        const temporary = `${path}.${process.pid}.tmp`;
        await writeFile(temporary, `${JSON.stringify({ version: 1, keys: records }, null, 2)}\n`, {
          mode: 0o600,
        });
        await rename(temporary, path);
      },
    },
    options.now ?? (() => new Date()),
  );
}

/** Whether `granted` allows `needed`: admin covers write and read; write covers read. */
export function scopeAllows(granted: readonly ApiKeyScope[], needed: ApiKeyScope): boolean {
  const rank = API_KEY_SCOPES.indexOf(needed);
  return granted.some((scope) => API_KEY_SCOPES.indexOf(scope) >= rank);
}
