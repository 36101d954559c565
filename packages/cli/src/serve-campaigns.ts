import { extname } from 'node:path';
import {
  type CampaignDefinition,
  createCampaignEngine,
  type EngineCampaign,
  loadCampaignFile,
  toEngineCampaign,
} from '@leadpipe/campaigns';
import {
  ConfigurationError,
  type EmailProviderV1,
  ValidationError,
  type ValidationIssue,
} from '@leadpipe/core';
import { campaignsFromStore, type DashboardCampaignsSource } from '@leadpipe/dashboard';
import type { ServerCampaigns } from '@leadpipe/server';
import type { PostgresStore } from '@leadpipe/store-postgres';

/** The environment variable holding the secret of the unsubscribe tokens (the one the campaign engine signs with). */
const UNSUBSCRIBE_SECRET_VARIABLE = 'LEADPIPE_UNSUBSCRIBE_SECRET';

/**
 * The engine's email provider in `leadpipe serve`: the engine is never
 * started there, so nothing sends; a send would be a bug, and fails loudly.
 */
const NO_EMAIL: EmailProviderV1 = {
  specificationVersion: 'v1',
  providerId: 'leadpipe-serve-sends-nothing',
  capabilities: { maxBatchSize: 1, rateLimits: {}, eventWebhook: false },
  doSend() {
    return Promise.reject(
      new ConfigurationError('invalid_configuration', {
        message: 'leadpipe serve sends no email: run the campaign worker for that',
      }),
    );
  },
};

/** The campaigns of `leadpipe serve --campaign`: for `/v1/campaigns` and `/unsubscribe`, and the dashboard. */
export interface ServeCampaigns {
  /** The server's view: an engine over the store's campaign state (it sends nothing: never started). */
  readonly server: ServerCampaigns;
  /** The dashboard's funnels, from the store's campaign stats. */
  readonly dashboard: DashboardCampaignsSource;
  /** Close the engine. */
  close(): Promise<void>;
}

/**
 * Load each `--campaign` file (JSON or YAML, with `@leadpipe/campaigns`'
 * loader) and build an engine over the store's campaign state that answers
 * `/unsubscribe` and the stats. The engine is not started: `leadpipe serve`
 * sends no email; a worker (`leadpipe campaign`, a host app) does.
 *
 * @throws ValidationError naming each file that cannot be loaded, a duplicated id, or the missing secret.
 */
export async function serveCampaigns(
  files: readonly string[],
  store: PostgresStore,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ServeCampaigns> {
  const issues: ValidationIssue[] = [];
  const secret = env[UNSUBSCRIBE_SECRET_VARIABLE]?.trim();
  if (secret === undefined || secret === '')
    issues.push({
      field: UNSUBSCRIBE_SECRET_VARIABLE,
      reason: 'is not set: --campaign needs the secret the campaign worker signs unsubscribe links with',
    });
  const campaigns: CampaignDefinition[] = [];
  const senders: EngineCampaign['senders'][number][] = [];
  let baseUrl: string | undefined;
  for (const file of files) {
    const extension = extname(file).toLowerCase();
    if (!['.json', '.yaml', '.yml'].includes(extension)) {
      issues.push({ field: '--campaign', reason: `${file}: must end in .json, .yaml or .yml` });
      continue;
    }
    try {
      const loaded = toEngineCampaign(await loadCampaignFile(file));
      if (campaigns.some((campaign) => campaign.id === loaded.campaign.id))
        issues.push({
          field: '--campaign',
          reason: `${file}: the id "${loaded.campaign.id}" is given twice`,
        });
      campaigns.push(loaded.campaign);
      senders.push(...loaded.senders);
      baseUrl ??= loaded.unsubscribeBaseUrl;
    } catch (error) {
      const detail =
        error instanceof ValidationError
          ? error.issues.map((issue) => `${issue.field}: ${issue.reason}`).join('; ')
          : error instanceof Error
            ? error.message.split('\n')[0]
            : String(error);
      issues.push({ field: '--campaign', reason: `${file}: ${detail}` });
    }
  }
  if (issues.length > 0 || secret === undefined || baseUrl === undefined) throw new ValidationError(issues);
  const engine = createCampaignEngine({
    campaigns,
    store: store.campaigns,
    leads: store.leads,
    email: NO_EMAIL,
    senders,
    unsubscribe: { baseUrl, secret },
  });
  return {
    server: { engine, ids: campaigns.map((campaign) => campaign.id) },
    dashboard: campaignsFromStore(
      store.campaigns,
      campaigns.map((campaign) => ({
        id: campaign.id,
        steps: campaign.steps.map((step) => ({ id: step.id, type: step.type })),
      })),
    ),
    close: () => engine.close(),
  };
}
