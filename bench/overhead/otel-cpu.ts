/**
 * Micro bench: what bulwark/otel adds to a call's CPU, with no I/O. The calls go to the fake
 * dispatcher of policy-cpu.ts through clients with OpenTelemetry off, metrics only, traces only,
 * and both (the real SDK as bench/overhead/otel.ts sets it up, every span recorded). Each case runs
 * in a fresh process of its own per round (one case's spans would otherwise add to another's GC),
 * the rounds interleaved; it prints the median and the minimum ns per call (on a busy machine the
 * minimum is the steadier estimate of the work itself) and what each adds to "off".
 *
 *   node bench/overhead/otel-cpu.ts [--rounds 6] [--calls 100000] [--via request|fetch]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { type BulwarkClient, createClient } from '../../src/client/client.ts';
import { instrument } from '../../src/otel/index.ts';
import { type Command, main } from '../lib/args.ts';
import { memoryDispatcher } from '../lib/memory-dispatcher.ts';
import { fmt, table, writeResults } from '../lib/report.ts';
import { spread } from '../lib/stats.ts';

const CASES = ['off', 'metrics', 'traces', 'both', 'unsampled'] as const;
type CaseId = (typeof CASES)[number];

const knobs = {
  rounds: {
    type: 'integer',
    default: 6,
    min: 1,
    max: 100,
    help: 'interleaved rounds, a process per case each',
  },
  calls: { type: 'integer', default: 100_000, min: 1000, help: 'timed calls per case per round' },
  via: { type: 'string', default: 'request', help: 'front-end: request or fetch' },
  quiet: { type: 'boolean', default: false, help: 'no progress line' },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/overhead/otel-cpu.ts',
  summary: 'bulwark/otel CPU per call, no I/O: OpenTelemetry off, metrics only, traces only, both.',
  knobs,
};

/** Drops what it is given (spans and metrics alike). */
const sink = {
  export: (_items: unknown, done: (result: { code: number }) => void) =>
    done({ code: ExportResultCode.SUCCESS }),
  selectAggregationTemporality: () => AggregationTemporality.CUMULATIVE,
  forceFlush: () => Promise.resolve(),
  shutdown: () => Promise.resolve(),
};

/** One case in this process: ns per call over `calls` calls, after a warm-up. */
async function runCase(id: CaseId, calls: number, via: string): Promise<number> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const tracerProvider = new TracerProvider({
    spanProcessors: [new BatchSpanProcessor({ exporter: sink as never })],
    ...(id === 'unsampled' ? { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) } : {}),
  });
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: sink as never, exportIntervalMillis: 1_000 })],
  });
  const client: BulwarkClient = createClient({ dns: false, dispatcher: memoryDispatcher() });
  if (id !== 'off') {
    instrument(client, {
      tracerProvider: id === 'metrics' ? false : tracerProvider,
      meterProvider: id === 'traces' || id === 'unsampled' ? false : meterProvider,
    });
  }
  const url = 'http://bench.local/items/1';
  let total = 0;
  const times = async (n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      // Let the event loop turn (the fake answers synchronously; see policy-cpu.ts).
      if ((i & 1023) === 1023) await new Promise((resolve) => setImmediate(resolve));
      total += via === 'fetch' ? (await client.fetch(url)).status : (await client.request(url)).statusCode;
    }
  };
  await times(20_000);
  const t0 = process.hrtime.bigint();
  await times(calls);
  const ns = Number(process.hrtime.bigint() - t0) / calls;
  if (total === 0) throw new Error('no call answered');
  return ns;
}

const child = process.env.BULWARK_OTEL_CPU_CASE as CaseId | undefined;
if (child !== undefined) {
  const ns = await runCase(
    child,
    Number(process.env.BULWARK_OTEL_CPU_CALLS),
    process.env.BULWARK_OTEL_CPU_VIA ?? '',
  );
  process.stdout.write(`${ns}\n`);
  process.exit(0);
} else {
  await main(cmd, async (v) => {
    if (v.via !== 'request' && v.via !== 'fetch') throw new Error('--via must be request or fetch');
    const self = fileURLToPath(import.meta.url);
    const samples = new Map<CaseId, number[]>(CASES.map((c) => [c, []]));
    for (let r = 0; r < v.rounds; r++) {
      for (let k = 0; k < CASES.length; k++) {
        const id = CASES[(k + r) % CASES.length]!;
        if (!v.quiet) process.stderr.write(`\rotel CPU: round ${r + 1}/${v.rounds}, ${id}      `);
        const out = execFileSync(process.execPath, [self], {
          env: {
            ...process.env,
            BULWARK_OTEL_CPU_CASE: id,
            BULWARK_OTEL_CPU_CALLS: String(v.calls),
            BULWARK_OTEL_CPU_VIA: v.via,
          },
        });
        samples.get(id)!.push(Number(out.toString().trim()));
      }
    }
    if (!v.quiet) process.stderr.write('\n');
    const s = new Map(CASES.map((c) => [c, spread(samples.get(c)!)]));
    const off = s.get('off')!;
    console.log(
      `bulwark/otel CPU per call (client.${v.via}, no I/O), ${v.rounds} rounds × ${v.calls} calls, a process per case per round, node ${process.version}`,
    );
    console.log(
      table(
        [
          { header: 'OpenTelemetry', align: 'left' },
          { header: 'median ns/call' },
          { header: 'min' },
          { header: 'added (median)' },
          { header: 'added (min)' },
        ],
        CASES.map((c) => {
          const x = s.get(c)!;
          return [
            c,
            fmt(x.median, 0),
            fmt(x.min, 0),
            c === 'off' ? '' : fmt(x.median - off.median, 0),
            c === 'off' ? '' : fmt(x.min - off.min, 0),
          ];
        }),
      ),
    );
    const json = writeResults(`otel-cpu-${v.via}`, {
      rounds: v.rounds,
      calls: v.calls,
      via: v.via,
      unit: 'ns/call',
      cases: CASES.map((c) => ({ id: c, ...s.get(c) })),
    });
    console.log(`wrote ${json}`);
  });
}
