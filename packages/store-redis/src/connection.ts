import { ApiCallError, registerSecret } from '@leadpipe/core/adapter-kit';
import { Redis } from 'ioredis';
import { z } from 'zod';

/** Something that went wrong talking to Redis, reported to `onError` instead of failing the caller. */
export interface RedisCacheErrorEvent {
  /** What was being done: `get`, `set`, `delete`, `clear`, `erase`, `read`, `invalidate` or `connection`. */
  readonly operation: string;
  /** The failure, as an `ApiCallError` of provider `redis` (`timeout`, `network_error` or `server_error`), secrets scrubbed. */
  readonly error: ApiCallError;
}

/** Told about each Redis failure the cache absorbed. A listener that throws is ignored. */
export type RedisCacheErrorListener = (event: RedisCacheErrorEvent) => void;

/** A `redis://` or `rediss://` URL, or an ioredis client. */
export type RedisConnectionOption = string | Redis;

const REDIS_URL = /^rediss?:\/\//i;

/** Client states in which a command would wait for a reconnect: calls fail at once instead. */
const DOWN: ReadonlySet<string> = new Set(['reconnecting', 'close', 'end']);

/** Whether `value` looks like an ioredis client (duck-typed: a second copy of ioredis fails `instanceof`). */
function isRedisClient(value: unknown): value is Redis {
  if (typeof value !== 'object' || value === null) return false;
  const client = value as Record<string, unknown>;
  return ['get', 'set', 'scan', 'pipeline', 'multi', 'eval'].every(
    (name) => typeof client[name] === 'function',
  );
}

/** The zod schema of the `redis` option: never echoes the value (a URL may hold a password). */
export const redisOptionSchema = z.custom<RedisConnectionOption>(
  (value) => (typeof value === 'string' ? REDIS_URL.test(value) : isRedisClient(value)),
  { message: 'must be a redis:// or rediss:// URL, or an ioredis client' },
);

/** The zod schema of a key prefix. */
export const prefixSchema = z.string().min(1).max(256);

/** The zod schema of `timeoutMs`. */
export const timeoutSchema = z.number().int().min(1).max(60_000);

/** The zod schema of `onError`. */
export const listenerSchema = z.custom<RedisCacheErrorListener>(
  (value) => typeof value === 'function',
  'must be a function',
);

/** A Redis client with a per-call time limit, failures mapped to `ApiCallError` and reported. */
export interface RedisConnection {
  /** The ioredis client. */
  readonly client: Redis;
  /**
   * Run `work` on the client within the time limit. Rejects with an
   * `ApiCallError` (provider `redis`) when Redis fails or is too slow.
   */
  call<T>(operation: string, work: (client: Redis) => Promise<T>): Promise<T>;
  /** Tell `onError` about a failure (listener errors swallowed). */
  report(operation: string, error: unknown): ApiCallError;
  /** Close the client when this connection opened it (a given client is left open). */
  close(): Promise<void>;
}

/** Map anything Redis threw to an `ApiCallError` of provider `redis`. */
function toRedisError(operation: string, error: unknown): ApiCallError {
  if (ApiCallError.isInstance(error)) return error;
  const name = error instanceof Error ? error.name : '';
  const message = error instanceof Error ? error.message : String(error);
  const code = name === 'ReplyError' ? 'server_error' : 'network_error';
  return new ApiCallError(code, {
    providerId: 'redis',
    message: `Redis ${operation} failed: ${message}`,
    cause: error,
  });
}

/** Register the password of a Redis URL as a secret, so no error or event can carry it. */
function registerUrlSecrets(url: string): void {
  try {
    const parsed = new URL(url);
    registerSecret(parsed.password);
    registerSecret(decodeURIComponent(parsed.password));
    if (parsed.password === '') registerSecret(decodeURIComponent(parsed.username));
  } catch {
    // An unparsable URL: ioredis will refuse it; nothing to register.
  }
}

/**
 * Open (or adopt) a Redis client. A URL gets a client that fails a command
 * after one reconnect attempt instead of queueing it forever, and keeps
 * reconnecting in the background. Every call is cut at `timeoutMs`, and
 * fails at once while the client is reconnecting (or closed).
 */
export function openRedisConnection(
  option: RedisConnectionOption,
  timeoutMs: number,
  onError: RedisCacheErrorListener | undefined,
): RedisConnection {
  const notify = (operation: string, error: unknown): ApiCallError => {
    const failure = toRedisError(operation, error);
    try {
      onError?.({ operation, error: failure });
    } catch {
      // Listeners observe; a throwing one never breaks a read.
    }
    return failure;
  };
  let client: Redis;
  const owned = typeof option === 'string';
  if (typeof option === 'string') {
    registerUrlSecrets(option);
    client = new Redis(option, {
      maxRetriesPerRequest: 1,
      connectTimeout: Math.max(timeoutMs, 1_000),
    });
    // One report per outage, not one per reconnect attempt; ioredis logs unhandled errors otherwise.
    let down = false;
    client.on('error', (error) => {
      if (down) return;
      down = true;
      notify('connection', error);
    });
    client.on('ready', () => {
      down = false;
    });
  } else {
    client = option;
  }
  return {
    client,
    report: notify,
    async call(operation, work) {
      // Lost the connection: fail now rather than queue behind reconnect attempts (a cache must not slow reads down).
      if (DOWN.has(client.status)) {
        throw new ApiCallError('network_error', {
          providerId: 'redis',
          message: `Redis ${operation} failed: not connected (${client.status})`,
        });
      }
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ApiCallError('timeout', {
                providerId: 'redis',
                message: `Redis ${operation} took longer than ${timeoutMs} ms`,
              }),
            ),
          timeoutMs,
        );
      });
      try {
        return await Promise.race([work(client), timeout]);
      } catch (error) {
        throw toRedisError(operation, error);
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (!owned) return;
      if (client.status === 'ready') {
        try {
          await client.quit();
          return;
        } catch {
          // Fall through to a hard disconnect.
        }
      }
      client.disconnect();
    },
  };
}

/** `text` with the glob characters of a Redis `MATCH` pattern escaped. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\^]/g, '\\$&');
}

/**
 * Walk the keys under `prefix` with `SCAN` (never `KEYS`), `count` at a time,
 * handing each batch to `visit`. Memory is bounded by the batch.
 */
export async function scanPrefix(
  connection: RedisConnection,
  operation: string,
  prefix: string,
  count: number,
  visit: (keys: string[]) => Promise<void>,
): Promise<void> {
  const match = `${escapeGlob(prefix)}*`;
  let cursor = '0';
  do {
    const [next, keys] = await connection.call(operation, (client) =>
      client.scan(cursor, 'MATCH', match, 'COUNT', count),
    );
    cursor = next;
    if (keys.length > 0) await visit(keys);
  } while (cursor !== '0');
}

/**
 * A pattern matching `email` as a whole address inside text (JSON, keys),
 * case-insensitively: `ada@acme.com` matches in `email:ada@acme.com` but not
 * in `nada@acme.com` or `ada@acme.com.au`.
 */
export function emailMatcher(email: string): RegExp {
  const escaped = email.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^a-z0-9._%+-])${escaped}($|[^a-z0-9.-])`, 'i');
}
