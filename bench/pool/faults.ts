/**
 * One fault run: a pool (bulwark, pg.Pool or raw generic-pool) behind its own fault proxy in front
 * of the same PostgreSQL, under open-loop load (a request every 1000/rate ms, whether or not the
 * earlier ones finished), when the database "restarts": live connections reset, new connects
 * refused for `fault` ms, then accepted again. It reports the requests that started during the
 * fault (acquired, succeeded, latency), the time from the database answering again to the first
 * successful query, and the connect attempts per second while it refused.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { startFaultProxy } from '../../test/helpers/fault-proxy.ts';
import { type ContenderName, contender, type RequestRecord } from './contenders.ts';

/** The scenario's timing and load. */
export interface FaultScenario {
  /** Requests per second, open loop. */
  readonly rate: number;
  /** Load before the fault (ms). */
  readonly before: number;
  /** How long connects are refused (ms). */
  readonly fault: number;
  /** Load after the database answers again (ms). */
  readonly after: number;
}

/** What one run measured. Latencies are ms from the request's start to its end. */
export interface FaultResult {
  readonly pool: ContenderName;
  readonly faultMs: number;
  readonly requests: number;
  /** Requests that started while connects were refused. */
  readonly during: {
    readonly started: number;
    /** Got a connection (at any time). */
    readonly acquired: number;
    /** Completed their query. */
    readonly succeeded: number;
    readonly latency: Quantiles;
  };
  /** From the database accepting connects again to the first successful query to end after it. */
  readonly firstSuccessMs: number | null;
  /** Connect attempts per second while connects were refused. */
  readonly attemptsPerSecond: number;
  /** Failed requests of the whole run, by error code. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface Quantiles {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

/** Where the proxy forwards to, and the client configuration through it. */
export interface Upstream {
  readonly host: string;
  readonly port: number;
  config(host: string, port: number): pg.ClientConfig;
}

const SETTINGS = { min: 2, max: 4, acquireTimeout: 2_000 } as const;

/** Runs the scenario once against a fresh pool of `name` behind a fresh proxy. */
export async function faultRun(name: ContenderName, up: Upstream, s: FaultScenario): Promise<FaultResult> {
  const proxy = await startFaultProxy({ host: up.host, port: up.port });
  const pool = contender(name, { config: up.config(proxy.host, proxy.port), ...SETTINGS });
  try {
    await warm(pool, SETTINGS.min);
    const records: RequestRecord[] = [];
    const running: Promise<unknown>[] = [];
    const timer = setInterval(
      () => running.push(pool.request().then((r) => records.push(r))),
      1_000 / s.rate,
    );
    await sleep(s.before);
    const down = performance.now();
    await proxy.setFault({ kind: 'reset' });
    await proxy.setFault({ kind: 'refuse' });
    const attemptsBefore = pool.attempts();
    await sleep(s.fault);
    const attempts = pool.attempts() - attemptsBefore;
    await proxy.setFault({ kind: 'pass' });
    const back = performance.now();
    await sleep(s.after);
    clearInterval(timer);
    await Promise.race([Promise.all(running), sleep(10_000)]);

    const during = records.filter((r) => r.start >= down && r.start < back);
    const ok = (r: RequestRecord): boolean => r.error === undefined;
    const firstAfter = Math.min(...records.filter((r) => ok(r) && r.end >= back).map((r) => r.end));
    return {
      pool: name,
      faultMs: s.fault,
      requests: records.length,
      during: {
        started: during.length,
        acquired: during.filter((r) => r.acquired !== undefined).length,
        succeeded: during.filter(ok).length,
        latency: quantiles(during.map((r) => r.end - r.start)),
      },
      firstSuccessMs: Number.isFinite(firstAfter) ? firstAfter - back : null,
      attemptsPerSecond: attempts / (s.fault / 1_000),
      errors: countErrors(records),
    };
  } finally {
    await Promise.race([pool.close().catch(() => {}), sleep(5_000)]);
    await proxy.close();
  }
}

/** Waits until the pool holds `min` connections (pools that open them lazily: a few requests). */
async function warm(pool: ReturnType<typeof contender>, min: number): Promise<void> {
  const until = performance.now() + 5_000;
  await Promise.all(Array.from({ length: min }, () => pool.request()));
  while (pool.size() < min && performance.now() < until) await sleep(10);
}

function quantiles(xs: readonly number[]): Quantiles {
  if (xs.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]!;
  return { p50: at(0.5), p99: at(0.99), max: s.at(-1)! };
}

/** Failures by what they were: a Bulwark code, else the driver's code or message. */
function countErrors(records: readonly RequestRecord[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) {
    if (r.error === undefined) continue;
    const e = r.error as { code?: unknown; message?: unknown; name?: unknown };
    const key = isBulwarkError(r.error)
      ? r.error.code
      : typeof e.code === 'string'
        ? e.code
        : String(e.message ?? e.name ?? r.error).slice(0, 48);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
