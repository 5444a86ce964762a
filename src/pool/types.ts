/**
 * The pool's public value types: per-call acquire options, close options, and the stats snapshot.
 */
import type { BreakerState } from '../policy/breaker.ts';

/**
 * Options of one `acquire()` or `use()` call.
 *
 * @example
 * ```ts
 * const conn = await pool.acquire({ signal: AbortSignal.timeout(500) });
 * try {
 *   await conn.query('SELECT 1');
 * } finally {
 *   pool.release(conn);
 * }
 * ```
 */
export interface AcquireOptions {
  /**
   * Aborts the wait: the acquire rejects with the signal's reason, and a connection that was on its
   * way goes back to the pool.
   */
  signal?: AbortSignal;
  /** This call's deadline in milliseconds. @default the pool's `acquireTimeout` */
  timeout?: number;
}

/**
 * Options of one `use()` call: the acquire's (`signal`, `timeout`) and the use's own deadline.
 *
 * @example
 * ```ts
 * await pool.use((db) => db.query('REFRESH MATERIALIZED VIEW daily'), { useTimeout: 300_000 });
 * ```
 */
export interface UseOptions extends AcquireOptions {
  /**
   * How long `fn` may run on the borrowed connection; past it the connection is destroyed and the
   * use rejects with `TCP_TIMEOUT` (`mayHaveExecuted: true`).
   * @default the pool's `useTimeout`
   */
  useTimeout?: number;
}

/**
 * Options of `close()`.
 *
 * @example
 * ```ts
 * await pool.close({ timeout: 5_000 }); // borrowed connections get 5 s to come back
 * ```
 */
export interface CloseOptions {
  /**
   * How long borrowed connections may take to come back before they are destroyed anyway. A use
   * still running after a whole request budget (the client's 30 s total) is not about to finish.
   * @default 30000
   */
  timeout?: number;
}

/** A snapshot of a pool, from `stats()`. */
export interface PoolStats {
  readonly name: string;
  /** Open connections: idle + borrowed + being checked. */
  readonly size: number;
  /** Connections waiting in the pool. */
  readonly idle: number;
  /** Connections lent to callers. */
  readonly borrowed: number;
  /** Connections being validated or pinged. */
  readonly checking: number;
  /** Acquires not yet answered. */
  readonly waiting: number;
  /** Creates under way (connecting, or waiting out the backoff). */
  readonly creating: number;
  /** Connections opened since the pool was created. */
  readonly created: number;
  /** Connections closed since the pool was created. */
  readonly destroyed: number;
  /** Connect attempts (calls of `factory.create`). */
  readonly createAttempts: number;
  /** Connect attempts that failed. */
  readonly failedCreates: number;
  /** Validations and keepalive pings that failed. */
  readonly failedValidations: number;
  /** Connections closed by `maxLifetime`, `idleTimeout` or because the driver reported them dead. */
  readonly retired: number;
  /** Acquires that reached their deadline. */
  readonly timedOut: number;
  /** Uses that ran past their `useTimeout` (their connections were destroyed). */
  readonly usesTimedOut: number;
  /** Acquires shed at once because the queue was full. */
  readonly rejected: number;
  /** The create breaker. */
  readonly circuit: BreakerState | 'disabled';
  readonly closed: boolean;
}
