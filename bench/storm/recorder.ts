/**
 * What a storm measures, the same way for the simulator and the real-socket storm: time series in
 * fixed buckets (client calls started, succeeded, failed; upstream attempts and 200s), latency
 * histograms, and the summary metrics — amplification during the fault, peak upstream load ÷
 * capacity, success rate, p50/p99 latency and the time to recover 95 % goodput after the heal.
 */
import { Histogram } from '../lib/stats.ts';
import { faultWindow, type Scenario } from './scenario.ts';

/** A growable array of per-bucket counts. */
class Counts {
  data = new Float64Array(1024);
  length = 0;

  add(i: number, n = 1): void {
    if (i < 0) i = 0;
    if (i >= this.data.length) {
      const grown = new Float64Array(Math.max(i + 1, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data[i]! += n;
    if (i >= this.length) this.length = i + 1;
  }

  at(i: number): number {
    return i < this.length ? this.data[i]! : 0;
  }

  sum(from: number, to: number): number {
    let s = 0;
    for (let i = Math.max(0, from); i < Math.min(to, this.length); i++) s += this.data[i]!;
    return s;
  }

  toArray(len: number): number[] {
    return Array.from({ length: len }, (_, i) => this.at(i));
  }
}

/** The summary of one strategy's run. */
export interface StormSummary {
  /** Client calls started. */
  readonly calls: number;
  /** Upstream attempts (every request that reached the upstream). */
  readonly attempts: number;
  /** Upstream attempts ÷ client calls, counted over the fault window. */
  readonly amplification: number;
  /** Upstream attempts ÷ client calls over the whole run. */
  readonly amplificationTotal: number;
  /** Highest upstream attempts per second over a 1 s window, ÷ capacity. */
  readonly peakLoad: number;
  /** Calls that ended with a 2xx ÷ calls that ended. */
  readonly success: number;
  /** The same, over calls started during the fault window. */
  readonly successDuringFault: number;
  readonly p50: number;
  readonly p99: number;
  /** Over all calls, as p50 and p99 (the slow tail hedging cuts). */
  readonly p999: number;
  /** Milliseconds from the heal until goodput (successes ÷ offered calls) stays ≥ 95 %; `null` if it never did. */
  readonly recovery: number | null;
  /** Breaker bookkeeping, when tracked (simulator): probes and attempts that went out while open. */
  readonly breaker?: {
    readonly clientsOpened: number;
    readonly probes: number;
    readonly attemptsWhileOpen: number;
    readonly probesPerOpenedClientPerReset: number;
  };
}

/** The recorder of one run. Times are milliseconds from the run's start. */
export class StormRecorder {
  readonly bucket: number;
  readonly starts = new Counts();
  readonly ok = new Counts();
  readonly failed = new Counts();
  readonly attemptsAt = new Counts();
  readonly served = new Counts();
  readonly latency = new Histogram();
  calls = 0;
  ended = 0;
  succeeded = 0;
  attempts = 0;
  faultCalls = 0;
  faultOk = 0;
  faultEnded = 0;
  probes = 0;
  attemptsWhileOpen = 0;
  clientsOpened = 0;

  constructor(bucket: number) {
    this.bucket = bucket;
  }

  /** A client call started at `t`. */
  start(t: number): void {
    this.calls++;
    this.starts.add(Math.floor(t / this.bucket));
  }

  /** A client call started at `t0` ended at `t1`; `ok` for a 2xx. `inFault` if it started in the fault window. */
  end(t0: number, t1: number, ok: boolean, inFault: boolean): void {
    this.ended++;
    this.latency.add(t1 - t0);
    // Attributed to the bucket the call started in: goodput is the share of offered calls served.
    const b = Math.floor(t0 / this.bucket);
    if (ok) {
      this.succeeded++;
      this.ok.add(b);
    } else this.failed.add(b);
    if (inFault) {
      this.faultEnded++;
      if (ok) this.faultOk++;
    }
  }

  /** An attempt reached the upstream at `t`. */
  attempt(t: number, n = 1): void {
    this.attempts += n;
    this.attemptsAt.add(Math.floor(t / this.bucket), n);
  }

  /** The upstream answered 200 at `t`. */
  serve(t: number, n = 1): void {
    this.served.add(Math.floor(t / this.bucket), n);
  }

  /** Upstream load per bucket ÷ capacity, as [seconds, load] points. */
  loadSeries(s: Scenario, until: number): [number, number][] {
    const n = Math.ceil(until / this.bucket);
    const perSecond = 1000 / this.bucket;
    return Array.from({ length: n }, (_, i) => [
      (i * this.bucket) / 1000,
      (this.attemptsAt.at(i) * perSecond) / s.capacity,
    ]);
  }

  /**
   * Call latency by percentile, as [−log10(1 − q), ms] points from p50 to p99.99 (x = 1 is p90, 2
   * is p99, 3 is p99.9): the latency chart of a slow-tail scenario.
   */
  latencyCurve(): [number, number][] {
    const out: [number, number][] = [];
    for (let x = Math.log10(2); x <= 4.0001; x += 0.05) {
      out.push([Math.round(x * 1000) / 1000, this.latency.quantile(1 - 10 ** -x)]);
    }
    return out;
  }

  /** The summary metrics. */
  summary(s: Scenario): StormSummary {
    const k = this.bucket;
    const w = faultWindow(s);
    let amplification = this.attempts / Math.max(1, this.calls);
    if (w !== undefined) {
      const from = Math.floor(w.from / k);
      const to = Math.floor(w.to / k);
      amplification = this.attemptsAt.sum(from, to) / Math.max(1, this.starts.sum(from, to));
    }
    // Peak over 1 s windows.
    const win = Math.max(1, Math.round(1000 / k));
    let peak = 0;
    let run = 0;
    for (let i = 0; i < this.attemptsAt.length; i++) {
      run += this.attemptsAt.at(i) - (i >= win ? this.attemptsAt.at(i - win) : 0);
      if (run > peak) peak = run;
    }
    const peakLoad = (peak * (1000 / (win * k))) / s.capacity;
    return {
      calls: this.calls,
      attempts: this.attempts,
      amplification,
      amplificationTotal: this.attempts / Math.max(1, this.calls),
      peakLoad,
      success: this.succeeded / Math.max(1, this.ended),
      successDuringFault: w === undefined ? Number.NaN : this.faultOk / Math.max(1, this.faultEnded),
      p50: this.latency.quantile(0.5),
      p99: this.latency.quantile(0.99),
      p999: this.latency.quantile(0.999),
      recovery: this.recovery(s),
    };
  }

  /**
   * Time from the heal (the end of the last fault that ends before the run does) until goodput —
   * the share of calls started in a window (holding ~200 offered calls, 0.1–2 s) that succeeded —
   * is ≥ 95 % and stays so for 2 s (or until the end of the arrivals).
   */
  recovery(s: Scenario): number | null {
    const w = faultWindow(s);
    if (w === undefined || w.to >= s.duration) return null;
    const k = this.bucket;
    const offeredPerBucket = (s.clients * s.rate * k) / 1000;
    const win = Math.min(Math.max(1, Math.ceil(200 / offeredPerBucket)), Math.max(1, Math.round(2000 / k)));
    const heal = Math.floor(w.to / k);
    const last = Math.floor(s.duration / k) - win; // last window fully inside the arrivals
    const stay = Math.round(2000 / k);
    const good = (b: number): boolean => {
      const offered = this.starts.sum(b, b + win);
      return offered === 0 || this.ok.sum(b, b + win) / offered >= 0.95;
    };
    for (let b = heal; b <= last; b++) {
      let held = true;
      for (let c = b; c <= Math.min(last, b + stay); c++) {
        if (!good(c)) {
          held = false;
          b = c; // no window before c can hold either
          break;
        }
      }
      if (held) return Math.max(0, b * k - w.to);
    }
    return null;
  }
}
