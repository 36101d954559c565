/**
 * @packageDocumentation
 * `@leadpipe/cli`: the `leadpipe` command. `leadpipe enrich <file>` reads a
 * CSV or NDJSON file of leads, enriches them across providers (Apollo,
 * Clearbit) with the waterfall, writes them out with provenance, and syncs
 * them to HubSpot or Salesforce, with a live progress display, a JSON report,
 * checkpoints for `--resume`, and `--emulate` to run it all against the
 * testkit's vendor emulators with no keys and no network. `leadpipe redrive
 * <file>` sends the records of a dead-letters file to the CRM again.
 * `leadpipe enrich --store <url | folder>` also keeps every lead in a lead
 * store (PostgreSQL, or embedded PGlite in a folder), and `leadpipe leads
 * query | export | import | erase | retain` work with what it holds.
 * `leadpipe campaign run <file> --emulate` runs a campaign file over a
 * store's leads against the emulated SendGrid on an emulated clock;
 * `leadpipe campaign check <file>` validates one.
 */
export {
  type CliCommand,
  type CrmName,
  DEFAULT_FIELDS,
  ENRICH_HELP,
  type EnrichCommandOptions,
  type FileFormat,
  MAIN_HELP,
  type ProviderName,
  parseCommandLine,
  REDRIVE_HELP,
  type RedriveCommandOptions,
} from './args.js';
export { runCampaign } from './campaign.js';
export {
  CAMPAIGN_HELP,
  CAMPAIGN_RUN_HELP,
  CAMPAIGN_SUBCOMMANDS,
  type CampaignCommand,
  type CampaignParse,
  parseCampaignCommand,
} from './campaign-args.js';
export {
  type Connections,
  connect,
  type Environment,
  emulatedSettings,
  emulatorConnection,
  type MissingKey,
  missingKeys,
  registerKeys,
} from './connections.js';
export {
  EMULATE_LIMITS,
  EMULATE_SEED,
  EMULATE_TIME_SCALE,
  type EmulatedVendors,
  type EmulateOptions,
  type EmulatorStartOptions,
  emulatorOptions,
  startEmulatedVendors,
} from './emulate.js';
export { type CliIo, EXIT_CODES, type ExitCode } from './io.js';
export { runLeads } from './leads.js';
export {
  LEADS_HELP,
  LEADS_SUBCOMMAND_HELP,
  LEADS_SUBCOMMANDS,
  type LeadsCommand,
  type LeadsParse,
  type LeadsQueryOptions,
  type LeadsSubcommand,
  parseLeadsCommand,
} from './leads-args.js';
export {
  type CliOutput,
  createProgressDisplay,
  estimateRemainingMs,
  type ProgressDisplay,
  type ProgressExtras,
  progressLines,
  progressLogLine,
} from './progress.js';
export { createQuotaTracker, type QuotaTracker, type QuotaTrackerOptions, type QuotaUse } from './quota.js';
export { runRedrive } from './redrive.js';
export { cliVersion, runCli } from './run.js';
export { openStore, parseStoreLocation, STORE_VARIABLE, type StoreLocation } from './store.js';
export { CRM_NAMES, PROVIDER_NAMES, VENDORS } from './vendors.js';
