import { ApiCallError, type ApiErrorCode, LeadpipeError } from '@leadpipe/core/adapter-kit';
import type { ContractExpect, ExpectedApiError } from './enrichment-provider.js';

/** Error codes the contract expects to be retryable (by the limiter or by retries, never the adapter). */
const RETRYABLE: ReadonlySet<ApiErrorCode> = new Set([
  'rate_limited',
  'server_error',
  'timeout',
  'network_error',
  'invalid_response',
]);

/** Await a promise and report how it settled, without throwing. */
export async function settle<T>(
  promise: PromiseLike<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

/** A one-line description of an error, for assertion messages. */
export function describeError(error: unknown): string {
  if (LeadpipeError.isInstance(error)) return `${error.name}(${error.code}): ${error.message}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Every text of an error a secret could hide in: message, stack, JSON, causes. */
export function errorTexts(error: unknown): string[] {
  const texts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    if (current instanceof Error) {
      texts.push(current.message, current.stack ?? '', String(current));
      const withJson = current as { toJSON?: () => unknown };
      if (typeof withJson.toJSON === 'function') texts.push(JSON.stringify(withJson.toJSON()));
      texts.push(JSON.stringify(current));
      current = (current as { cause?: unknown }).cause;
    } else {
      texts.push(typeof current === 'string' ? current : JSON.stringify(current));
      break;
    }
  }
  return texts;
}

/**
 * Assert that `error` is an `ApiCallError` with the expected code and
 * retryability, raised on behalf of `ownerId` (the provider or adapter id).
 */
export function expectApiError(
  expect: ContractExpect,
  error: unknown,
  expected: ExpectedApiError,
  ownerId: string,
  label: string,
): void {
  expect(
    ApiCallError.isInstance(error),
    `${label}: must reject with an ApiCallError, got ${describeError(error)}`,
  ).toBe(true);
  const failure = error as ApiCallError;
  expect(failure.code, `${label}: code`).toBe(expected.code);
  expect(failure.isRetryable, `${label}: isRetryable`).toBe(
    expected.isRetryable ?? RETRYABLE.has(expected.code),
  );
  expect(failure.providerId, `${label}: providerId`).toBe(ownerId);
}
