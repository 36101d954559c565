#!/usr/bin/env node
// `pnpm test`: runs the unit suite, and the integration suite when Redis answers.
// Without Redis the integration suite is not run, and this script says so and why.
// With LEADPIPE_REQUIRE_SERVICES=1 (set by .ci/run) a missing service is an error instead.
import { spawnSync } from 'node:child_process';
import { defaults, probe } from './services.mjs';

const redisUrl = process.env.REDIS_URL ?? defaults.REDIS_URL;
const redisUp = await probe(redisUrl);
const args = ['vitest', 'run', ...process.argv.slice(2)];
const notRun =
  `\n[leadpipe] integration suite NOT RUN: Redis did not answer at ${redisUrl}. ` +
  'Start Redis (see CONTRIBUTING.md) or set REDIS_URL, then run `pnpm test` again.\n';
if (!redisUp) {
  if (process.env.LEADPIPE_REQUIRE_SERVICES === '1') {
    console.error(`Redis did not answer at ${redisUrl}; the integration suite cannot run.`);
    process.exit(1);
  }
  console.warn(notRun);
  args.push('--project', 'unit');
}
const result = spawnSync('pnpm', ['exec', ...args], {
  stdio: 'inherit',
  env: { ...process.env, REDIS_URL: redisUrl },
});
// Said again at the end, where a reader of a long log looks.
if (!redisUp) console.warn(notRun);
process.exit(result.status ?? 1);
