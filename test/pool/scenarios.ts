// The network-fault scenarios every driver factory must survive, run with the fault proxy between
// the pool and a real server: a silent drop found by validation, a silent drop found by keepalive
// pings, and the database going down and coming back. Each await has a deadline.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { classify } from '../../src/errors/classify.ts';
import type { PoolFactory } from '../../src/pool/factory.ts';
import type { PoolOptions } from '../../src/pool/options.ts';
import { createPool, type Pool } from '../../src/pool/pool.ts';
import { type FaultProxy, startFaultProxy } from '../helpers/fault-proxy.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** How to reach one driver's server through a proxy, and one trivial round trip. */
export interface DriverCase<T> {
  /** The upstream server. */
  readonly host: string;
  readonly port: number;
  /** A factory that connects to `host:port` (the proxy). */
  factory(host: string, port: number): PoolFactory<T>;
  /** One round trip (`SELECT 1`, `PING`). */
  query(conn: T): Promise<unknown>;
}

/** Rejects when `promise` has not settled after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `body` with a proxy in front of the server and a pool through it; cleans both up. */
async function withProxiedPool<T>(
  c: DriverCase<T>,
  options: PoolOptions,
  body: (pool: Pool<T>, proxy: FaultProxy) => Promise<void>,
): Promise<void> {
  const proxy = await within(startFaultProxy({ host: c.host, port: c.port }), 5_000, 'proxy start');
  const pool = createPool(c.factory(proxy.host, proxy.port), options);
  try {
    await body(pool, proxy);
  } finally {
    await within(pool.close({ timeout: 1_000 }), 15_000, 'pool close');
    await within(proxy.close(), 5_000, 'proxy close');
  }
}

/** Makes the proxy forget every live connection (no FIN, no RST) while new ones pass again. */
async function dropLiveConnections(proxy: FaultProxy): Promise<void> {
  await proxy.setFault({ kind: 'drop' });
  await proxy.setFault({ kind: 'pass' });
}

/**
 * Warm pool, silent drop of every pooled connection: the next `use(query)` succeeds within
 * validationTimeout + one connect, on a new connection — not when the OS gives up (minutes).
 * Returns how long it took (ms).
 */
export async function silentDropIsValidatedAway<T>(c: DriverCase<T>): Promise<number> {
  let took = 0;
  await withProxiedPool(
    c,
    {
      min: 2,
      max: 4,
      validateAfterIdle: 100,
      validationTimeout: 500,
      keepaliveInterval: 0,
      acquireTimeout: 5_000,
    },
    async (pool, proxy) => {
      await within(
        waitFor(() => pool.stats().idle === 2, 'two idle connections', { timeout: 4_000 }),
        5_000,
        'warm-up',
      );
      await within(pool.use(c.query), 3_000, 'a query before the drop');
      await sleep(150); // idle past validateAfterIdle
      const accepted = proxy.accepted;
      await dropLiveConnections(proxy);
      const start = performance.now();
      await within(pool.use(c.query), 5_000, 'the first query after a silent drop');
      took = performance.now() - start;
      assert.ok(pool.stats().failedValidations >= 1, 'a validation found the dead connection');
      assert.ok(proxy.accepted > accepted, 'the query ran on a new connection');
    },
  );
  return took;
}

/** Keepalive pings find silently dropped idle connections and replace them before anyone borrows one. */
export async function keepaliveReplacesDroppedIdle<T>(c: DriverCase<T>): Promise<void> {
  await withProxiedPool(
    c,
    {
      min: 2,
      max: 2,
      keepaliveInterval: 300,
      validationTimeout: 300,
      validateAfterIdle: 60_000,
      acquireTimeout: 3_000,
    },
    async (pool, proxy) => {
      await within(
        waitFor(() => pool.stats().idle === 2, 'two idle connections', { timeout: 4_000 }),
        5_000,
        'warm-up',
      );
      const accepted = proxy.accepted;
      await dropLiveConnections(proxy);
      await within(
        waitFor(
          () =>
            pool.stats().failedValidations >= 2 && pool.stats().idle === 2 && proxy.accepted >= accepted + 2,
          'both dropped connections pinged, destroyed and replaced',
          { timeout: 4_000 },
        ),
        5_000,
        'keepalive',
      );
      // No validation on hand-out (validateAfterIdle is a minute): only the pings could have saved this query.
      const start = performance.now();
      await within(pool.use(c.query), 2_000, 'a query on a replaced connection');
      assert.ok(performance.now() - start < 1_000);
    },
  );
}

/**
 * The database goes down (live connections reset, new ones refused): every use fails within its
 * acquire deadline with POOL_CREATE_FAILED whose cause is a tcp error, creates back off (few
 * attempts for hundreds of calls), and when it is back the pool refills to min and serves again.
 */
export async function downAndBack<T>(c: DriverCase<T>): Promise<{ uses: number; attempts: number }> {
  let result = { uses: 0, attempts: 0 };
  await withProxiedPool(
    c,
    {
      min: 1,
      max: 4,
      acquireTimeout: 1_000,
      backoff: { base: 50, cap: 500 },
      breaker: { resetTimeout: 500 },
      keepaliveInterval: 0,
    },
    async (pool, proxy) => {
      await within(
        waitFor(() => pool.stats().idle === 1, 'one idle connection', { timeout: 4_000 }),
        5_000,
        'warm-up',
      );
      await proxy.setFault({ kind: 'reset' });
      await proxy.setFault({ kind: 'refuse' });
      const attemptsBefore = pool.stats().createAttempts;
      let uses = 0;
      let createFailed = 0;
      const until = performance.now() + 2_000;
      while (performance.now() < until) {
        const start = performance.now();
        const err = await within(
          Promise.resolve(pool.use(c.query)).then(
            () => undefined,
            (e: unknown) => e,
          ),
          3_000,
          'a use while the database is down',
        );
        const took = performance.now() - start;
        uses++;
        assert.ok(err !== undefined, 'nothing can succeed while the database is down');
        assert.ok(took < 1_000 + 500, `failed within its acquire deadline (${Math.round(took)} ms)`);
        if (isBulwarkError(err) && err.code === 'POOL_CREATE_FAILED') {
          createFailed++;
          assert.equal(classify(err.cause).layer, 'tcp', `cause: ${String(err.cause)}`);
        } else {
          // A connection that was reset before the pool heard of it: the driver's own tcp error.
          assert.equal(classify(err).layer, 'tcp', String(err));
        }
        await sleep(5);
      }
      const attempts = pool.stats().createAttempts - attemptsBefore;
      assert.ok(createFailed >= uses - 2, `${createFailed} of ${uses} were POOL_CREATE_FAILED`);
      assert.ok(attempts <= 25, `${attempts} connect attempts for ${uses} uses in 2 s: backed off`);
      assert.ok(uses >= 4 * attempts, `${uses} uses, ${attempts} attempts`);
      result = { uses, attempts };

      await proxy.setFault({ kind: 'pass' });
      await within(
        waitFor(() => pool.stats().idle >= 1, 'the pool refilled to min', { timeout: 5_000 }),
        6_000,
        'recovery',
      );
      await within(pool.use(c.query), 3_000, 'a query after recovery');
    },
  );
  return result;
}
