// Global setup of the integration project: the services must answer, or the run fails with the reason.
import { defaults, probe } from './services.mjs';

export default async function setup(): Promise<void> {
  const redisUrl = process.env.REDIS_URL ?? defaults.REDIS_URL;
  if (!(await probe(redisUrl))) {
    throw new Error(`integration suite: Redis did not answer at ${redisUrl} (set REDIS_URL)`);
  }
}
