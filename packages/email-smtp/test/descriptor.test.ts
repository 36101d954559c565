import { ConfigurationError, REDACTED, redactSecrets } from '@leadpipe/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smtpDescriptor } from '../src/index.js';
import { message, type SmtpTestServer, startSmtpServer } from './support.js';

let server: SmtpTestServer;
beforeAll(async () => {
  server = await startSmtpServer({ credentials: { user: 'desc-user', pass: 'desc-pass-61a0c3' } });
});
afterAll(() => server.close());

describe('smtpDescriptor', () => {
  it('describes SMTP: an email provider reading the host, port, user, a secret password and TLS flags', () => {
    expect(smtpDescriptor).toMatchObject({ specificationVersion: 'v1', id: 'smtp', kind: 'email' });
    expect(
      smtpDescriptor.environment.map((variable) => [variable.name, variable.option, variable.secret]),
    ).toEqual([
      ['SMTP_HOST', 'host', false],
      ['SMTP_PORT', 'port', false],
      ['SMTP_USER', 'user', false],
      ['SMTP_PASS', 'pass', true],
      ['SMTP_SECURE', 'secure', false],
      ['SMTP_REQUIRE_TLS', 'requireTLS', false],
    ]);
  });

  it('fromEnv without a host, or with a user but no password, names each missing variable', () => {
    expect(smtpDescriptor.missingVariables({ SMTP_USER: 'u' })).toEqual([
      { option: 'host', variables: 'SMTP_HOST' },
      { option: 'pass', variables: 'SMTP_PASS' },
    ]);
    expect(smtpDescriptor.missingVariables({ SMTP_HOST: 'relay.internal' })).toEqual([]);
    let thrown: unknown;
    try {
      smtpDescriptor.fromEnv({ SMTP_HOST: 'smtp.example.com', SMTP_USER: 'u' });
    } catch (error) {
      thrown = error;
    }
    expect(ConfigurationError.isInstance(thrown) && thrown.code).toBe('missing_credentials');
    expect((thrown as ConfigurationError).issues).toEqual([
      { field: 'pass', reason: "is missing: pass the 'pass' option or set SMTP_PASS" },
    ]);
    expect(() => smtpDescriptor.fromEnv({ SMTP_HOST: 'smtp.example.com', SMTP_PORT: 'twenty-five' })).toThrow(
      /port/,
    );
    expect(() => smtpDescriptor.fromEnv({ SMTP_HOST: 'smtp.example.com', SMTP_SECURE: 'maybe' })).toThrow(
      /secure/,
    );
  });

  it('fromEnv builds a provider that sends through the server, and registers the password as a secret', async () => {
    const provider = smtpDescriptor.fromEnv({
      SMTP_HOST: '127.0.0.1',
      SMTP_PORT: String(server.port),
      SMTP_USER: 'desc-user',
      SMTP_PASS: 'desc-pass-61a0c3',
      SMTP_REQUIRE_TLS: 'false',
    });
    expect(redactSecrets('x desc-pass-61a0c3 y')).toBe(`x ${REDACTED} y`);
    const result = await provider.doSend(message({ ledgerKey: 'desc-1' }), {});
    await provider.close();
    expect(result.status).toBe('accepted');
    expect(server.messages.at(-1)?.user).toBe('desc-user');
  });

  it('emulatorSettings read an smtp:// URL and credentials', async () => {
    const settings = smtpDescriptor.emulatorSettings({
      urls: { baseUrl: `smtp://127.0.0.1:${server.port}` },
      credentials: { user: 'desc-user', pass: 'desc-pass-61a0c3' },
      limits: { perMinute: 77 },
    });
    expect(settings).toMatchObject({
      host: '127.0.0.1',
      port: server.port,
      requireTLS: false,
      rateLimits: { perMinute: 77 },
    });
    const provider = smtpDescriptor.create(settings);
    expect(provider.capabilities.rateLimits).toEqual({ perMinute: 77 });
    const result = await provider.doSend(message({ ledgerKey: 'desc-2' }), {});
    await provider.close();
    expect(result.status).toBe('accepted');
  });
});
