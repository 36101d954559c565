import { LeadpipeError, redactSecrets } from '@leadpipe/core';

/**
 * What a page says about an error a source threw: a leadpipe error's code
 * and scrubbed message; for anything else only its class name (its message
 * may hold anything, such as a connection string), so the host's logs
 * (`onError`) have the rest.
 */
export function describeError(error: unknown): string {
  if (LeadpipeError.isInstance(error)) return `${error.code}: ${redactSecrets(error.message)}`;
  const name = error instanceof Error ? error.name : typeof error;
  return `${name} (details in the server's log)`;
}

/** Whether `error` is the caller's fault (a `ValidationError`, such as a cursor the queue did not hand out). */
export function isBadInput(error: unknown): boolean {
  return LeadpipeError.isInstance(error) && error.code === 'validation_failed';
}
