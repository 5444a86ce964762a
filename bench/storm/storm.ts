/**
 * The simulated retry storm: every strategy through the same scenario on a virtual clock (the fleet
 * simulator, sim.ts), side by side. Prints the table and the DESIGN.md targets, writes
 * `bench/results/<name>.json` and `bench/results/<name>.svg` (upstream load over time).
 *
 *   node bench/storm/storm.ts [--clients 1000] [--rate 2] [--outage 30] [--fault errors:0.05@0-60] ...
 *   npm run bench:storm -- --clients 10000 --outage 30
 */
import { type Command, main, usageCheck } from '../lib/args.ts';
import { Progress, writeResultFile, writeResults } from '../lib/report.ts';
import { parseStoreDown, STORE_DOWN_KNOB, STORM_DEFAULTS, scenarioOf, stormKnobs } from './knobs.ts';
import type { StormSummary } from './recorder.ts';
import { describe, latencyChart, loadChart, type StormRow, stormTable, targetsText } from './report.ts';
import { faultSpec } from './scenario.ts';
import { simulate } from './sim.ts';
import { pickStrategies, STRATEGIES, type Strategy } from './strategies.ts';
import { checkTargets } from './targets.ts';

const knobs = {
  ...stormKnobs(STORM_DEFAULTS),
  tick: {
    type: 'number',
    default: 1,
    min: 0,
    max: 100,
    help: 'simulator time resolution, ms (timers this close fire before promise callbacks run; 0 = exact)',
  },
  'store-down': STORE_DOWN_KNOB,
  'fleet-period': {
    type: 'number',
    default: 100,
    min: 1,
    max: 60_000,
    help: 'fleet strategies: ms between syncs',
  },
  'fleet-delay': {
    type: 'number',
    default: 2,
    min: 0,
    max: 60_000,
    help: 'fleet strategies: round trip to the store, ms',
  },
  'breaker-reset': {
    type: 'list',
    default: [],
    help: "strategies with a breaker: run once per breaker resetTimeout given (ms), e.g. 500,750,5000; id '<id>@<ms>'",
  },
  shard: {
    type: 'integer',
    default: 1000,
    min: 1,
    help: 'simulated clients (origins) per BulwarkClient object (per-origin state keeps them independent; fewer objects, less memory)',
  },
} as const;

const cmd: Command<typeof knobs> = {
  name: 'bench/storm/storm.ts',
  summary:
    'Fleet simulator: N Bulwark clients (one origin each, the real pipeline) on a virtual clock against a capacity-limited upstream with a fault timeline; every strategy side by side.',
  knobs,
  examples: [
    'npm run bench:storm -- --clients 10000 --outage 30',
    'npm run bench:storm -- --fault errors:0.05@0-60 --strategies none,full,budget,bulwark',
    'npm run bench:storm -- --clients 100000 --rate 0.1 --strategies budget,bulwark',
  ],
};

await main(cmd, async (v) => {
  const scenario = scenarioOf(v);
  const strategies = withBreakerResets(pickStrategies(v.strategies), v['breaker-reset']);
  usageCheck(strategies.length > 0, '--strategies: none selected');
  const storeDown = parseStoreDown(v['store-down']);
  const name = v.name || `storm-${scenario.faults.length === 0 ? 'healthy' : scenario.faults[0]!.kind}`;
  console.log(`fleet simulator: ${describe(scenario)}`);
  const progress = new Progress(v.quiet);
  const rows: StormRow[] = [];
  const fleetNotes: string[] = [];
  for (const [i, strategy] of strategies.entries()) {
    const r = await simulate(scenario, strategy, {
      tick: v.tick,
      shard: v.shard,
      storeDown,
      fleetPeriod: v['fleet-period'],
      fleetDelay: v['fleet-delay'],
      onProgress: (t) =>
        progress.update(
          `[${i + 1}/${strategies.length}] ${strategy.label}: ${(t / 1000).toFixed(1)} / ${scenario.duration / 1000} s simulated`,
        ),
    });
    rows.push({
      id: strategy.id,
      label: strategy.label,
      summary: r.summary,
      load: r.load,
      wall: r.wall / 1000,
      latency: r.latency,
    });
    if (r.fleet !== undefined && storeDown.length > 0)
      fleetNotes.push(
        `${strategy.label}: ${r.fleet.failedSyncs} syncs failed while the store was down; fleet counts back in use ${r.fleet.restoredAfter === null ? 'never' : `${r.fleet.restoredAfter.toFixed(1)} ms`} after it returned`,
      );
    if (r.hedges.sent > 0)
      console.log(
        `${strategy.label}: ${r.hedges.sent} hedges sent, ${r.hedges.won} won, for ${r.summary.calls} calls`,
      );
  }
  progress.done();
  console.log(stormTable(rows));
  for (const note of fleetNotes) console.log(note);
  const checks = checkTargets(scenario, new Map<string, StormSummary>(rows.map((r) => [r.id, r.summary])));
  const targets = targetsText(checks);
  if (targets) console.log(targets);
  const svg = writeResultFile(
    `${name}.svg`,
    loadChart(
      `Upstream load, simulated: ${scenario.clients} clients × ${scenario.rate} req/s, ${scenario.faults.map(faultSpec).join(', ') || 'no fault'}`,
      scenario,
      rows,
    ),
  );
  // A slow tail is about latency, not load: its chart is latency by percentile.
  const tail = scenario.faults.some((f) => f.kind === 'slowtail');
  const latencySvg = tail
    ? writeResultFile(
        `${name}-latency.svg`,
        latencyChart(
          `Call latency by percentile, simulated: ${scenario.clients} clients × ${scenario.rate} req/s, ${scenario.faults.map(faultSpec).join(', ')}`,
          rows,
        ),
      )
    : undefined;
  const json = writeResults(name, {
    kind: 'simulated',
    scenario,
    tick: v.tick,
    strategies: STRATEGIES.filter((s) => v.strategies.includes(s.id)).map((s) => ({
      id: s.id,
      label: s.label,
      note: s.note,
    })),
    results: rows.map((r) => ({ id: r.id, label: r.label, wallSeconds: r.wall, ...r.summary })),
    targets: checks,
    load: Object.fromEntries(
      rows.map((r) => [r.id, r.load.map(([t, l]) => [t, Math.round(l * 1000) / 1000])]),
    ),
    ...(tail ? { latency: Object.fromEntries(rows.map((r) => [r.id, r.latency])) } : {}),
  });
  console.log(`wrote ${json}\nwrote ${svg}${latencySvg === undefined ? '' : `\nwrote ${latencySvg}`}`);
});

/** Each strategy with a breaker, once per reset timeout in `resets` (ms); the rest as they are. */
function withBreakerResets(strategies: readonly Strategy[], resets: readonly string[]): Strategy[] {
  if (resets.length === 0) return [...strategies];
  const ms = resets.map((r) => {
    const n = Number(r);
    usageCheck(Number.isInteger(n) && n > 0, `--breaker-reset: ${r} is not a positive whole number of ms`);
    return n;
  });
  return strategies.flatMap((s) => {
    const breaker = s.options.breaker;
    if (breaker === false) return [s];
    return ms.map((resetTimeout) => ({
      ...s,
      id: `${s.id}@${resetTimeout}`,
      label: `${s.label}, reset ${resetTimeout} ms`,
      options: { ...s.options, breaker: { ...(typeof breaker === 'object' ? breaker : {}), resetTimeout } },
    }));
  });
}
