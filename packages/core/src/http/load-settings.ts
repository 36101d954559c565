import { ConfigurationError } from '../contracts/errors.js';
import { registerSecret } from '../contracts/secrets.js';

/** Options of {@link loadApiKey}. */
export interface LoadApiKeyOptions {
  /** The key passed as an option, if any. Takes precedence over the environment. */
  readonly apiKey: string | undefined;
  /** The environment variable read when no key was passed, such as `APOLLO_API_KEY`. */
  readonly environmentVariableName: string;
  /** The option's name as the user writes it, for the error message. Defaults to `apiKey`. */
  readonly optionName?: string;
  /** What the key is for, such as `Apollo`, for the error message. */
  readonly description: string;
  /** The provider or CRM the key belongs to, for the error. */
  readonly providerId?: string;
}

/** Options of {@link loadSetting} and {@link loadOptionalSetting}. */
export interface LoadSettingOptions {
  /** The value passed as an option, if any. Takes precedence over the environment. */
  readonly settingValue: string | undefined;
  /** The environment variable read when no value was passed. */
  readonly environmentVariableName: string;
  /** The option's name as the user writes it, for the error message. */
  readonly settingName: string;
  /** What the setting is, such as `Salesforce instance URL`, for the error message. */
  readonly description: string;
  /** The provider or CRM the setting belongs to, for the error. */
  readonly providerId?: string;
}

function readEnvironment(name: string): string | undefined {
  if (typeof process === 'undefined' || process.env === undefined) return undefined;
  const value = process.env[name];
  return value === undefined || value === '' ? undefined : value;
}

function resolve(
  value: unknown,
  optionName: string,
  environmentVariableName: string,
  providerId: string | undefined,
): string | undefined {
  if (value !== undefined && value !== null && typeof value !== 'string') {
    throw new ConfigurationError('invalid_configuration', {
      message: `${optionName}: must be a string, got ${typeof value}`,
      providerId,
    });
  }
  if (typeof value === 'string' && value !== '') return value;
  return readEnvironment(environmentVariableName);
}

/**
 * The API key from the option, or else, read now (not at import time), from
 * `process.env[environmentVariableName]`. The key is registered with
 * `registerSecret` so it is scrubbed from every error, log line and event.
 * An empty string counts as not given. Call it where the key is used (inside
 * a `headers()` callback), so a client can be built before the key exists.
 *
 * @throws ConfigurationError `missing_credentials` naming both the option and
 * the environment variable, when neither holds a key; `invalid_configuration`
 * when the option is not a string.
 */
export function loadApiKey(options: LoadApiKeyOptions): string {
  const optionName = options.optionName ?? 'apiKey';
  const key = resolve(options.apiKey, optionName, options.environmentVariableName, options.providerId);
  if (key === undefined) {
    throw new ConfigurationError('missing_credentials', {
      message: `${options.description} API key is missing. Pass it using the '${optionName}' option or set the ${options.environmentVariableName} environment variable.`,
      providerId: options.providerId,
    });
  }
  registerSecret(key);
  return key;
}

/**
 * A non-secret setting (a base URL, an account id) from the option, or else,
 * read now, from the environment. Not registered for redaction.
 *
 * @throws ConfigurationError `invalid_configuration` naming both the option
 * and the environment variable, when neither holds a value, or when the option is not a string.
 */
export function loadSetting(options: LoadSettingOptions): string {
  const value = loadOptionalSetting(options);
  if (value === undefined) {
    throw new ConfigurationError('invalid_configuration', {
      message: `${options.description} setting is missing. Pass it using the '${options.settingName}' option or set the ${options.environmentVariableName} environment variable.`,
      providerId: options.providerId,
    });
  }
  return value;
}

/**
 * Like {@link loadSetting}, but returns `undefined` when neither the option
 * nor the environment holds a value.
 *
 * @throws ConfigurationError `invalid_configuration` when the option is not a string.
 */
export function loadOptionalSetting(options: LoadSettingOptions): string | undefined {
  return resolve(
    options.settingValue,
    options.settingName,
    options.environmentVariableName,
    options.providerId,
  );
}
