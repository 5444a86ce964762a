/**
 * The scenario knobs shared by the simulated and the real-socket storm, and the scenario they
 * describe. A full outage of `--outage` seconds starting at `--outage-at` is the default fault;
 * `--fault` replaces it with any timeline.
 */
import { type Knobs, type KnobValues, UsageError } from '../lib/args.ts';
import { parseFaults, type Scenario } from './scenario.ts';
import { STRATEGY_IDS } from './strategies.ts';

/** The simulated storm's defaults (bench/storm/storm.ts): 1 000 clients × 2 req/s for 60 s, a 30 s outage. */
export const STORM_DEFAULTS = Object.freeze({ clients: 1000, rate: 2, duration: 60, outage: 30 });

/** Knobs of a storm. `defaults` adjusts the defaults per bench (the real storm has fewer clients). */
export function stormKnobs(defaults: { clients: number; rate: number; duration: number; outage: number }) {
  return {
    clients: {
      type: 'integer',
      default: defaults.clients,
      min: 1,
      max: 1_000_000,
      help: 'simulated clients (each its own breaker and budget)',
    },
    rate: {
      type: 'number',
      default: defaults.rate,
      min: 0.001,
      max: 10_000,
      help: 'requests per second per client (Poisson)',
    },
    'in-flight': {
      type: 'integer',
      default: 0,
      min: 0,
      max: 100_000,
      help: 'closed loop from a cold start: calls each client keeps in flight (each starts when one ends) instead of --rate; 0 = open loop',
    },
    duration: { type: 'number', default: defaults.duration, min: 1, max: 3600, help: 'seconds of arrivals' },
    outage: {
      type: 'number',
      default: defaults.outage,
      min: 0,
      max: 3600,
      help: 'seconds of full outage (503 at once); 0 for none',
    },
    'outage-at': { type: 'number', default: 10, min: 0, max: 3600, help: 'second the outage starts' },
    fault: {
      type: 'list',
      default: [],
      help: 'fault timeline instead of --outage: outage@10-40, errors:0.05@0-60, slow:4@20-30, blackhole@10-20, slowtail:0.01x50@0-60 (seconds)',
    },
    capacity: {
      type: 'number',
      default: 0,
      min: 0,
      help: 'upstream requests per second; 0 = 1.5 × the offered load (in a closed loop: calls in flight ÷ (service time + rtt))',
    },
    'service-time': {
      type: 'number',
      default: 20,
      min: 0.1,
      max: 60_000,
      help: 'ms one request occupies an upstream worker',
    },
    queue: {
      type: 'integer',
      default: -1,
      min: -1,
      help: 'requests waiting at the upstream before it sheds; -1 = a quarter second of capacity',
    },
    rtt: { type: 'number', default: 2, min: 0, max: 10_000, help: 'network round trip, ms (simulator only)' },
    strategies: {
      type: 'list',
      default: [...STRATEGY_IDS],
      choices: STRATEGY_IDS,
      help: 'strategies to compare',
    },
    seed: { type: 'integer', default: 1, min: 0, max: 2 ** 31 - 1, help: 'random seed' },
    bucket: { type: 'integer', default: 100, min: 10, max: 10_000, help: 'ms per time-series bucket' },
    name: {
      type: 'string',
      default: '',
      help: 'results file name under bench/results/ (default: derived from the fault)',
    },
    quiet: { type: 'boolean', default: false, help: 'no progress line' },
  } as const satisfies Knobs;
}

/** The scenario of parsed storm knobs. */
export function scenarioOf(v: KnobValues<ReturnType<typeof stormKnobs>>): Scenario {
  let faults: Scenario['faults'];
  try {
    faults =
      v.fault.length > 0
        ? parseFaults(v.fault)
        : v.outage > 0
          ? [{ kind: 'outage', from: v['outage-at'] * 1000, to: (v['outage-at'] + v.outage) * 1000 }]
          : [];
  } catch (err) {
    throw new UsageError(`--fault: ${(err as Error).message}`);
  }
  const duration = v.duration * 1000;
  for (const f of faults) {
    if (f.from >= duration)
      throw new UsageError(`a fault starts at ${f.from / 1000} s, after the ${v.duration} s run`);
  }
  const inFlight = v['in-flight'];
  // A closed loop offers what its calls in flight complete with no fault: one per service time + rtt.
  const rate = inFlight > 0 ? (inFlight * 1000) / (v['service-time'] + v.rtt) : v.rate;
  const offered = v.clients * rate;
  const capacity = v.capacity > 0 ? v.capacity : offered * 1.5;
  return {
    clients: v.clients,
    rate,
    ...(inFlight > 0 ? { inFlight } : {}),
    duration,
    capacity,
    serviceTime: v['service-time'],
    queue: v.queue >= 0 ? v.queue : Math.max(1, Math.round(capacity / 4)),
    rtt: v.rtt,
    faults,
    bucket: v.bucket,
    seed: v.seed,
  };
}

/** The `--store-down` knob: spans during which the fleet's store (Redis) is unreachable. */
export const STORE_DOWN_KNOB = {
  type: 'list',
  default: [] as string[],
  help: 'fleet strategies: spans (seconds, from-to) during which the fleet store (Redis) is down — connections reset, new ones refused — e.g. 20-30',
} as const;

/** Parses `--store-down` spans (`from-to` in seconds) into milliseconds. */
export function parseStoreDown(specs: readonly string[]): { from: number; to: number }[] {
  return specs.map((spec) => {
    const m = /^([0-9.]+)-([0-9.]+)$/.exec(spec);
    if (m === null || !(Number(m[2]) > Number(m[1])))
      throw new UsageError(`--store-down: expected from-to in seconds, got '${spec}'`);
    return { from: Number(m[1]) * 1000, to: Number(m[2]) * 1000 };
  });
}
