import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, emulatorOptions, runCli } from '../src/index.js';
import { capture, demoSubset, screenAfter, tempDir } from './support.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators(emulatorOptions({ vendors: ['apollo', 'clearbit'] }));
});
afterAll(async () => {
  await running?.close();
});

describe('Ctrl-C on a terminal', () => {
  it('says it is stopping and leaves no stale copy of the live display on screen', async () => {
    const dir = tempDir();
    demoSubset(dir, 150);
    const controller = new AbortController();
    let draws = 0;
    const stderr = capture({
      isTTY: true,
      onWrite: (chunk) => {
        if (chunk.includes('rows      ')) draws += 1;
        if (draws === 3 && !controller.signal.aborted) controller.abort(new Error('Ctrl-C'));
      },
    });
    const stdout = capture();
    const code = await runCli(['enrich', 'leads.csv', '--emulate', '--concurrency', '2'], {
      stdout,
      stderr,
      env: {},
      cwd: dir,
      emulators: running,
      signal: controller.signal,
      progressIntervalMs: 0,
    });
    expect(code).toBe(EXIT_CODES.interrupted);
    const screen = screenAfter(stderr.text());
    // One live block (its first line starts with "rows"), the stopping notice once, and the final message.
    expect(screen.filter((line) => line.startsWith('rows      '))).toHaveLength(1);
    expect(screen.filter((line) => line.startsWith('rate      '))).toHaveLength(1);
    expect(screen.filter((line) => line.startsWith('leadpipe: stopping (Ctrl-C)'))).toHaveLength(1);
    expect(screen.at(-1)).toMatch(/^leadpipe: interrupted; \d+ rows are checkpointed/);
    // The block drawn last is below the notice: what is on screen is the final figures.
    const notice = screen.findIndex((line) => line.startsWith('leadpipe: stopping'));
    expect(screen.findIndex((line) => line.startsWith('rows      '))).toBeGreaterThan(notice);
  });
});
