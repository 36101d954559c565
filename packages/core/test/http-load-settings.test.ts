import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadApiKey, loadOptionalSetting, loadSetting } from '../src/http/load-settings.js';
import { ApiCallError, ConfigurationError, redactSecrets } from '../src/index.js';

const ENV = 'LEADPIPE_TEST_ACME_API_KEY';

function thrownBy(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('loadApiKey', () => {
  const options = { environmentVariableName: ENV, description: 'Acme', providerId: 'acme' };

  it('prefers the option over the environment', () => {
    vi.stubEnv(ENV, 'from-env-key-123');
    expect(loadApiKey({ ...options, apiKey: 'from-option-key-456' })).toBe('from-option-key-456');
  });

  it('reads the environment at call time, not when the options were built', () => {
    vi.stubEnv(ENV, '');
    const read = () => loadApiKey({ ...options, apiKey: undefined });
    expect(() => read()).toThrow();
    vi.stubEnv(ENV, 'late-env-key-789');
    expect(read()).toBe('late-env-key-789');
  });

  it('registers the key so errors scrub it', () => {
    const key = loadApiKey({ ...options, apiKey: 'zq-registered-key-0001' });
    expect(redactSecrets(`key is ${key}`)).toBe('key is [REDACTED]');
    const error = new ApiCallError('unauthorized', { message: `rejected ${key}`, providerId: 'acme' });
    expect(JSON.stringify(error)).not.toContain(key);
  });

  it('throws missing_credentials naming the option and the variable when neither holds a key', () => {
    vi.stubEnv(ENV, '');
    const error = thrownBy(() => loadApiKey({ ...options, apiKey: '', optionName: 'acmeKey' }));
    expect(ConfigurationError.isInstance(error)).toBe(true);
    if (!ConfigurationError.isInstance(error)) return;
    expect(error.code).toBe('missing_credentials');
    expect(error.isRetryable).toBe(false);
    expect(error.providerId).toBe('acme');
    expect(error.message).toBe(
      `Acme API key is missing. Pass it using the 'acmeKey' option or set the ${ENV} environment variable.`,
    );
  });

  it('defaults the option name to apiKey and rejects a non-string option', () => {
    vi.stubEnv(ENV, '');
    expect(thrownBy(() => loadApiKey({ ...options, apiKey: undefined }))).toHaveProperty(
      'message',
      expect.stringContaining("'apiKey' option"),
    );
    const error = thrownBy(() => loadApiKey({ ...options, apiKey: 42 as unknown as string }));
    expect(ConfigurationError.isInstance(error) && error.code).toBe('invalid_configuration');
    expect((error as Error).message).toBe('apiKey: must be a string, got number');
  });
});

describe('loadSetting', () => {
  const options = {
    environmentVariableName: 'LEADPIPE_TEST_ACME_URL',
    settingName: 'instanceUrl',
    description: 'Acme instance URL',
  };

  it('prefers the option, falls back to the environment, and is not registered as a secret', () => {
    vi.stubEnv('LEADPIPE_TEST_ACME_URL', 'https://env.acme.test');
    expect(loadSetting({ ...options, settingValue: 'https://option.acme.test' })).toBe(
      'https://option.acme.test',
    );
    expect(loadSetting({ ...options, settingValue: undefined })).toBe('https://env.acme.test');
    expect(redactSecrets('https://env.acme.test')).toBe('https://env.acme.test');
  });

  it('throws invalid_configuration naming both sources when missing; the optional variant returns undefined', () => {
    vi.stubEnv('LEADPIPE_TEST_ACME_URL', '');
    const error = thrownBy(() => loadSetting({ ...options, settingValue: undefined }));
    expect(ConfigurationError.isInstance(error) && error.code).toBe('invalid_configuration');
    expect((error as Error).message).toBe(
      "Acme instance URL setting is missing. Pass it using the 'instanceUrl' option or set the LEADPIPE_TEST_ACME_URL environment variable.",
    );
    expect(loadOptionalSetting({ ...options, settingValue: undefined })).toBeUndefined();
  });
});
