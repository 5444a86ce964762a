/**
 * The real-socket storm with the fleet in several processes: `workers` child processes
 * (real-worker.ts) share the clients (client i in worker i mod workers), each with its own
 * sockets, and with a fleet strategy its own Redis connection and `Fleet` on the real Redis, as a
 * fleet of service processes would. The parent runs the upstream, puts a fault proxy in front of
 * Redis (so `storeDown` can kill it mid-storm: every connection reset, new ones refused, for the
 * span), and feeds every call into the simulator's recorder, as real.ts does.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { startFaultProxy } from '../../test/helpers/fault-proxy.ts';
import { arrivals, type RealResult, realResult, startUpstream, type UpstreamReport } from './real.ts';
import type { WorkerReport, WorkerTask } from './real-worker.ts';
import { StormRecorder } from './recorder.ts';
import { faultWindow, type Scenario } from './scenario.ts';
import type { Strategy } from './strategies.ts';

/** Latency of the calls that started in a span, ms. */
export interface SpanLatency {
  readonly calls: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** A worker run's result: the storm's, and what the store's outage did. */
export interface WorkersResult extends RealResult {
  /** Fleet strategies: syncs, failed syncs, and the first restore after each store-down span (ms after it ended). */
  readonly fleet: {
    readonly syncs: number;
    readonly failures: number;
    readonly restoredAfter: (number | null)[];
  } | null;
  /** Latency of the calls started while the store was down, and of those in the same spans' length just before. */
  readonly storeDown: { readonly during: SpanLatency; readonly before: SpanLatency } | null;
}

export interface WorkersOptions {
  readonly workers: number;
  readonly redis: string;
  /** Spans (ms from the start) during which Redis is unreachable. */
  readonly storeDown?: readonly { readonly from: number; readonly to: number }[];
  readonly onProgress?: (elapsedMs: number) => void;
}

/** Runs `strategy` through `scenario` with real clients in `workers` processes. */
export async function runRealWorkers(
  scenario: Scenario,
  strategy: Strategy,
  options: WorkersOptions,
): Promise<WorkersResult> {
  const s = scenario;
  const started = performance.now();
  const { times, clients: who } = arrivals(s);
  const { child: upstream, port } = await startUpstream(s);
  const redisUrl = new URL(options.redis);
  const proxy =
    strategy.fleet !== undefined
      ? await startFaultProxy({ host: redisUrl.hostname || '127.0.0.1', port: Number(redisUrl.port || 6379) })
      : undefined;
  const viaProxy = new URL(options.redis);
  if (proxy !== undefined) {
    viaProxy.hostname = proxy.host;
    viaProxy.port = String(proxy.port);
  }
  const n = options.workers;
  const shares = Array.from({ length: n }, () => ({ times: [] as number[], clients: [] as number[] }));
  for (let k = 0; k < times.length; k++) {
    const share = shares[who[k]! % n]!;
    share.times.push(times[k]!);
    share.clients.push(who[k]!);
  }
  const children: ChildProcess[] = shares.map(() =>
    fork(new URL('./real-worker.ts', import.meta.url), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const epochNow = (): number => performance.timeOrigin + performance.now();
  // Time for every worker to load and connect before the first arrival.
  const start = epochNow() + 3_000;
  const prefix = `bulwark:bench:${process.pid}:${Date.now()}:`;
  const reports = children.map(
    (child, w) =>
      new Promise<WorkerReport>((resolve, reject) => {
        child.once('message', (m) => resolve(m as WorkerReport));
        child.once('exit', (code) => reject(new Error(`storm worker ${w} exited with code ${code}`)));
        const task: WorkerTask = {
          scenario: s,
          strategy: strategy.id,
          url: `http://127.0.0.1:${port}/`,
          times: shares[w]!.times,
          clients: shares[w]!.clients,
          start,
          redis: viaProxy.href,
          prefix,
        };
        child.send(task);
      }),
  );
  upstream.send({ start });
  const timers: NodeJS.Timeout[] = [];
  for (const span of options.storeDown ?? []) {
    if (proxy === undefined) break;
    timers.push(setTimeout(() => void proxy.setFault({ kind: 'reset' }), start + span.from - epochNow()));
    timers.push(setTimeout(() => void proxy.setFault({ kind: 'pass' }), start + span.to - epochNow()));
  }
  const progress = setInterval(() => options.onProgress?.(epochNow() - start), 250);
  let results: WorkerReport[];
  try {
    results = await Promise.all(reports);
  } finally {
    clearInterval(progress);
    for (const t of timers) clearTimeout(t);
  }
  const report = await new Promise<UpstreamReport>((resolve) => {
    upstream.once('message', (m) => resolve(m as UpstreamReport));
    upstream.send({ stop: true });
  });
  await proxy?.close();

  const rec = new StormRecorder(s.bucket);
  const window = faultWindow(s);
  let late = 0;
  let maxLateness = 0;
  const spans = options.storeDown ?? [];
  const during: number[] = [];
  const before: number[] = [];
  let lastEnd = 0;
  for (const r of results) {
    late += r.late;
    maxLateness = Math.max(maxLateness, r.maxLateness);
    r.starts.forEach((t0, i) => {
      const t1 = Number.isNaN(r.ends[i]!) ? t0 + 60_000 : r.ends[i]!;
      lastEnd = Math.max(lastEnd, t1);
      rec.start(t0);
      rec.end(t0, t1, r.ok[i]!, window !== undefined && t0 >= window.from && t0 < window.to);
      for (const span of spans) {
        if (t0 >= span.from && t0 < span.to) during.push(t1 - t0);
        else if (t0 >= 2 * span.from - span.to && t0 < span.from) before.push(t1 - t0);
      }
    });
  }
  const fleets = results.map((r) => r.fleet).filter((f) => f !== null);
  return {
    ...realResult(strategy.id, s, rec, report, { late, maxLateness, lastEnd, started }),
    fleet:
      fleets.length === 0
        ? null
        : {
            syncs: fleets.reduce((k, f) => k + f.syncs, 0),
            failures: fleets.reduce((k, f) => k + f.failures, 0),
            restoredAfter: spans.map((span) => {
              // The slowest process's first restore after the span ended.
              let worst: number | null = 0;
              for (const f of fleets) {
                const first = f.restoredAt.find((t) => t >= span.to);
                if (first === undefined) worst = null;
                else if (worst !== null) worst = Math.max(worst, first - span.to);
              }
              return worst;
            }),
          },
    storeDown: spans.length === 0 ? null : { during: latency(during), before: latency(before) },
  };
}

function latency(samples: number[]): SpanLatency {
  if (samples.length === 0) return { calls: 0, p50: 0, p99: 0, max: 0 };
  const sorted = Float64Array.from(samples).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { calls: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
}
