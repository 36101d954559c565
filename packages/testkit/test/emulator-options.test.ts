import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError } from '@leadpipe/core';
import { describe, expect, it } from 'vitest';
import { parseCli } from '../src/emulator/cli-options.js';
import { createEmulatorClock } from '../src/emulator/create-context.js';
import { validateFaults } from '../src/emulator/faults.js';
import { createEmulator } from '../src/emulator/registry.js';
import { startEmulators } from '../src/emulator/server.js';
import { EMULATOR_DEFINITIONS } from '../src/emulator/vendors.js';
import { wrapEmulator } from '../src/emulator/wrap.js';
import { createGroundTruth } from '../src/truth/index.js';
import { manualClock } from './emulator-helpers.js';

/** The vendors the registry knows, in its order: a new vendor needs no edit here. */
const KNOWN = EMULATOR_DEFINITIONS.map((definition) => definition.id).join(', ');
/** The highest first port: one port per vendor, all below 65536. */
const HIGHEST_PORT = 65_536 - EMULATOR_DEFINITIONS.length;

const truth = createGroundTruth({ seed: 3, people: 50, companies: 10 });

/** The ConfigurationError `run` throws (fails the test when it throws none or another error). */
function refusal(run: () => unknown): ConfigurationError {
  try {
    run();
  } catch (error) {
    expect(ConfigurationError.isInstance(error)).toBe(true);
    return error as ConfigurationError;
  }
  throw new Error('no ConfigurationError was thrown');
}

async function asyncRefusal(run: () => Promise<unknown>): Promise<ConfigurationError> {
  const error = await run().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(ConfigurationError.isInstance(error)).toBe(true);
  return error as ConfigurationError;
}

describe('emulator option checks (zod, through parseOptions)', () => {
  it.each([
    [{ serverErrorRate: 2 }, 'faults.serverErrorRate', 'must be a share between 0 and 1, got 2'],
    [{ hangRate: -0.1 }, 'faults.hangRate', 'must be a share between 0 and 1, got -0.1'],
    [{ connectionResetRate: 1.5 }, 'faults.connectionResetRate', 'must be a share between 0 and 1, got 1.5'],
    [{ malformedJsonRate: 'x' }, 'faults.malformedJsonRate', 'must be a share between 0 and 1, got x'],
    [{ expiredTokenRate: 9 }, 'faults.expiredTokenRate', 'must be a share between 0 and 1, got 9'],
    [{ hangMs: -1 }, 'faults.hangMs', 'must be a non-negative number, got -1'],
    [{ rateLimitBurst: { rate: 2 } }, 'faults.rateLimitBurst.rate', 'must be a share between 0 and 1, got 2'],
    [
      { rateLimitBurst: { rate: 0.1, length: 0 } },
      'faults.rateLimitBurst.length',
      'must be a positive integer, got 0',
    ],
    [
      { rateLimitBurst: { rate: 0.1, retryAfterSeconds: -3 } },
      'faults.rateLimitBurst.retryAfterSeconds',
      'must be a non-negative number, got -3',
    ],
    [{ latencyMs: -5 }, 'faults.latencyMs', 'must be a non-negative number, got -5'],
    [
      { latencyMs: { distribution: 'fixed', ms: -1 } },
      'faults.latencyMs.ms',
      'must be a non-negative number, got -1',
    ],
    [
      { latencyMs: { distribution: 'uniform', minMs: 5, maxMs: 1 } },
      'faults.latencyMs.maxMs',
      'must not be below minMs',
    ],
    [
      { latencyMs: { distribution: 'normal', meanMs: 5, stdDevMs: -1 } },
      'faults.latencyMs.stdDevMs',
      'must be a non-negative number, got -1',
    ],
    [
      { latencyMs: { distribution: 'exponential', meanMs: -2 } },
      'faults.latencyMs.meanMs',
      'must be a non-negative number, got -2',
    ],
    [
      { latencyMs: { distribution: 'lognormal', medianMs: 5, sigma: -1 } },
      'faults.latencyMs.sigma',
      'must be a non-negative number, got -1',
    ],
    [
      { latencyMs: { distribution: 'weird', ms: 1 } },
      'faults.latencyMs',
      /^must be a non-negative number of ms or a distribution/,
    ],
    [{ serverEroRate: 0.1 }, 'faults.serverEroRate', 'is not a known option'],
  ])('validateFaults(%j) names %s', (faults, field, reason) => {
    const error = refusal(() => validateFaults(faults as never));
    expect(error.code).toBe('invalid_configuration');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]?.field).toBe(field);
    if (typeof reason === 'string') expect(error.issues[0]?.reason).toBe(reason);
    else expect(error.issues[0]?.reason).toMatch(reason);
    expect(error.message.startsWith(`emulator: ${field}: `)).toBe(true);
  });

  it('accepts every valid fault setting', () => {
    const faults = {
      serverErrorRate: 0,
      rateLimitBurst: { rate: 1, length: 2, retryAfterSeconds: 0 },
      latencyMs: { distribution: 'uniform', minMs: 1, maxMs: 1 },
      hangRate: 1,
      hangMs: 0,
      connectionResetRate: 0.5,
      malformedJsonRate: 0.5,
      expiredTokenRate: 0.5,
    } as const;
    expect(validateFaults(faults)).toBe(faults);
  });

  it('createEmulator checks the vendor, the faults and maxRecordedRequests', () => {
    expect(refusal(() => createEmulator('nope' as 'apollo', { truth })).issues).toEqual([
      {
        field: 'vendor',
        reason: `unknown vendor "nope"; expected one of ${KNOWN}`,
      },
    ]);
    expect(refusal(() => createEmulator('apollo', { truth, faults: { hangRate: 3 } })).issues[0]?.field).toBe(
      'faults.hangRate',
    );
    expect(refusal(() => createEmulator('apollo', { truth, maxRecordedRequests: 1.5 })).issues).toEqual([
      { field: 'maxRecordedRequests', reason: 'must be a non-negative integer, got 1.5' },
    ]);
    expect(refusal(() => createEmulator('apollo', { truth, timeScale: 0 })).issues[0]?.field).toBe(
      'timeScale',
    );
    expect(refusal(() => createEmulator('apollo', { truth, sed: 1 } as never)).issues).toEqual([
      { field: 'sed', reason: 'is not a known option' },
    ]);
    createEmulator('apollo', { truth, clock: manualClock(), maxRecordedRequests: 0 }).close();
  });

  it('startEmulators checks every option before it listens', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ vendors: ['pipedrive'] }, 'vendors.0'],
      [{ port: -1 }, 'port'],
      [{ port: 1.5 }, 'port'],
      // Four vendors need four ports: 65533 is the highest first port.
      [{ port: HIGHEST_PORT + 1 }, 'port'],
      [{ timeScale: -2 }, 'timeScale'],
      [{ seed: 'one' }, 'seed'],
      [{ faults: { serverErrorRate: 7 } }, 'faults.serverErrorRate'],
      [{ vendorFaults: { hubspot: { hangRate: 2 } } }, 'vendorFaults.hubspot.hangRate'],
      [{ vendorFaults: { zoho: {} } }, 'vendorFaults.zoho'],
      [{ maxRecordedRequests: -1 }, 'maxRecordedRequests'],
      [{ prot: 80 }, 'prot'],
    ];
    for (const [options, field] of cases) {
      const error = await asyncRefusal(() => startEmulators({ truth, ...options } as never));
      expect(error.issues.map((issue) => issue.field)).toEqual([field]);
      expect(error.message.startsWith(`startEmulators: ${field}: `)).toBe(true);
    }
    expect(
      (await asyncRefusal(() => startEmulators({ truth, port: HIGHEST_PORT + 1 }))).issues[0]?.reason,
    ).toBe(`must be an integer from 0 to ${HIGHEST_PORT} (one port per vendor), got ${HIGHEST_PORT + 1}`);
  });

  it('createEmulatorClock refuses a time scale that is not a positive number', () => {
    for (const scale of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(refusal(() => createEmulatorClock(scale)).issues[0]?.field).toBe('timeScale');
    }
    expect(createEmulatorClock(60).timeScale).toBe(60);
  });

  it('leadpipe-emulator names the flag that is wrong', () => {
    const flag = (argv: string[]) => refusal(() => parseCli(argv)).issues[0];
    expect(flag(['--seed', 'abc'])).toEqual({ field: '--seed', reason: 'must be a number, got "abc"' });
    expect(flag(['--port', ' '])).toEqual({ field: '--port', reason: 'must be a number, got " "' });
    expect(flag(['--vendors', 'apollo,zoho'])).toEqual({
      field: '--vendors.1',
      reason: `unknown vendor "zoho"; expected one of ${KNOWN}`,
    });
    expect(flag(['--latency-ms', 'weird:1'])?.reason).toBe(
      'unknown distribution "weird"; expected one of fixed, uniform, normal, exponential, lognormal',
    );
    expect(flag(['--latency-ms', 'uniform:1'])?.reason).toBe('uniform takes 2 number(s), got "uniform:1"');
    expect(flag(['--latency-ms', 'normal:1:x'])?.reason).toBe('normal takes 2 number(s), got "normal:1:x"');
    expect(flag(['--latency-ms', 'slow'])?.reason).toBe(
      'must be a number or <distribution>:<numbers>, got "slow"',
    );
    expect(flag(['--config', '/nonexistent/file.json'])?.field).toBe('--config');
    expect(flag(['--bogus'])?.field).toBe('arguments');
    const dir = mkdtempSync(join(tmpdir(), 'leadpipe-emulator-options-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    expect(flag(['--config', file('broken.json', '{"seed": ')])).toEqual({
      field: '--config',
      reason: `"${join(dir, 'broken.json')}" is not valid JSON`,
    });
    expect(flag(['--config', file('list.json', '[1, 2]')])).toEqual({
      field: '--config',
      reason: 'must hold a JSON object',
    });
  });

  it("a config file's options are checked with the flags, when the emulators start", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leadpipe-emulator-options-'));
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ faults: { hangRate: 4 }, prot: 1 }));
    const options = parseCli(['--config', config, '--seed', '2']);
    const error = await asyncRefusal(() => startEmulators({ ...options, truth }));
    expect(error.issues.map((issue) => issue.field).sort()).toEqual(['faults.hangRate', 'prot']);
  });

  it('wrapEmulator needs fault answers for a vendor without a definition', () => {
    const apollo = createEmulator('apollo', { truth, clock: manualClock() });
    const stranger = { ...apollo.emulator, vendor: 'pipedrive' } as never;
    expect(refusal(() => wrapEmulator(stranger, apollo.context)).issues).toEqual([
      {
        field: 'faultResponses',
        reason: 'vendor "pipedrive" has no emulator definition; pass faultResponses',
      },
    ]);
    expect(
      refusal(() => wrapEmulator(apollo.emulator, apollo.context, { maxRecordedRequests: -1 })).issues,
    ).toEqual([{ field: 'maxRecordedRequests', reason: 'must be a non-negative integer, got -1' }]);
    apollo.close();
  });

  it('leadpipe-emulator turns flags into options', () => {
    expect(
      parseCli([
        '--vendors',
        'hubspot, apollo',
        '--port',
        '0',
        '--seed',
        '4',
        '--latency-ms',
        'lognormal:20:0.5',
        '--rate-limit-burst-rate',
        '0.1',
        '--rate-limit-burst-length',
        '3',
        '--hubspot-ten-secondly',
        '50',
      ]),
    ).toMatchObject({
      vendors: ['hubspot', 'apollo'],
      port: 0,
      seed: 4,
      faults: {
        latencyMs: { distribution: 'lognormal', medianMs: 20, sigma: 0.5 },
        rateLimitBurst: { rate: 0.1, length: 3 },
      },
      limits: { hubspot: { tenSecondly: 50 } },
    });
    expect(parseCli(['--latency-ms', '15'])?.faults?.latencyMs).toBe(15);
    expect(parseCli(['--help'])).toBeUndefined();
  });
});

describe('429 accounting: injected faults and vendor limits are counted apart', () => {
  it('HubSpot: hubspot.faults.rateLimited counts injected 429s, hubspot.429 the rolling-window refusals', async () => {
    const hubspot = createEmulator('hubspot', {
      truth,
      clock: manualClock(),
      options: { rateLimits: { tenSecondly: 2 } },
    });
    const call = () =>
      hubspot.fetch(
        new Request('https://api.hubapi.com/crm/v3/objects/contacts?limit=1', {
          headers: { authorization: `Bearer ${hubspot.credentials.privateAppToken}` },
        }),
      );
    hubspot.faults.queue('rateLimited', 3);
    for (let index = 0; index < 3; index++) expect((await call()).status).toBe(429);
    expect(hubspot.counters.get('hubspot.faults.rateLimited')).toBe(3);
    expect(hubspot.counters.get('hubspot.429')).toBe(0);
    // The window allows 2; the third is the vendor's own refusal.
    expect([(await call()).status, (await call()).status, (await call()).status]).toEqual([200, 200, 429]);
    expect(hubspot.counters.get('hubspot.429')).toBe(1);
    expect(hubspot.counters.get('hubspot.faults.rateLimited')).toBe(3);
    await hubspot.close();
  });

  it('Salesforce: salesforce.faults.rateLimited counts injected refusals, salesforce.limit_exceeded the daily limit', async () => {
    const salesforce = createEmulator('salesforce', {
      truth,
      clock: manualClock(),
      options: { dailyApiRequests: 1 },
    });
    const call = () =>
      salesforce.fetch(
        new Request('https://emulated.my.salesforce.com/services/data/v62.0/limits', {
          headers: { authorization: `Bearer ${salesforce.credentials.accessToken}` },
        }),
      );
    salesforce.faults.queue('rateLimited', 2);
    for (let index = 0; index < 2; index++) {
      const response = await call();
      expect(response.status).toBe(403);
      expect(JSON.stringify(await response.json())).toContain('REQUEST_LIMIT_EXCEEDED');
    }
    expect(salesforce.counters.get('salesforce.faults.rateLimited')).toBe(2);
    expect(salesforce.counters.get('salesforce.limit_exceeded')).toBe(0);
    expect([(await call()).status, (await call()).status]).toEqual([200, 403]);
    expect(salesforce.counters.get('salesforce.limit_exceeded')).toBe(1);
    expect(salesforce.counters.get('salesforce.faults.rateLimited')).toBe(2);
    await salesforce.close();
  });
});
