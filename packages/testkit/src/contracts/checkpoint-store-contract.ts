import { type CheckpointStore, type Clock, ValidationError } from '@leadpipe/core/adapter-kit';
import type { ContractExpect, ContractTestFunction } from './enrichment-provider.js';
import { describeError, settle } from './support.js';

/** A fresh, empty place for checkpoints (a temporary file, a database schema) and how to open stores over it. */
export interface CheckpointStoreFixture {
  /**
   * Open a store over this place, with `now` as its clock for result
   * expiry. Called again, it must open a new store over the same place, as
   * another process would after a restart.
   */
  store(now: Clock): CheckpointStore;
  /** Remove the place. */
  cleanup?(): void | Promise<void>;
}

/** Names of the checks, to skip some with `skip`. */
export type CheckpointStoreContractCheck =
  | 'finishedRows'
  | 'windows'
  | 'results'
  | 'expiry'
  | 'tombstones'
  | 'fingerprint'
  | 'fresh'
  | 'state'
  | 'crash';

/** Options of {@link checkpointStoreContract}. */
export interface CheckpointStoreContractOptions {
  /** Prefix of every test name. Default `CheckpointStore contract`. */
  readonly name?: string;
  /** A new, empty place for each test. */
  readonly setup: () => CheckpointStoreFixture | Promise<CheckpointStoreFixture>;
  /** Checks not to run (say what your store does not do, and why, next to the call). */
  readonly skip?: readonly CheckpointStoreContractCheck[];
}

/**
 * The `CheckpointStore` contract, Keyv-style: runner-agnostic (pass your
 * runner's `it` and `expect`), each check writing through one store, closing
 * it, and reading what is there through a new store over the same place,
 * as a resume in another process would. It checks finished rows (asked by
 * window), the result cache (values, overwrites, TTL expiry, deletes that
 * stay deleted), the fingerprint refusal, that `resume: false` starts
 * the rows over but keeps the answers unless `fresh`, that the state given
 * to `flush` comes back with the rows it describes, and that an answer
 * whose `set` resolved survives a crash (a store that is never closed). A store on a database runs it unchanged.
 *
 * @example
 * ```ts
 * import { expect, it } from 'vitest';
 * checkpointStoreContract(it, expect, {
 *   setup: () => {
 *     const path = join(mkdtempSync(join(tmpdir(), 'cp-')), 'run.checkpoint');
 *     return { store: (now) => createFileCheckpointStore(path, { now }) };
 *   },
 * });
 * ```
 */
export function checkpointStoreContract(
  it: ContractTestFunction,
  expect: ContractExpect,
  options: CheckpointStoreContractOptions,
): void {
  const prefix = options.name ?? 'CheckpointStore contract';
  const skip = new Set(options.skip ?? []);
  const check = (
    name: CheckpointStoreContractCheck,
    title: string,
    fn: (fixture: CheckpointStoreFixture, clock: { now: number; read: Clock }) => Promise<void>,
  ) => {
    if (skip.has(name)) return;
    it(`${prefix}: ${title}`, async () => {
      const fixture = await options.setup();
      const clock = {
        now: Date.parse('2026-01-01T00:00:00Z'),
        read: (): number => clock.now,
      };
      try {
        await fn(fixture, clock);
      } finally {
        await fixture.cleanup?.();
      }
    });
  };

  check('finishedRows', 'finished rows are there after close and reopen', async (fixture, clock) => {
    const first = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
    expect(first.resumed, 'a first open with resume has nothing to resume').toBe(false);
    expect(first.finishedBefore, 'finishedBefore of a first open').toBe(0);
    await first.markFinished([1, 2, 3]);
    await first.markFinished([5, 7_000, 1_000_000]);
    await first.close();

    const second = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
    expect(second.resumed, 'resumed after reopen').toBe(true);
    expect(second.finishedBefore, 'finishedBefore after reopen').toBe(6);
    expect(await second.finishedIn({ from: 1, to: 10 }), 'finished rows 1-10').toEqual([1, 2, 3, 5]);
    expect(await second.finishedIn({ from: 6_000, to: 8_000 }), 'finished rows 6,000-8,000').toEqual([7_000]);
    expect(await second.finishedIn({ from: 1_000_000, to: 1_000_000 }), 'row 1,000,000').toEqual([1_000_000]);
    expect(await second.finishedIn({ from: 4, to: 4 }), 'row 4 was not finished').toEqual([]);
    // Rows finished in the second run are there for a third.
    await second.markFinished([4]);
    await second.close();
    const third = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
    expect(third.finishedBefore, 'finishedBefore after a second run').toBe(7);
    expect(await third.finishedIn({ from: 1, to: 6 }), 'finished rows 1-6 after a second run').toEqual([
      1, 2, 3, 4, 5,
    ]);
    await third.close();
  });

  check(
    'windows',
    'a window that is not two positive integers in order is refused',
    async (fixture, clock) => {
      const checkpoint = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: false });
      try {
        for (const window of [
          { from: 0, to: 5 },
          { from: 5, to: 4 },
          { from: 1.5, to: 3 },
        ]) {
          const outcome = await settle(checkpoint.finishedIn(window));
          const label = `finishedIn(${window.from}..${window.to})`;
          expect(outcome.ok, `${label} must reject`).toBe(false);
          if (!outcome.ok) {
            expect(
              ValidationError.isInstance(outcome.error),
              `${label} must reject with a ValidationError, got ${describeError(outcome.error)}`,
            ).toBe(true);
          }
        }
      } finally {
        await checkpoint.close();
      }
    },
  );

  check(
    'results',
    'result cache entries are there after close and reopen, newest value first',
    async (fixture, clock) => {
      const first = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
      await first.results.set(
        'apollo:email:ada@acme.com',
        { status: 'matched', fields: { title: 'CTO' } },
        60_000,
      );
      await first.results.set('apollo:email:bob@acme.com', { status: 'notFound' }, 60_000);
      await first.results.set(
        'apollo:email:bob@acme.com',
        { status: 'matched', fields: { title: 'VP' } },
        60_000,
      );
      expect(await first.results.get('apollo:email:ada@acme.com'), 'read back before close').toEqual({
        status: 'matched',
        fields: { title: 'CTO' },
      });
      await first.close();

      const second = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
      expect(await second.results.get('apollo:email:ada@acme.com'), 'an entry after reopen').toEqual({
        status: 'matched',
        fields: { title: 'CTO' },
      });
      expect(
        await second.results.get('apollo:email:bob@acme.com'),
        'an overwritten entry after reopen',
      ).toEqual({
        status: 'matched',
        fields: { title: 'VP' },
      });
      expect(await second.results.get('apollo:email:nobody@acme.com'), 'a key never set').toBe(undefined);
      await second.close();
    },
  );

  check('expiry', 'result cache entries expire with their TTL, across a reopen', async (fixture, clock) => {
    const first = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
    await first.results.set('short', 'a', 1_000);
    await first.results.set('long', 'b', 60_000);
    clock.now += 999;
    expect(await first.results.get('short'), 'an entry inside its TTL').toBe('a');
    clock.now += 1;
    expect(await first.results.get('short'), 'an entry at its TTL').toBe(undefined);
    await first.close();

    const second = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
    expect(await second.results.get('short'), 'an expired entry after reopen').toBe(undefined);
    expect(await second.results.get('long'), 'a live entry after reopen').toBe('b');
    clock.now += 60_000;
    expect(await second.results.get('long'), 'an entry whose TTL ran out after reopen').toBe(undefined);
    await second.close();
  });

  check('tombstones', 'a deleted entry stays deleted after close and reopen', async (fixture, clock) => {
    const first = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
    await first.results.set('kept', 1, 60_000);
    await first.results.set('deleted-before-close', 2, 60_000);
    await first.results.set('deleted-after-reopen', 3, 60_000);
    await first.results.delete('deleted-before-close');
    expect(await first.results.get('deleted-before-close'), 'deleted, same session').toBe(undefined);
    await first.close();

    const second = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
    expect(await second.results.get('deleted-before-close'), 'deleted, after reopen').toBe(undefined);
    expect(await second.results.get('deleted-after-reopen'), 'not deleted yet').toBe(3);
    await second.results.delete('deleted-after-reopen');
    await second.results.delete('never-set');
    await second.close();

    const third = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
    expect(await third.results.get('deleted-after-reopen'), 'deleted in the second run').toBe(undefined);
    expect(await third.results.get('kept'), 'an entry never deleted').toBe(1);
    // A key set again after its delete is back.
    await third.results.set('deleted-before-close', 'again', 60_000);
    await third.close();
    const fourth = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
    expect(await fourth.results.get('deleted-before-close'), 'set again after a delete').toBe('again');
    await fourth.close();
  });

  check(
    'fingerprint',
    'resuming with another fingerprint is refused, naming the field',
    async (fixture, clock) => {
      const first = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: false });
      await first.markFinished([1, 2]);
      await first.results.set('k', 'v', 60_000);
      await first.close();
      const outcome = await settle(fixture.store(clock.read).open({ fingerprint: 'input-2', resume: true }));
      expect(outcome.ok, 'open with another fingerprint and resume must reject').toBe(false);
      if (!outcome.ok) {
        expect(
          ValidationError.isInstance(outcome.error),
          `must reject with a ValidationError, got ${describeError(outcome.error)}`,
        ).toBe(true);
        expect(
          (outcome.error as ValidationError).issues.map((issue) => issue.field),
          'the refused field',
        ).toContain('fingerprint');
      }
      // The refusal changed nothing: the first input still resumes.
      const again = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
      expect(again.finishedBefore, 'state kept after a refused open').toBe(2);
      expect(await again.results.get('k'), 'results kept after a refused open').toBe('v');
      await again.close();
    },
  );

  check(
    'fresh',
    'opening without resume starts the rows over but keeps the answers; fresh discards them too',
    async (fixture, clock) => {
      const first = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: false });
      await first.markFinished([1, 2, 3]);
      await first.results.set('k', 'v', 60_000);
      await first.flush({ sinks: { output: 10 } });
      await first.close();

      const again = await fixture.store(clock.read).open({ fingerprint: 'input-2', resume: false });
      expect(again.resumed, 'resumed without resume').toBe(false);
      expect(again.finishedBefore, 'finishedBefore without resume').toBe(0);
      expect(again.state, 'state without resume').toBe(undefined);
      expect(await again.finishedIn({ from: 1, to: 3 }), 'finished rows without resume').toEqual([]);
      expect(await again.results.get('k'), 'answers are kept without resume').toBe('v');
      await again.markFinished([9]);
      await again.close();

      const resumed = await fixture.store(clock.read).open({ fingerprint: 'input-2', resume: true });
      expect(resumed.finishedBefore, 'only the new run is kept').toBe(1);
      expect(await resumed.finishedIn({ from: 1, to: 10 }), 'finished rows of the new run').toEqual([9]);
      await resumed.close();

      const fresh = await fixture
        .store(clock.read)
        .open({ fingerprint: 'input-3', resume: false, fresh: true });
      expect(await fresh.results.get('k'), 'a fresh start discards the answers').toBe(undefined);
      expect(fresh.finishedBefore, 'finishedBefore of a fresh start').toBe(0);
      await fresh.close();
      const afterFresh = await fixture.store(clock.read).open({ fingerprint: 'input-3', resume: true });
      expect(await afterFresh.results.get('k'), 'still discarded after a fresh start').toBe(undefined);
      await afterFresh.close();
    },
  );

  check(
    'state',
    'the state given to flush comes back on resume, the last one with its rows',
    async (fixture, clock) => {
      const first = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
      expect(first.state, 'state of a first open').toBe(undefined);
      await first.markFinished([1, 2]);
      await first.flush({ sinks: { output: 120 }, finished: { done: 2 } });
      await first.markFinished([3]);
      await first.flush({ sinks: { output: 180 }, finished: { done: 3 } });
      // A flush without state keeps the last one.
      await first.flush();
      await first.close();

      const second = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
      expect(second.state, 'the last state recorded').toEqual({
        sinks: { output: 180 },
        finished: { done: 3 },
      });
      expect(second.finishedBefore, 'the rows it describes').toBe(3);
      await second.markFinished([4]);
      await second.flush({ sinks: { output: 240 }, finished: { done: 4 } });
      await second.close();
      const third = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
      expect(third.state, 'the state of the second run').toEqual({
        sinks: { output: 240 },
        finished: { done: 4 },
      });
      await third.close();
    },
  );

  check(
    'crash',
    'an answer whose set resolved, and rows and state flushed, survive a run that is never closed',
    async (fixture, clock) => {
      const crashed = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
      await crashed.markFinished([1, 2]);
      await crashed.flush({ sinks: { output: 64 } });
      await crashed.results.set('paid-after-the-flush', { title: 'CTO' }, 60_000);
      await crashed.markFinished([3]);
      // No flush, no close: the process is killed here. The answer must already be where a resume reads it.
      const resumed = await fixture.store(clock.read).open({ fingerprint: 'input-1', resume: true });
      try {
        expect(await resumed.results.get('paid-after-the-flush'), 'an answer set before the crash').toEqual({
          title: 'CTO',
        });
        expect(resumed.state, 'the state of the last flush').toEqual({ sinks: { output: 64 } });
        expect(await resumed.finishedIn({ from: 1, to: 3 }), 'rows of the last flush').toEqual([1, 2]);
      } finally {
        await resumed.close();
        await crashed.close().catch(() => undefined);
      }
    },
  );
}
