import { ValidationError } from '@leadpipe/core/adapter-kit';

/** The part of an email a template error is in. */
export type TemplatePart = 'subject' | 'html' | 'text';

/**
 * Why a template failed:
 * - `missing_variable`: the template reads a variable the context lacks (or has as null or blank) with no
 *   `default` fallback;
 * - `syntax`: the template does not parse;
 * - `unknown_filter`: the template uses a filter liquidjs does not know;
 * - `missing_text`: the renderer requires a text version and the template has none;
 * - `missing_unsubscribe`: the rendered body does not contain the unsubscribe link;
 * - `empty`: a part rendered to nothing (never sent blank);
 * - `render`: any other rendering failure.
 */
export type TemplateErrorReason =
  | 'missing_variable'
  | 'syntax'
  | 'unknown_filter'
  | 'missing_text'
  | 'missing_unsubscribe'
  | 'empty'
  | 'render';

const templateMarker = Symbol.for('leadpipe.error.TemplateError');

/**
 * A template could not be compiled or rendered. A `ValidationError` (code `validation_failed`, never retryable):
 * its one issue's `field` is the missing variable (such as `first_name`) or the part (`subject`, `html`, `text`).
 * Messages name variables and positions, never variable values.
 */
export class TemplateError extends ValidationError {
  /** Why it failed. */
  readonly reason: TemplateErrorReason;
  /** The part the failure is in. */
  readonly part: TemplatePart;
  /** The missing variable, for `missing_variable` (as liquidjs names it: `company` for a missing `company.name`). */
  readonly variable: string | undefined;
  /** The template's id, when it has one. */
  readonly templateId: string | undefined;

  /**
   * @param reason - why it failed.
   * @param details - the part, the variable, the template id, a description and the underlying error.
   */
  constructor(
    reason: TemplateErrorReason,
    details: {
      part: TemplatePart;
      description: string;
      variable?: string;
      templateId?: string;
      cause?: unknown;
    },
  ) {
    const where = `${details.templateId === undefined ? 'template' : `template "${details.templateId}"`} ${details.part}`;
    super([{ field: details.variable ?? details.part, reason: details.description }], {
      message: `${where}: ${details.description}`,
      cause: details.cause,
    });
    this.name = 'TemplateError';
    Object.defineProperty(this, templateMarker, { value: true, enumerable: false });
    this.reason = reason;
    this.part = details.part;
    this.variable = details.variable;
    this.templateId = details.templateId;
  }

  /** Whether `error` is a {@link TemplateError} (works across duplicate copies of the package). */
  static override isInstance(error: unknown): error is TemplateError {
    return (
      typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[templateMarker] === true
    );
  }

  /** A JSON-safe view: the validation error's fields plus reason, part, variable and template id. */
  override toJSON(): Record<string, unknown> {
    return {
      ...super.toJSON(),
      reason: this.reason,
      part: this.part,
      variable: this.variable,
      templateId: this.templateId,
    };
  }
}
