import { parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import type { VendorName } from './context.js';
import { timeScaleSchema } from './create-context.js';
import { faultOptionsSchema } from './faults.js';
import { EMULATOR_DEFINITIONS } from './vendors.js';

const VENDORS = EMULATOR_DEFINITIONS.map((definition) => definition.id) as [VendorName, ...VendorName[]];

/** A vendor the testkit emulates. */
export const vendorNameSchema = z.enum(VENDORS, {
  error: (issue) => `unknown vendor "${String(issue.input)}"; expected one of ${VENDORS.join(', ')}`,
});

const seed = z.number({ error: (issue) => `must be a number, got ${String(issue.input)}` });

/** Most requests a request log keeps. */
export const maxRecordedRequestsSchema = z
  .number({ error: (issue) => `must be a non-negative integer, got ${String(issue.input)}` })
  .int({ error: (issue) => `must be a non-negative integer, got ${String(issue.input)}` })
  .min(0, { error: (issue) => `must be a non-negative integer, got ${String(issue.input)}` });

const anObject = z.custom<object>((value) => typeof value === 'object' && value !== null, {
  error: 'must be an object',
});

/** The options of `startEmulators` (each vendor's own options and limits are checked by its definition). */
const startOptionsSchema = z
  .object({
    vendors: z.array(vendorNameSchema, { error: 'must be a list of vendor names' }).optional(),
    port: z.number({ error: 'must be an integer' }).int({ error: 'must be an integer' }).optional(),
    host: z.string({ error: 'must be a host name or address' }).optional(),
    seed: seed.optional(),
    timeScale: timeScaleSchema.optional(),
    limits: z.partialRecord(vendorNameSchema, anObject).optional(),
    faults: faultOptionsSchema.optional(),
    vendorFaults: z.partialRecord(vendorNameSchema, faultOptionsSchema).optional(),
    truth: anObject.optional(),
    maxRecordedRequests: maxRecordedRequestsSchema.optional(),
    vendorOptions: z.partialRecord(vendorNameSchema, anObject).optional(),
  })
  .strict()
  .superRefine((options, context) => {
    const vendors = new Set(options.vendors ?? VENDORS).size;
    const port = options.port ?? 0;
    if (port < 0 || port + vendors - 1 > 65535) {
      context.addIssue({
        code: 'custom',
        path: ['port'],
        message: `must be an integer from 0 to ${65536 - vendors} (one port per vendor), got ${port}`,
      });
    }
  });

/** The options of `createEmulator`, with the vendor. */
const createOptionsSchema = z
  .object({
    vendor: vendorNameSchema,
    seed: seed.optional(),
    timeScale: timeScaleSchema.optional(),
    clock: anObject.optional(),
    counters: anObject.optional(),
    truth: anObject.optional(),
    faults: faultOptionsSchema.optional(),
    options: anObject.optional(),
    maxRecordedRequests: maxRecordedRequestsSchema.optional(),
  })
  .strict();

/**
 * Check `startEmulators`' options with zod (through core's `parseOptions`).
 *
 * @throws ConfigurationError naming every wrong option: an unknown vendor, a port out of range, a bad fault
 * setting (`faults.serverErrorRate`), an unknown option.
 */
export function checkStartEmulatorsOptions(options: unknown): void {
  parseOptions(startOptionsSchema, options, { name: 'startEmulators' });
}

/**
 * Check `createEmulator`'s vendor and options with zod (through core's `parseOptions`).
 *
 * @throws ConfigurationError naming every wrong option, `vendor` when no vendor has that name.
 */
export function checkCreateEmulatorOptions(vendor: unknown, options: object): void {
  parseOptions(createOptionsSchema, { ...options, vendor }, { name: 'createEmulator' });
}
