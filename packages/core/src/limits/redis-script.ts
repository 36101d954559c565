import { createHash } from 'node:crypto';
import type Bottleneck from 'bottleneck';

/** Runs one Lua script on Redis: its keys and arguments in, its reply out. */
export type ScriptRunner = (keys: readonly string[], args: readonly string[]) => Promise<unknown>;

interface IORedisLike {
  eval(script: string, keys: number, ...args: string[]): Promise<unknown>;
  evalsha(sha: string, keys: number, ...args: string[]): Promise<unknown>;
}

type Callback = (error: Error | null, result: unknown) => void;

interface NodeRedisLike {
  eval(args: unknown[], callback: Callback): unknown;
  evalsha(args: unknown[], callback: Callback): unknown;
}

/** Whether Redis answered that it does not hold the script (a restart, `SCRIPT FLUSH`, a new server). */
const isNoScript = (error: unknown): boolean =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

/**
 * A runner of `script` on the client a Bottleneck connection holds: an
 * `IORedisConnection` holds an ioredis client (promise API), a
 * `RedisConnection` a node-redis 3 client (callback API); both expose the
 * client they were given as `client`. One `EVALSHA` a call (one round trip,
 * the script's hash instead of its text), and `EVAL` when Redis does not hold
 * the script yet, which also loads it.
 *
 * @param connection - the registry's Redis connection.
 * @param script - the Lua source.
 */
export function scriptRunner(
  connection: Bottleneck.RedisConnection | Bottleneck.IORedisConnection,
  script: string,
): ScriptRunner {
  const sha = createHash('sha1').update(script).digest('hex');
  const client = (connection as unknown as { client: unknown }).client;
  const isIORedis =
    typeof (client as { options?: unknown }).options === 'object' && 'status' in (client as object);
  if (isIORedis) {
    const redis = client as IORedisLike;
    return async (keys, args) => {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (error) {
        if (!isNoScript(error)) throw error;
        return redis.eval(script, keys.length, ...keys, ...args);
      }
    };
  }
  const redis = client as NodeRedisLike;
  const send = (
    command: 'eval' | 'evalsha',
    head: string,
    keys: readonly string[],
    args: readonly string[],
  ) =>
    new Promise<unknown>((resolve, reject) => {
      redis[command]([head, keys.length, ...keys, ...args], (error, result) =>
        error === null ? resolve(result) : reject(error),
      );
    });
  return async (keys, args) => {
    try {
      return await send('evalsha', sha, keys, args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return send('eval', script, keys, args);
    }
  };
}

/** Lua: `now`, Redis's clock in epoch ms (the clock every process sharing a key agrees on). */
export const REDIS_NOW_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;
