/**
 * The OpenTelemetry cases of the overhead bench: client.request and client.fetch (every policy on)
 * instrumented with bulwark/otel on the real SDK as a service would set it up — an
 * AsyncLocalStorage context manager, the W3C propagator, a batch span processor and a periodic
 * metric reader — with exporters that drop what they are given, so the bench measures recording,
 * not a collector. And the field's reference point on the same SDK setup: OpenTelemetry's own
 * undici instrumentation (`@opentelemetry/instrumentation-undici`) on raw undici `fetch` and
 * `Pool.request`, each the twin of the uninstrumented undici case of cases.ts.
 *
 * Every case checks at close that its exporters were given something (spans, unless traces are
 * off, and metric data points): a case that records nothing would measure nothing. With
 * `BENCH_OTEL_DEBUG=1` each prints what it exported when it closes.
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type ExportResult, ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { createClient } from '../../src/client/client.ts';
import { instrument } from '../../src/otel/index.ts';
import type { Case } from './case.ts';

/** The ids of the OpenTelemetry cases (not in the bench's default set: `--cases` names them). */
export const OTEL_CASES: readonly string[] = [
  'bulwark-request-otel',
  'bulwark-fetch-otel',
  'bulwark-request-otel-metrics',
  'bulwark-request-otel-sampled',
  'undici-fetch-otel',
  'undici-request-otel',
];

/**
 * What a case turns on: traces and metrics, every span recorded (`all`); metrics alone
 * (`metrics`); or traces sampled at 10 % of new traces (parent-based, as services commonly run)
 * and metrics (`sampled`).
 */
export type OtelSetup = 'all' | 'metrics' | 'sampled';

/** Counts what it is given (spans, or metric data points) and drops it. */
class DroppingExporter implements SpanExporter, PushMetricExporter {
  exported = 0;
  export(items: ReadableSpan[] | ResourceMetrics, done: (result: ExportResult) => void): void {
    if (Array.isArray(items)) this.exported += items.length;
    else
      for (const scope of items.scopeMetrics)
        for (const metric of scope.metrics) this.exported += metric.dataPoints.length;
    done({ code: ExportResultCode.SUCCESS });
  }
  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The SDK as a service sets it up (the global context manager and propagator, a tracer provider
 * with a batch span processor, a meter provider with a reader every second), exporting to
 * {@link DroppingExporter}s. `shutdown()` flushes both providers, then throws if the case recorded
 * nothing it should have.
 */
function startSdk(id: string, setup: OtelSetup) {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const spans = new DroppingExporter();
  const points = new DroppingExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter: spans })],
    ...(setup === 'sampled'
      ? { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }) }
      : {}),
  });
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: points,
        exportIntervalMillis: 1_000,
      }),
    ],
  });
  return {
    tracerProvider,
    meterProvider,
    async shutdown(): Promise<void> {
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      if (process.env.BENCH_OTEL_DEBUG === '1')
        console.error(`${id}: ${spans.exported} spans and ${points.exported} metric data points exported`);
      if ((setup !== 'metrics' && spans.exported === 0) || points.exported === 0)
        throw new Error(
          `${id} recorded nothing: ${spans.exported} spans, ${points.exported} metric data points exported`,
        );
    },
  };
}

/** A Bulwark client through one front-end, instrumented with traces and metrics. */
export function otelClientCase(
  id: string,
  label: string,
  via: 'request' | 'fetch',
  setup: OtelSetup = 'all',
): Case {
  return {
    id,
    label,
    async setup(url, connections) {
      const { tracerProvider, meterProvider, shutdown } = startSdk(id, setup);
      const client = createClient({ connections });
      const stop = instrument(client, {
        tracerProvider: setup === 'metrics' ? false : tracerProvider,
        meterProvider,
      });
      return {
        one:
          via === 'request'
            ? async () => {
                const res = await client.request(url);
                await res.body.text();
              }
            : async () => {
                const res = await client.fetch(url);
                await res.text();
              },
        close: async () => {
          stop();
          await client.close();
          await shutdown();
        },
      };
    },
  };
}

/**
 * Raw undici with OpenTelemetry's official undici instrumentation (traces and metrics), registered
 * as its README shows, on the same SDK setup as the bulwark/otel cases, around `twin`: the
 * uninstrumented undici case of cases.ts (`undici-fetch`, `undici-request`) it is judged against.
 * The instrumentation subscribes to undici's diagnostics channels (`undici:request:create`,
 * `undici:client:sendHeaders`, `undici:request:headers`, `undici:request:trailers`,
 * `undici:request:error`), which undici's core request publishes whatever API made it: one client
 * span per request, ended when the body has been read, its `traceparent` injected into the
 * request's headers, and one `http.client.request.duration` record. It hooks every undici request
 * in the process, so these cases need a worker process of their own (overhead.ts refuses them with
 * `--shared`).
 */
export function undiciOtelCase(id: string, label: string, twin: Case): Case {
  return {
    id,
    label,
    async setup(url, connections) {
      const { tracerProvider, meterProvider, shutdown } = startSdk(id, 'all');
      const unregister = registerInstrumentations({
        instrumentations: [new UndiciInstrumentation()],
        tracerProvider,
        meterProvider,
      });
      const { one, close } = await twin.setup(url, connections);
      return {
        one,
        close: async () => {
          await close();
          unregister();
          await shutdown();
        },
      };
    },
  };
}

/** What OpenTelemetry costs a case (`id`) against the same case without it (`without`). */
export interface OtelPair {
  readonly what: string;
  readonly id: string;
  readonly without: string;
  /** The official undici instrumentation on raw undici (the reference), not bulwark/otel. */
  readonly official: boolean;
}

/** The OpenTelemetry cases with traces and metrics on, each beside its uninstrumented twin. */
export const OTEL_PAIRS: readonly OtelPair[] = [
  {
    what: 'undici fetch with the official undici instrumentation',
    id: 'undici-fetch-otel',
    without: 'undici-fetch',
    official: true,
  },
  {
    what: 'undici Pool.request with the official undici instrumentation',
    id: 'undici-request-otel',
    without: 'undici-request',
    official: true,
  },
  {
    what: 'client.request with bulwark/otel',
    id: 'bulwark-request-otel',
    without: 'bulwark-request',
    official: false,
  },
  {
    what: 'client.fetch with bulwark/otel',
    id: 'bulwark-fetch-otel',
    without: 'bulwark-fetch',
    official: false,
  },
];
