import type Bottleneck from 'bottleneck';

/** Runs one Lua script on Redis: its keys and arguments in, its reply out. */
export type ScriptRunner = (keys: readonly string[], args: readonly string[]) => Promise<unknown>;

interface IORedisLike {
  eval(script: string, keys: number, ...args: string[]): Promise<unknown>;
}

interface NodeRedisLike {
  eval(args: unknown[], callback: (error: Error | null, result: unknown) => void): unknown;
}

/**
 * A runner of `script` on the client a Bottleneck connection holds: an
 * `IORedisConnection` holds an ioredis client (promise API), a
 * `RedisConnection` a node-redis 3 client (callback API); both expose the
 * client they were given as `client`. One `EVAL` a call: one round trip.
 *
 * @param connection - the registry's Redis connection.
 * @param script - the Lua source.
 */
export function scriptRunner(
  connection: Bottleneck.RedisConnection | Bottleneck.IORedisConnection,
  script: string,
): ScriptRunner {
  const client = (connection as unknown as { client: unknown }).client;
  const isIORedis =
    typeof (client as { options?: unknown }).options === 'object' && 'status' in (client as object);
  if (isIORedis) {
    const redis = client as IORedisLike;
    return (keys, args) => redis.eval(script, keys.length, ...keys, ...args);
  }
  const redis = client as NodeRedisLike;
  return (keys, args) =>
    new Promise((resolve, reject) => {
      redis.eval([script, keys.length, ...keys, ...args], (error, result) =>
        error === null ? resolve(result) : reject(error),
      );
    });
}

/** Lua: `now`, Redis's clock in epoch ms (the clock every process sharing a key agrees on). */
export const REDIS_NOW_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
`;
