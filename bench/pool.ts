/**
 * Pool benchmarks. (1) Acquire + release overhead of Bulwark's pool against raw generic-pool with
 * the same trivial factory: interleaved rounds, this process's CPU time per pair (and wall time),
 * median and spread of the per-round ratios (target ≤ 1.1×). (2) Time to the first successful
 * query after a silent drop (a NAT forgets every pooled flow): Bulwark's pool with pgFactory
 * against pg's own pg.Pool, both through the same fault proxy, pg.Pool's wait capped. Writes
 * bench/results/pool.json and prints a table.
 *
 *   node bench/pool.ts [--ops 200000] [--rounds 7] [--cap 30000] [--no-drop]
 *
 * PostgreSQL: DATABASE_URL, else the embedded PGlite server (test/helpers/databases.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import genericPool from 'generic-pool';
import pg from 'pg';
import { pgFactory } from '../src/pool/drivers/pg.ts';
import { createPool, type Pool } from '../src/pool/pool.ts';
import { postgresDatabase } from '../test/helpers/databases.ts';
import { startFaultProxy } from '../test/helpers/fault-proxy.ts';
import { main } from './lib/args.ts';
import { fmt, table, writeResults } from './lib/report.ts';
import { type Spread, spread } from './lib/stats.ts';

const command = {
  name: 'node bench/pool.ts',
  summary:
    'acquire+release overhead against raw generic-pool, and the first query after a silent drop against pg.Pool',
  knobs: {
    ops: { type: 'integer', default: 200_000, min: 1_000, help: 'acquire+release pairs per round' },
    rounds: { type: 'integer', default: 7, min: 4, help: 'interleaved rounds per pool' },
    cap: {
      type: 'integer',
      default: 30_000,
      min: 1_000,
      help: "how long pg.Pool's first query may take (ms)",
    },
    drop: {
      type: 'boolean',
      default: true,
      help: 'run the silent-drop comparison (needs PostgreSQL or PGlite)',
    },
  },
  examples: ['node bench/pool.ts --ops 100000 --rounds 9', 'node bench/pool.ts --no-drop'],
} as const;

// --- (1) acquire + release overhead ---

interface Acquirer {
  acquire(): Promise<object>;
  release(conn: object): unknown;
}

const trivial = () => ({ create: async () => ({}), destroy: async () => {} });

/**
 * One round: `width` concurrent loops, `ops` acquire+release pairs in all. Returns ns per pair of
 * this process's CPU time (user + system: what the pool costs, whatever else runs on the machine)
 * and of wall-clock time.
 */
async function measure(pool: Acquirer, width: number, ops: number): Promise<{ cpu: number; wall: number }> {
  const per = Math.floor(ops / width);
  const loop = async (): Promise<void> => {
    for (let i = 0; i < per; i++) pool.release(await pool.acquire());
  };
  const cpu = process.cpuUsage();
  const wall = process.hrtime.bigint();
  await Promise.all(Array.from({ length: width }, loop));
  const used = process.cpuUsage(cpu);
  const n = per * width;
  return { cpu: ((used.user + used.system) * 1_000) / n, wall: Number(process.hrtime.bigint() - wall) / n };
}

async function overhead(width: number, withValidate: boolean, ops: number, rounds: number) {
  const raw = genericPool.createPool(trivial(), { max: 10 });
  const factory = withValidate ? { ...trivial(), validate: () => true } : trivial();
  const ours: Pool<object> = createPool(factory, { max: 10 });
  // Warm both (JIT, connections) before measuring.
  await measure(raw, width, ops);
  await measure(ours, width, ops);
  const rawCpu: number[] = [];
  const ourCpu: number[] = [];
  const rawWall: number[] = [];
  const ourWall: number[] = [];
  const round = async (pool: Acquirer, cpu: number[], wall: number[]): Promise<void> => {
    const m = await measure(pool, width, ops);
    cpu.push(m.cpu);
    wall.push(m.wall);
  };
  for (let i = 0; i < rounds; i++) {
    // Interleaved, alternating who goes first, so drift (GC, CPU frequency) hits both.
    if (i % 2 === 0) {
      await round(raw, rawCpu, rawWall);
      await round(ours, ourCpu, ourWall);
    } else {
      await round(ours, ourCpu, ourWall);
      await round(raw, rawCpu, rawWall);
    }
  }
  await raw.drain();
  await raw.clear();
  await ours.close();
  // Each round's pair ran back to back, so its ratio is the least disturbed by drift and neighbours.
  const paired = (ours: number[], theirs: number[]): Spread => spread(ours.map((x, i) => x / theirs[i]!));
  return {
    width,
    withValidate,
    raw: spread(rawCpu),
    bulwark: spread(ourCpu),
    ratio: paired(ourCpu, rawCpu),
    wall: { raw: spread(rawWall), bulwark: spread(ourWall), ratio: paired(ourWall, rawWall) },
  };
}

// --- (2) first successful query after a silent drop ---

async function silentDrop(url: string, host: string, port: number, cap: number) {
  const u = new URL(url);
  const config = (proxyHost: string, proxyPort: number): pg.ClientConfig => ({
    host: proxyHost,
    port: proxyPort,
    user: decodeURIComponent(u.username) || 'postgres',
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    database: u.pathname.slice(1) || 'postgres',
  });
  const SIZE = 4;

  // Bulwark, defaults (validateAfterIdle 1 s, validationTimeout 1 s).
  const proxyA = await startFaultProxy({ host, port });
  const ours = createPool(pgFactory(config(proxyA.host, proxyA.port)), { min: SIZE, max: SIZE });
  await Promise.all(Array.from({ length: SIZE }, () => ours.use((c) => c.query('SELECT 1'))));
  await sleep(1_200); // idle, as a pool is when a NAT forgets its flows
  await proxyA.setFault({ kind: 'drop' });
  await proxyA.setFault({ kind: 'pass' });
  let start = performance.now();
  await ours.use((c) => c.query('SELECT 1'));
  const bulwarkMs = performance.now() - start;
  await ours.close({ timeout: 1_000 });
  await proxyA.close();

  // pg.Pool, through the same kind of proxy; the wait is capped.
  const proxyB = await startFaultProxy({ host, port });
  const theirs = new pg.Pool({
    ...config(proxyB.host, proxyB.port),
    max: SIZE,
    connectionTimeoutMillis: 5_000,
  });
  theirs.on('error', () => {});
  const clients = await Promise.all(Array.from({ length: SIZE }, () => theirs.connect()));
  for (const c of clients) {
    await c.query('SELECT 1');
    c.release();
  }
  await sleep(1_200);
  await proxyB.setFault({ kind: 'drop' });
  await proxyB.setFault({ kind: 'pass' });
  start = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    theirs.query('SELECT 1').then(
      () => 'ok' as const,
      (err: unknown) => `error: ${String(err)}`,
    ),
    new Promise<'capped'>((resolve) => {
      timer = setTimeout(() => resolve('capped'), cap);
    }),
  ]);
  clearTimeout(timer);
  const pgPoolMs = performance.now() - start;
  await proxyB.close(); // tears the hung sockets down so pg.Pool can end
  await theirs.end().catch(() => {});
  return {
    bulwarkMs: Math.round(bulwarkMs),
    pgPoolMs: outcome === 'capped' ? null : Math.round(pgPoolMs),
    pgPoolOutcome: outcome === 'capped' ? `no answer within the ${cap} ms cap` : outcome,
    capMs: cap,
  };
}

// --- run ---

await main(command, async ({ ops, rounds, cap, drop }) => {
  const rows = [];
  for (const [width, withValidate] of [
    [1, false],
    [10, false],
    [10, true],
  ] as const) {
    rows.push(await overhead(width, withValidate, ops, rounds));
  }
  const ns = (s: Spread): string => `${fmt(s.median, 0)} (${fmt(s.min, 0)}–${fmt(s.max, 0)})`;
  const ratio = (s: Spread): string => `${fmt(s.median, 3)}× (${fmt(s.min, 2)}–${fmt(s.max, 2)})`;
  console.log(
    `acquire + release, CPU ns per pair: median of ${rounds} interleaved rounds (min–max), ${ops} pairs a round`,
  );
  console.log('ratio: median of the per-round bulwark/generic-pool ratios (target ≤ 1.1×)\n');
  console.log(
    table(
      [
        { header: 'loops' },
        { header: 'factory', align: 'left' },
        { header: 'generic-pool' },
        { header: 'bulwark' },
        { header: 'ratio (CPU)' },
        { header: 'ratio (wall)' },
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

  let silent: Record<string, unknown> | undefined;
  if (drop) {
    const availability = await postgresDatabase();
    if (availability.kind !== 'up') {
      console.log(
        `\nsilent drop: skipped (${availability.kind === 'skip' ? availability.reason : availability.error.message})`,
      );
    } else {
      const { db } = availability;
      try {
        const result = await silentDrop(db.url, db.host, db.port, cap);
        silent = { ...result, server: db.embedded ? 'PGlite (embedded)' : 'PostgreSQL' };
        console.log(`\nfirst successful query after a silent drop (${silent.server}, 4 idle connections)\n`);
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
    ...(silent ? { silentDrop: silent } : {}),
  });
  console.log(`\nwrote ${file}`);
});
