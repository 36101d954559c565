import { generateKeyPairSync } from 'node:crypto';
import {
  ConfigurationError,
  REDACTED,
  redactSecrets,
  type VendorEmulatorConnection,
} from '@leadpipe/core/adapter-kit';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSendgrid, parseWebhookPublicKey, sendgridDescriptor } from '../src/index.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({
    vendors: ['sendgrid'],
    truth: { people: 20, companies: 5 },
    limits: { sendgrid: { limit: 40, windowMs: 2000 } },
  });
});
afterAll(() => running.close());

function thrown(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    if (ConfigurationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('sendgridDescriptor', () => {
  it('describes SendGrid: an email provider reading SENDGRID_API_KEY and the optional webhook key', () => {
    expect(sendgridDescriptor).toMatchObject({ specificationVersion: 'v1', id: 'sendgrid', kind: 'email' });
    expect(
      sendgridDescriptor.environment.map((variable) => [variable.name, variable.option, variable.secret]),
    ).toEqual([
      ['SENDGRID_API_KEY', 'apiKey', true],
      ['SENDGRID_WEBHOOK_PUBLIC_KEY', 'webhookPublicKey', false],
    ]);
  });

  it('fromEnv without SENDGRID_API_KEY names the option and the variable; with it, registers the key as a secret', () => {
    expect(sendgridDescriptor.missingVariables({})).toEqual([
      { option: 'apiKey', variables: 'SENDGRID_API_KEY' },
    ]);
    const error = thrown(() => sendgridDescriptor.fromEnv({ SENDGRID_API_KEY: ' ' }));
    expect(error.code).toBe('missing_credentials');
    expect(error.message).toContain('SENDGRID_API_KEY');
    const key = 'SG.descriptor-test-key.abcdefghijklmnop';
    const provider = sendgridDescriptor.fromEnv({ SENDGRID_API_KEY: key });
    expect(provider.providerId).toBe('sendgrid');
    expect(redactSecrets(`key ${key}`)).toBe(`key ${REDACTED}`);
  });

  it('emulatorSettings point a provider at the emulator: key, base URL, webhook key and limits', async () => {
    const connection: VendorEmulatorConnection = {
      urls: running.urls.sendgrid!,
      credentials: running.credentials.sendgrid!,
      limits: { windows: [{ name: 'mail_send', limit: 40, intervalMs: 2000 }] },
    };
    const settings = sendgridDescriptor.emulatorSettings(connection);
    expect(settings).toEqual({
      apiKey: running.credentials.sendgrid!.apiKey,
      baseUrl: running.urls.sendgrid!.baseUrl,
      webhookPublicKey: running.credentials.sendgrid!.webhookPublicKey,
      rateLimit: { limit: 40, intervalMs: 2000 },
    });
    const provider = sendgridDescriptor.create(settings);
    const result = await provider.doSend(
      {
        ledgerKey: 'desc-1',
        from: { email: 'a@news.example' },
        to: { email: 'b@example.com' },
        subject: 's',
        text: 't',
      },
      {},
    );
    expect(result.status).toBe('accepted');
    expect(running.emulators.sendgrid!.emulator.messages()).toHaveLength(1);
  });
});

describe('createSendgrid settings', () => {
  it.each([
    [{ region: 'us' }, 'region'],
    [{ baseUrl: 'ftp://x' }, 'baseUrl'],
    [{ maxBatchSize: 1001 }, 'maxBatchSize'],
    [{ maxBatchSize: 0 }, 'maxBatchSize'],
    [{ rateLimit: { limit: 0, intervalMs: 1000 } }, 'rateLimit.limit'],
    [{ rateLimit: { limit: 5 } }, 'rateLimit.intervalMs'],
    [{ webhookToleranceMs: -1 }, 'webhookToleranceMs'],
    [{ webhookMaxBodyBytes: 1.5 }, 'webhookMaxBodyBytes'],
    [{ eventDeduper: {} }, 'eventDeduper'],
    [{ providerId: 'bad id' }, 'providerId'],
    [{ fetch: 'x' }, 'fetch'],
    [{ nope: true }, 'nope'],
  ])('refuses %j naming %s', (settings, field) => {
    const error = thrown(() => createSendgrid(settings as never));
    expect(error.code).toBe('invalid_configuration');
    expect(error.issues.map((issue) => issue.field)).toContain(field);
  });

  it('checks the webhook public key: base64 DER or PEM of a P-256 key, nothing else', () => {
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey;
    const base64 = p256.export({ format: 'der', type: 'spki' }).toString('base64');
    const pem = p256.export({ format: 'pem', type: 'spki' }).toString();
    expect(parseWebhookPublicKey(base64).asymmetricKeyType).toBe('ec');
    expect(parseWebhookPublicKey(pem).asymmetricKeyType).toBe('ec');
    expect(thrown(() => createSendgrid({ webhookPublicKey: 'not a key' })).issues[0]?.field).toBe(
      'webhookPublicKey',
    );
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
      .publicKey.export({ format: 'der', type: 'spki' })
      .toString('base64');
    expect(thrown(() => createSendgrid({ webhookPublicKey: p384 })).message).toMatch(/P-256/);
  });

  it('a missing key is a missing_credentials error at the first send, and nothing is sent', async () => {
    let calls = 0;
    const provider = createSendgrid({
      fetch: async () => {
        calls += 1;
        return new Response(null, { status: 202 });
      },
    });
    const error = await Promise.resolve(
      provider.doSend(
        {
          ledgerKey: 'k',
          from: { email: 'a@b.example' },
          to: { email: 'c@d.example' },
          subject: 's',
          text: 't',
        },
        {},
      ),
    ).catch((caught: unknown) => caught);
    expect(ConfigurationError.isInstance(error) && error.code).toBe('missing_credentials');
    expect((error as Error).message).toContain('SENDGRID_API_KEY');
    expect(calls).toBe(0);
    expect(provider.limiterKey?.()).toBe('sendgrid');
  });
});
