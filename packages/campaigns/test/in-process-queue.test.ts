import type { CampaignWakeUp } from '@leadpipe/core';
import { ConfigurationError } from '@leadpipe/core';
import { expect, it } from 'vitest';
import { createInProcessQueue, createMemoryCampaignStore, createScheduleTiming } from '../src/index.js';

const { nextCronTime } = createScheduleTiming();

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

it('wakes due enrollments and one-off timers on real timers; a timer is removed only after its handler resolved', async () => {
  const store = createMemoryCampaignStore();
  const queue = createInProcessQueue({ store, nextCronTime, pollMs: 50 });
  const woken: CampaignWakeUp[] = [];
  let failOnce = true;
  const errors: string[] = [];
  const retrying = createInProcessQueue({
    store,
    nextCronTime,
    pollMs: 20,
    onError: (_, key) => errors.push(key),
  });
  queue.process(async (wakeUp) => {
    woken.push(wakeUp);
  });
  await store.enroll({
    id: 'e1',
    campaignId: 'c',
    campaignVersion: 1,
    leadId: 'l',
    status: 'active',
    stepId: 's',
    version: 1,
    nextRunAt: Date.now() + 30,
    enrolledAt: Date.now(),
    attempts: 0,
    trigger: 't',
  });
  await queue.enqueue({ key: 'enr-e1-v1', runAt: Date.now() + 30 });
  await queue.enqueue({ key: 'at-launch', runAt: Date.now() + 60 });
  await until(() => woken.some((wakeUp) => wakeUp.key === 'at-launch'));
  expect(woken.map((wakeUp) => wakeUp.key)).toContain('enr-e1-v1');
  expect(await store.dueTimers(Number.MAX_SAFE_INTEGER)).toEqual([]);
  await queue.close();

  await store.setTimer({ key: 'at-flaky', runAt: Date.now() });
  await store.updateEnrollment({
    id: 'e1',
    campaignId: 'c',
    campaignVersion: 1,
    leadId: 'l',
    status: 'completed',
    stepId: 's',
    version: 2,
    enrolledAt: 0,
    attempts: 0,
    trigger: 't',
  });
  const delivered: string[] = [];
  retrying.process(async (wakeUp) => {
    if (failOnce) {
      failOnce = false;
      throw new Error('handler failed');
    }
    delivered.push(wakeUp.key);
  });
  await until(() => delivered.includes('at-flaky'));
  expect(errors).toEqual(['at-flaky']);
  await retrying.close();
});

it('cron schedules fire on time and their next time is kept in the store, so a restart resumes them', async () => {
  const store = createMemoryCampaignStore();
  const first = createInProcessQueue({ store, nextCronTime, pollMs: 50 });
  const fired: number[] = [];
  first.process(async (wakeUp) => {
    if (wakeUp.key === 'cron-every-second') fired.push(wakeUp.runAt);
  });
  await first.schedule('every-second', { cron: '* * * * * *', timeZone: 'UTC' });
  await until(() => fired.length >= 1, 4000);
  await first.close();
  const [timer] = await store.dueTimers(Number.MAX_SAFE_INTEGER);
  expect(timer?.key).toBe('cron-every-second');
  expect(timer?.runAt).toBeGreaterThan(fired[0] ?? 0);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  // Down while it was due: a new process picks the persisted time up at once.
  const second = createInProcessQueue({ store, nextCronTime, pollMs: 50 });
  const afterRestart: number[] = [];
  second.process(async (wakeUp) => {
    afterRestart.push(wakeUp.runAt);
  });
  await second.schedule('every-second', { cron: '* * * * * *', timeZone: 'UTC' });
  await until(() => afterRestart.length >= 1, 4000);
  expect(afterRestart[0]).toBe(timer?.runAt);
  await second.unschedule('every-second');
  expect(await store.dueTimers(Number.MAX_SAFE_INTEGER)).toEqual([]);
  await second.close();
});

it('refuses bad options naming the field', () => {
  expect(() => createInProcessQueue({ store: createMemoryCampaignStore(), nextCronTime, pollMs: 0 })).toThrow(
    ConfigurationError,
  );
  try {
    createInProcessQueue({ store: createMemoryCampaignStore(), nextCronTime, pollMs: 0 });
  } catch (error) {
    expect((error as ConfigurationError).issues.map((issue) => issue.field)).toEqual(['pollMs']);
  }
});
