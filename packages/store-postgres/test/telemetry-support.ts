import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, type MetricData, MetricReader } from '@opentelemetry/sdk-metrics';
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

/** What {@link installTelemetry} gives a test. */
export interface CapturedTelemetry {
  /** Spans ended so far. */
  spans(): ReadableSpan[];
  /** Every metric collected now. */
  metrics(): Promise<MetricData[]>;
  /** Every span's name, attributes, status, events and links, and every metric, as one JSON text. */
  everything(): Promise<string>;
}

/** Register an OpenTelemetry SDK as a host would (in-memory spans, on-demand metrics, AsyncLocalStorage context). */
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
    async everything() {
      const spans = exporter.getFinishedSpans().map((span) => ({
        name: span.name,
        attributes: span.attributes,
        status: span.status,
        events: span.events,
        links: span.links,
      }));
      return JSON.stringify({ spans, metrics: await collect() });
    },
  };
}

/** Unregister what {@link installTelemetry} registered. */
export function uninstallTelemetry(): void {
  trace.disable();
  metrics.disable();
  context.disable();
}
