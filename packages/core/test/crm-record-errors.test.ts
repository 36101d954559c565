import { describe, expect, it } from 'vitest';
import { scrubRecordError, toRecordError } from '../src/crm/record-errors.js';
import { ApiCallError, registerSecret, ValidationError } from '../src/index.js';

describe('toRecordError', () => {
  it('keeps a leadpipe error code, its retryability, vendor code and retry-after, with the error as raw', () => {
    const error = new ApiCallError('server_error', {
      message: 'HTTP 503',
      providerId: 'crm-a',
      isRetryable: true,
      vendorCode: 'UNAVAILABLE',
      retryAfterMs: 2000,
    });
    expect(toRecordError(error)).toMatchObject({
      code: 'server_error',
      message: 'HTTP 503',
      retryable: true,
      vendorCode: 'UNAVAILABLE',
      retryAfterMs: 2000,
      raw: expect.objectContaining({ code: 'server_error' }),
    });
  });

  it('marks quota_exceeded retryable (a quota resets) and validation errors validation_failed', () => {
    expect(toRecordError(new ApiCallError('quota_exceeded', { message: 'daily quota' })).retryable).toBe(
      true,
    );
    const invalid = toRecordError(new ValidationError([{ field: 'email', reason: 'is not an email' }]));
    expect(invalid.code).toBe('validation_failed');
    expect(invalid.retryable).toBe(false);
  });

  it('turns anything else into a permanent adapter_error, scrubbed of secrets', () => {
    const secret = 'sk-record-errors-0123456789';
    registerSecret(secret);
    const record = toRecordError(new TypeError(`cannot read ${secret}`));
    expect(record).toMatchObject({ code: 'adapter_error', retryable: false, raw: { name: 'TypeError' } });
    expect(JSON.stringify(record)).not.toContain(secret);
    expect(toRecordError('a string').message).toBe('a string');
  });
});

describe('scrubRecordError', () => {
  it('maps an unknown code to adapter_error and scrubs message and raw', () => {
    const secret = 'sk-scrub-record-0123456789';
    registerSecret(secret);
    const scrubbed = scrubRecordError({
      code: 'weird' as 'adapter_error',
      message: `failed with ${secret}`,
      retryable: true,
      raw: { token: secret },
    });
    expect(scrubbed.code).toBe('adapter_error');
    expect(scrubbed.retryable).toBe(true);
    expect(JSON.stringify(scrubbed)).not.toContain(secret);
  });

  it('keeps a known code', () => {
    expect(scrubRecordError({ code: 'locked', message: 'row locked', retryable: true }).code).toBe('locked');
  });
});
