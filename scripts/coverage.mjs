#!/usr/bin/env node
// Prints test coverage per package from Vitest's `coverage/coverage-summary.json` and fails when a package falls
// below its floor in scripts/coverage-floors.json. Floors are set at a measured figure and only ever move up:
// `node scripts/coverage.mjs --raise` writes today's figures (rounded down) where they beat the floor.
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';

const METRICS = ['lines', 'statements', 'functions', 'branches'];
const summaryPath = 'coverage/coverage-summary.json';
const floorsPath = new URL('./coverage-floors.json', import.meta.url);

const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
const floors = JSON.parse(readFileSync(floorsPath, 'utf8'));

const totals = new Map();
for (const [file, figures] of Object.entries(summary)) {
  if (file === 'total') continue;
  const match = /^packages\/([^/]+)\/src\//.exec(relative(process.cwd(), file));
  if (!match) continue;
  const name = match[1];
  const sums =
    totals.get(name) ?? Object.fromEntries(METRICS.map((metric) => [metric, { covered: 0, total: 0 }]));
  for (const metric of METRICS) {
    sums[metric].covered += figures[metric].covered;
    sums[metric].total += figures[metric].total;
  }
  totals.set(name, sums);
}

const percent = (sum) => (sum.total === 0 ? 100 : (100 * sum.covered) / sum.total);
const failures = [];
const raised = { ...floors };
console.log(
  `${'package'.padEnd(20)}${METRICS.map((metric) => metric.padStart(12)).join('')}   floor (lines/branches)`,
);
for (const name of [...totals.keys()].sort()) {
  const sums = totals.get(name);
  const floor = floors[name];
  const row = METRICS.map((metric) => `${percent(sums[metric]).toFixed(2)}%`.padStart(12)).join('');
  console.log(`${name.padEnd(20)}${row}   ${floor ? `${floor.lines}/${floor.branches}` : 'none'}`);
  if (!floor) {
    failures.push(`${name}: no coverage floor in scripts/coverage-floors.json`);
  } else {
    for (const metric of ['lines', 'branches']) {
      if (percent(sums[metric]) < floor[metric]) {
        failures.push(
          `${name}: ${metric} ${percent(sums[metric]).toFixed(2)}% is below its floor of ${floor[metric]}%`,
        );
      }
    }
  }
  raised[name] = {
    lines: Math.max(floor?.lines ?? 0, Math.floor(percent(sums.lines))),
    branches: Math.max(floor?.branches ?? 0, Math.floor(percent(sums.branches))),
  };
}
for (const name of Object.keys(floors)) {
  if (!totals.has(name)) failures.push(`${name}: has a floor but no coverage was measured`);
}

if (process.argv.includes('--raise')) {
  writeFileSync(floorsPath, `${JSON.stringify(raised, null, 2)}\n`);
  console.log('floors written to scripts/coverage-floors.json');
}
if (failures.length > 0) {
  for (const failure of failures) console.error(`coverage: ${failure}`);
  process.exit(1);
}
