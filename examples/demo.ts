/**
 * The demo as a script, the same flow as `leadpipe enrich examples/data/leads.csv --emulate --crm hubspot`:
 * enrich with Apollo then Clearbit, sync to HubSpot, write the enriched CSV, against the testkit's emulators
 * (no keys, no network). Run: pnpm exec tsx --conditions=@leadpipe/source examples/demo.ts
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FIELDS, emulatedSettings, emulatorOptions } from '@leadpipe/cli';
import { createCsvWriter, createLeadPipeline, formatReport, readCsv } from '@leadpipe/core';
import { createHubspot, hubspotDescriptor } from '@leadpipe/crm-hubspot';
import { apolloDescriptor, createApollo } from '@leadpipe/provider-apollo';
import { clearbitDescriptor, createClearbit } from '@leadpipe/provider-clearbit';
import { startEmulators } from '@leadpipe/testkit';

const vendors = await startEmulators(emulatorOptions({ vendors: ['apollo', 'clearbit', 'hubspot'] }));
// Base URLs and the keys the emulators accept, from each vendor's descriptor.
const apollo = createApollo(emulatedSettings(vendors, apolloDescriptor));
const clearbit = createClearbit(emulatedSettings(vendors, clearbitDescriptor));
const hubspot = createHubspot(emulatedSettings(vendors, hubspotDescriptor));

const pipeline = createLeadPipeline({
  enrichment: { providers: [apollo, clearbit], fields: DEFAULT_FIELDS },
  crms: [{ adapter: hubspot, mapping: hubspotDescriptor.defaultMapping }],
});
const out = fileURLToPath(new URL('out/', import.meta.url));
mkdirSync(out, { recursive: true });
const input = readCsv(fileURLToPath(new URL('data/leads.csv', import.meta.url)));
const report = await pipeline.run(input, { output: createCsvWriter(`${out}demo.enriched.csv`) });
console.log(formatReport(report));
console.log(`HubSpot (emulated) now has ${vendors.emulators.hubspot?.emulator.contacts().length} contacts`);
await pipeline.close();
await hubspot.close();
await apollo.close();
await vendors.close();
