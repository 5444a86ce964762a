/**
 * A storm scenario: the fleet (N clients, each an open-loop Poisson source of λ requests per
 * second, or a closed loop keeping k calls in flight), the upstream (capacity C requests per second = workers ÷ service time, a bounded queue,
 * a round-trip time) and a scripted fault timeline. The simulator and the real-socket storm read
 * the same scenario, and `upstreamModel` is the one description of how the upstream behaves.
 */

/** One scripted fault, active on [from, to) in milliseconds from the start. */
export interface Fault {
  /**
   * - `outage`: every request is answered 503 at once (no worker is used) — a dead backend behind a
   *   load balancer;
   * - `errors`: each request independently answered 503 at once with probability `rate`;
   * - `slow`: service time × `factor`;
   * - `blackhole`: requests are never answered (clients time out);
   * - `slowtail`: each request independently takes `factor` × the service time with probability
   *   `rate` — slow replicas behind a load balancer, the tail that hedged requests cut.
   */
  readonly kind: 'outage' | 'errors' | 'slow' | 'blackhole' | 'slowtail';
  readonly from: number;
  readonly to: number;
  readonly rate?: number;
  readonly factor?: number;
}

/** Everything a storm run needs to know, besides the strategy. */
export interface Scenario {
  /** Simulated clients (each its own origin, so its own breaker, budget and bulkhead). */
  readonly clients: number;
  /** Requests per second per client (Poisson); in a closed loop, what it offers with no fault. */
  readonly rate: number;
  /**
   * Calls each client keeps in flight from t = 0, each started as soon as one ends (a closed
   * loop from a cold start) instead of Poisson arrivals; 0 or absent for the open loop.
   */
  readonly inFlight?: number;
  /** Milliseconds during which requests arrive; in-flight calls are then drained. */
  readonly duration: number;
  /** Requests per second the upstream serves at most. */
  readonly capacity: number;
  /** Milliseconds one request occupies a worker. */
  readonly serviceTime: number;
  /** Requests that may wait for a worker; past that the upstream sheds with 503 at once. */
  readonly queue: number;
  /** Network round trip in milliseconds (added to every answer). */
  readonly rtt: number;
  readonly faults: readonly Fault[];
  /**
   * The window the metrics call "during the fault" (amplification, success in fault, the heal),
   * where it is not the faults' own span: an outage after a spell of errors is measured alone.
   */
  readonly window?: { readonly from: number; readonly to: number };
  /** Width of a time-series bucket in milliseconds. */
  readonly bucket: number;
  readonly seed: number;
}

/** Workers of the upstream: capacity × service time. */
export function workersOf(s: Scenario): number {
  return Math.max(1, Math.round((s.capacity * s.serviceTime) / 1000));
}

/** The fault in force at `t`, if any (the first listed wins). */
export function faultAt(s: Scenario, t: number): Fault | undefined {
  for (const f of s.faults) if (t >= f.from && t < f.to) return f;
  return undefined;
}

/** The window the metrics call "during the fault": `window`, or from the first fault's start to the last one's end. */
export function faultWindow(s: Scenario): { from: number; to: number } | undefined {
  if (s.window !== undefined) return s.window;
  if (s.faults.length === 0) return undefined;
  return { from: Math.min(...s.faults.map((f) => f.from)), to: Math.max(...s.faults.map((f) => f.to)) };
}

/** What the upstream does with one request arriving at `t`, given a uniform draw `u`. */
export type Verdict =
  | { readonly kind: 'reject' } // 503 after the round trip, no worker used
  | { readonly kind: 'drop' } // never answered
  | { readonly kind: 'serve'; readonly serviceTime: number }; // queue for a worker

/** The upstream model shared by the simulator and the real upstream process. */
export function upstreamModel(s: Scenario, t: number, u: () => number): Verdict {
  const f = faultAt(s, t);
  if (f === undefined) return { kind: 'serve', serviceTime: s.serviceTime };
  switch (f.kind) {
    case 'outage':
      return REJECT;
    case 'blackhole':
      return DROP;
    case 'errors':
      return u() < (f.rate ?? 0) ? REJECT : { kind: 'serve', serviceTime: s.serviceTime };
    case 'slow':
      return { kind: 'serve', serviceTime: s.serviceTime * (f.factor ?? 1) };
    case 'slowtail':
      return {
        kind: 'serve',
        serviceTime: u() < (f.rate ?? 0) ? s.serviceTime * (f.factor ?? 1) : s.serviceTime,
      };
  }
}

const REJECT: Verdict = Object.freeze({ kind: 'reject' });
const DROP: Verdict = Object.freeze({ kind: 'drop' });

/**
 * Parses `--fault` specs: `outage@10-40`, `errors:0.05@0-60`, `slow:4@20-30`, `blackhole@10-20`,
 * `slowtail:0.01x50@0-60` (seconds).
 */
export function parseFaults(specs: readonly string[]): Fault[] {
  return specs.map((spec) => {
    const tail = /^slowtail:([0-9.]+)x([0-9.]+)@([0-9.]+)-([0-9.]+)$/.exec(spec);
    if (tail !== null) return parseSlowTail(spec, tail);
    const m = /^(outage|errors|slow|blackhole)(?::([0-9.]+))?@([0-9.]+)-([0-9.]+)$/.exec(spec);
    if (m === null)
      throw new Error(
        `bad fault '${spec}': expected kind[:value]@fromS-toS, e.g. outage@10-40 or errors:0.05@0-60`,
      );
    const kind = m[1] as Fault['kind'];
    const value = m[2] === undefined ? undefined : Number(m[2]);
    const from = Number(m[3]) * 1000;
    const to = Number(m[4]) * 1000;
    if (!(to > from)) throw new Error(`bad fault '${spec}': the end must be after the start`);
    if (kind === 'errors' && (value === undefined || value < 0 || value > 1))
      throw new Error(`bad fault '${spec}': errors needs a rate in [0, 1], e.g. errors:0.05@0-60`);
    if (kind === 'slow' && (value === undefined || value < 1))
      throw new Error(`bad fault '${spec}': slow needs a factor ≥ 1, e.g. slow:4@20-30`);
    return {
      kind,
      from,
      to,
      ...(kind === 'errors' ? { rate: value! } : {}),
      ...(kind === 'slow' ? { factor: value! } : {}),
    };
  });
}

/** `slowtail:<rate>x<factor>@<from>-<to>`, matched. */
function parseSlowTail(spec: string, m: RegExpExecArray): Fault {
  const rate = Number(m[1]);
  const factor = Number(m[2]);
  const from = Number(m[3]) * 1000;
  const to = Number(m[4]) * 1000;
  if (!(to > from)) throw new Error(`bad fault '${spec}': the end must be after the start`);
  if (!(rate >= 0 && rate <= 1) || !(factor >= 1))
    throw new Error(
      `bad fault '${spec}': slowtail needs a rate in [0, 1] and a factor ≥ 1, e.g. slowtail:0.01x50@0-60`,
    );
  return { kind: 'slowtail', from, to, rate, factor };
}

/** Formats faults back into their spec form. */
export function faultSpec(f: Fault): string {
  const v =
    f.kind === 'errors'
      ? `:${f.rate}`
      : f.kind === 'slow'
        ? `:${f.factor}`
        : f.kind === 'slowtail'
          ? `:${f.rate}x${f.factor}`
          : '';
  return `${f.kind}${v}@${f.from / 1000}-${f.to / 1000}`;
}
