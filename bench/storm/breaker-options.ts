/**
 * Breaker option sets × the scenarios that tell an outage from a brownout, in the fleet simulator
 * (Bulwark's real pipeline on the virtual clock, every other option at its default): how soon the
 * breaker opens in an outage (the outage load), how soon traffic is back after the heal, and
 * what it costs a brownout and a cold start. Each set is `id:name=value;...` (the `breaker` option's numbers).
 *
 *   node bench/storm/breaker-options.ts --sets 'now,w5m10:window=5000;minimumCalls=10'
 *
 * Scenarios (1 000 clients, 30 s outage from 10 s, 60 s): `outage-0.3`, `outage-1`, `outage-2`,
 * `outage-10` (req/s per client); `brownout` (30 % random failures, 2 req/s, capacity 6 000);
 * `cold` (one client, 1 000 calls in flight, 5 % failures for 10 s).
 */
import { type Command, main, UsageError } from '../lib/args.ts';
import { table, writeResults } from '../lib/report.ts';
import { parseFaults, type Scenario } from './scenario.ts';
import { simulate } from './sim.ts';

function outage(rate: number): Scenario {
  return scenario(1000, rate, 'outage@10-40', 1000 * rate * 1.5);
}

function scenario(
  clients: number,
  rate: number,
  fault: string,
  capacity: number,
  duration = 60_000,
): Scenario {
  return {
    clients,
    rate,
    duration,
    capacity,
    serviceTime: 20,
    queue: Math.max(1, Math.round(capacity / 4)),
    rtt: 2,
    faults: parseFaults([fault]),
    bucket: 100,
    seed: 1,
  };
}

const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'outage-0.3': outage(0.3),
  'outage-1': outage(1),
  'outage-2': outage(2),
  'outage-10': outage(10),
  brownout: scenario(1000, 2, 'errors:0.3@0-60', 6000),
  // A closed loop: 1 000 calls in flight, each taking the service time and the round trip.
  cold: {
    ...scenario(1, 1_000_000 / 22, 'errors:0.05@0-10', (1_000_000 / 22) * 1.5, 10_000),
    inFlight: 1000,
  },
};

const knobs = {
  sets: {
    type: 'list',
    default: ['now', 'w5m10:window=5000;minimumCalls=10'],
    help: "breaker option sets, each id:name=value;... (the breaker's options; an id alone is today's defaults)",
  },
  scenarios: {
    type: 'list',
    default: Object.keys(SCENARIOS),
    help: `scenarios {${Object.keys(SCENARIOS).join('|')}}`,
  },
  seed: { type: 'integer', default: 1, min: 0, max: 2_147_483_647, help: 'random seed' },
  name: { type: 'string', default: 'storm-breaker-options', help: 'results file name under bench/results/' },
  quiet: { type: 'boolean', default: false, help: 'no progress line' },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/storm/breaker-options.ts',
  summary: 'Breaker option sets × outage (0.3–10 req/s), brownout and cold-start scenarios, simulated.',
  knobs,
};

await main(cmd, async (v) => {
  const sets = v.sets.map((s) => {
    const [id = '', given = ''] = s.split(':');
    if (id === '') throw new UsageError(`--sets: '${s}' has no id (id:name=value;...)`);
    const options: Record<string, number> = {};
    for (const pair of given.split(';').filter((p) => p !== '')) {
      const [key = '', value = ''] = pair.split('=');
      const n = Number(value);
      if (key === '' || value === '' || !Number.isFinite(n))
        throw new UsageError(`--sets: '${pair}' is not name=number`);
      options[key] = n;
    }
    return { id, options };
  });
  const rows: Record<string, unknown>[] = [];
  for (const name of v.scenarios) {
    const base = SCENARIOS[name];
    if (base === undefined) throw new UsageError(`--scenarios: unknown '${name}'`);
    for (const set of sets) {
      const r = await simulate(
        { ...base, seed: v.seed },
        { id: set.id, label: set.id, options: { breaker: set.options }, note: JSON.stringify(set.options) },
        { tick: 1, shard: 1000 },
      );
      const s = r.summary;
      rows.push({
        scenario: name,
        set: set.id,
        breaker: set.options,
        amplification: Math.round(s.amplification * 1000) / 1000,
        success: Math.round(s.success * 10000) / 100,
        recovery: s.recovery,
      });
      if (!v.quiet) console.error(`${name} ${set.id}: done in ${(r.wall / 1000).toFixed(1)} s`);
    }
  }
  console.log(
    table(
      [
        { header: 'scenario', align: 'left' },
        { header: 'breaker', align: 'left' },
        { header: 'outage load (attempts ÷ calls)' },
        { header: 'success %' },
        { header: 'recovery s' },
      ],
      rows.map((r) => [
        String(r.scenario),
        String(r.set),
        String(r.amplification),
        String(r.success),
        r.recovery === null ? '—' : String((r.recovery as number) / 1000),
      ]),
    ),
  );
  console.log(`wrote ${writeResults(v.name, { kind: 'simulated', seed: v.seed, results: rows })}`);
});
