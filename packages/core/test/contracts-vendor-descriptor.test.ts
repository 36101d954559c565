import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../src/contracts/errors.js';
import { REDACTED, redactSecrets } from '../src/contracts/secrets.js';
import { missingVariablesError, readVendorVariable } from '../src/contracts/vendor-descriptor.js';

describe('readVendorVariable', () => {
  it('trims the value and treats unset, empty and blank alike', () => {
    const env = { SET: '  value  ', EMPTY: '', BLANK: '   ' };
    expect(readVendorVariable(env, 'SET')).toBe('value');
    for (const name of ['EMPTY', 'BLANK', 'UNSET']) expect(readVendorVariable(env, name)).toBeUndefined();
  });

  it('registers a secret value for redaction, and only when asked', () => {
    const plain = 'plain-setting-value-81f3';
    const secret = 'secret-setting-value-5a0c';
    readVendorVariable({ PLAIN: plain }, 'PLAIN');
    readVendorVariable({ SECRET: secret }, 'SECRET', true);
    expect(redactSecrets(`${plain} ${secret}`)).toBe(`${plain} ${REDACTED}`);
  });
});

describe('missingVariablesError', () => {
  it('is a missing_credentials error with one issue per credential, naming option and variables', () => {
    const error = missingVariablesError('acme', 'Acme', [
      { option: 'apiKey', variables: 'ACME_API_KEY' },
      { option: 'accountId', variables: 'ACME_ACCOUNT_ID' },
    ]);
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect(error.code).toBe('missing_credentials');
    expect(error.providerId).toBe('acme');
    expect(error.issues).toEqual([
      { field: 'apiKey', reason: "is missing: pass the 'apiKey' option or set ACME_API_KEY" },
      { field: 'accountId', reason: "is missing: pass the 'accountId' option or set ACME_ACCOUNT_ID" },
    ]);
    expect(error.message).toBe(
      "Acme: apiKey is missing: pass the 'apiKey' option or set ACME_API_KEY; accountId is missing: pass the 'accountId' option or set ACME_ACCOUNT_ID",
    );
  });

  it('words alternatives as a list of options, not as one option name', () => {
    const error = missingVariablesError('acme', 'Acme', [
      { option: "'token' and 'url', or 'jwt'", variables: 'ACME_TOKEN and ACME_URL, or ACME_JWT' },
    ]);
    expect(error.issues[0]?.reason).toBe(
      "is missing: pass the options 'token' and 'url', or 'jwt'; or set ACME_TOKEN and ACME_URL, or ACME_JWT",
    );
  });
});
