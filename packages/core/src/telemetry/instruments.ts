import {
  type Attributes,
  type Counter,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { version } from '../../package.json';

/** The instrumentation scope every leadpipe span and metric is reported under. */
export const TELEMETRY_SCOPE = 'leadpipe';

/** The version reported with {@link TELEMETRY_SCOPE}: the version of `@leadpipe/core`. */
export const TELEMETRY_VERSION: string = version;

/**
 * Attribute names leadpipe puts on spans and metrics. Standard OpenTelemetry
 * names where one fits (`http.*`, `server.*`, `error.type`), `leadpipe.*`
 * otherwise. Values are ids, counts and codes: never a key, a token, a lead's
 * data or an error message.
 */
export const TelemetryAttributes = {
  /** Enrichment provider id, such as `clearbit`. */
  provider: 'leadpipe.provider',
  /** CRM adapter id, such as `hubspot`. */
  crm: 'leadpipe.crm',
  /** CRM object, such as `contacts`. */
  crmObject: 'leadpipe.crm.object',
  /** Email provider id, such as `sendgrid`. */
  emailProvider: 'leadpipe.email_provider',
  /** Lead store kind on store spans, such as `postgres` or `pglite`. */
  store: 'leadpipe.store',
  /** The vendor id on HTTP spans and on `leadpipe.rate_limited` (the HTTP client does not know the kind). */
  vendor: 'leadpipe.vendor',
  /** What kind of call: `provider`, `crm`, `email`, `store` or `queue`. */
  call: 'leadpipe.call',
  /** The operation, such as `enrich`, `enrich_batch`, `upsert`, `get`, `send`, `send_batch`. */
  operation: 'leadpipe.operation',
  /** Records, leads or messages in one call. */
  batchSize: 'leadpipe.batch.size',
  /** Credits a provider call cost. */
  credits: 'leadpipe.credits',
  /** The outcome of a call or run: `ok`, `not_found`, `refused`, or the error code. */
  outcome: 'leadpipe.outcome',
  /** HTTP method (semantic conventions). */
  httpMethod: 'http.request.method',
  /** HTTP status of the response (semantic conventions). */
  httpStatus: 'http.response.status_code',
  /** Host the request went to (semantic conventions). */
  serverAddress: 'server.address',
  /** Port the request went to (semantic conventions). */
  serverPort: 'server.port',
  /** The leadpipe error code of a failure, such as `rate_limited` (semantic conventions' `error.type`). */
  errorType: 'error.type',
  /** Queue name, on `leadpipe.queue.depth` and on queue job spans. */
  queue: 'leadpipe.queue',
} as const;

/** The metrics leadpipe records; see {@link leadpipeInstruments}. */
export interface LeadpipeInstruments {
  /** `leadpipe.calls`: calls to providers, CRMs, email providers, stores and queues, by `leadpipe.call`, vendor, operation and `error.type`. */
  readonly calls: Counter;
  /** `leadpipe.call.duration` (ms): how long each of those calls took. */
  readonly callDuration: Histogram;
  /** `leadpipe.rate_limited`: 429 responses the kit's HTTP client received, by `leadpipe.vendor`. */
  readonly rateLimited: Counter;
  /** `leadpipe.credits`: credits providers charged, by `leadpipe.provider`. */
  readonly credits: Counter;
  /** `leadpipe.http.client.duration` (ms): each HTTP request the kit's client made. */
  readonly httpDuration: Histogram;
}

let current: { readonly provider: MeterProvider; readonly instruments: LeadpipeInstruments } | undefined;

function createInstruments(meter: Meter): LeadpipeInstruments {
  return {
    calls: meter.createCounter('leadpipe.calls', {
      description: 'Calls to enrichment providers, CRMs and email providers',
      unit: '{call}',
    }),
    callDuration: meter.createHistogram('leadpipe.call.duration', {
      description: 'Duration of calls to enrichment providers, CRMs and email providers',
      unit: 'ms',
    }),
    rateLimited: meter.createCounter('leadpipe.rate_limited', {
      description: 'HTTP 429 responses received from vendors',
      unit: '{response}',
    }),
    credits: meter.createCounter('leadpipe.credits', {
      description: 'Credits charged by enrichment providers',
      unit: '{credit}',
    }),
    httpDuration: meter.createHistogram('leadpipe.http.client.duration', {
      description: 'Duration of HTTP requests to vendors',
      unit: 'ms',
    }),
  };
}

/** The `leadpipe` tracer of the tracer provider the host registered (a no-op one when none). */
export function leadpipeTracer(): Tracer {
  return trace.getTracer(TELEMETRY_SCOPE, TELEMETRY_VERSION);
}

/** The `leadpipe` meter of the meter provider the host registered (a no-op one when none). */
export function leadpipeMeter(): Meter {
  return metrics.getMeterProvider().getMeter(TELEMETRY_SCOPE, TELEMETRY_VERSION);
}

/**
 * leadpipe's metric instruments, on the meter provider registered now. The
 * OpenTelemetry API has no proxy for meters, so they are made again when the
 * host registers (or replaces) its provider after leadpipe was loaded.
 */
export function leadpipeInstruments(): LeadpipeInstruments {
  const provider = metrics.getMeterProvider();
  if (current?.provider !== provider) current = { provider, instruments: createInstruments(leadpipeMeter()) };
  return current.instruments;
}

/** Add `credits` to `leadpipe.credits` for `providerId` (nothing for 0 or less). */
export function recordCredits(providerId: string, credits: number): void {
  if (!(credits > 0)) return;
  leadpipeInstruments().credits.add(credits, { [TelemetryAttributes.provider]: providerId });
}

/** A queue depth source: the queue's name and how to read its depth now. */
export interface QueueDepthSource {
  /** Queue name, reported as `leadpipe.queue`. Never put a URL or credentials in it. */
  readonly queue: string;
  /** The number of jobs waiting now. May be async; a rejection or a non-number skips this reading. */
  readonly read: () => number | Promise<number>;
  /** Extra attributes (low cardinality: ids, not lead data). */
  readonly attributes?: Attributes;
}

/** What {@link observeQueueDepth} returns. */
export interface QueueDepthObservation {
  /** Stop reporting this queue. */
  stop(): void;
}

/**
 * Report a queue's depth as the `leadpipe.queue.depth` gauge, read each
 * time the host's metric reader collects. For queue adapters (BullMQ,
 * RabbitMQ, a PostgreSQL outbox). Call it after the host registered its
 * meter provider.
 */
export function observeQueueDepth(source: QueueDepthSource): QueueDepthObservation {
  const gauge = leadpipeMeter().createObservableGauge('leadpipe.queue.depth', {
    description: 'Jobs waiting in a queue',
    unit: '{job}',
  });
  const attributes = { ...source.attributes, [TelemetryAttributes.queue]: source.queue };
  const callback = async (result: { observe(value: number, attributes?: Attributes): void }) => {
    try {
      const depth = await source.read();
      if (typeof depth === 'number' && Number.isFinite(depth)) result.observe(depth, attributes);
    } catch {
      // A queue that cannot be read now is left out of this collection.
    }
  };
  gauge.addCallback(callback);
  return { stop: () => gauge.removeCallback(callback) };
}
