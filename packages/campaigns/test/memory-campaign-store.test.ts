import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, LeadpipeError } from '@leadpipe/core';
import { campaignStoreContract } from '@leadpipe/testkit';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryCampaignStore } from '../src/index.js';

const folder = mkdtempSync(join(tmpdir(), 'campaign-store-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));
let files = 0;
const journals = new WeakMap<object, string>();

describe('memory campaign store', () => {
  campaignStoreContract(it, expect, { name: 'memory', open: () => createMemoryCampaignStore() });
});

describe('journaled campaign store', () => {
  campaignStoreContract(it, expect, {
    name: 'journaled',
    open: () => {
      const file = join(folder, `store-${files++}.ndjson`);
      const store = createMemoryCampaignStore({ file, fsync: files % 2 === 0 });
      journals.set(store, file);
      return store;
    },
    reopen: (store) => createMemoryCampaignStore({ file: journals.get(store) as string }),
  });

  it('ignores a torn last line (a crash mid-append) and refuses a corrupt middle line', async () => {
    const file = join(folder, 'torn.ndjson');
    const store = createMemoryCampaignStore({ file });
    await store.suppress({ email: 'a@x.example', reason: 'unsubscribed', source: 't', at: 1 });
    appendFileSync(file, '[{"t":"suppression","v":{"email":"b@x');
    const reopened = createMemoryCampaignStore({ file });
    expect(await reopened.getSuppression('a@x.example')).toBeDefined();
    expect(await reopened.getSuppression('b@x.example')).toBe(undefined);
    appendFileSync(
      file,
      '\n[{"t":"suppression","v":{"email":"c@x.example","reason":"bounced","source":"t","at":2}}]\n',
    );
    expect(() => createMemoryCampaignStore({ file })).toThrow(/corrupt at line 2/);
    try {
      createMemoryCampaignStore({ file });
    } catch (error) {
      expect(LeadpipeError.isInstance(error)).toBe(true);
    }
  });

  it('refuses bad options naming the field, and calls after close', async () => {
    expect(() => createMemoryCampaignStore({ file: '' })).toThrow(ConfigurationError);
    const store = createMemoryCampaignStore();
    await store.close();
    await expect(
      store.suppress({ email: 'a@x.example', reason: 'unsubscribed', source: 't', at: 1 }),
    ).rejects.toThrow(/closed/);
  });
});
