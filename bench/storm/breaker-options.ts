/**
 * Breaker option sets × the scenarios that tell an outage from a brownout, in the fleet simulator
 * (Bulwark's real pipeline on the virtual clock, every other option at its default): how soon the
 * breaker opens in an outage (the outage load), how soon traffic is back after the heal, and
 * what it costs a brownout and a cold start. Each set is `id:name=value;...` (the `breaker` option's numbers).
 *
 *   node bench/storm/breaker-options.ts --sets 'now,w5m10:window=5000;minimumCalls=10'
 *
 * Scenarios, each the storm's own (its defaults: 1 000 clients, 60 s, a 30 s outage from 10 s, with
 * the knobs in {@link SCENARIOS}): `outage-0.3`, `outage-1`, `outage-2`, `outage-10` (req/s per
 * client); `brownout` (30 % random failures, 2 req/s, capacity 6 000); `cold` (one client, 1 000
 * calls in flight, 5 % failures for 10 s).
 */
import { resolveClientOptions } from '../../src/client/options.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { type Command, main, parseKnobs, UsageError } from '../lib/args.ts';
import { table, writeResults } from '../lib/report.ts';
import { STORM_DEFAULTS, scenarioOf, stormKnobs } from './knobs.ts';
import type { Scenario } from './scenario.ts';
import { simulate } from './sim.ts';

/** Each scenario as the storm's own knobs (`npm run bench:storm -- <these>` runs the same one). */
const SCENARIOS: Readonly<Record<string, readonly string[]>> = {
  'outage-0.3': ['--rate', '0.3'],
  'outage-1': ['--rate', '1'],
  'outage-2': ['--rate', '2'],
  'outage-10': ['--rate', '10'],
  brownout: ['--fault', 'errors:0.3@0-60', '--capacity', '6000'],
  cold: ['--clients', '1', '--in-flight', '1000', '--duration', '10', '--fault', 'errors:0.05@0-10'],
};

const STORM: Command<ReturnType<typeof stormKnobs>> = {
  name: 'bench/storm/storm.ts',
  summary: '',
  knobs: stormKnobs(STORM_DEFAULTS),
};

/** A scenario of {@link SCENARIOS} with `seed`. */
function scenario(name: string, seed: number): Scenario {
  const argv = SCENARIOS[name];
  if (argv === undefined) throw new UsageError(`--scenarios: unknown '${name}'`);
  const v = parseKnobs(STORM, [...argv, '--seed', String(seed)]);
  if (v === 'help') throw new Error('unreachable: no --help in a scenario');
  return scenarioOf(v);
}

/** `id:name=value;...` as a breaker option set, checked as createClient checks it. */
function parseSet(text: string): { id: string; options: Record<string, number> } {
  const at = text.indexOf(':');
  const id = at < 0 ? text : text.slice(0, at);
  if (id === '') throw new UsageError(`--sets: '${text}' has no id (id:name=value;...)`);
  const options: Record<string, number> = {};
  for (const pair of at < 0 ? [] : text.slice(at + 1).split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const n = eq < 0 ? Number.NaN : Number(pair.slice(eq + 1));
    if (eq <= 0 || pair.slice(eq + 1) === '' || !Number.isFinite(n))
      throw new UsageError(`--sets: '${pair}' is not name=number`);
    options[pair.slice(0, eq)] = n;
  }
  try {
    resolveClientOptions({ breaker: options });
  } catch (err) {
    if (err instanceof InvalidOptionError) throw new UsageError(`--sets: ${id}: ${err.message}`);
    throw err;
  }
  return { id, options };
}

/** One set in one scenario. */
interface Row {
  readonly scenario: string;
  readonly set: string;
  readonly breaker: Readonly<Record<string, number>>;
  readonly amplification: number;
  readonly success: number;
  readonly recovery: number | null;
}

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
  const sets = v.sets.map(parseSet);
  const twice = sets.find((set, i) => sets.findIndex((o) => o.id === set.id) !== i);
  if (twice !== undefined) throw new UsageError(`--sets: the id '${twice.id}' is given twice`);
  const scenarios = v.scenarios.map((name) => ({ name, s: scenario(name, v.seed) }));
  const rows: Row[] = [];
  for (const { name, s: at } of scenarios) {
    for (const set of sets) {
      const r = await simulate(
        at,
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
        r.scenario,
        r.set,
        String(r.amplification),
        String(r.success),
        r.recovery === null ? '—' : String(r.recovery / 1000),
      ]),
    ),
  );
  console.log(`wrote ${writeResults(v.name, { kind: 'simulated', seed: v.seed, results: rows })}`);
});
