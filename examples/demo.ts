/**
 * The demo as a script, the same flow as `leadpipe enrich examples/data/leads.csv --emulate --crm hubspot`:
 * enrich with Apollo then Clearbit, sync to HubSpot, write the enriched CSV, against the testkit's emulators
 * (no keys, no network). Run: pnpm exec tsx --conditions=@leadpipe/source examples/demo.ts
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FIELDS, emulatedSettings, emulatorOptions, HUBSPOT_CONTACT_MAPPING } from '@leadpipe/cli';
import { createCsvWriter, createLeadPipeline, formatReport, readCsv } from '@leadpipe/core';
import { createHubspot } from '@leadpipe/crm-hubspot';
import { createApollo } from '@leadpipe/provider-apollo';
import { createClearbit } from '@leadpipe/provider-clearbit';
import { startEmulators } from '@leadpipe/testkit';

const vendors = await startEmulators(emulatorOptions({ vendors: ['apollo', 'clearbit', 'hubspot'] }));
const settings = emulatedSettings(vendors); // base URLs and the keys the emulators accept
const [apollo, clearbit] = [createApollo(settings.apollo), createClearbit(settings.clearbit)];
const hubspot = createHubspot(settings.hubspot);

const pipeline = createLeadPipeline({
  enrichment: { providers: [apollo, clearbit], fields: DEFAULT_FIELDS },
  crms: [{ adapter: hubspot, mapping: HUBSPOT_CONTACT_MAPPING }],
});
const out = fileURLToPath(new URL('out/', import.meta.url));
mkdirSync(out, { recursive: true });
const input = readCsv(fileURLToPath(new URL('data/leads.csv', import.meta.url)));
const report = await pipeline.run(input, { output: createCsvWriter(`${out}demo.enriched.csv`) });
console.log(formatReport(report));
console.log(`HubSpot (emulated) now has ${vendors.emulators.hubspot?.emulator.contacts().length} contacts`);
await pipeline.close();
await hubspot.close();
apollo.close();
await vendors.close();
