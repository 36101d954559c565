import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigurationError, parseOptions } from '@leadpipe/core/adapter-kit';
import { z } from 'zod';
import type { FaultOptions, LatencyDistribution } from './faults.js';
import { vendorNameSchema } from './options.js';
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

function usage(field: string, reason: string): never {
  throw new ConfigurationError('invalid_configuration', {
    issues: [{ field, reason }],
    message: `leadpipe-emulator: ${field}: ${reason}`,
  });
}

/** A flag's text as a number. */
const numberFlag = z
  .string()
  .refine((value) => value.trim() !== '' && Number.isFinite(Number(value)), {
    error: (issue) => `must be a number, got "${String(issue.input)}"`,
  })
  .transform(Number);

const LATENCY_ARGUMENTS = {
  fixed: ['ms'],
  uniform: ['minMs', 'maxMs'],
  normal: ['meanMs', 'stdDevMs'],
  exponential: ['meanMs'],
  lognormal: ['medianMs', 'sigma'],
} as const;

/** `--latency-ms`: `<ms>` or `<distribution>:<number>...`; the numbers' ranges are checked by the fault schema. */
const latencyFlag = z.string().transform((value, context): number | LatencyDistribution => {
  const [kind = '', ...rest] = value.split(':');
  const isNumber = (part: string) => part.trim() !== '' && Number.isFinite(Number(part));
  const refuse = (message: string) => {
    context.addIssue({ code: 'custom', message });
    return z.NEVER;
  };
  if (rest.length === 0) {
    return isNumber(kind)
      ? Number(kind)
      : refuse(`must be a number or <distribution>:<numbers>, got "${value}"`);
  }
  if (!Object.hasOwn(LATENCY_ARGUMENTS, kind)) {
    return refuse(
      `unknown distribution "${kind}"; expected one of ${Object.keys(LATENCY_ARGUMENTS).join(', ')}`,
    );
  }
  const names = LATENCY_ARGUMENTS[kind as keyof typeof LATENCY_ARGUMENTS];
  if (rest.length !== names.length || !rest.every(isNumber)) {
    return refuse(`${kind} takes ${names.length} number(s), got "${value}"`);
  }
  return {
    distribution: kind,
    ...Object.fromEntries(names.map((name, index) => [name, Number(rest[index])])),
  } as LatencyDistribution;
});

/** The command's flags, named as typed (`--seed`), each turned from text into what its option takes. */
const flagsSchema = z.object({
  '--vendors': z
    .string()
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    )
    .pipe(z.array(vendorNameSchema))
    .optional(),
  '--port': numberFlag.optional(),
  '--host': z.string().optional(),
  '--seed': numberFlag.optional(),
  '--time-scale': numberFlag.optional(),
  '--config': z.string().optional(),
  '--people': numberFlag.optional(),
  '--companies': numberFlag.optional(),
  '--server-error-rate': numberFlag.optional(),
  '--rate-limit-burst-rate': numberFlag.optional(),
  '--rate-limit-burst-length': numberFlag.optional(),
  '--latency-ms': latencyFlag.optional(),
  '--hang-rate': numberFlag.optional(),
  '--connection-reset-rate': numberFlag.optional(),
  '--malformed-json-rate': numberFlag.optional(),
  '--expired-token-rate': numberFlag.optional(),
  '--apollo-per-minute': numberFlag.optional(),
  '--apollo-per-hour': numberFlag.optional(),
  '--apollo-per-day': numberFlag.optional(),
  '--clearbit-per-minute': numberFlag.optional(),
  '--hubspot-ten-secondly': numberFlag.optional(),
  '--hubspot-daily': numberFlag.optional(),
  '--salesforce-daily': numberFlag.optional(),
  '--help': z.boolean().optional(),
});

function prune<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined)) as T;
}

function readConfig(path: string): StartEmulatorsOptions {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return usage('--config', `cannot read "${path}" (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return usage('--config', `"${path}" is not valid JSON`);
  }
  // Its options are checked by startEmulators, beside the flags that override them.
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return usage('--config', 'must hold a JSON object');
  }
  return parsed as StartEmulatorsOptions;
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
    // node:util names the flag in its message (`Unknown option '--bogus'`).
    return usage('arguments', (error as Error).message);
  }
  const typed = Object.fromEntries(
    Object.entries(parsed.values).map(([name, value]) => [`--${name}`, value]),
  );
  const flags = parseOptions(flagsSchema, typed, { name: 'leadpipe-emulator' });
  if (flags['--help']) return undefined;
  const config = flags['--config'] === undefined ? {} : readConfig(flags['--config']);
  const vendors = flags['--vendors'];
  const burstRate = flags['--rate-limit-burst-rate'];
  const faults: FaultOptions = prune({
    ...config.faults,
    serverErrorRate: flags['--server-error-rate'],
    rateLimitBurst:
      burstRate === undefined
        ? config.faults?.rateLimitBurst
        : prune({
            rate: burstRate,
            length: flags['--rate-limit-burst-length'],
          }),
    latencyMs: flags['--latency-ms'],
    hangRate: flags['--hang-rate'],
    connectionResetRate: flags['--connection-reset-rate'],
    malformedJsonRate: flags['--malformed-json-rate'],
    expiredTokenRate: flags['--expired-token-rate'],
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
        perMinute: flags['--apollo-per-minute'],
        perHour: flags['--apollo-per-hour'],
        perDay: flags['--apollo-per-day'],
      }),
    }),
    clearbit: prune({
      ...config.limits?.clearbit,
      ...prune({ perMinute: flags['--clearbit-per-minute'] }),
    }),
    hubspot: prune({
      ...config.limits?.hubspot,
      ...prune({
        tenSecondly: flags['--hubspot-ten-secondly'],
        daily: flags['--hubspot-daily'],
      }),
    }),
    salesforce: prune({
      ...config.limits?.salesforce,
      ...prune({ dailyApiRequests: flags['--salesforce-daily'] }),
    }),
  };
  const truthConfig = config.truth !== undefined && !('score' in config.truth) ? config.truth : {};
  const people = flags['--people'];
  const companies = flags['--companies'];
  return prune({
    ...config,
    vendors: vendors ?? config.vendors,
    port: flags['--port'] ?? config.port,
    host: flags['--host'] ?? config.host,
    seed: flags['--seed'] ?? config.seed,
    timeScale: flags['--time-scale'] ?? config.timeScale,
    faults,
    limits,
    truth: prune({ ...truthConfig, ...prune({ people, companies }) }),
  });
}
