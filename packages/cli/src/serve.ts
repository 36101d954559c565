import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { type CrmSync, type EventBusV1, ValidationError, type ValidationIssue } from '@leadpipe/core';
import { runsFromReportFiles } from '@leadpipe/dashboard';
import { createRabbitMqEventBus } from '@leadpipe/events-rabbitmq';
import {
  type ApiKeyStore,
  createFileKeyStore,
  createJsonLineLogger,
  createServer,
  type ReadinessCheck,
  startServer,
  webhookReceiversFromEnv,
} from '@leadpipe/server';
import { withRedisLeadCache } from '@leadpipe/store-redis';
import { type CliIo, EXIT_CODES, type ExitCode } from './io.js';
import { serveCampaigns } from './serve-campaigns.js';
import { serveCrm } from './serve-crm.js';
import { dashboardMount, runSourceFrom, sessionSecret } from './serve-mounts.js';
import { openStore, type StoreLocation, storeOption } from './store.js';
import { CRM_NAMES, unknownCrm } from './vendors.js';

/** Usage of `leadpipe serve`. */
const SERVE_HELP = `Usage: leadpipe serve --store <postgres URL | folder> [options]

Serve webhooks, one-click unsubscribe, the /v1 API, /health, /ready and /metrics.

Options:
  --port <n>             Port to listen on (default 8080; 0 picks a free one)
  --host <address>       Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)
  --store <url|folder>   The lead store: a postgres:// URL, or a folder for an embedded store (or LEADPIPE_STORE)
  --redis <url>          Redis: shared rate-limit counter, webhook dedupe, lead cache (without it they are per process)
  --amqp <url>           RabbitMQ: webhook events are published there (default: an in-process bus)
  --keys <file>          API key file, hashes only (default: api-keys.json in the store folder, or ./leadpipe-api-keys.json)
  --trust-proxy          Read client addresses from X-Forwarded-For (only behind a proxy that sets it)
  --crm <name>           Redrive dead letters (/v1/dead-letters/redrive, the dashboard) to hubspot or salesforce,
                         with the keys \`leadpipe redrive\` reads from the environment
  --emulate              With --crm: send to the testkit's emulated CRM instead (no key needed)
  --campaign <file>      A campaign (JSON or YAML; repeat for more): /v1/campaigns and the dashboard show its funnel
                         from the store, and /unsubscribe works (needs LEADPIPE_UNSUBSCRIBE_SECRET, the workers' secret)
  --reports <folder>     Runs for /v1/runs and the dashboard: the JSON files \`leadpipe enrich --report\` wrote there
  --metrics-allow <list> Addresses or networks that may read /metrics (default 127.0.0.1,::1);
                         LEADPIPE_METRICS_KEY sets a bearer token for it as well

The dashboard is at /dashboard (sign in with an API key). Its session secret is LEADPIPE_SESSION_SECRET, or
one made on first start and kept in <keys file>.session-secret (mode 600).
On first start with an empty key file, an admin key is made and written to <keys file>.admin-key (mode 600);
the log names the file, never the key. Vendor webhooks are enabled for every vendor whose variables are set
(HUBSPOT_CLIENT_SECRET, SENDGRID_WEBHOOK_PUBLIC_KEY, MAILGUN_WEBHOOK_SIGNING_KEY...).
`;

/** What `leadpipe serve` was asked. */
interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly store: StoreLocation;
  readonly redis?: string;
  readonly amqp?: string;
  readonly keysFile: string;
  readonly reports?: string;
  readonly crm?: string;
  readonly emulate: boolean;
  readonly campaigns: readonly string[];
  readonly trustProxy: boolean;
  readonly metricsAllow: readonly string[];
}

/** Check `leadpipe serve`'s flags. @throws ValidationError naming each bad flag. */
export function parseServeArgs(
  argv: readonly string[],
  io: Pick<CliIo, 'cwd' | 'env'>,
): ServeOptions | 'help' {
  let values: Record<string, string | boolean | string[] | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        store: { type: 'string' },
        redis: { type: 'string' },
        amqp: { type: 'string' },
        keys: { type: 'string' },
        reports: { type: 'string' },
        crm: { type: 'string' },
        emulate: { type: 'boolean' },
        campaign: { type: 'string', multiple: true },
        'trust-proxy': { type: 'boolean' },
        'metrics-allow': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new ValidationError([{ field: 'serve', reason: (error as Error).message }]);
  }
  if (values.help === true) return 'help';
  const issues: ValidationIssue[] = [];
  const portText = (values.port as string | undefined) ?? '8080';
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (!(port >= 0 && port <= 65_535))
    issues.push({ field: '--port', reason: 'must be a whole number from 0 to 65535' });
  const store = storeOption(values.store as string | undefined, io.env, io.cwd, issues, true);
  for (const [flag, pattern, what] of [
    ['redis', /^rediss?:\/\//i, 'a redis:// or rediss:// URL'],
    ['amqp', /^amqps?:\/\//i, 'an amqp:// or amqps:// URL'],
  ] as const) {
    const value = values[flag] as string | undefined;
    if (value !== undefined && !pattern.test(value))
      issues.push({ field: `--${flag}`, reason: `must be ${what}` });
  }
  const crm = values.crm as string | undefined;
  if (crm !== undefined && !CRM_NAMES.includes(crm)) issues.push(unknownCrm(crm));
  if (values.emulate === true && crm === undefined)
    issues.push({ field: '--emulate', reason: 'needs --crm (it emulates the CRM)' });
  if (issues.length > 0 || store === undefined) throw new ValidationError(issues);
  const keysFile =
    (values.keys as string | undefined) !== undefined
      ? resolve(io.cwd, values.keys as string)
      : store.engine === 'pglite'
        ? join(store.connection, 'api-keys.json')
        : join(io.cwd, 'leadpipe-api-keys.json');
  return {
    port,
    host: (values.host as string | undefined) ?? '127.0.0.1',
    store,
    ...(values.redis === undefined ? {} : { redis: values.redis as string }),
    ...(values.amqp === undefined ? {} : { amqp: values.amqp as string }),
    keysFile,
    ...(values.reports === undefined ? {} : { reports: resolve(io.cwd, values.reports as string) }),
    ...(crm === undefined ? {} : { crm }),
    emulate: values.emulate === true,
    campaigns: ((values.campaign as string[] | undefined) ?? []).map((file) => resolve(io.cwd, file)),
    trustProxy: values['trust-proxy'] === true,
    metricsAllow: ((values['metrics-allow'] as string | undefined) ?? '127.0.0.1,::1')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  };
}

/** Make an admin key when the key file has none, and write it beside the file for the operator. */
async function bootstrapAdminKey(keys: ApiKeyStore, keysFile: string): Promise<string | undefined> {
  const active = (await keys.list()).filter((record) => record.revokedAt === undefined);
  if (active.length > 0) return undefined;
  const issued = await keys.create({ name: 'admin (made by leadpipe serve)', scopes: ['admin'] });
  const path = `${keysFile}.admin-key`;
  await writeFile(path, `${issued.key}\n`, { mode: 0o600 });
  return path;
}

/**
 * `leadpipe serve`: open the store, build the server from the flags and the
 * environment, listen until the signal (Ctrl-C, SIGTERM) stops it, then close
 * everything.
 */
export async function runServe(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  const parsed = parseServeArgs(argv, io);
  if (parsed === 'help') {
    io.stdout.write(SERVE_HELP);
    return EXIT_CODES.done;
  }
  const logger = createJsonLineLogger((line) => io.stderr.write(line));
  const store = io.store ?? (await openStore(parsed.store));
  const closers: (() => Promise<unknown>)[] = [];
  if (io.store === undefined) closers.push(() => store.close());
  try {
    if (parsed.store.engine === 'pglite') await mkdir(parsed.store.connection, { recursive: true });
    const keys = createFileKeyStore(parsed.keysFile);
    const adminKeyFile = await bootstrapAdminKey(keys, parsed.keysFile);
    if (adminKeyFile !== undefined)
      logger.info({ file: adminKeyFile }, 'made an admin API key; it is in this file (shown nowhere else)');
    const leads =
      parsed.redis === undefined ? store.leads : withRedisLeadCache(store.leads, { redis: parsed.redis });
    if (parsed.redis !== undefined) closers.push(() => leads.close());
    const readiness: ReadinessCheck[] = [];
    let bus: EventBusV1 | undefined;
    if (parsed.amqp !== undefined) {
      const rabbit = createRabbitMqEventBus({ url: parsed.amqp });
      bus = rabbit;
      closers.push(() => rabbit.close());
      readiness.push({ name: 'rabbitmq', check: async () => void (await rabbit.pending('leadpipe-serve')) });
    }
    const webhooks = webhookReceiversFromEnv(io.env);
    for (const adapter of webhooks.adapters) closers.push(async () => adapter.close?.());
    for (const skipped of webhooks.skipped)
      logger.info({ vendor: skipped.id, needs: skipped.missing }, 'webhooks of this vendor are off');
    const metricsKey = io.env.LEADPIPE_METRICS_KEY?.trim();
    const reportRuns =
      parsed.reports === undefined
        ? undefined
        : runsFromReportFiles(parsed.reports, {
            onSkip: (file, reason) => logger.warn({ file, reason }, 'a report file was left out'),
          });
    let crmSync: CrmSync | undefined;
    if (parsed.crm !== undefined) {
      const crm = await serveCrm(parsed.crm, parsed.emulate, store.deadLetters, io);
      crmSync = crm.sync;
      closers.push(() => crm.close());
    }
    const campaigns =
      parsed.campaigns.length === 0 ? undefined : await serveCampaigns(parsed.campaigns, store, io.env);
    if (campaigns !== undefined) closers.push(() => campaigns.close());
    const dashboard = dashboardMount({
      keys,
      store,
      sessionSecret: await sessionSecret(io.env, parsed.keysFile),
      ...(reportRuns === undefined ? {} : { runs: reportRuns }),
      ...(crmSync === undefined ? {} : { crmSync }),
      ...(campaigns === undefined ? {} : { campaigns: campaigns.dashboard }),
      logger,
    });
    const server = createServer({
      keys,
      leads,
      deadLetters: store.deadLetters,
      ...(crmSync === undefined ? {} : { crmSync }),
      webhooks: { receivers: webhooks.receivers, ...(bus === undefined ? {} : { bus }) },
      ...(parsed.redis === undefined ? {} : { redis: parsed.redis }),
      trustProxy: parsed.trustProxy,
      readiness,
      metrics: { allow: parsed.metricsAllow, ...(metricsKey ? { key: metricsKey } : {}) },
      ...(reportRuns === undefined ? {} : { runs: runSourceFrom(reportRuns) }),
      ...(campaigns === undefined ? {} : { campaigns: campaigns.server }),
      mount: [dashboard],
      logger,
    });
    closers.push(() => server.close());
    const running = await startServer(server.app, { port: parsed.port, hostname: parsed.host });
    closers.push(() => running.close());
    logger.info(
      {
        port: running.port,
        host: parsed.host,
        store: parsed.store.display,
        rateLimitCounter: server.rateLimitCounter,
        webhooks: webhooks.receivers.map((receiver) => receiver.id),
        ...(campaigns === undefined ? {} : { campaigns: campaigns.server.ids }),
        ...(parsed.crm === undefined
          ? {}
          : { crm: parsed.emulate ? `${parsed.crm} (emulated)` : parsed.crm }),
      },
      'listening',
    );
    await new Promise<void>((resolve) => {
      // Without a signal the server runs until the process ends.
      if (io.signal === undefined) return;
      if (io.signal.aborted) return resolve();
      io.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    logger.info({}, 'stopping');
    return EXIT_CODES.done;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}
