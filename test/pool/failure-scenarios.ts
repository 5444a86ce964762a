// The failure scenarios every driver factory must get right, with the fault proxy between the pool
// and a real server: a connection killed mid-statement under load, another client's error inside
// use(), a 300 ms database blip under steady load, an outage longer than acquireTimeout, a
// connection dropped right after its last use, and the driver's own statement timeout. Time
// bounds are correctness checks with generous slack; the bench measures the real figures.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '../../src/client/client.ts';
import { type BulwarkError, isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { classify } from '../../src/errors/classify.ts';
import type { PoolFactory } from '../../src/pool/factory.ts';
import type { PoolOptions } from '../../src/pool/options.ts';
import { createPool, type Pool } from '../../src/pool/pool.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { type DriverCase, dropLiveConnections, within, withProxiedPool } from './scenarios.ts';

/** A driver case that can also keep the server busy and knows its statement timeout. */
export interface FailureCase<T> extends DriverCase<T> {
  /** A statement the server takes `seconds` to answer (`pg_sleep`, `SLEEP`, `BLPOP`). */
  slow(conn: T, seconds: number): Promise<unknown>;
  /** A factory straight to the server (no proxy), with driver options. */
  direct(options: { statementTimeout?: number }): PoolFactory<T>;
  /** The connection's statement timeout as the database (or the client, for Redis) has it, in ms. */
  statementTimeout(conn: T): Promise<number>;
  /** Whether `err` is the driver's own "statement timed out" error. */
  isStatementTimeout(err: unknown): boolean;
  /**
   * Whether the connection is usable at once after that error: the server cancelled the statement
   * (PostgreSQL, MariaDB), not only the client stopped waiting (ioredis: the server still runs it).
   */
  readonly statementTimeoutKeepsConnection: boolean;
}

const SLACK = 1_500; // a loaded 2-core machine, other suites running

/** Every failure a caller may see from the pool: a BulwarkError, never a raw driver error. */
function assertTagged(err: unknown, port: number): asserts err is BulwarkError {
  assert.ok(isBulwarkError(err), `a BulwarkError, not ${String(err)}`);
  assert.ok(['tcp', 'pool'].includes(err.layer), `${err.layer}/${err.code}`);
  if (err.layer === 'tcp') {
    assert.equal(err.mayHaveExecuted, true, `${err.code} may have executed`);
    assert.equal(err.target?.port, port, 'the target is the pool’s');
    assert.ok(err.cause !== undefined, 'the driver error is its cause');
  }
  assert.ok(!/password|secret/i.test(JSON.stringify(err)), 'no credentials in the log line');
}

/**
 * 50 concurrent uses of a 0.5 s statement on a pool of max 10; every live connection is reset
 * while they run. The 10 running callers each get a tagged tcp error (layer, code, mayHaveExecuted,
 * target, cause), the 40 waiting ones get new connections and succeed; afterwards the pool returns
 * to min. `afterSettle` runs then (pg counts pg_stat_activity).
 */
export async function midStatementKill<T>(
  c: FailureCase<T>,
  afterSettle?: (pool: Pool<T>) => Promise<void>,
): Promise<{ failed: number; ok: number }> {
  let result = { failed: 0, ok: 0 };
  const min = 2;
  await withProxiedPool(
    c,
    { min, max: 10, acquireTimeout: 10_000, idleTimeout: 500, keepaliveInterval: 0 },
    async (pool, proxy) => {
      await within(
        waitFor(() => pool.stats().idle === min, 'a warm pool', { timeout: 4_000 }),
        5_000,
        'warm-up',
      );
      const outcomes = Array.from({ length: 50 }, () =>
        pool
          .use((conn) => c.slow(conn, 0.5))
          .then(
            () => undefined,
            (err: unknown) => err,
          ),
      );
      await within(
        waitFor(() => pool.stats().borrowed === 10, 'ten statements running', { timeout: 5_000 }),
        6_000,
        'load',
      );
      await sleep(150); // the statements are on the server now
      await proxy.setFault({ kind: 'reset' });
      await proxy.setFault({ kind: 'pass' });
      const errors = (await within(Promise.all(outcomes), 20_000, 'every use settles')).filter(
        (e) => e !== undefined,
      );
      for (const err of errors) {
        assertTagged(err, proxy.port);
        assert.equal(err.layer, 'tcp', `${err.code}: ${err.message}`);
        assert.ok(['TCP_RESET', 'TCP_CLOSED'].includes(err.code), err.code);
      }
      assert.equal(errors.length, 10, 'exactly the statements running at the kill failed');
      await within(
        waitFor(
          () => pool.stats().size === min && pool.stats().idle === min,
          `the pool back to min (${JSON.stringify(pool.stats())})`,
          { timeout: 5_000 },
        ),
        6_000,
        'back to min',
      );
      await afterSettle?.(pool);
      result = { failed: errors.length, ok: 50 - errors.length };
    },
  );
  return result;
}

/**
 * Another service refuses connections (a real Bulwark client's TCP_REFUSED) inside use(), ten
 * times: the caller gets that very error each time, and the database connection is kept — no new
 * connection reaches the proxy.
 */
export async function unrelatedErrorKeepsConnection<T>(c: FailureCase<T>): Promise<void> {
  const nobody = await startFaultProxy({ host: '127.0.0.1', port: 9 }, { fault: { kind: 'refuse' } });
  const client = createClient({ retry: false });
  try {
    await withProxiedPool(c, { min: 1, max: 2, keepaliveInterval: 0 }, async (pool, proxy) => {
      await within(
        waitFor(() => pool.stats().idle === 1, 'a warm pool', { timeout: 4_000 }),
        5_000,
        'warm-up',
      );
      const accepted = proxy.accepted;
      for (let i = 0; i < 10; i++) {
        let thrown: unknown;
        const got = await within(
          pool
            .use(async (conn) => {
              await c.query(conn);
              try {
                await client.request(`${nobody.url}/charge`);
              } catch (err) {
                thrown = err;
                throw err;
              }
            })
            .catch((e: unknown) => e),
          5_000,
          'a use with a failing HTTP call',
        );
        assert.ok(isBulwarkError(got) && got.code === 'TCP_REFUSED', String(got));
        assert.equal(got, thrown, 'the same object');
      }
      assert.equal(proxy.accepted, accepted, '0 reconnects');
      assert.equal(pool.stats().destroyed, 0);
      assert.equal(pool.stats().created, 1);
    });
  } finally {
    await client.close();
    await nobody.close();
  }
}

interface UseRecord {
  readonly start: number;
  /** When fn started: the acquire's end (undefined when the acquire failed). */
  acquired?: number;
  end: number;
  error?: unknown;
}

/** Open-loop load: a use(query) every `every` ms, whether or not the earlier ones finished, until `stop()`. */
function steadyLoad<T>(pool: Pool<T>, c: DriverCase<T>, every: number) {
  const records: UseRecord[] = [];
  const running: Promise<void>[] = [];
  const one = async (): Promise<void> => {
    const record: UseRecord = { start: performance.now(), end: 0 };
    records.push(record);
    try {
      await pool.use((conn) => {
        record.acquired = performance.now();
        return c.query(conn);
      });
    } catch (err) {
      record.error = err;
    }
    record.end = performance.now();
  };
  const timer = setInterval(() => running.push(one()), every);
  return {
    records,
    stop: async (): Promise<void> => {
      clearInterval(timer);
      await within(Promise.all(running), 10_000, 'the load settles');
    },
  };
}

const isAcquireFailure = (err: unknown): boolean => isBulwarkError(err) && err.layer === 'pool';

/**
 * Steady load; the database restarts (live connections reset, connects refused for 300 ms). At
 * least 99 % of the acquires started during the blip succeed, none waits past acquireTimeout, the
 * first query after the database answers again comes within 250 ms (checked with slack), and
 * every failure is tagged. Returns what was measured.
 */
export async function blipUnderLoad<T>(
  c: FailureCase<T>,
): Promise<{ during: number; acquired: number; firstAfterMs: number; slowestAcquireMs: number }> {
  let result = { during: 0, acquired: 0, firstAfterMs: 0, slowestAcquireMs: 0 };
  const acquireTimeout = 2_000;
  await withProxiedPool(c, { min: 2, max: 4, acquireTimeout, keepaliveInterval: 0 }, async (pool, proxy) => {
    await within(
      waitFor(() => pool.stats().idle === 2, 'a warm pool', { timeout: 4_000 }),
      5_000,
      'warm-up',
    );
    const load = steadyLoad(pool, c, 10);
    await sleep(300);
    const down = performance.now();
    await proxy.setFault({ kind: 'reset' });
    await proxy.setFault({ kind: 'refuse' });
    await sleep(300);
    await proxy.setFault({ kind: 'pass' });
    const back = performance.now();
    await sleep(1_500);
    await load.stop();
    const during = load.records.filter((r) => r.start >= down && r.start < back);
    const acquired = during.filter((r) => !isAcquireFailure(r.error));
    assert.ok(during.length >= 10, `${during.length} uses started during the blip`);
    assert.ok(
      acquired.length >= 0.99 * during.length,
      `${acquired.length} of ${during.length} acquires during the blip succeeded`,
    );
    let slowest = 0;
    for (const r of load.records) {
      if (r.error !== undefined) assertTagged(r.error, proxy.port);
      slowest = Math.max(slowest, (r.acquired ?? r.end) - r.start);
    }
    assert.ok(
      slowest <= acquireTimeout + SLACK,
      `no acquire waited past its deadline (${Math.round(slowest)} ms)`,
    );
    const firstAfter = Math.min(
      ...load.records.filter((r) => r.error === undefined && r.end >= back).map((r) => r.end),
    );
    assert.ok(
      firstAfter - back <= 250 + SLACK,
      `first query ${Math.round(firstAfter - back)} ms after the database answered`,
    );
    result = {
      during: during.length,
      acquired: acquired.length,
      firstAfterMs: firstAfter - back,
      slowestAcquireMs: slowest,
    };
  });
  return result;
}

/**
 * The database is down for 3 s, longer than acquireTimeout (1 s): waiting acquires fail with
 * POOL_CREATE_FAILED whose cause is the classified tcp error, no later than their deadline;
 * connects stay within 5 a second; after the database returns the pool serves again at once.
 */
export async function outageLongerThanAcquireTimeout<T>(
  c: FailureCase<T>,
): Promise<{ uses: number; attemptsPerSecond: number; firstAfterMs: number }> {
  let result = { uses: 0, attemptsPerSecond: 0, firstAfterMs: 0 };
  const acquireTimeout = 1_000;
  const outage = 3_000;
  await withProxiedPool(c, { min: 1, max: 4, acquireTimeout, keepaliveInterval: 0 }, async (pool, proxy) => {
    await within(
      waitFor(() => pool.stats().idle === 1, 'a warm pool', { timeout: 4_000 }),
      5_000,
      'warm-up',
    );
    const load = steadyLoad(pool, c, 10);
    await sleep(200);
    await proxy.setFault({ kind: 'reset' });
    await proxy.setFault({ kind: 'refuse' });
    const down = performance.now();
    const attemptsBefore = pool.stats().createAttempts;
    await sleep(outage);
    const attempts = pool.stats().createAttempts - attemptsBefore;
    await proxy.setFault({ kind: 'pass' });
    const back = performance.now();
    await sleep(1_000);
    await load.stop();
    const failedAcquires = load.records.filter(
      (r) => r.start >= down && r.end < back && isAcquireFailure(r.error),
    );
    assert.ok(failedAcquires.length >= 4, `${failedAcquires.length} acquires failed during the outage`);
    for (const r of failedAcquires) {
      const err = r.error as BulwarkError;
      assert.equal(err.code, 'POOL_CREATE_FAILED', err.message);
      assert.equal(classify(err.cause).layer, 'tcp', `cause: ${String(err.cause)}`);
      assert.ok(
        r.end - r.start <= acquireTimeout + SLACK,
        `failed by its deadline (${Math.round(r.end - r.start)} ms)`,
      );
    }
    for (const r of load.records) if (r.error !== undefined) assertTagged(r.error, proxy.port);
    const perSecond = attempts / (outage / 1_000);
    assert.ok(perSecond <= 5 + 1, `${attempts} connects in ${outage} ms`);
    const firstAfter = Math.min(
      ...load.records.filter((r) => r.error === undefined && r.end >= back).map((r) => r.end),
    );
    assert.ok(
      firstAfter - back <= 250 + SLACK,
      `served ${Math.round(firstAfter - back)} ms after the database returned`,
    );
    result = { uses: load.records.length, attemptsPerSecond: perSecond, firstAfterMs: firstAfter - back };
  });
  return result;
}

/**
 * A connection dropped silently 0.3 s after its last use — under `validateAfterIdle`, so it is
 * handed out unchecked: the next use() ends within its useTimeout (never hangs), and the one after
 * runs on a new connection.
 */
export async function droppedRightAfterUse<T>(
  c: FailureCase<T>,
): Promise<{ tookMs: number; outcome: string }> {
  let result = { tookMs: 0, outcome: '' };
  const useTimeout = 1_000;
  await withProxiedPool(
    c,
    { min: 1, max: 1, useTimeout, validateAfterIdle: 1_000, keepaliveInterval: 0, acquireTimeout: 5_000 },
    async (pool, proxy) => {
      await within(pool.use(c.query), 5_000, 'a first use');
      await sleep(300);
      const accepted = proxy.accepted;
      await dropLiveConnections(proxy);
      const start = performance.now();
      const outcome = await within(
        pool.use(c.query).then(
          () => 'ok',
          (err: unknown) => err,
        ),
        useTimeout + 5_000,
        'the use after the drop',
      );
      const took = performance.now() - start;
      assert.ok(took <= useTimeout + SLACK, `ended within its useTimeout (${Math.round(took)} ms)`);
      if (outcome !== 'ok') {
        assert.ok(isBulwarkError(outcome) && outcome.code === 'TCP_TIMEOUT', String(outcome));
        assert.equal(outcome.mayHaveExecuted, true);
        assert.equal(pool.stats().usesTimedOut, 1);
      }
      await within(pool.use(c.query), 5_000, 'the next use');
      assert.ok(proxy.accepted > accepted, 'on a new connection');
      result = { tookMs: took, outcome: outcome === 'ok' ? 'ok' : (outcome as BulwarkError).code };
    },
  );
  return result;
}

/**
 * The factory sets the database's statement timeout (15 s by default); a statement that runs
 * longer comes back as the driver's own error, untouched. Where the server cancelled it the
 * connection is kept; where only the client gave up (Redis), the check before the next hand-out
 * finds it still busy and it is replaced.
 */
export async function statementTimeoutKeepsConnection<T>(c: FailureCase<T>): Promise<void> {
  const byDefault = createPoolFor(c.direct({}));
  try {
    assert.equal(
      await within(
        byDefault.use((conn) => c.statementTimeout(conn)),
        5_000,
        'read it',
      ),
      15_000,
    );
  } finally {
    await within(byDefault.close(), 10_000, 'close');
  }
  const pool = createPoolFor(c.direct({ statementTimeout: 200 }), { validationTimeout: 3_000 });
  try {
    const got = await within(
      pool.use((conn) => c.slow(conn, 1)).catch((e: unknown) => e),
      5_000,
      'a statement over the limit',
    );
    assert.ok(c.isStatementTimeout(got), `the driver's own error: ${String(got)}`);
    assert.ok(!isBulwarkError(got), 'untouched');
    await within(pool.use(c.query), 5_000, 'the next use');
    if (c.statementTimeoutKeepsConnection) {
      assert.equal(pool.stats().created, 1, 'on the same connection');
      assert.equal(pool.stats().destroyed, 0);
    } else {
      assert.equal(pool.stats().failedValidations, 1, 'checked before its next hand-out, found busy');
      assert.equal(pool.stats().created, 2, 'and replaced');
    }
  } finally {
    await within(pool.close(), 10_000, 'close');
  }
}

/** A small pool straight to the server. */
function createPoolFor<T>(factory: PoolFactory<T>, options: PoolOptions = {}): Pool<T> {
  return createPool(factory, { max: 1, keepaliveInterval: 0, ...options });
}

/**
 * Registers, in the current `describe`, the scenarios above that every driver runs the same way:
 * another client's error inside use(), the blip, the outage, the drop right after a use. (The
 * mid-statement kill and the statement timeout are registered by each driver's file: their checks
 * and wording differ per database.)
 */
export function itSurvivesTheFailures<T>(c: FailureCase<T>, server: string): void {
  it("another client's error inside use() keeps the connection: 0 reconnects", async () => {
    await unrelatedErrorKeepsConnection(c);
  });

  it('a 300 ms blip under steady load costs latency, not errors', async (t) => {
    const r = await blipUnderLoad(c);
    t.diagnostic(
      `${r.acquired}/${r.during} acquires during the blip succeeded; first query ${Math.round(r.firstAfterMs)} ms after the ${server} answered; slowest acquire ${Math.round(r.slowestAcquireMs)} ms`,
    );
  });

  it('an outage longer than acquireTimeout: POOL_CREATE_FAILED by the deadline, ≤ 5 connects/s, served at once after it', async (t) => {
    const r = await outageLongerThanAcquireTimeout(c);
    t.diagnostic(
      `${r.uses} uses; ${r.attemptsPerSecond.toFixed(1)} connects/s while down; first query ${Math.round(r.firstAfterMs)} ms after it returned`,
    );
  });

  it('a connection dropped 0.3 s after its last use: the next use() ends within useTimeout, never hangs', async (t) => {
    const r = await droppedRightAfterUse(c);
    t.diagnostic(`the use after the drop: ${r.outcome} after ${Math.round(r.tookMs)} ms`);
  });
}
