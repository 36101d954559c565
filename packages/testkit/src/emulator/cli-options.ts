import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigurationError, LeadpipeError } from '@leadpipe/core/adapter-kit';
import type { VendorName } from './context.js';
import type { FaultOptions, LatencyDistribution } from './faults.js';
import { VENDOR_NAMES } from './registry.js';
import type { EmulatorLimits, StartEmulatorsOptions } from './server.js';

/** The `leadpipe-emulator --help` text. */
export const CLI_HELP = `leadpipe-emulator: serve vendor API emulators on 127.0.0.1

Usage: leadpipe-emulator [options]

Options:
  --vendors <list>              comma-separated: ${VENDOR_NAMES.join(',')} (default: all)
  --port <n>                    first port; each vendor takes the next one; 0 = free ports (default 0)
  --host <address>              interface to bind (default 127.0.0.1)
  --seed <n>                    seed of the ground truth and every random choice (default 1)
  --time-scale <x>              emulated clock speed; 60 makes a minute last a second (default 1)
  --config <file>               JSON file with startEmulators() options; flags override it
  --people <n>                  ground-truth people (default 20000)
  --companies <n>               ground-truth companies (default 3000)
  --server-error-rate <r>       share of requests answered 5xx
  --rate-limit-burst-rate <r>   chance a request starts a burst of 429s
  --rate-limit-burst-length <n> requests per burst (default 5)
  --latency-ms <spec>           added latency: <ms> | uniform:<min>:<max> | normal:<mean>:<sd> |
                                exponential:<mean> | lognormal:<median>:<sigma>
  --hang-rate <r>               share of requests that never get an answer
  --connection-reset-rate <r>   share of requests whose socket is destroyed
  --malformed-json-rate <r>     share of JSON answers cut short
  --expired-token-rate <r>      share of requests answered 401 expired token
  --apollo-per-minute <n>       Apollo per-endpoint limit per minute (default 200)
  --apollo-per-hour <n>         Apollo per-endpoint limit per hour (default 600)
  --apollo-per-day <n>          Apollo per-endpoint limit per day (default 6000)
  --clearbit-per-minute <n>     Clearbit limit per minute (default 600)
  --hubspot-ten-secondly <n>    HubSpot requests per 10 s (default 100)
  --hubspot-daily <n>           HubSpot requests per day (default 250000)
  --salesforce-daily <n>        Salesforce daily API requests (default 100000)
  -h, --help                    show this help

Prints one JSON line: {"vendors":{"<vendor>":{"baseUrl":…,"credentials":{…}}},…}
and runs until SIGTERM or SIGINT.
`;

function usage(message: string): never {
  throw new ConfigurationError('invalid_configuration', { message });
}

function number(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) usage(`--${flag}: must be a number, got "${value}"`);
  return parsed;
}

function latency(value: string | undefined): number | LatencyDistribution | undefined {
  if (value === undefined) return undefined;
  const [kind, ...rest] = value.split(':');
  const args = rest.map((part) => number('latency-ms', part)!);
  if (rest.length === 0) return number('latency-ms', kind);
  const need = (count: number) => {
    if (args.length !== count) usage(`--latency-ms: ${kind} takes ${count} number(s), got "${value}"`);
  };
  switch (kind) {
    case 'fixed':
      need(1);
      return { distribution: 'fixed', ms: args[0]! };
    case 'uniform':
      need(2);
      return { distribution: 'uniform', minMs: args[0]!, maxMs: args[1]! };
    case 'normal':
      need(2);
      return { distribution: 'normal', meanMs: args[0]!, stdDevMs: args[1]! };
    case 'exponential':
      need(1);
      return { distribution: 'exponential', meanMs: args[0]! };
    case 'lognormal':
      need(2);
      return { distribution: 'lognormal', medianMs: args[0]!, sigma: args[1]! };
    default:
      return usage(`--latency-ms: unknown distribution "${kind}"`);
  }
}

function prune<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

function readConfig(path: string): StartEmulatorsOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return usage(`--config: cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      usage('--config: must hold a JSON object');
    return parsed as StartEmulatorsOptions;
  } catch (error) {
    if (LeadpipeError.isInstance(error)) throw error;
    return usage(`--config: "${path}" is not valid JSON`);
  }
}

/** Parse the command line into {@link StartEmulatorsOptions}; `undefined` when help was asked for. */
export function parseCli(argv: readonly string[]): StartEmulatorsOptions | undefined {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        vendors: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        seed: { type: 'string' },
        'time-scale': { type: 'string' },
        config: { type: 'string' },
        people: { type: 'string' },
        companies: { type: 'string' },
        'server-error-rate': { type: 'string' },
        'rate-limit-burst-rate': { type: 'string' },
        'rate-limit-burst-length': { type: 'string' },
        'latency-ms': { type: 'string' },
        'hang-rate': { type: 'string' },
        'connection-reset-rate': { type: 'string' },
        'malformed-json-rate': { type: 'string' },
        'expired-token-rate': { type: 'string' },
        'apollo-per-minute': { type: 'string' },
        'apollo-per-hour': { type: 'string' },
        'apollo-per-day': { type: 'string' },
        'clearbit-per-minute': { type: 'string' },
        'hubspot-ten-secondly': { type: 'string' },
        'hubspot-daily': { type: 'string' },
        'salesforce-daily': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    return usage((error as Error).message);
  }
  const flags = parsed.values;
  if (flags.help) return undefined;
  const config = flags.config === undefined ? {} : readConfig(flags.config);
  const vendors = flags.vendors
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  for (const vendor of vendors ?? []) {
    if (!VENDOR_NAMES.includes(vendor as VendorName)) {
      usage(`--vendors: unknown vendor "${vendor}"; expected some of ${VENDOR_NAMES.join(', ')}`);
    }
  }
  const burstRate = number('rate-limit-burst-rate', flags['rate-limit-burst-rate']);
  const faults: FaultOptions = prune({
    ...config.faults,
    serverErrorRate: number('server-error-rate', flags['server-error-rate']),
    rateLimitBurst:
      burstRate === undefined
        ? config.faults?.rateLimitBurst
        : prune({
            rate: burstRate,
            length: number('rate-limit-burst-length', flags['rate-limit-burst-length']),
          }),
    latencyMs: latency(flags['latency-ms']),
    hangRate: number('hang-rate', flags['hang-rate']),
    connectionResetRate: number('connection-reset-rate', flags['connection-reset-rate']),
    malformedJsonRate: number('malformed-json-rate', flags['malformed-json-rate']),
    expiredTokenRate: number('expired-token-rate', flags['expired-token-rate']),
  });
  for (const [key, value] of Object.entries(config.faults ?? {})) {
    if ((faults as Record<string, unknown>)[key] === undefined)
      (faults as Record<string, unknown>)[key] = value;
  }
  const limits: EmulatorLimits = {
    ...config.limits,
    apollo: prune({
      ...config.limits?.apollo,
      ...prune({
        perMinute: number('apollo-per-minute', flags['apollo-per-minute']),
        perHour: number('apollo-per-hour', flags['apollo-per-hour']),
        perDay: number('apollo-per-day', flags['apollo-per-day']),
      }),
    }),
    clearbit: prune({
      ...config.limits?.clearbit,
      ...prune({ perMinute: number('clearbit-per-minute', flags['clearbit-per-minute']) }),
    }),
    hubspot: prune({
      ...config.limits?.hubspot,
      ...prune({
        tenSecondly: number('hubspot-ten-secondly', flags['hubspot-ten-secondly']),
        daily: number('hubspot-daily', flags['hubspot-daily']),
      }),
    }),
    salesforce: prune({
      ...config.limits?.salesforce,
      ...prune({ dailyApiRequests: number('salesforce-daily', flags['salesforce-daily']) }),
    }),
  };
  const truthConfig = config.truth !== undefined && !('score' in config.truth) ? config.truth : {};
  const people = number('people', flags.people);
  const companies = number('companies', flags.companies);
  return prune({
    ...config,
    vendors: (vendors as VendorName[] | undefined) ?? config.vendors,
    port: number('port', flags.port) ?? config.port,
    host: flags.host ?? config.host,
    seed: number('seed', flags.seed) ?? config.seed,
    timeScale: number('time-scale', flags['time-scale']) ?? config.timeScale,
    faults,
    limits,
    truth: prune({ ...truthConfig, ...prune({ people, companies }) }),
  });
}
