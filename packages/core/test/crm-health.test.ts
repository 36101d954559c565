import { describe, expect, it } from 'vitest';
import { CrmHealth } from '../src/crm/health.js';
import type { CrmRecordError } from '../src/index.js';

const serverError: CrmRecordError = {
  code: 'server_error',
  message: 'HTTP 503',
  retryable: true,
  vendorCode: 'UNAVAILABLE',
  raw: { status: 503 },
};

describe('CrmHealth', () => {
  it('goes down after downAfter whole-call failures in a row, once, with a retryable error naming the CRM', () => {
    const health = new CrmHealth('hubspot', 2);
    expect(health.failed(serverError)).toBeUndefined();
    expect(health.suspect).toBe(true);
    const down = health.failed(serverError);
    expect(down).toEqual({
      code: 'server_error',
      message: 'hubspot is down for this run: HTTP 503',
      retryable: true,
      vendorCode: 'UNAVAILABLE',
      raw: { status: 503 },
    });
    expect(health.down).toBe(down);
    expect(health.suspect).toBe(false);
    // Already down: no second verdict.
    expect(health.failed(serverError)).toBeUndefined();
  });

  it('starts counting again after a call the CRM answered', () => {
    const health = new CrmHealth('hubspot', 2);
    health.failed(serverError);
    health.succeeded();
    expect(health.suspect).toBe(false);
    expect(health.failed(serverError)).toBeUndefined();
    expect(health.down).toBeUndefined();
  });

  it('goes down at once on unauthorized, forbidden and quota_exceeded', () => {
    for (const code of ['unauthorized', 'forbidden', 'quota_exceeded'] as const) {
      const health = new CrmHealth('crm-a', 5);
      expect(health.failed({ code, message: 'no', retryable: false })?.code).toBe(code);
    }
  });
});
