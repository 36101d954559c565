import { createMemoryLeadStore } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import { leadStoreContract } from '../src/index.js';

describe('createMemoryLeadStore', () => {
  leadStoreContract(it, expect, { open: (context) => createMemoryLeadStore(context) });
});
