import { ConfigurationError } from '@leadpipe/core/adapter-kit';
import type { Redis } from 'ioredis';

/**
 * Refuses a Redis whose `maxmemory-policy` is not `noeviction`. BullMQ keeps
 * job locks as keys with a TTL; under any eviction policy Redis may drop
 * them (or the jobs themselves) under memory pressure, and jobs are then lost
 * or run twice. A service that forbids `CONFIG GET` (some managed Redis) is
 * refused too unless the caller vouches for it with `assumeNoEviction`.
 *
 * @param redis - a connected client.
 * @param what - the option that named the connection, for the message.
 * @throws ConfigurationError naming `connection` and the policy found.
 */
export async function assertNoEviction(redis: Redis, what: string): Promise<void> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as unknown as string[];
    policy = reply[1];
  } catch (error) {
    throw new ConfigurationError('invalid_configuration', {
      message: `${what}: could not read Redis's maxmemory-policy (CONFIG GET refused: ${(error as Error).message}); BullMQ needs noeviction. If your service guarantees it, pass assumeNoEviction: true`,
      issues: [{ field: 'connection', reason: 'maxmemory-policy could not be read' }],
    });
  }
  if (policy !== 'noeviction')
    throw new ConfigurationError('invalid_configuration', {
      message: `${what}: Redis's maxmemory-policy is "${policy}"; BullMQ needs "noeviction" (an evicting Redis loses job locks and jobs under memory pressure). Run CONFIG SET maxmemory-policy noeviction, or set it in redis.conf`,
      issues: [{ field: 'connection', reason: `maxmemory-policy is ${policy}, not noeviction` }],
    });
}
