/**
 * The OpenTelemetry cases of the overhead bench: client.request and client.fetch (every policy on)
 * instrumented with bulwark/otel on the real SDK as a service would set it up — an
 * AsyncLocalStorage context manager, the W3C propagator, a batch span processor and a periodic
 * metric reader — with exporters that drop what they are given, so the bench measures recording,
 * not a collector.
 */
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type ExportResult, ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
  type PushMetricExporter,
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
];

/**
 * What a case turns on: traces and metrics, every span recorded (`all`); metrics alone
 * (`metrics`); or traces sampled at 10 % of new traces (parent-based, as services commonly run)
 * and metrics (`sampled`).
 */
export type OtelSetup = 'all' | 'metrics' | 'sampled';

/** Counts what it is given and drops it. */
class DroppingExporter implements SpanExporter, PushMetricExporter {
  exported = 0;
  export(items: ReadableSpan[] | unknown, done: (result: ExportResult) => void): void {
    this.exported += Array.isArray(items) ? items.length : 1;
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
      context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
      propagation.setGlobalPropagator(new W3CTraceContextPropagator());
      const tracerProvider = new TracerProvider({
        spanProcessors: [new BatchSpanProcessor({ exporter: new DroppingExporter() })],
        ...(setup === 'sampled'
          ? { sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }) }
          : {}),
      });
      const meterProvider = new MeterProvider({
        readers: [
          new PeriodicExportingMetricReader({
            exporter: new DroppingExporter(),
            exportIntervalMillis: 1_000,
          }),
        ],
      });
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
          await tracerProvider.shutdown();
          await meterProvider.shutdown();
        },
      };
    },
  };
}
