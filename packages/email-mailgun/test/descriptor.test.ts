import { ConfigurationError, REDACTED, redactSecrets, type VendorEmulatorConnection } from '@leadpipe/core';
import { type RunningEmulators, startEmulators } from '@leadpipe/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailgunDescriptor } from '../src/index.js';
import { message } from './support.js';

let running: RunningEmulators;
beforeAll(async () => {
  running = await startEmulators({ vendors: ['mailgun'], seed: 41, limits: { mailgun: { perMinute: 77 } } });
});
afterAll(() => running.close());

function connection(extra: Partial<VendorEmulatorConnection> = {}): VendorEmulatorConnection {
  return { urls: running.urls.mailgun!, credentials: running.credentials.mailgun!, ...extra };
}

describe('mailgunDescriptor', () => {
  it('describes Mailgun: an email provider reading two secrets and two settings', () => {
    expect(mailgunDescriptor).toMatchObject({ specificationVersion: 'v1', id: 'mailgun', kind: 'email' });
    expect(
      mailgunDescriptor.environment.map((variable) => [variable.name, variable.option, variable.secret]),
    ).toEqual([
      ['MAILGUN_API_KEY', 'apiKey', true],
      ['MAILGUN_DOMAIN', 'domain', false],
      ['MAILGUN_WEBHOOK_SIGNING_KEY', 'webhookSigningKey', true],
      ['MAILGUN_REGION', 'region', false],
    ]);
  });

  it('fromEnv without the key or domain throws one issue per missing variable', () => {
    expect(mailgunDescriptor.missingVariables({ MAILGUN_API_KEY: ' ' })).toEqual([
      { option: 'apiKey', variables: 'MAILGUN_API_KEY' },
      { option: 'domain', variables: 'MAILGUN_DOMAIN' },
    ]);
    let thrown: unknown;
    try {
      mailgunDescriptor.fromEnv({ MAILGUN_DOMAIN: 'mg.example.com' });
    } catch (error) {
      thrown = error;
    }
    expect(ConfigurationError.isInstance(thrown)).toBe(true);
    expect((thrown as ConfigurationError).code).toBe('missing_credentials');
    expect((thrown as ConfigurationError).issues).toEqual([
      { field: 'apiKey', reason: "is missing: pass the 'apiKey' option or set MAILGUN_API_KEY" },
    ]);
  });

  it('fromEnv builds the provider, registers both secrets and honours the region', async () => {
    const key = 'descriptor-mailgun-key-5f1a';
    const signing = 'descriptor-mailgun-signing-9b2c';
    const provider = mailgunDescriptor.fromEnv({
      MAILGUN_API_KEY: key,
      MAILGUN_DOMAIN: 'mg.example.com',
      MAILGUN_WEBHOOK_SIGNING_KEY: signing,
      MAILGUN_REGION: 'EU',
    });
    expect(provider.providerId).toBe('mailgun');
    expect(redactSecrets(`a ${key} b ${signing}`)).toBe(`a ${REDACTED} b ${REDACTED}`);
    // A bad region is a typed error naming the option.
    expect(() =>
      mailgunDescriptor.fromEnv({
        MAILGUN_API_KEY: key,
        MAILGUN_DOMAIN: 'mg.example.com',
        MAILGUN_REGION: 'asia',
      }),
    ).toThrow(/region/);
  });

  it('emulatorSettings point the provider at the emulator, with its limits', async () => {
    const settings = mailgunDescriptor.emulatorSettings(connection({ limits: { perMinute: 77 } }));
    expect(settings).toMatchObject({
      baseUrl: running.urls.mailgun!.baseUrl,
      domain: 'mg.leadpipe.test',
      rateLimits: { perMinute: 77 },
    });
    const provider = mailgunDescriptor.create(settings);
    const result = await provider.doSend(message(), {});
    expect(result.status).toBe('accepted');
    expect(running.emulators.mailgun!.emulator.messages()).toHaveLength(1);
    const delivery = running.emulators.mailgun!.emulator.emit(
      (result as { messageId: string }).messageId,
      'delivered',
    );
    const [event] = await provider.doParseEvents({
      method: 'POST',
      url: '/hooks',
      headers: { 'content-type': 'application/json' },
      rawBody: delivery.body,
    });
    expect(event).toMatchObject({ type: 'delivered', ledgerKey: 'enr-42-s1' });
  });
});
