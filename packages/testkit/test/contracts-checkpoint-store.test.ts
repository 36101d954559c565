import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileCheckpointStore } from '@leadpipe/core';
import { expect, it } from 'vitest';
import { checkpointStoreContract } from '../src/index.js';

checkpointStoreContract(it, expect, {
  name: 'file checkpoint store',
  setup: async () => {
    const folder = await mkdtemp(join(tmpdir(), 'leadpipe-checkpoint-contract-'));
    const path = join(folder, 'run.checkpoint');
    return {
      store: (now) => createFileCheckpointStore(path, { now }),
      cleanup: () => rm(folder, { recursive: true, force: true }),
    };
  },
});
