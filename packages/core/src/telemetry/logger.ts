import { z } from 'zod';
import { redactSecrets, redactValue } from '../contracts/secrets.js';

/** One log method, pino's shape: a context object first, then the message. */
export type LogMethod = (context: object, message?: string) => void;

/**
 * The logger leadpipe writes to: any pino-compatible logger (pino itself, a
 * pino child, or `{ debug, info, warn, error }` of your own) works. leadpipe
 * logs ids, counts and error codes, never a key, a token or a lead's data.
 */
export interface LeadpipeLogger {
  /** Per-call detail: batches sent, providers asked, 429 waits. */
  readonly debug: LogMethod;
  /** Run milestones: a run started or finished, a breaker closed. */
  readonly info: LogMethod;
  /** Something went wrong for some leads: a provider failed or was disabled, records dead-lettered. */
  readonly warn: LogMethod;
  /** Something went wrong for the run: a CRM is down, a run failed. */
  readonly error: LogMethod;
}

/** Where an error reported to {@link ErrorReporter} happened. */
export interface ErrorReportContext {
  /** The part of leadpipe: `enrich`, `crm`, `pipeline`. */
  readonly component: string;
  /** The leadpipe error code, such as `server_error` or `unauthorized`. */
  readonly code: string;
  /** The provider involved, if any. */
  readonly providerId?: string;
  /** The CRM involved, if any. */
  readonly adapterId?: string;
  /** The lead involved, if any (its id, never its data). */
  readonly leadId?: string;
}

/**
 * A Sentry-style error hook: told about every failure that ends a call or a
 * run for good (after limiter and retries gave up), with the error (a
 * `LeadpipeError`, secrets already redacted) and where it happened. It only
 * observes: what it throws or returns is ignored.
 */
export type ErrorReporter = (error: Error, context: ErrorReportContext) => void;

/** The options every orchestration entry point takes for logs and error reports. */
export interface ObservabilityOptions {
  /** A pino-compatible logger. Default: silent. */
  readonly logger?: LeadpipeLogger;
  /** Told about failures, for Sentry and the like. Default: nobody. */
  readonly onError?: ErrorReporter;
}

/** Log levels of {@link LeadpipeLogger}. */
export type LogLevel = keyof LeadpipeLogger;

/** What leadpipe's code logs and reports through; see {@link createObserver}. */
export interface Observer {
  /** Whether a logger was given (to skip building log lines nobody reads). */
  readonly logging: boolean;
  /** Write one log line; the context is scrubbed of registered secrets first. Never throws. */
  log(level: LogLevel, context: object, message: string): void;
  /** Tell the error hook; never throws. */
  report(error: Error, context: ErrorReportContext): void;
}

/** An observer that logs and reports nothing. */
export const SILENT_OBSERVER: Observer = {
  logging: false,
  log: () => {},
  report: () => {},
};

/**
 * Wrap a logger and an error hook into an {@link Observer}: every context is
 * scrubbed of secrets, every message too, and a logger or hook that throws
 * never breaks a run.
 */
export function createObserver(options: ObservabilityOptions | undefined): Observer {
  const logger = options?.logger;
  const onError = options?.onError;
  if (logger === undefined && onError === undefined) return SILENT_OBSERVER;
  return {
    logging: logger !== undefined,
    log(level, logContext, message) {
      if (logger === undefined) return;
      try {
        logger[level](redactValue({ ...logContext, component: 'leadpipe' }), redactSecrets(message));
      } catch {
        // A logger observes: one that throws never breaks a run.
      }
    },
    report(error, reportContext) {
      if (onError === undefined) return;
      try {
        onError(error, reportContext);
      } catch {
        // The hook observes: one that throws never breaks a run.
      }
    },
  };
}

function isLogger(value: unknown): value is LeadpipeLogger {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Record<string, unknown>;
  return ['debug', 'info', 'warn', 'error'].every((level) => typeof record[level] === 'function');
}

/**
 * The zod shape of the `logger` and `onError` options, to spread into an
 * options schema: a wrong value is a `ConfigurationError` naming the field.
 */
export const observabilityOptionsShape = {
  /** The `logger` option: a pino-compatible logger, or absent. */
  logger: z
    .custom<LeadpipeLogger>(
      isLogger,
      'must be a pino-compatible logger with debug, info, warn and error methods',
    )
    .optional(),
  /** The `onError` option: a function, or absent. */
  onError: z
    .custom<ErrorReporter>(
      (value) => typeof value === 'function',
      'must be a function (error, context) => void',
    )
    .optional(),
};
