/**
 * How a storm is shown: the terminal table (one row per strategy), the targets block, and the SVG
 * chart of upstream load over time (one line per strategy, the fault window shaded, capacity as
 * a dashed rule). Shared by the simulated and the real-socket storm.
 */
import { fmt, pct, table } from '../lib/report.ts';
import { lineChart } from '../lib/svg.ts';
import type { StormSummary } from './recorder.ts';
import { faultSpec, type Scenario } from './scenario.ts';
import type { TargetCheck } from './targets.ts';

/** One strategy's row. */
export interface StormRow {
  readonly id: string;
  readonly label: string;
  readonly summary: StormSummary;
  readonly load: readonly (readonly [number, number])[];
  /** Wall-clock seconds the run took. */
  readonly wall: number;
  /** Call latency by percentile, [−log10(1 − q), ms] (the simulator's). */
  readonly latency?: readonly (readonly [number, number])[];
}

/** A one-line description of the scenario. */
export function describe(s: Scenario): string {
  const faults = s.faults.length === 0 ? 'no fault' : s.faults.map(faultSpec).join(', ');
  const load =
    s.inFlight === undefined
      ? `${s.clients} clients × ${s.rate} req/s`
      : `${s.clients} client${s.clients === 1 ? '' : 's'} × ${s.inFlight} in flight from a cold start`;
  return `${load} (offered ${fmt(s.clients * s.rate, 0)} req/s), capacity ${fmt(s.capacity, 0)} req/s (service ${s.serviceTime} ms, queue ${s.queue}), rtt ${s.rtt} ms, ${s.duration / 1000} s, ${faults}, seed ${s.seed}`;
}

/** The results table. */
export function stormTable(rows: readonly StormRow[]): string {
  return table(
    [
      { header: 'strategy', align: 'left' },
      { header: 'amplification' },
      { header: 'peak load/C' },
      { header: 'success' },
      { header: 'success in fault' },
      { header: 'p50 ms' },
      { header: 'p99 ms' },
      { header: 'p99.9 ms' },
      { header: 'recovery s' },
      { header: 'breaker', align: 'left' },
      { header: 'wall s' },
    ],
    rows.map((r) => {
      const s = r.summary;
      const b = s.breaker;
      return [
        r.label,
        fmt(s.amplification, 3),
        fmt(s.peakLoad, 2),
        pct(s.success, 2),
        pct(s.successDuringFault, 2),
        fmt(s.p50, 1),
        fmt(s.p99, 1),
        fmt(s.p999, 1),
        s.recovery === null ? '—' : fmt(s.recovery / 1000, 1),
        b === undefined
          ? ''
          : `${b.clientsOpened} opened, ${fmt(b.probesPerOpenedClientPerReset, 2)} probes/reset, ${b.attemptsWhileOpen} while open`,
        fmt(r.wall, 1),
      ];
    }),
  );
}

/** The targets block. */
export function targetsText(checks: readonly TargetCheck[]): string {
  if (checks.length === 0) return '';
  return [
    'targets (DESIGN.md):',
    ...checks.map(
      (c) =>
        `  ${c.met === null ? 'n/a   ' : c.met ? 'met   ' : 'MISSED'} ${c.target} — ${c.strategy}: ${c.measured}`,
    ),
  ].join('\n');
}

/** The load chart: per-strategy upstream load ÷ capacity, averaged over `smooth` ms. */
export function loadChart(title: string, s: Scenario, rows: readonly StormRow[], smooth = 1000): string {
  const per = Math.max(1, Math.round(smooth / s.bucket));
  return lineChart({
    title,
    xLabel: 'time (s)',
    yLabel: 'upstream load ÷ capacity',
    series: rows.map((r) => ({
      name: r.label,
      emphasis: r.id === 'bulwark',
      points: average(r.load, per),
    })),
    bands: s.faults.map((f) => ({
      from: f.from / 1000,
      to: f.to / 1000,
      label: f.kind === 'errors' ? `${(f.rate ?? 0) * 100} % errors` : f.kind,
    })),
    rules: [{ y: 1, label: 'capacity' }],
    yMax: 5,
  });
}

/** The latency chart: call latency by percentile per strategy (a slow-tail scenario's). */
export function latencyChart(title: string, rows: readonly StormRow[]): string {
  return lineChart({
    title,
    xLabel: 'percentile: 1 = p90, 2 = p99, 3 = p99.9, 4 = p99.99',
    yLabel: 'call latency (ms)',
    series: rows
      .filter((r) => r.latency !== undefined)
      .map((r) => ({ name: r.label, emphasis: r.id === 'hedge', points: r.latency ?? [] })),
  });
}

function average(points: readonly (readonly [number, number])[], per: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i + per <= points.length; i += per) {
    let sum = 0;
    for (let k = i; k < i + per; k++) sum += points[k]![1];
    out.push([points[i]![0], sum / per]);
  }
  return out;
}
