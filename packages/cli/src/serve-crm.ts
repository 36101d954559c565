import { type CrmSync, createCrmSync, type DeadLetterQueue, ValidationError } from '@leadpipe/core';
import { connect, missingKeys, registerKeys } from './connections.js';
import { startEmulatedVendors } from './emulate.js';
import type { CliIo } from './io.js';

/** The CRM sync `leadpipe serve --crm` redrives dead letters through, and how to close it. */
export interface ServeCrm {
  /** The sync over the one CRM, dead-lettering into the store's queue. */
  readonly sync: CrmSync;
  /** Close the sync, the adapter and any emulators started for it. */
  close(): Promise<void>;
}

/**
 * Build the CRM sync of `--crm <name>` from the vendor descriptors, as
 * `leadpipe redrive` does: keys from the environment (each missing variable
 * named), or the testkit emulators with `--emulate`.
 *
 * @throws ValidationError naming each missing variable.
 */
export async function serveCrm(
  crm: string,
  emulate: boolean,
  deadLetters: DeadLetterQueue,
  io: Pick<CliIo, 'env' | 'emulators'>,
): Promise<ServeCrm> {
  registerKeys(io.env);
  if (!emulate) {
    const missing = missingKeys([], crm, io.env);
    if (missing.length > 0)
      throw new ValidationError(
        missing.map((key) => ({ field: key.variable, reason: `is not set (needed by ${key.neededBy})` })),
      );
  }
  const emulators = emulate ? (io.emulators ?? (await startEmulatedVendors())) : undefined;
  const closeEmulators = async () => {
    if (emulators !== undefined && emulators !== io.emulators) await emulators.close();
  };
  try {
    const connections = connect([], crm, io.env, emulators);
    const sync = createCrmSync({ crms: [connections.crm!], deadLetters });
    return {
      sync,
      async close() {
        await sync.close().catch(() => undefined);
        await connections.close().catch(() => undefined);
        await closeEmulators();
      },
    };
  } catch (error) {
    await closeEmulators();
    throw error;
  }
}
