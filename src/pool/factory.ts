/**
 * The factory contract: how a pool opens, closes and checks one connection of any driver, and
 * `checkFactory`, which rejects a malformed factory when the pool is created.
 */
import type { Target } from '../errors/bulwark-error.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';

/**
 * What the pool hands to {@link PoolFactory.create}. A factory that ignores it still works; one
 * that uses it stops connecting when the pool gives up and reports connections that die while idle.
 */
export interface CreateContext {
  /** Aborted when the pool abandons this create (`createTimeout` passed, or the pool closed). */
  readonly signal: AbortSignal;
  /**
   * Tells the pool that this connection died on its own (the driver emitted `error` or `end`). An
   * idle connection is then destroyed and replaced at once; a borrowed one is destroyed when it
   * comes back. Safe to call at any time, more than once, and before `create` has resolved.
   */
  lost(reason?: unknown): void;
}

/**
 * How to open, close and check one connection. `bulwark/pg`, `bulwark/mysql2` and
 * `bulwark/ioredis` build one from the configuration you already have; anything else with a
 * create/destroy pair works too.
 *
 * @example
 * ```ts
 * const pool = createPool({
 *   create: async () => connectSomehow(),
 *   destroy: (conn) => conn.close(),
 *   validate: (conn) => conn.ping(), // resolves: healthy; false, a throw or a rejection: broken
 * });
 * ```
 */
export interface PoolFactory<T> {
  /**
   * Opens one connection. A rejection (or a synchronous throw) is a failed create: the pool backs
   * off with jitter and reports it as `POOL_CREATE_FAILED`, the classified error as its `cause`.
   */
  create(context: CreateContext): Promise<T>;
  /**
   * Closes one connection. Errors and synchronous throws are swallowed, and the pool waits at most
   * 5 s for it, so a connection whose socket went silent cannot stall `close()`.
   */
  destroy(conn: T): Promise<unknown> | unknown;
  /**
   * Checks one connection (a `SELECT 1`, a `PING`). It is healthy when `validate` returns or
   * resolves with anything but `false`; it is broken when it returns or resolves `false`, throws
   * (also synchronously), rejects, or does not settle within `validationTimeout`. Without it the
   * pool cannot validate idle connections or send keepalive pings.
   */
  validate?(conn: T): Promise<unknown> | unknown;
  /** Where the connections go, for errors and events (the driver factories fill it in). */
  readonly target?: Target;
}

/** Throws an `InvalidOptionError` naming the member when `factory` is not a {@link PoolFactory}. */
export function checkFactory(factory: unknown): void {
  if (typeof factory !== 'object' || factory === null) {
    throw new InvalidOptionError('factory', 'an object with create() and destroy()', factory);
  }
  const f = factory as Record<string, unknown>;
  if (typeof f.create !== 'function') throw new InvalidOptionError('factory.create', 'a function', f.create);
  if (typeof f.destroy !== 'function')
    throw new InvalidOptionError('factory.destroy', 'a function', f.destroy);
  if (f.validate !== undefined && typeof f.validate !== 'function') {
    throw new InvalidOptionError('factory.validate', 'a function or undefined', f.validate);
  }
}

/** How long the pool waits for one `factory.destroy` before it stops waiting. */
export const DESTROY_WAIT = 5_000;

/**
 * Calls `factory.destroy(conn)` and resolves when it settles or after `DESTROY_WAIT` ms on `clock`,
 * whichever comes first. Never rejects: a connection being thrown away has nothing left to report.
 */
export function destroyQuietly<T>(
  factory: PoolFactory<T>,
  conn: T,
  clock: { setTimeout(fn: () => void, ms: number): unknown; clearTimeout(handle: unknown): void },
): Promise<void> {
  let result: unknown;
  try {
    result = factory.destroy(conn);
  } catch {
    return Promise.resolve();
  }
  if (typeof (result as { then?: unknown } | null)?.then !== 'function') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = clock.setTimeout(resolve, DESTROY_WAIT);
    unref(timer);
    Promise.resolve(result as PromiseLike<unknown>).then(
      () => {
        clock.clearTimeout(timer);
        resolve();
      },
      () => {
        clock.clearTimeout(timer);
        resolve();
      },
    );
  });
}

/** Lets the process exit while only this timer is pending (real timers only; others ignore it). */
export function unref(handle: unknown): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}
