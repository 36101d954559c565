import { context, metrics, propagation, type TextMapPropagator, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AggregationTemporality,
  MeterProvider,
  type MetricData,
  MetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

/** A metric reader that collects when asked. */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Options of {@link captureTelemetry}. */
export interface CaptureTelemetryOptions {
  /**
   * `cumulative` (default): a collection holds everything observed since the start. `delta`: only what was observed
   * since the last collection, so a gauge no longer observed (a closed queue's depth) is absent.
   */
  readonly metricTemporality?: 'cumulative' | 'delta';
  /** Register the AsyncLocalStorage context manager, so spans started inside another become its children. Default true. */
  readonly contextManager?: boolean;
  /** A propagator to register too (e.g. `W3CTraceContextPropagator` from `@opentelemetry/core`). */
  readonly propagator?: TextMapPropagator;
}

/** One data point of a collected metric. */
export interface MetricPoint {
  /** The point's attributes (the metric's labels). */
  attributes: Record<string, unknown>;
  /** The point's value: a number for counters and gauges, `{ count, sum, buckets, ... }` for histograms. */
  value: unknown;
}

/** What {@link captureTelemetry} registered, and what it read. */
export interface CapturedTelemetry {
  /** Spans ended so far. */
  spans(): ReadableSpan[];
  /** Every metric collected now. */
  metrics(): Promise<MetricData[]>;
  /** The data points of metric `name` collected now, as `{ attributes, value }`. */
  points(name: string): Promise<MetricPoint[]>;
  /**
   * Every span's name, attributes, status, events and links, every metric, and anything else given (log lines,
   * errors), as one JSON text: what a "no secret anywhere" check searches.
   */
  everything(...more: unknown[]): Promise<string>;
  /** Unregister the tracer and meter providers, the context manager and the propagator. */
  uninstall(): void;
}

/**
 * Register an OpenTelemetry SDK as a host would: a tracer provider with an in-memory exporter behind a
 * `SimpleSpanProcessor`, a meter provider with a reader that collects on demand, and the AsyncLocalStorage context
 * manager (unless `contextManager: false`). Whatever was registered before is replaced, so each call reads only its own data. leadpipe reports
 * through `@opentelemetry/api` 1.9; the SDK here is 2.12 (the line that works on Node 20).
 *
 * @example
 * ```ts
 * import { trace } from '@opentelemetry/api';
 * import { captureTelemetry } from '@leadpipe/testkit';
 *
 * const telemetry = captureTelemetry();
 * trace.getTracer('demo').startSpan('work').end();
 * console.log(telemetry.spans().map((span) => span.name)); // ['work']
 * telemetry.uninstall();
 * ```
 */
export function captureTelemetry(options: CaptureTelemetryOptions = {}): CapturedTelemetry {
  const exporter = new InMemorySpanExporter();
  trace.disable();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  const reader = new CollectingReader(
    options.metricTemporality === 'delta'
      ? { aggregationTemporalitySelector: () => AggregationTemporality.DELTA }
      : {},
  );
  metrics.disable();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  context.disable();
  if (options.contextManager !== false) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  }
  if (options.propagator !== undefined) {
    propagation.disable();
    propagation.setGlobalPropagator(options.propagator);
  }
  const collect = async () =>
    (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((scope) => scope.metrics);
  return {
    spans: () => exporter.getFinishedSpans(),
    metrics: collect,
    async points(name) {
      const metric = (await collect()).find((candidate) => candidate.descriptor.name === name);
      return (metric?.dataPoints ?? []).map((point) => ({
        attributes: point.attributes as Record<string, unknown>,
        value: point.value,
      }));
    },
    async everything(...more) {
      const spans = exporter.getFinishedSpans().map((span) => ({
        name: span.name,
        attributes: span.attributes,
        status: span.status,
        events: span.events,
        links: span.links,
      }));
      return JSON.stringify({ spans, metrics: await collect(), more });
    },
    uninstall() {
      trace.disable();
      metrics.disable();
      context.disable();
      if (options.propagator !== undefined) propagation.disable();
    },
  };
}
