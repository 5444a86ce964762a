/**
 * Pool options: the public type with every default documented, the frozen defaults, and
 * `resolvePoolOptions`, which validates once at creation (naming the option path) and never
 * touches the caller's object.
 */
import type { Clock } from '../clock/clock.ts';
import type { Target } from '../errors/bulwark-error.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import {
  checkClock,
  checkDuration,
  checkNumber,
  checkObject,
  checkString,
  checkThat,
} from '../options/validate.ts';
import { type BackoffOptions, type ResolvedBackoff, resolveBackoff } from '../policy/backoff.ts';
import {
  BREAKER_DEFAULTS,
  type BreakerOptions,
  type ResolvedBreaker,
  resolveBreaker,
} from '../policy/breaker.ts';

/**
 * Options of {@link createPool} (all optional). Durations are milliseconds.
 *
 * @example
 * ```ts
 * const pool = createPool(pgFactory(process.env.DATABASE_URL!), {
 *   min: 2,
 *   max: 20,
 *   acquireTimeout: 2_000,
 *   validateAfterIdle: 500,
 *   leakDetectionThreshold: 30_000,
 * });
 * ```
 */
export interface PoolOptions {
  /**
   * Connections kept open even when idle; the pool refills to it after failures and retirements.
   * @default 0
   */
  min?: number;
  /**
   * Connections open at most (idle + borrowed + being checked). Must be ≥ `min`.
   * @default 10
   */
  max?: number;
  /**
   * How long `acquire()` may wait for a connection before it fails with `POOL_ACQUIRE_TIMEOUT`
   * (or `POOL_CREATE_FAILED` while new connections cannot be created). Always finite.
   * @default 10000
   */
  acquireTimeout?: number;
  /**
   * Acquires allowed to wait once no connection is idle and the pool cannot grow; the next one
   * fails at once with `POOL_QUEUE_FULL`. Bounded by default: a queue longer than the pool can
   * drain within `acquireTimeout` only turns load into timeouts and memory — 1 000 waiters are
   * ~1 s of work for 10 connections at 10 ms a query. `0` never waits.
   * @default 1000
   */
  maxWaiting?: number;
  /**
   * A connection idle for longer than this is validated (`factory.validate`) before it is handed
   * out; one that fails is destroyed and the acquire goes on with another or a new one. HikariCP
   * skips validation for 500 ms after use. The pool's housekeeping tick (every quarter of this, at
   * most 250 ms) marks connections for validation, so the check may come up to half of it earlier,
   * never later. `0` validates every hand-out.
   * @default 1000
   */
  validateAfterIdle?: number;
  /**
   * How long one validation or keepalive ping may take; a connection that does not answer in time
   * is broken (a silently dropped connection never answers). When a hand-out validation times
   * out, the other idle connections are checked in the background and the acquire goes on with a
   * new connection, so it takes at most `validationTimeout` plus one connect.
   * @default 1000
   */
  validationTimeout?: number;
  /**
   * Idle connections are pinged (`factory.validate`) after this long without use, minus up to
   * 10 % jitter drawn per connection, so NAT and load-balancer entries stay alive and dead
   * connections are found before a caller finds them (HikariCP `keepaliveTime`). `0` turns pings off.
   * @default 60000
   */
  keepaliveInterval?: number;
  /**
   * A connection older than this (± 2.5 % jitter, so they do not all reconnect at once) is never
   * handed out again: it is retired when it comes back or, idle, when it expires, and the pool
   * refills to `min` (HikariCP `maxLifetime`). `0` means no limit.
   * @default 1800000
   */
  maxLifetime?: number;
  /**
   * Idle connections above `min` are closed after this long without use. Database connections are
   * expensive to open (a backend process, authentication, TLS), so they are kept for a while —
   * HikariCP's default — and keepalive pings keep them healthy meanwhile. `0` keeps them.
   * @default 600000
   */
  idleTimeout?: number;
  /**
   * A `leak` event is emitted (with the stack of the `acquire()` call) when a connection is held
   * longer than this. `0` turns leak detection off; it costs a stack trace per acquire when on.
   * @default 0
   */
  leakDetectionThreshold?: number;
  /**
   * A create that has not settled after this long is abandoned (its `signal` aborts) and counts as
   * a failed create (`TCP_TIMEOUT`). The drivers' own connect timeouts should fire first.
   * @default 10000
   */
  createTimeout?: number;
  /**
   * While connects fail and acquires are waiting, one connect is tried every `probeInterval` to
   * `probeInterval` × 1.15 ms (the jitter keeps a fleet of pools from probing in step), so a
   * database that answers again serves the waiting callers within one interval plus one connect.
   * It is also the shortest gap between two failed connects of one pool in any case: a pool never
   * tries more than 1000 / `probeInterval` connects a second (5 at the default) however long the
   * outage. A transient connect failure (refused, reset, timed out) therefore costs waiting callers
   * latency, not errors: they fail only at their own deadline, with `POOL_CREATE_FAILED`.
   * @default 200
   */
  probeInterval?: number;
  /**
   * Backoff between failed connects while no acquire is waiting (refilling to `min`): full jitter,
   * base 100 ms, cap 10 s by default, never shorter than `probeInterval`. A caller that starts
   * waiting cuts a long backoff short (the next connect comes at most one probe delay after the
   * last failure).
   */
  backoff?: BackoffOptions;
  /**
   * The longest a {@link Pool.use} may run on a borrowed connection (`use(fn, { useTimeout })`
   * overrides it per call). Past it the connection is destroyed (a query on it cannot be trusted to
   * ever answer: a connection dropped silently, however recently used, answers nothing), the caller
   * gets a `TCP_TIMEOUT` BulwarkError with `mayHaveExecuted: true`, and the pool opens a new
   * connection when one is needed. The driver factories also set the database's own statement
   * timeout (`statementTimeout`, 15 s by default), which cancels one slow statement on a live
   * connection first and keeps the connection; see docs/pool.md. The default is the client's total
   * request budget: a use still running after it is not about to finish.
   * @default 30000
   */
  useTimeout?: number;
  /**
   * A breaker in front of creates, or `false` (the default). While it is open, acquires that need a
   * new connection fail at once with `POOL_CREATE_FAILED` instead of waiting, and no connect is
   * tried until `resetTimeout` has passed — so a database that comes back is noticed only then.
   * Turn it on (`breaker: {}` for the defaults below) when failing fast during an outage matters
   * more than serving again the moment the database does; `probeInterval` bounds connects either way.
   * @default false (when given: { threshold: 50, minimumCalls: 5, window: 60000, buckets: 10, resetTimeout: 5000 })
   */
  breaker?: BreakerOptions | false;
  /** Time, timers and randomness (a `VirtualClock` in tests). @default systemClock */
  clock?: Clock;
  /** The pool's name in errors, events and stats. @default the target's origin, or `'pool'` */
  name?: string;
  /**
   * Where the connections go, for errors (`BulwarkError.target`). The driver factories fill it in.
   * @default factory.target
   */
  target?: {
    /** The host name (or address) connected to. */
    host: string;
    /** The TCP port. */
    port: number;
    /** `scheme://host:port`, without credentials. @default `tcp://host:port` */
    origin?: string;
    /** The database name, for errors. */
    database?: string;
  };
}

/** Pool options after validation and defaults (each as documented on {@link PoolOptions}). */
export interface ResolvedPoolOptions {
  readonly min: number;
  readonly max: number;
  readonly acquireTimeout: number;
  readonly maxWaiting: number;
  readonly validateAfterIdle: number;
  readonly validationTimeout: number;
  readonly keepaliveInterval: number;
  readonly maxLifetime: number;
  readonly idleTimeout: number;
  readonly leakDetectionThreshold: number;
  readonly createTimeout: number;
  readonly probeInterval: number;
  readonly useTimeout: number;
  readonly backoff: ResolvedBackoff;
  readonly breaker: ResolvedBreaker | false;
  readonly clock: Clock;
  readonly name: string;
  readonly target: Target | undefined;
}

/** The numeric defaults (see {@link PoolOptions} for the reasons). */
export const POOL_DEFAULTS = Object.freeze({
  min: 0,
  max: 10,
  acquireTimeout: 10_000,
  maxWaiting: 1_000,
  validateAfterIdle: 1_000,
  validationTimeout: 1_000,
  keepaliveInterval: 60_000,
  maxLifetime: 1_800_000,
  idleTimeout: 600_000,
  leakDetectionThreshold: 0,
  createTimeout: 10_000,
  probeInterval: 200,
  useTimeout: 30_000,
});

/**
 * The defaults of a create breaker that is turned on (`breaker: {}`). Creates are rare and spaced
 * out, so it opens after 5 creates in a minute rather than the HTTP 20 in 10 s.
 */
export const POOL_BREAKER_DEFAULTS: ResolvedBreaker = Object.freeze({
  ...BREAKER_DEFAULTS,
  minimumCalls: 5,
  window: 60_000,
  // A database that refused creates is asked again every 5 s, not at the HTTP breaker's 750 ms.
  resetTimeout: 5_000,
});

const KEYS = [...Object.keys(POOL_DEFAULTS), 'backoff', 'breaker', 'clock', 'name', 'target'];

/** Validates pool options; `fallbackTarget` is the factory's own target. */
export function resolvePoolOptions(input: unknown, fallbackTarget?: Target): ResolvedPoolOptions {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) {
    throw new InvalidOptionError('options', 'an object', input);
  }
  const o = checkObject(input, '', KEYS);
  const d = POOL_DEFAULTS;
  const int = { min: 0, integer: true };
  const min = checkNumber(o.min, 'min', d.min, int);
  const max = checkNumber(o.max, 'max', Math.max(d.max, min), { min: 1, integer: true });
  checkThat(max >= min, 'max', `≥ min (${min})`, max);
  const target = resolveTarget(o.target) ?? fallbackTarget;
  return Object.freeze({
    min,
    max,
    acquireTimeout: checkDuration(o.acquireTimeout, 'acquireTimeout', d.acquireTimeout),
    maxWaiting: checkNumber(o.maxWaiting, 'maxWaiting', d.maxWaiting, int),
    validateAfterIdle: checkDuration(o.validateAfterIdle, 'validateAfterIdle', d.validateAfterIdle),
    validationTimeout: checkDuration(o.validationTimeout, 'validationTimeout', d.validationTimeout, 1),
    keepaliveInterval: checkDuration(o.keepaliveInterval, 'keepaliveInterval', d.keepaliveInterval),
    maxLifetime: checkDuration(o.maxLifetime, 'maxLifetime', d.maxLifetime),
    idleTimeout: checkDuration(o.idleTimeout, 'idleTimeout', d.idleTimeout),
    leakDetectionThreshold: checkDuration(o.leakDetectionThreshold, 'leakDetectionThreshold', 0),
    createTimeout: checkDuration(o.createTimeout, 'createTimeout', d.createTimeout, 1),
    probeInterval: checkDuration(o.probeInterval, 'probeInterval', d.probeInterval, 1),
    useTimeout: checkDuration(o.useTimeout, 'useTimeout', d.useTimeout, 1),
    backoff: resolveBackoff(o.backoff, 'backoff'),
    breaker: resolvePoolBreaker(o.breaker),
    clock: checkClock(o.clock, 'clock'),
    name: checkString(o.name, 'name', target?.origin ?? 'pool'),
    target,
  });
}

function resolvePoolBreaker(input: unknown): ResolvedBreaker | false {
  if (input === false || input === undefined) return false;
  const given = checkObject(input, 'breaker', Object.keys(BREAKER_DEFAULTS));
  const merged: Record<string, unknown> = { ...POOL_BREAKER_DEFAULTS };
  for (const [key, value] of Object.entries(given)) if (value !== undefined) merged[key] = value;
  return resolveBreaker(merged, 'breaker');
}

function resolveTarget(input: unknown): Target | undefined {
  if (input === undefined) return undefined;
  const t = checkObject(input, 'target', ['host', 'port', 'origin', 'database']);
  const host = checkString(t.host, 'target.host', '');
  checkThat(host !== '', 'target.host', 'a non-empty string', t.host);
  const port = checkNumber(t.port, 'target.port', Number.NaN, { min: 0, max: 65_535, integer: true });
  checkThat(!Number.isNaN(port), 'target.port', 'an integer ≥ 0 and ≤ 65535', t.port);
  const bracketed = host.includes(':') ? `[${host}]` : host;
  const origin = checkString(
    t.origin,
    'target.origin',
    `tcp://${bracketed}:${port}`,
    /^[a-z][a-z0-9+.-]*:\/\/[^@/?#]+$/i,
  );
  const database = checkString(t.database, 'target.database', '');
  return Object.freeze({ origin, host, port, ...(database === '' ? {} : { database }) });
}
