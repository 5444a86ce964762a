/**
 * Pool benchmarks, in one run. (1) Acquire + release overhead of Bulwark's pool against raw
 * generic-pool with the same trivial factory (bench/pool/overhead.ts): throughput relative to
 * generic-pool with its 95 % interval. (2) On PostgreSQL, each pool — Bulwark, pg.Pool, raw
 * generic-pool — behind its own fault proxy under the same open-loop load (bench/pool/faults.ts):
 * a 300 ms database restart (success and latency of the requests that arrived during it, time to
 * the first success once it answers), and a longer outage (connects per second while it refuses,
 * time to the first success after it). (3) The first query after a silent drop, Bulwark against
 * pg.Pool (bench/pool/silent-drop.ts). Writes bench/results/pool.json and prints tables.
 *
 *   node bench/pool.ts [--ops 200000] [--rounds 7] [--blip-runs 3] [--outage 10] [--no-drop]
 *
 * PostgreSQL: DATABASE_URL, else the embedded PGlite server (test/helpers/databases.ts).
 */
import type pg from 'pg';
import { postgresDatabase } from '../test/helpers/databases.ts';
import { main } from './lib/args.ts';
import { fmt, pct, table, writeResults } from './lib/report.ts';
import { median, type Spread } from './lib/stats.ts';
import { CONTENDERS } from './pool/contenders.ts';
import { type FaultResult, faultRun, type Upstream } from './pool/faults.ts';
import { type OverheadRow, overhead, type Ratio } from './pool/overhead.ts';
import { silentDrop } from './pool/silent-drop.ts';

const command = {
  name: 'node bench/pool.ts',
  summary:
    'acquire+release overhead against raw generic-pool; a 300 ms database blip and an outage, Bulwark vs pg.Pool vs generic-pool through the same fault proxy; the first query after a silent drop',
  knobs: {
    ops: { type: 'integer', default: 200_000, min: 1_000, help: 'acquire+release pairs per round' },
    rounds: { type: 'integer', default: 7, min: 4, help: 'interleaved rounds per pool' },
    rate: {
      type: 'integer',
      default: 200,
      min: 10,
      max: 2_000,
      help: 'requests per second during the fault runs',
    },
    blip: { type: 'integer', default: 300, min: 10, help: 'how long the blip refuses connects (ms)' },
    'blip-runs': {
      type: 'integer',
      default: 3,
      min: 1,
      help: 'blip runs per pool (the table shows the median run)',
    },
    outage: { type: 'integer', default: 10, min: 1, help: 'how long the outage refuses connects (s)' },
    cap: {
      type: 'integer',
      default: 30_000,
      min: 1_000,
      help: "how long pg.Pool's first query after a silent drop may take (ms)",
    },
    drop: {
      type: 'boolean',
      default: true,
      help: 'run the PostgreSQL comparisons: blip, outage, silent drop (needs PostgreSQL or PGlite)',
    },
  },
  examples: [
    'node bench/pool.ts --ops 100000 --rounds 31 --no-drop',
    'node bench/pool.ts --outage 30 --blip-runs 5',
  ],
} as const;

/** A target as bench/run.ts reads it back. */
interface BenchTarget {
  readonly target: string;
  readonly measured: number;
  readonly interval95?: { readonly lo: number; readonly hi: number };
  readonly met: boolean;
}

/** The target of (1): serial acquire+release at ≥ 0.95 × raw generic-pool's throughput. */
const SERIAL_TARGET = 0.95;

function printOverhead(rows: readonly OverheadRow[], ops: number, rounds: number): void {
  const ns = (s: Spread): string => `${fmt(s.median, 0)} (${fmt(s.min, 0)}–${fmt(s.max, 0)})`;
  const ratio = (r: Ratio): string =>
    `${fmt(r.median, 3)}× [${fmt(r.interval95.lo, 3)}–${fmt(r.interval95.hi, 3)}]`;
  console.log(
    `acquire + release, CPU ns per pair: median of ${rounds} interleaved rounds (min–max), ${ops} pairs a round`,
  );
  console.log(
    'throughput × generic-pool: median of the per-round ratios [95 % interval of the median]; > 1 is faster\n',
  );
  console.log(
    table(
      [
        { header: 'loops' },
        { header: 'factory', align: 'left' },
        { header: 'generic-pool' },
        { header: 'bulwark' },
        { header: '× generic-pool (CPU)' },
        { header: '× generic-pool (wall)' },
      ],
      rows.map((r) => [
        String(r.width),
        r.withValidate ? 'create/destroy/validate' : 'create/destroy',
        ns(r.raw),
        ns(r.bulwark),
        ratio(r.ratio),
        ratio(r.wall.ratio),
      ]),
    ),
  );
}

/** The run whose first-success time is the median of the runs (the table shows one whole run). */
function medianRun(runs: readonly FaultResult[]): FaultResult {
  const m = median(runs.map((r) => r.firstSuccessMs ?? Number.POSITIVE_INFINITY));
  return runs.find((r) => (r.firstSuccessMs ?? Number.POSITIVE_INFINITY) === m) ?? runs[0]!;
}

const ms = (n: number | null): string => (n === null ? 'none' : `${fmt(n, 0)} ms`);
const topErrors = (r: FaultResult): string =>
  Object.entries(r.errors)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([code, n]) => `${n} ${code}`)
    .join(', ') || '—';

function printBlip(blips: Record<string, FaultResult[]>, blip: number, rate: number): void {
  console.log(
    `\n${blip} ms database restart (live connections reset, connects refused), ${rate} requests/s open loop, max 4 connections, 2 s acquire deadline; median of ${Object.values(blips)[0]!.length} runs by first success\n`,
  );
  console.log(
    table(
      [
        { header: 'pool', align: 'left' },
        { header: 'arrived in the blip' },
        { header: 'acquired' },
        { header: 'succeeded' },
        { header: 'p50 / p99 / max latency' },
        { header: 'first success after' },
        { header: 'first success, all runs', align: 'left' },
        { header: 'failures of the run', align: 'left' },
      ],
      Object.entries(blips).map(([name, runs]) => {
        const r = medianRun(runs);
        const d = r.during;
        return [
          name,
          String(d.started),
          pct(d.acquired / d.started),
          pct(d.succeeded / d.started),
          `${fmt(d.latency.p50, 0)} / ${fmt(d.latency.p99, 0)} / ${fmt(d.latency.max, 0)} ms`,
          ms(r.firstSuccessMs),
          runs.map((x) => (x.firstSuccessMs === null ? '—' : fmt(x.firstSuccessMs, 0))).join(', '),
          topErrors(r),
        ];
      }),
    ),
  );
}

function printOutage(outages: readonly FaultResult[], seconds: number, rate: number): void {
  console.log(`\n${seconds} s outage, ${rate} requests/s open loop\n`);
  console.log(
    table(
      [
        { header: 'pool', align: 'left' },
        { header: 'connects/s while down' },
        { header: 'first success after' },
        { header: 'failures of the run', align: 'left' },
      ],
      outages.map((r) => [r.pool, fmt(r.attemptsPerSecond, 1), ms(r.firstSuccessMs), topErrors(r)]),
    ),
  );
}

function upstreamOf(url: string, host: string, port: number): Upstream {
  const u = new URL(url);
  return {
    host,
    port,
    config: (proxyHost: string, proxyPort: number): pg.ClientConfig => ({
      host: proxyHost,
      port: proxyPort,
      user: decodeURIComponent(u.username) || 'postgres',
      ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
      database: u.pathname.slice(1) || 'postgres',
    }),
  };
}

await main(command, async (k) => {
  const { ops, rounds, rate, blip, cap, drop } = k;
  const rows: OverheadRow[] = [];
  for (const [width, withValidate] of [
    [1, false],
    [10, false],
    [10, true],
  ] as const) {
    rows.push(await overhead(width, withValidate, ops, rounds));
  }
  printOverhead(rows, ops, rounds);
  const serial = rows[0]!.ratio;
  const targets: BenchTarget[] = [
    {
      target: `serial acquire+release ≥ ${SERIAL_TARGET} × raw generic-pool (CPU)`,
      measured: serial.median,
      interval95: serial.interval95,
      met: serial.median >= SERIAL_TARGET,
    },
  ];

  let faults: Record<string, unknown> | undefined;
  let silent: Record<string, unknown> | undefined;
  if (drop) {
    const availability = await postgresDatabase();
    if (availability.kind !== 'up') {
      const why = availability.kind === 'skip' ? availability.reason : availability.error.message;
      console.log(`\nPostgreSQL comparisons: skipped (${why})`);
    } else {
      const { db } = availability;
      try {
        const up = upstreamOf(db.url, db.host, db.port);
        const server = db.embedded ? 'PGlite (embedded)' : 'PostgreSQL';
        const blips: Record<string, FaultResult[]> = {};
        for (const name of CONTENDERS) blips[name] = [];
        for (let i = 0; i < k['blip-runs']; i++) {
          // Interleaved, so a disturbance of the machine hits every pool alike.
          for (const name of CONTENDERS) {
            blips[name]!.push(await faultRun(name, up, { rate, before: 1_000, fault: blip, after: 2_000 }));
          }
        }
        printBlip(blips, blip, rate);
        const outages: FaultResult[] = [];
        for (const name of CONTENDERS) {
          outages.push(
            await faultRun(name, up, { rate, before: 1_000, fault: k.outage * 1_000, after: 2_000 }),
          );
        }
        printOutage(outages, k.outage, rate);
        faults = { server, rate, blipMs: blip, outageS: k.outage, blips, outages };
        const ours = medianRun(blips.bulwark!);
        const outage = outages.find((r) => r.pool === 'bulwark')!;
        targets.push(
          {
            target: `${blip} ms blip: ≥ 99 % of the acquires during it succeed`,
            measured: ours.during.acquired / ours.during.started,
            met: blips.bulwark!.every((r) => r.during.acquired >= 0.99 * r.during.started),
          },
          {
            target: `${blip} ms blip: first query ≤ 250 ms after the database answers (every run)`,
            measured: Math.max(...blips.bulwark!.map((r) => r.firstSuccessMs ?? Number.POSITIVE_INFINITY)),
            met: blips.bulwark!.every((r) => r.firstSuccessMs !== null && r.firstSuccessMs <= 250),
          },
          {
            target: `${k.outage} s outage: ≤ 5 connects/s, first query ≤ 250 ms after it`,
            measured: outage.firstSuccessMs ?? Number.NaN,
            met:
              outage.attemptsPerSecond <= 5 && outage.firstSuccessMs !== null && outage.firstSuccessMs <= 250,
          },
        );
        const result = await silentDrop(db.url, db.host, db.port, cap);
        silent = { ...result, server };
        console.log(`\nfirst successful query after a silent drop (${server}, 4 idle connections)\n`);
        console.log(
          table(
            [{ header: 'pool', align: 'left' }, { header: 'time to first success' }],
            [
              ['bulwark createPool(pgFactory(...)), defaults', `${result.bulwarkMs} ms`],
              [
                'pg.Pool',
                result.pgPoolMs === null
                  ? `> ${cap} ms (cap)`
                  : `${result.pgPoolMs} ms (${result.pgPoolOutcome})`,
              ],
            ],
          ),
        );
      } finally {
        await db.close();
      }
    }
  }
  const file = writeResults('pool', {
    ops,
    rounds,
    overhead: rows,
    targets,
    ...(faults ? { faults } : {}),
    ...(silent ? { silentDrop: silent } : {}),
  });
  console.log(`\nwrote ${file}`);
});
