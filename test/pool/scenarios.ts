// The network-fault scenarios every driver factory must survive, run with the fault proxy between
// the pool and a real server: a silent drop found by validation and one found by keepalive pings
// (failure-scenarios.ts has the rest). Each await has a deadline.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
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
export async function withProxiedPool<T>(
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
export async function dropLiveConnections(proxy: FaultProxy): Promise<void> {
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
