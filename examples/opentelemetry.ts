// bulwark/otel: a client's calls as OpenTelemetry spans and metrics, with the trace context sent
// to the server. The SDK here exports to memory so the example can print what it recorded; in a
// service you would register your usual exporters (OTLP) and call instrument(client) once.
import { createServer } from 'node:http';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { createClient } from 'bulwark';
import { instrument } from 'bulwark/otel';

// The usual global setup: context manager, W3C propagator, tracer and meter providers.
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const spans = new InMemorySpanExporter();
const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spans })] });
trace.setGlobalTracerProvider(tracerProvider);
const reader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
  exportIntervalMillis: 60_000,
});
const meterProvider = new MeterProvider({ readers: [reader] });

// An upstream that fails once with a 503, then answers; it prints the traceparent it receives.
let calls = 0;
const server = createServer((req, res) => {
  console.log(`server: attempt ${++calls}, traceparent ${req.headers.traceparent}`);
  res.statusCode = calls === 1 ? 503 : 200;
  res.end('ok');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };

const client = createClient({ retry: { backoff: { base: 10 } } });
const stop = instrument(client, { meterProvider }); // tracer and propagator: the global ones
try {
  // The call's span is a child of whatever span is active where it is made.
  const parent = trace.getTracer('example').startSpan('handle GET /checkout');
  await context.with(trace.setSpan(context.active(), parent), async () => {
    const res = await client.fetch(`http://127.0.0.1:${port}/v1/stock?sku=42`);
    console.log('client: status', res.status, await res.text());
  });
  parent.end();
  await client.fetch(`http://127.0.0.1:1/`).catch((err: Error & { code?: string }) => {
    console.log('client: failed with', err.code); // TCP_REFUSED (after retries)
  });

  await tracerProvider.forceFlush();
  for (const span of spans.getFinishedSpans().filter((s) => s.kind === 2 /* CLIENT */)) {
    const events = span.events.map((e) => JSON.stringify(e.attributes)).join(', ');
    console.log(
      `span ${span.name} ${span.attributes['url.full']} status=${span.attributes['http.response.status_code'] ?? '-'}`,
      `error.type=${span.attributes['error.type'] ?? '-'} events: ${events}`,
    );
  }
  const { resourceMetrics } = await reader.collect();
  for (const m of resourceMetrics.scopeMetrics.flatMap((s) => s.metrics)) {
    for (const p of m.dataPoints) {
      const value = typeof p.value === 'number' ? p.value : `count ${(p.value as { count: number }).count}`;
      console.log(`metric ${m.descriptor.name} ${JSON.stringify(p.attributes)} ${value}`);
    }
  }
} finally {
  stop();
  await client.close();
  await tracerProvider.shutdown();
  await meterProvider.shutdown();
  server.close();
}
