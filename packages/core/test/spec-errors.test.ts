import { describe, expect, it } from 'vitest';
import {
  ApiCallError,
  CircuitOpenError,
  ConfigurationError,
  LeadpipeError,
  REDACTED,
  redactSecrets,
  redactValue,
  registerSecret,
  ValidationError,
  WebhookVerificationError,
} from '../src/index.js';

const samples = {
  ValidationError: new ValidationError([{ field: 'email', reason: 'must be an email' }]),
  ConfigurationError: new ConfigurationError('missing_credentials', { message: 'no key' }),
  ApiCallError: new ApiCallError('server_error', { message: 'boom', status: 503 }),
  WebhookVerificationError: new WebhookVerificationError('signature_invalid', { message: 'bad' }),
  CircuitOpenError: new CircuitOpenError('apollo', 1_000),
};
const classes = {
  ValidationError,
  ConfigurationError,
  ApiCallError,
  WebhookVerificationError,
  CircuitOpenError,
};

describe('error classes', () => {
  it('each isInstance recognises its own class only, and the base recognises all', () => {
    for (const [name, error] of Object.entries(samples)) {
      expect(LeadpipeError.isInstance(error)).toBe(true);
      for (const [otherName, otherClass] of Object.entries(classes)) {
        expect(otherClass.isInstance(error), `${otherName}.isInstance(${name})`).toBe(otherName === name);
      }
    }
    expect(LeadpipeError.isInstance(new Error('plain'))).toBe(false);
    expect(LeadpipeError.isInstance(null)).toBe(false);
  });

  it('recognises errors from a duplicate copy of the package by their Symbol.for marker', () => {
    const foreign = Object.assign(new Error('from another copy'), { code: 'server_error' });
    Object.defineProperty(foreign, Symbol.for('leadpipe.error'), { value: true });
    Object.defineProperty(foreign, Symbol.for('leadpipe.error.ApiCallError'), { value: true });
    expect(ApiCallError.isInstance(foreign)).toBe(true);
    expect(ValidationError.isInstance(foreign)).toBe(false);
  });

  it('derives isRetryable from the code unless told otherwise', () => {
    expect(new ApiCallError('server_error', { message: 'x' }).isRetryable).toBe(true);
    expect(new ApiCallError('rate_limited', { message: 'x' }).isRetryable).toBe(true);
    expect(new ApiCallError('invalid_request', { message: 'x' }).isRetryable).toBe(false);
    expect(new ApiCallError('unauthorized', { message: 'x' }).isRetryable).toBe(false);
    expect(new ApiCallError('server_error', { message: 'x', isRetryable: false }).isRetryable).toBe(false);
  });

  it('lists every validation issue in the message and JSON', () => {
    const error = new ValidationError([
      { field: 'email', reason: 'must be an email' },
      { field: 'company.domain', reason: 'must be a bare domain' },
    ]);
    expect(error.message).toBe(
      'Invalid value: email: must be an email; company.domain: must be a bare domain',
    );
    expect(error.toJSON()).toMatchObject({ code: 'validation_failed', issues: error.issues });
  });
});

describe('secret redaction', () => {
  const secret = 'pat-na1-11111111-2222-3333-4444-555555555555';
  registerSecret(secret);

  it('scrubs registered secrets and credential shapes from messages, URLs, bodies, causes and JSON', () => {
    const cause = new Error(`request failed: Authorization: Bearer ${secret}`);
    const error = new ApiCallError('unauthorized', {
      message: `401 for token ${secret}`,
      url: `https://api.example.com/v1/x?hapikey=${secret}`,
      responseBody: `{"token":"${secret}","api_key":"other-unregistered-key-123"}`,
      cause,
    });
    const everything = [
      error.message,
      error.stack,
      error.url,
      error.responseBody,
      JSON.stringify(error),
      String((error.cause as Error).stack),
    ].join('\n');
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain('other-unregistered-key-123');
    expect(error.message).toBe(`401 for token ${REDACTED}`);
    expect(error.url).toBe('https://api.example.com/v1/x');
  });

  it('redacts sensitive keys and nested strings in values', () => {
    const value = redactValue({
      headers: { authorization: 'Basic abc', 'x-trace': 'ok' },
      list: [`key ${secret}`],
    });
    expect(value).toEqual({
      headers: { authorization: REDACTED, 'x-trace': 'ok' },
      list: [`key ${REDACTED}`],
    });
    expect(redactSecrets('api_key=abcdef123&x=1')).toBe(`api_key=${REDACTED}&x=1`);
  });

  it('ignores secrets too short to redact safely', () => {
    registerSecret('abc');
    expect(redactSecrets('abc abc')).toBe('abc abc');
  });
});
