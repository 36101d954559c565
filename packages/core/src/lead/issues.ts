import { ValidationError, type ValidationIssue } from '../contracts/errors.js';

/** Throw a {@link ValidationError} with one issue. Internal helper of the lead normalizers. */
export function invalid(field: string, reason: string): never {
  throw new ValidationError([{ field, reason }]);
}

/**
 * Collects issues across many fields so a caller can report every bad field at
 * once. Internal helper of `createLead` and `applyLeadFields`.
 */
export class IssueCollector {
  /** Every issue added so far, in order. */
  readonly issues: ValidationIssue[] = [];

  /** Record one issue. */
  add(field: string, reason: string): void {
    this.issues.push({ field, reason });
  }

  /**
   * Run a normalizer; when it throws a {@link ValidationError}, record its
   * issues under `field` (issues on sub-fields keep their sub-path after
   * `from`) and return `undefined`. Any other error propagates.
   */
  run<T>(field: string, normalize: () => T, from?: string): T | undefined {
    try {
      return normalize();
    } catch (error) {
      if (!ValidationError.isInstance(error)) throw error;
      for (const issue of error.issues) {
        const rest =
          from !== undefined && issue.field.startsWith(`${from}.`) ? issue.field.slice(from.length) : '';
        this.add(`${field}${rest}`, issue.reason);
      }
      return undefined;
    }
  }

  /** Whether no issue has been recorded. */
  get ok(): boolean {
    return this.issues.length === 0;
  }
}

/** Collapse runs of whitespace, trim, and apply Unicode NFC. */
export function cleanText(value: string): string {
  return value.normalize('NFC').replace(/\s+/gu, ' ').trim();
}

/** Whether a value is a plain object (not an array, not a class instance, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Longest text accepted for short free-text fields (names, titles, industries). */
const MAX_TEXT_LENGTH = 500;

/**
 * Clean a free-text value (see {@link cleanText}) and check it is not blank
 * and not longer than {@link MAX_TEXT_LENGTH}.
 */
export function normalizeShortText(value: unknown, field: string): string {
  if (typeof value !== 'string') invalid(field, 'must be a string');
  const text = cleanText(value);
  if (text.length === 0) invalid(field, 'must not be blank');
  if (text.length > MAX_TEXT_LENGTH) invalid(field, `must be at most ${MAX_TEXT_LENGTH} characters`);
  // Control characters other than whitespace have no place in a name or title.
  if (/\p{Cc}/u.test(text)) invalid(field, 'must not contain control characters');
  return text;
}
