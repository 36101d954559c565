/**
 * The cost of a store span: `get` of one lead on PGlite, N times, with no
 * OpenTelemetry SDK (the API's no-op) and with an SDK recording every span
 * in memory. Prints one JSON line per case.
 */
import { createLead } from '@leadpipe/core';
import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { openPostgresStore } from '../src/index.js';

class CollectingReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const N = Number(process.env.N ?? 5000);
const { PGlite } = await import('@electric-sql/pglite');
const pglite = await PGlite.create();
const store = await openPostgresStore({ pglite, schema: 'bench' });
const [outcome] = await store.leads.upsert([createLead({ email: 'ada@bench.example' })]);
const id = outcome?.id as string;

async function run(label: string): Promise<void> {
  for (let i = 0; i < 200; i += 1) await store.leads.get(id); // warm-up
  const started = performance.now();
  for (let i = 0; i < N; i += 1) await store.leads.get(id);
  const ms = performance.now() - started;
  console.log(
    JSON.stringify({
      bench: 'store-trace-overhead',
      case: label,
      engine: 'pglite',
      calls: N,
      usPerCall: Math.round((ms * 1000) / N),
    }),
  );
}

await run('no-sdk');
// Again, to tell warm-up from the SDK's cost.
await run('no-sdk-again');
const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(
  new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
);
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [new CollectingReader()] }));
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
await run('sdk-in-memory');
console.log(
  JSON.stringify({ bench: 'store-trace-overhead', spansRecorded: exporter.getFinishedSpans().length }),
);
await store.close();
await pglite.close();
