/**
 * Acquire + release overhead of Bulwark's pool against raw generic-pool with the same trivial
 * factory: interleaved rounds (alternating who goes first), this process's CPU time (and wall
 * time) per pair. The figure is throughput relative to generic-pool — generic-pool's time per pair
 * over Bulwark's, per round — with its median and the 95 % interval of that median.
 */
import genericPool from 'generic-pool';
import { createPool, type Pool } from '../../src/pool/pool.ts';
import { medianInterval, type Spread, spread } from '../lib/stats.ts';

interface Acquirer {
  acquire(): Promise<object>;
  release(conn: object): unknown;
}

const trivial = () => ({ create: async () => ({}), destroy: async () => {} });

/** A ratio's median, spread and the 95 % interval of its median. */
export interface Ratio extends Spread {
  readonly interval95: { readonly lo: number; readonly hi: number };
}

/** One case of the overhead comparison. */
export interface OverheadRow {
  readonly width: number;
  readonly withValidate: boolean;
  /** ns of CPU per pair. */
  readonly raw: Spread;
  readonly bulwark: Spread;
  /** Throughput relative to generic-pool (CPU): > 1 is faster. */
  readonly ratio: Ratio;
  readonly wall: { readonly raw: Spread; readonly bulwark: Spread; readonly ratio: Ratio };
}

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

/** Throughput ratios of the rounds (generic-pool's time / Bulwark's, paired by round). */
function ratio(bulwark: readonly number[], raw: readonly number[]): Ratio {
  // Each round's pair ran back to back, so its ratio is the least disturbed by drift and neighbours.
  const samples = bulwark.map((x, i) => raw[i]! / x);
  return { ...spread(samples), interval95: medianInterval(samples) };
}

/** Measures one case: `width` loops, with or without a `validate` on the factory. */
export async function overhead(
  width: number,
  withValidate: boolean,
  ops: number,
  rounds: number,
): Promise<OverheadRow> {
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
  return {
    width,
    withValidate,
    raw: spread(rawCpu),
    bulwark: spread(ourCpu),
    ratio: ratio(ourCpu, rawCpu),
    wall: { raw: spread(rawWall), bulwark: spread(ourWall), ratio: ratio(ourWall, rawWall) },
  };
}
