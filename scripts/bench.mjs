#!/usr/bin/env node
// `pnpm run bench`: runs every benchmark (packages/*/bench/*.bench.ts and bench/*.bench.ts) in turn.
// Each prints one JSON line per case; this script passes them through and adds nothing.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const only = process.argv[2];
const files = [];
for (const dir of ['bench', ...readdirSync('packages').map((name) => join('packages', name, 'bench'))]) {
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir)) if (file.endsWith('.bench.ts')) files.push(join(dir, file));
}
let failed = 0;
for (const file of files.sort()) {
  if (only && !file.includes(only)) continue;
  const result = spawnSync('pnpm', ['exec', 'tsx', '--conditions=@leadpipe/source', file], {
    stdio: 'inherit',
  });
  if (result.status !== 0) failed += 1;
}
process.exit(failed ? 1 : 0);
