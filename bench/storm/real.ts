/**
 * The real-socket storm: `--clients` real `createClient()` instances (each its own agent, sockets,
 * breaker and budget) against the capacity-limited upstream of real-upstream.ts, running in its
 * own process on loopback. The arrivals are the simulator's (the same seeded stream, so both see
 * the same calls at the same offsets); the upstream counts attempts per bucket, the fleet counts
 * calls, outcomes and latencies, and both feed the simulator's recorder, so the metrics are
 * computed the same way. Breaker probe accounting is simulator-only.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { type BulwarkClient, createClient } from '../../src/client/client.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { StormRecorder, type StormSummary } from './recorder.ts';
import { faultWindow, type Scenario } from './scenario.ts';
import type { Strategy } from './strategies.ts';

/** The result of one strategy in the real storm. */
export interface RealResult {
  readonly strategy: string;
  readonly summary: StormSummary;
  readonly load: [number, number][];
  readonly shed: number;
  readonly maxQueued: number;
  /** Arrivals that fired later than scheduled by more than 5 ms (the fleet process was busy). */
  readonly late: number;
  /** The fleet's worst lateness, ms. */
  readonly maxLateness: number;
  readonly wall: number;
}

/** What the upstream process reports at the end. */
export interface UpstreamReport {
  attempts: number[];
  served: number[];
  total: number;
  shed: number;
  maxQueued: number;
}

/** The arrival schedule of a scenario: the same seeded stream and order of draws as sim.ts. */
export function arrivals(s: Scenario): { times: Float64Array; clients: Uint32Array } {
  const rng = new VirtualClock({ seed: s.seed * 7919 + 1 });
  const rate = (s.clients * s.rate) / 1000;
  const times: number[] = [];
  const clients: number[] = [];
  let t = 0;
  for (;;) {
    t += -Math.log(1 - rng.random()) / rate;
    if (t >= s.duration) break;
    times.push(t);
    clients.push(Math.floor(rng.random() * s.clients));
  }
  return { times: Float64Array.from(times), clients: Uint32Array.from(clients) };
}

/** Starts the storm upstream in its own process. */
export function startUpstream(s: Scenario): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(new URL('./real-upstream.ts', import.meta.url), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the storm upstream exited with code ${code}`)));
    child.send({ scenario: s });
  });
}

/** Runs `strategy` through `scenario` with real clients and sockets. */
export async function runReal(
  scenario: Scenario,
  strategy: Strategy,
  options: { onProgress?: (elapsedMs: number) => void } = {},
): Promise<RealResult> {
  const s = scenario;
  const started = performance.now();
  const { times, clients: who } = arrivals(s);
  const { child, port } = await startUpstream(s);
  const url = `http://127.0.0.1:${port}/`;
  const clients: BulwarkClient[] = Array.from({ length: s.clients }, () => createClient(strategy.options));
  const rec = new StormRecorder(s.bucket);
  const window = faultWindow(s);
  let inFlight = 0;
  let late = 0;
  let maxLateness = 0;
  const t0 = performance.timeOrigin + performance.now();
  const zero = performance.now();
  const now = (): number => performance.now() - zero;
  child.send({ start: t0 });

  const call = (i: number): void => {
    const start = now();
    const inFault = window !== undefined && start >= window.from && start < window.to;
    rec.start(start);
    inFlight++;
    clients[i]!.request(url).then(
      async (res) => {
        await res.body.dump();
        inFlight--;
        rec.end(start, now(), res.statusCode < 300, inFault);
      },
      () => {
        inFlight--;
        rec.end(start, now(), false, inFault);
      },
    );
  };

  let next = 0;
  let reported = 0;
  while (next < times.length) {
    const t = now();
    while (next < times.length && times[next]! <= t) {
      const lateness = t - times[next]!;
      if (lateness > 5) late++;
      if (lateness > maxLateness) maxLateness = lateness;
      call(who[next]!);
      next++;
    }
    if (options.onProgress !== undefined && t - reported >= 250) {
      reported = t;
      options.onProgress(t);
    }
    const wait = next < times.length ? times[next]! - now() : 0;
    await sleep(Math.max(0, Math.min(wait, 5)) >= 1 ? Math.floor(Math.min(wait, 5)) : 0);
  }
  // Drain: every call settles within its total deadline.
  const drainUntil = now() + 60_000;
  while (inFlight > 0 && now() < drainUntil) {
    await sleep(20);
    options.onProgress?.(now());
  }
  const report = await new Promise<UpstreamReport>((resolve) => {
    child.once('message', (m) => resolve(m as UpstreamReport));
    child.send({ stop: true });
  });
  await Promise.all(clients.map((c) => c.close()));
  return realResult(strategy.id, s, rec, report, { late, maxLateness, lastEnd: now(), started });
}

/**
 * The upstream's counts fed into the recorder and the result of a real run, from the calls the
 * recorder already has (real.ts in one process, real-workers.ts from its workers' reports).
 */
export function realResult(
  strategy: string,
  s: Scenario,
  rec: StormRecorder,
  report: UpstreamReport,
  run: { late: number; maxLateness: number; lastEnd: number; started: number },
): RealResult {
  report.attempts.forEach((n, b) => {
    if (n > 0) rec.attempt(b * s.bucket, n);
  });
  report.served.forEach((n, b) => {
    if (n > 0) rec.serve(b * s.bucket, n);
  });
  const horizon = Math.max(s.duration, Math.min(run.lastEnd, s.duration + 10_000));
  return {
    strategy,
    summary: rec.summary(s),
    load: rec.loadSeries(s, horizon),
    shed: report.shed,
    maxQueued: report.maxQueued,
    late: run.late,
    maxLateness: run.maxLateness,
    wall: performance.now() - run.started,
  };
}
