/**
 * The real-socket storm (real.ts), cross-checked against the fleet simulator on the same scenario
 * and the same arrivals: for each strategy, the real run and the simulated run side by side, and
 * the relative difference of the shared metrics (amplification during the fault, peak load ÷
 * capacity, success rate, success during the fault, recovery). Agreement means every difference
 * is ≤ `--tolerance` (15 %) of the larger scale of the two (1.0 for ratios, 1 s for recovery).
 * Writes `bench/results/crosscheck.json` and `crosscheck.svg` (or `--name`).
 *
 *   node bench/storm/crosscheck.ts [--clients 100] [--rate 5] [--outage 10] [--strategies budget,bulwark]
 */
import { type Command, main, usageCheck } from '../lib/args.ts';
import { fmt, Progress, table, writeResultFile, writeResults } from '../lib/report.ts';
import { parseStoreDown, STORE_DOWN_KNOB, scenarioOf, stormKnobs } from './knobs.ts';
import { runReal } from './real.ts';
import { runRealWorkers, type SpanLatency } from './real-workers.ts';
import type { StormSummary } from './recorder.ts';
import { describe, loadChart, type StormRow, stormTable } from './report.ts';
import { faultSpec } from './scenario.ts';
import { simulate } from './sim.ts';
import { pickStrategies } from './strategies.ts';

const base = stormKnobs({ clients: 100, rate: 5, duration: 30, outage: 10 });
const knobs = {
  ...base,
  rtt: { ...base.rtt, default: 1, help: 'round trip the simulator assumes for loopback, ms' },
  strategies: { ...base.strategies, default: ['none', 'immediate', 'full', 'budget', 'bulwark'] },
  tolerance: { type: 'number', default: 0.15, min: 0, max: 10, help: 'agreement tolerance (relative)' },
  workers: {
    type: 'integer',
    default: 1,
    min: 1,
    max: 64,
    help: 'processes the real clients run in (fleet strategies: each its own Redis connection and Fleet); 1 = in this process',
  },
  redis: {
    type: 'string',
    default: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
    help: 'Redis for the fleet strategies (a fault proxy is put in front of it)',
  },
  'store-down': STORE_DOWN_KNOB,
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/storm/crosscheck.ts',
  summary:
    'Real-socket storm: real createClient() instances against a capacity-limited HTTP upstream in its own process that fails on a schedule; cross-checked against the simulator on the same scenario.',
  knobs,
  examples: ['npm run bench:real -- --clients 200 --rate 3 --strategies none,budget,bulwark'],
};

/** The metrics both storms measure, with the scale a difference is judged against. */
const SHARED: readonly { key: keyof StormSummary; label: string; scale: number; unit: number }[] = [
  { key: 'amplification', label: 'amplification', scale: 1, unit: 1 },
  { key: 'peakLoad', label: 'peak load/C', scale: 1, unit: 1 },
  { key: 'success', label: 'success', scale: 1, unit: 1 },
  { key: 'successDuringFault', label: 'success in fault', scale: 1, unit: 1 },
  { key: 'recovery', label: 'recovery', scale: 1000, unit: 1000 },
];

/** Relative difference of a real and a simulated value (`null` when either is missing). */
function difference(real: number | null, sim: number | null, scale: number): number | null {
  if (real === null || sim === null || Number.isNaN(real) || Number.isNaN(sim))
    return real === sim ? 0 : null;
  return Math.abs(real - sim) / Math.max(Math.abs(real), Math.abs(sim), scale);
}

await main(cmd, async (v) => {
  const scenario = scenarioOf(v);
  const strategies = pickStrategies(v.strategies);
  usageCheck(strategies.length > 0, '--strategies: none selected');
  usageCheck(scenario.inFlight === undefined, '--in-flight: the real storm runs open-loop arrivals only');
  usageCheck(
    scenario.faults.every((f) => f.kind !== 'blackhole' || f.to - f.from < 600_000),
    '--fault: a blackhole in the real storm must be shorter than 600 s',
  );
  console.log(`real-socket storm vs simulator: ${describe(scenario)}`);
  const progress = new Progress(v.quiet);
  const realRows: StormRow[] = [];
  const simRows: StormRow[] = [];
  const comparisons: Record<string, unknown>[] = [];
  let agree = true;
  const storeDown = parseStoreDown(v['store-down']);
  const notes: string[] = [];
  for (const [i, strategy] of strategies.entries()) {
    const onProgress = (t: number) =>
      progress.update(`[${i + 1}/${strategies.length}] real ${strategy.label}: ${(t / 1000).toFixed(1)} s`);
    const inWorkers = v.workers > 1 || strategy.fleet !== undefined;
    const workers = inWorkers
      ? await runRealWorkers(scenario, strategy, {
          workers: v.workers,
          redis: v.redis,
          storeDown,
          onProgress,
        })
      : undefined;
    const real = workers ?? (await runReal(scenario, strategy, { onProgress }));
    progress.update(`[${i + 1}/${strategies.length}] simulating ${strategy.label}`);
    // The simulator's processes are its client objects: as many as the real run's workers.
    const sim = await simulate(scenario, strategy, {
      shard: Math.ceil(scenario.clients / v.workers),
      storeDown,
    });
    if (workers !== undefined) {
      const lat = (l: SpanLatency) =>
        `${l.calls} calls, p50 ${fmt(l.p50, 1)} / p99 ${fmt(l.p99, 1)} / max ${fmt(l.max, 1)} ms`;
      notes.push(
        `${strategy.label} (real, ${v.workers} processes)` +
          (workers.fleet === null
            ? ''
            : `: ${workers.fleet.syncs} syncs, ${workers.fleet.failures} failed` +
              (storeDown.length === 0
                ? ''
                : `; fleet counts back ${workers.fleet.restoredAfter.map((r) => (r === null ? 'never' : `${fmt(r, 0)} ms`)).join(', ')} after Redis returned`)) +
          (workers.storeDown === null
            ? ''
            : `; calls started in the store-down span: ${lat(workers.storeDown.during)}; the same length before it: ${lat(workers.storeDown.before)}`),
      );
    }
    realRows.push({
      id: strategy.id,
      label: `${strategy.label} (real)`,
      summary: real.summary,
      load: real.load,
      wall: real.wall / 1000,
    });
    simRows.push({
      id: strategy.id,
      label: `${strategy.label} (sim)`,
      summary: sim.summary,
      load: sim.load,
      wall: sim.wall / 1000,
    });
    const diffs = Object.fromEntries(
      SHARED.map((m) => [
        m.key,
        difference(real.summary[m.key] as number | null, sim.summary[m.key] as number | null, m.scale),
      ]),
    );
    const ok = Object.values(diffs).every((d) => d !== null && d <= v.tolerance);
    agree &&= ok;
    comparisons.push({
      strategy: strategy.id,
      real: real.summary,
      sim: sim.summary,
      differences: diffs,
      agree: ok,
      fleet: { lateArrivals: real.late, maxLatenessMs: real.maxLateness },
      ...(workers !== undefined && { shared: workers.fleet, storeDown: workers.storeDown }),
    });
  }
  progress.done();
  console.log(stormTable([...realRows, ...simRows].sort((a, b) => a.id.localeCompare(b.id))));
  console.log(
    `relative differences, real vs simulated (agreement: ≤ ${v.tolerance * 100} % of max(|real|, |sim|, scale)):`,
  );
  console.log(
    table(
      [
        { header: 'strategy', align: 'left' },
        ...SHARED.map((m) => ({ header: m.label })),
        { header: 'agree' },
      ],
      comparisons.map((c) => [
        String(c.strategy),
        ...SHARED.map((m) => {
          const d = (c.differences as Record<string, number | null>)[m.key];
          return d === null || d === undefined ? 'n/a' : `${fmt(d * 100, 1)} %`;
        }),
        c.agree ? 'yes' : 'NO',
      ]),
    ),
  );
  for (const note of notes) console.log(note);
  console.log(
    `simulator agrees with the real-socket storm within ${v.tolerance * 100} %: ${agree ? 'yes' : 'NO'}`,
  );
  const name = v.name || 'crosscheck';
  const svg = writeResultFile(
    `${name}.svg`,
    loadChart(
      `Real sockets vs simulator: ${scenario.clients} clients × ${scenario.rate} req/s, ${scenario.faults.map(faultSpec).join(', ') || 'no fault'}`,
      scenario,
      [...realRows, ...simRows].map((r) => ({
        ...r,
        id: r.label.endsWith('(real)') ? `${r.id}` : `${r.id}-sim`,
      })),
    ),
  );
  const json = writeResults(name, {
    kind: 'real-vs-simulated',
    scenario,
    workers: v.workers,
    storeDown,
    tolerance: v.tolerance,
    agree,
    comparisons,
    load: {
      real: Object.fromEntries(realRows.map((r) => [r.id, r.load])),
      sim: Object.fromEntries(simRows.map((r) => [r.id, r.load])),
    },
  });
  console.log(`wrote ${json}\nwrote ${svg}`);
});
