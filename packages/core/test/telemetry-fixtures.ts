import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, type MetricData, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import type { LeadpipeLogger } from '../src/index.js';

/** A metric reader that collects on demand: the in-memory reader of these tests. */
class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** One log line a {@link memoryLogger} received. */
export interface LogLine {
  readonly level: keyof LeadpipeLogger;
  readonly context: Record<string, unknown>;
  readonly message: string | undefined;
}

/** A pino-shaped logger that keeps its lines. */
export function memoryLogger(): LeadpipeLogger & { readonly lines: LogLine[] } {
  const lines: LogLine[] = [];
  const method = (level: keyof LeadpipeLogger) => (context: object, message?: string) => {
    lines.push({ level, context: context as Record<string, unknown>, message });
  };
  return {
    lines,
    debug: method('debug'),
    info: method('info'),
    warn: method('warn'),
    error: method('error'),
  };
}

/** What {@link installTelemetry} gives a test. */
export interface CapturedTelemetry {
  /** Spans ended so far. */
  spans(): ReadableSpan[];
  /** Every metric collected now. */
  metrics(): Promise<MetricData[]>;
  /** Spans, metric data points (with their attributes) and anything else given, as one JSON text. */
  everything(...more: unknown[]): Promise<string>;
}

/**
 * Register an OpenTelemetry SDK as a host would: a tracer provider with an
 * in-memory exporter behind a SimpleSpanProcessor (SDK 2.x takes the
 * processors in the constructor), a meter provider with a collecting reader,
 * and the AsyncLocalStorage context manager. A fresh pair each call, so
 * each test reads only its own data.
 */
export function installTelemetry(): CapturedTelemetry {
  const exporter = new InMemorySpanExporter();
  trace.disable();
  trace.setGlobalTracerProvider(
    new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
  );
  const reader = new CollectingReader();
  metrics.disable();
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  context.disable();
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const collect = async () => (await reader.collect()).resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
  return {
    spans: () => exporter.getFinishedSpans(),
    metrics: collect,
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
  };
}

/** The data points of metric `name`, as `{ attributes, value }`. */
export async function points(
  telemetry: CapturedTelemetry,
  name: string,
): Promise<{ attributes: Record<string, unknown>; value: unknown }[]> {
  const metric = (await telemetry.metrics()).find((candidate) => candidate.descriptor.name === name);
  return (metric?.dataPoints ?? []).map((point) => ({
    attributes: point.attributes as Record<string, unknown>,
    value: point.value,
  }));
}
