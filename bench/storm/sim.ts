/**
 * The fleet simulator: `BulwarkClient`s on one `VirtualClock` whose dispatcher is the simulated
 * upstream. Each simulated client is its own origin (`http://c123.sim/`), and Bulwark keeps the
 * breaker, the retry budget and the bulkhead per origin, so N origins are N independent clients
 * running Bulwark's real pipeline (`shard` of them share a client object, whose per-origin state
 * keeps them independent). Arrivals are open-loop: the fleet's Poisson stream (rate N·λ)
 * thinned uniformly over the clients, which is the same as N independent Poisson streams of rate λ;
 * or, with `inFlight`, a closed loop: every client starts that many calls at t = 0 and a new one
 * whenever one ends. Deterministic for a seed.
 */

import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Dispatcher } from 'undici';
import { createClient } from '../../src/client/client.ts';
import { withInternals } from '../../src/client/internals.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { BREAKER_DEFAULTS } from '../../src/policy/breaker.ts';
import { createFleet, type Fleet } from '../../src/policy/fleet.ts';
import { MemoryFleetStore } from './fleet-store.ts';
import { StormRecorder, type StormSummary } from './recorder.ts';
import { faultWindow, type Scenario } from './scenario.ts';
import { BREAKER_CLOSED, BREAKER_HALF_OPEN, BREAKER_OPEN, clientIndex, SimUpstream } from './sim-upstream.ts';
import { fleetOptions, type Strategy } from './strategies.ts';

/** Options of one simulation run. */
export interface SimOptions {
  /**
   * Timers due within this many milliseconds of the next one fire before promise callbacks run
   * (the simulator's time resolution; 0 = exact, slower).
   * @default 1
   */
  readonly tick?: number;
  /**
   * Origins per `BulwarkClient` object (1: one client object per simulated client).
   * @default 1
   */
  readonly shard?: number;
  /** Milliseconds between fleet syncs (strategies with a fleet). @default 100 */
  readonly fleetPeriod?: number;
  /** Round trip to the fleet's store, ms. @default 2 */
  readonly fleetDelay?: number;
  /** Simulated time spans (ms) during which the fleet's store is down. */
  readonly storeDown?: readonly { readonly from: number; readonly to: number }[];
  /** Called now and then with the simulated time reached (ms). */
  readonly onProgress?: (simulatedMs: number) => void;
}

/** The result of one strategy in one scenario. */
export interface SimResult {
  readonly strategy: string;
  readonly summary: StormSummary;
  /** Upstream load ÷ capacity per bucket: [seconds, load]. */
  readonly load: [number, number][];
  /** Goodput (share of the calls started in the bucket that succeeded) per bucket: [seconds, ratio]. */
  readonly goodput: [number, number][];
  readonly shed: number;
  readonly maxQueued: number;
  /** Retries the budget refused (every client's `budgetExhausted`). */
  readonly refused: number;
  /** Call latency by percentile ({@link StormRecorder.latencyCurve}). */
  readonly latency: [number, number][];
  /** Hedges sent and won (every client's `hedges`). */
  readonly hedges: { readonly sent: number; readonly won: number };
  /** Simulated milliseconds until the last call settled. */
  readonly simulated: number;
  /** Wall-clock milliseconds the run took. */
  readonly wall: number;
  /**
   * With a fleet: the syncs that failed (the store down), and the longest time from the store's
   * return to a process using the fleet's counts again (`null`: it never went down, or never
   * came back within the run).
   */
  readonly fleet?: { readonly failedSyncs: number; readonly restoredAfter: number | null };
}

const STATES: Record<string, number> = {
  closed: BREAKER_CLOSED,
  open: BREAKER_OPEN,
  'half-open': BREAKER_HALF_OPEN,
};

/** Runs `strategy` through `scenario` on a virtual clock. */
export async function simulate(
  scenario: Scenario,
  strategy: Strategy,
  options: SimOptions = {},
): Promise<SimResult> {
  const started = performance.now();
  const tick = options.tick ?? 1;
  const s = scenario;
  // Three independent seeded streams: the policies' jitter (the clock), arrivals and the upstream's
  // draws, so every strategy sees the same arrivals and the same upstream failures.
  const clock = new VirtualClock({ seed: s.seed });
  const arrivalsRng = new VirtualClock({ seed: s.seed * 7919 + 1 });
  const upstreamRng = new VirtualClock({ seed: s.seed * 104729 + 2 });
  const rec = new StormRecorder(s.bucket);
  const breakers = new Int8Array(s.clients);
  let opened = 0;
  const onBreaker = (message: unknown): void => {
    const { origin, state } = message as { origin: string; state: string };
    const i = clientIndex(origin);
    if (state === 'open' && breakers[i] === BREAKER_CLOSED) opened++;
    breakers[i] = STATES[state] ?? BREAKER_CLOSED;
  };
  const upstream = new SimUpstream(clock, s, rec, () => upstreamRng.random(), breakers);
  const budget = strategy.budget?.();
  // Every simulated client is its own origin, and by default also its own client object: the
  // policies are per origin either way, but a client object's close signal gets one listener per
  // retry sleeping in it, and Node's EventTarget walks its listener list on every add and remove,
  // so thousands of sleepers in one client cost O(n) each (bench/README.md, "Simulator cost").
  const shard = options.shard ?? 1;
  const down = options.storeDown ?? [];
  const store =
    strategy.fleet !== undefined
      ? new MemoryFleetStore(clock, options.fleetDelay ?? 2, (t) => down.some((d) => t >= d.from && t < d.to))
      : undefined;
  const fleets: Fleet[] = [];
  let restoredAfter: number | null = null;
  const clients = Array.from({ length: Math.ceil(s.clients / shard) }, () =>
    withInternals({ ...(budget && { budget: budget.factory }) }, () => {
      const dispatcher = upstream as unknown as Dispatcher;
      if (store === undefined) return createClient({ ...strategy.options, clock, dns: false, dispatcher });
      // Each client object is a process of the fleet; every origin is the one upstream.
      const fleet = createFleet({ store, clock, period: options.fleetPeriod ?? 100, key: () => 'upstream' });
      fleets.push(fleet);
      fleet.on('fallback', () => {});
      fleet.on('restored', () => {
        const up = down.findLast((d) => d.to <= clock.now());
        if (up !== undefined) restoredAfter = Math.max(restoredAfter ?? 0, clock.now() - up.to);
      });
      return createClient({
        ...fleetOptions(strategy, fleet),
        clock,
        dns: false,
        dispatcher,
      });
    }),
  );
  const urls = Array.from({ length: s.clients }, (_, i) => `http://c${i}.sim/`);
  const window = faultWindow(s);
  const fleetRate = (s.clients * s.rate) / 1000; // calls per ms
  let inFlight = 0;

  // In a closed loop a call that ends starts the client's next one, until the arrivals stop. One
  // that ended without time passing (shed by the client itself: an open breaker, a full bulkhead)
  // is followed one ordinary round trip later: a loop at one instant would never let time move.
  const closed = (s.inFlight ?? 0) > 0;
  const roundTrip = s.serviceTime + s.rtt;
  const ended = (i: number, t0: number): void => {
    inFlight--;
    if (!closed || clock.now() >= s.duration) return;
    if (clock.now() > t0) call(i);
    else clock.setTimeout(() => call(i), roundTrip);
  };
  const call = (i: number): void => {
    const t0 = clock.now();
    const inFault = window !== undefined && t0 >= window.from && t0 < window.to;
    rec.start(t0);
    inFlight++;
    clients[Math.floor(i / shard)]!.request(urls[i]!).then(
      (res) => {
        rec.end(t0, clock.now(), res.statusCode < 300, inFault);
        ended(i, t0);
      },
      () => {
        rec.end(t0, clock.now(), false, inFault);
        ended(i, t0);
      },
    );
  };
  const arrive = (): void => {
    call(Math.floor(arrivalsRng.random() * s.clients));
    scheduleArrival();
  };
  const scheduleArrival = (): void => {
    const gap = -Math.log(1 - arrivalsRng.random()) / fleetRate;
    if (clock.now() + gap < s.duration) clock.setTimeout(arrive, gap);
  };

  subscribe('bulwark:breaker:state', onBreaker);
  try {
    if (closed) {
      for (let i = 0; i < s.clients; i++) for (let k = 0; k < s.inFlight!; k++) call(i);
    } else scheduleArrival();
    let reported = 0;
    for (;;) {
      const at = clock.nextAt();
      if (at === undefined) break;
      while (clock.runNext(at + tick)) {}
      await drain();
      if (options.onProgress !== undefined && clock.now() - reported >= 500) {
        reported = clock.now();
        options.onProgress(reported);
      }
      if (inFlight === 0 && clock.now() >= s.duration) break;
    }
  } finally {
    unsubscribe('bulwark:breaker:state', onBreaker);
    budget?.uninstall();
  }
  const simulated = clock.now();
  let refused = 0;
  const hedges = { sent: 0, won: 0 };
  for (const c of clients) {
    for (const o of Object.values(c.stats())) {
      refused += o.budgetExhausted;
      hedges.sent += o.hedges.sent;
      hedges.won += o.hedges.won;
    }
  }
  await Promise.all(clients.map((c) => c.close()));
  const failedSyncs = fleets.reduce((n, f) => n + f.stats().failures, 0);
  for (const f of fleets) f.close();
  rec.clientsOpened = opened;
  const summary = rec.summary(s);
  const resetTimeout =
    (typeof strategy.options.breaker === 'object' ? strategy.options.breaker.resetTimeout : undefined) ??
    BREAKER_DEFAULTS.resetTimeout;
  const faultMs = window === undefined ? 0 : window.to - window.from;
  const horizon = Math.max(s.duration, Math.min(simulated, s.duration + 10_000));
  return {
    strategy: strategy.id,
    summary:
      strategy.options.breaker === false
        ? summary
        : {
            ...summary,
            breaker: {
              clientsOpened: opened,
              probes: rec.probes,
              attemptsWhileOpen: rec.attemptsWhileOpen,
              probesPerOpenedClientPerReset:
                opened === 0 || faultMs === 0 ? 0 : rec.probes / opened / (faultMs / resetTimeout),
            },
          },
    load: rec.loadSeries(s, horizon),
    goodput: goodputSeries(rec, s, horizon),
    shed: upstream.shed,
    maxQueued: upstream.maxQueued,
    refused,
    latency: rec.latencyCurve(),
    hedges,
    simulated,
    wall: performance.now() - started,
    ...(store !== undefined && { fleet: { failedSyncs, restoredAfter } }),
  };
}

function goodputSeries(rec: StormRecorder, s: Scenario, until: number): [number, number][] {
  const n = Math.ceil(Math.min(until, s.duration) / rec.bucket);
  return Array.from({ length: n }, (_, i) => {
    const offered = rec.starts.at(i);
    return [(i * rec.bucket) / 1000, offered === 0 ? 1 : rec.ok.at(i) / offered];
  });
}

/** Lets every promise callback run (a macrotask turn drains the microtask queue). */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
