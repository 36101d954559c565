import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { EmailSendResult } from '../contracts/email-provider.js';
import { ApiCallError, LeadpipeError } from '../contracts/errors.js';
import { leadpipeInstruments, leadpipeTracer, TelemetryAttributes } from './instruments.js';

/**
 * The kinds of call leadpipe traces: to an enrichment provider, a CRM, an
 * email provider, a lead store (a query or write), or a queue (a job).
 */
export type TracedCallKind = 'provider' | 'crm' | 'email' | 'store' | 'queue';

const VENDOR_ATTRIBUTE: Readonly<Record<TracedCallKind, string>> = {
  provider: TelemetryAttributes.provider,
  crm: TelemetryAttributes.crm,
  email: TelemetryAttributes.emailProvider,
  store: TelemetryAttributes.store,
  queue: TelemetryAttributes.queue,
};

/** What {@link traceCall} needs to know about a call. */
export interface TracedCall {
  /** Provider, CRM or email provider. */
  readonly kind: TracedCallKind;
  /** The vendor's id (`providerId`, `adapterId`), the store's kind (`postgres`) or the queue's name. */
  readonly vendor: string;
  /** The operation, such as `enrich`, `upsert` or `send`; the span is named `leadpipe.<kind>.<operation>`. */
  readonly operation: string;
  /** Extra span attributes (ids, counts, codes; never lead data or secrets). */
  readonly attributes?: Attributes;
  /**
   * The context to nest under, when the active one is not right: a sync
   * session's (`trace.setSpan(context.active(), sessionSpan)`), the caller's
   * captured before a queue, or `ROOT_CONTEXT` for a call many callers share.
   * Default: the active context.
   */
  readonly parent?: Context;
}

const SAFE_ERROR_NAME = /^[A-Za-z][A-Za-z0-9]{0,40}Error$/;

/**
 * The `error.type` of a failure: a leadpipe error's stable code, else the
 * error class's name (`TypeError`), else `_OTHER`. Never its message.
 */
export function errorTypeOf(error: unknown): string {
  if (LeadpipeError.isInstance(error)) return error.code;
  if (error instanceof Error && SAFE_ERROR_NAME.test(error.name)) return error.name;
  return '_OTHER';
}

/**
 * Mark `span` failed with `error`: status `ERROR` with the error's code as
 * the status description, `error.type`, and the HTTP status when the error
 * has one. The message is left out: it may name a lead.
 */
export function markSpanFailed(span: Span, error: unknown): string {
  const type = errorTypeOf(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  span.setAttribute(TelemetryAttributes.errorType, type);
  if (ApiCallError.isInstance(error) && error.status !== undefined) {
    span.setAttribute(TelemetryAttributes.httpStatus, error.status);
  }
  return type;
}

/**
 * Run one vendor call inside a span named `leadpipe.<kind>.<operation>`
 * (kind `CLIENT`), counting it in `leadpipe.calls` and timing it in
 * `leadpipe.call.duration` (ms). The span is active while `call` runs, so
 * the HTTP requests it makes nest under it. A rejection marks the span
 * failed ({@link markSpanFailed}) and is rethrown unchanged. `call` gets the
 * span to add attributes to (`leadpipe.credits`, counts).
 */
export async function traceCall<T>(call: TracedCall, run: (span: Span) => Promise<T>): Promise<T> {
  const vendorAttribute = VENDOR_ATTRIBUTE[call.kind];
  const metricAttributes: Attributes = {
    [TelemetryAttributes.call]: call.kind,
    [vendorAttribute]: call.vendor,
    [TelemetryAttributes.operation]: call.operation,
  };
  const span = leadpipeTracer().startSpan(
    `leadpipe.${call.kind}.${call.operation}`,
    { kind: SpanKind.CLIENT, attributes: { ...call.attributes, ...metricAttributes } },
    call.parent ?? context.active(),
  );
  const started = performance.now();
  let errorType: string | undefined;
  try {
    return await context.with(trace.setSpan(call.parent ?? context.active(), span), () => run(span));
  } catch (error) {
    errorType = markSpanFailed(span, error);
    throw error;
  } finally {
    span.end();
    const instruments = leadpipeInstruments();
    const attributes =
      errorType === undefined
        ? metricAttributes
        : { ...metricAttributes, [TelemetryAttributes.errorType]: errorType };
    instruments.calls.add(1, attributes);
    instruments.callDuration.record(performance.now() - started, attributes);
  }
}

/**
 * An email provider's send in a `leadpipe.email.send` (or `send_batch`)
 * span, for email adapters: {@link traceCall} plus the messages accepted and
 * refused (`leadpipe.email.accepted`, `leadpipe.email.refused`). A refused
 * message is a result, not a failed call: the span's status stays unset
 * unless the send rejects.
 */
export function traceEmailSend<T extends EmailSendResult | readonly EmailSendResult[]>(
  providerId: string,
  messages: number,
  send: () => Promise<T>,
): Promise<T> {
  return traceCall(
    {
      kind: 'email',
      vendor: providerId,
      operation: messages === 1 ? 'send' : 'send_batch',
      attributes: { [TelemetryAttributes.batchSize]: messages },
    },
    async (span) => {
      const sent = await send();
      const results: readonly EmailSendResult[] = Array.isArray(sent) ? sent : [sent as EmailSendResult];
      const accepted = results.filter((result) => result?.status === 'accepted').length;
      span.setAttributes({
        'leadpipe.email.accepted': accepted,
        'leadpipe.email.refused': results.length - accepted,
      });
      if (!Array.isArray(sent))
        span.setAttribute(TelemetryAttributes.outcome, accepted === 1 ? 'ok' : 'refused');
      return sent;
    },
  );
}

/**
 * Start a span for a run (an enrichment of a lead, a CRM sync session, a
 * pipeline run) that the caller ends. Its children name it as `parent` in
 * {@link traceCall}, or run inside {@link withSpan}.
 */
export function startRunSpan(name: string, attributes?: Attributes): Span {
  return leadpipeTracer().startSpan(name, {
    kind: SpanKind.INTERNAL,
    ...(attributes === undefined ? {} : { attributes }),
  });
}

/** The active context with `span` in it: the `parent` of calls made on behalf of `span`'s run. */
export function contextWithSpan(span: Span): Context {
  return trace.setSpan(context.active(), span);
}

/** Run `run` with `span` as the active span, so spans started inside nest under it. */
export function withSpan<T>(span: Span, run: () => T): T {
  return context.with(contextWithSpan(span), run);
}

/** The active context, to hand to {@link TracedCall.parent} across a queue that loses it. */
export function activeContext(): Context {
  return context.active();
}

/** The empty context: the parent of calls shared by many runs (a batch). */
export { ROOT_CONTEXT } from '@opentelemetry/api';
