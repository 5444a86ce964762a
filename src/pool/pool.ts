/**
 * `createPool`: a connection pool over generic-pool that never waits forever and never hands out a
 * connection it has reason to distrust. Acquires have a finite deadline and wait out a short
 * database blip (connects are probed every `probeInterval`); idle connections are validated with a
 * timeout, pinged, retired at a jittered maximum lifetime, and replaced when the driver reports them
 * dead; a `use()` has a deadline of its own, and only a connection that broke is destroyed.
 */

import type { Clock } from '../clock/clock.ts';
import type { BulwarkError, Target } from '../errors/bulwark-error.ts';
import { checkDuration, checkObject, checkThat } from '../options/validate.ts';
import { checkConnection, isThenable } from './check.ts';
import { type ConnState, markAlive, needsCheck, newConnState } from './conn-state.ts';
import { Creator, type LostRef } from './creator.ts';
import { isConnectionFailure, poolError, tagConnectionError, useTimeoutError } from './errors.ts';
import { type PoolEventMap, type PoolEventName, PoolEvents } from './events.ts';
import { checkFactory, destroyQuietly, type PoolFactory, unref } from './factory.ts';
import { createGenericPool, type GenericPool } from './generic-pool.ts';
import { reviewIdle, Ticker, tickPeriod } from './housekeeper.ts';
import type { IdleStack } from './idle-stack.ts';
import { type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from './options.ts';
import { Supply } from './supply.ts';
import { type PoolTiming, poolCreateChannel, poolUseChannel, poolWaitChannel } from './timings.ts';
import type { AcquireOptions, CloseOptions, PoolStats, UseOptions } from './types.ts';
import { Waiter } from './waiter.ts';
import { PRIORITY, type WaiterQueue } from './waiter-queue.ts';

type PoolCode = 'POOL_ACQUIRE_TIMEOUT' | 'POOL_QUEUE_FULL' | 'POOL_CLOSED' | 'POOL_CREATE_FAILED';

/**
 * A pool of connections made by a {@link PoolFactory}. Create one with {@link createPool}.
 *
 * @example
 * ```ts
 * import { createPool } from 'bulwark';
 * import { pgFactory } from 'bulwark/pg';
 *
 * const pool = createPool(pgFactory(process.env.DATABASE_URL), { max: 20 });
 * const rows = await pool.use(async (client) => (await client.query('SELECT now()')).rows);
 * await pool.close(); // or `await using pool = ...` where the runtime supports it
 * ```
 */
export class Pool<T> implements AsyncDisposable {
  readonly #factory: PoolFactory<T>;
  readonly #o: ResolvedPoolOptions;
  readonly #clock: Clock;
  readonly #validates: boolean;
  readonly #gp: GenericPool<T>;
  readonly #queue: WaiterQueue<Waiter<T>>;
  readonly #idle: IdleStack<T>;
  readonly #creator: Creator<T>;
  readonly #supply: Supply<T>;
  readonly #ticker: Ticker;
  readonly #events = new PoolEvents();
  readonly #conns = new Map<T, ConnState>();
  readonly #pending = new Set<Waiter<T>>();
  readonly #forced = new Set<T>();
  #closing: Promise<void> | undefined;
  /** The last clock reading: at most one tick behind (the tick reads the clock too). */
  #now: number;
  #borrowed = 0;
  #created = 0;
  #destroyed = 0;
  #failedValidations = 0;
  #retired = 0;
  #timedOut = 0;
  #usesTimedOut = 0;
  #rejected = 0;

  /** Prefer {@link createPool}. Throws `InvalidOptionError` for a bad factory or option. */
  constructor(factory: PoolFactory<T>, options?: PoolOptions) {
    checkFactory(factory);
    this.#factory = factory;
    this.#o = resolvePoolOptions(options, factory.target);
    this.#clock = this.#o.clock;
    this.#validates = typeof factory.validate === 'function';
    this.#now = this.#clock.now();
    this.#ticker = new Ticker(this.#clock, tickPeriod(this.#o, this.#validates), () => this.#tick());
    this.#creator = new Creator(
      factory,
      this.#o,
      (conn, reason) => this.#onLost(conn, reason),
      (ms) => {
        if (poolCreateChannel.hasSubscribers) poolCreateChannel.publish(this.#timing(ms));
      },
    );
    this.#supply = new Supply(
      this.#creator,
      this.#clock,
      {
        closing: () => this.#closing !== undefined,
        closedError: () => this.#error('POOL_CLOSED'),
        wanted: (loops) => this.#createWanted(loops),
        demand: () => this.#queue.tagged > 0,
        adopt: (conn, ref) => this.#adopt(conn, ref),
        failed: (cause) => this.#createFailed(cause),
      },
      this.#o.probeInterval,
    );
    const { pool, queue, idle } = createGenericPool<T, Waiter<T>>(
      { create: () => this.#supply.create(), destroy: (conn) => this.#onDestroy(conn) },
      this.#o,
    );
    this.#gp = pool;
    this.#queue = queue;
    this.#idle = idle;
    pool.start();
  }

  /** The pool's name (option `name`, or the target's origin). */
  get name(): string {
    return this.#o.name;
  }

  /** Where the connections go. */
  get target(): Target | undefined {
    return this.#o.target;
  }

  /**
   * Borrows a connection; give it back with {@link release} (or {@link destroy}). Rejects with
   * `POOL_ACQUIRE_TIMEOUT` at the deadline; `POOL_CREATE_FAILED` (cause: the connect error) at the
   * deadline while new connections cannot be created — at once when the failure will not pass by
   * itself (a wrong password) or the opt-in breaker is open; `POOL_QUEUE_FULL` past `maxWaiting`;
   * `POOL_CLOSED` after `close()`; or the signal's reason when aborted.
   */
  acquire(options?: AcquireOptions): Promise<T> {
    let timeout = this.#o.acquireTimeout;
    let signal: AbortSignal | undefined;
    if (options !== undefined) ({ timeout, signal } = resolveAcquire(options, timeout, 'acquire'));
    if (this.#closing !== undefined) return Promise.reject(this.#error('POOL_CLOSED'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const stack = this.#o.leakDetectionThreshold > 0 ? new Error('acquired here').stack : undefined;
    const top = this.#idle.head?.obj;
    if (top !== undefined && signal === undefined && this.#queue.length === 0) {
      // Fast path: generic-pool hands out the top of the idle stack synchronously. When that
      // connection is fresh (the housekeeper has not marked it stale or expired), lend it now and
      // return generic-pool's own promise: no clock read, no extra hop. With a signal, the waiter
      // path keeps "aborted means rejected" exact.
      const state = this.#conns.get(top)!;
      if (state.fresh && !state.lost) {
        const granted = this.#gp.acquire(PRIORITY.normal);
        this.#lend(top, state, stack);
        if (poolWaitChannel.hasSubscribers) poolWaitChannel.publish(this.#timing(0));
        return granted;
      }
    }
    const spare = Math.max(0, this.#o.max - this.#gp.size);
    if (this.#pending.size - spare >= this.#o.maxWaiting) {
      this.#rejected++;
      return Promise.reject(this.#error('POOL_QUEUE_FULL', undefined, `${this.#pending.size} waiting`));
    }
    const waiter = new Waiter<T>(
      this.#clock,
      this.#read() + timeout,
      signal,
      stack,
      (w) => this.#expire(w),
      (w) => this.#fail(w, w.signal?.reason),
    );
    if (poolWaitChannel.hasSubscribers) waiter.startedAt = this.#now;
    if (!waiter.settled) {
      this.#pending.add(waiter);
      this.#enqueue(waiter, PRIORITY.normal);
    }
    return waiter.promise;
  }

  /** Gives a borrowed connection back. Throws a `TypeError` for one that is not borrowed. */
  release(conn: T): void {
    const state = this.#borrowedState(conn, 'release');
    if (state !== undefined) this.#release(conn, state, false);
  }

  /** Closes a borrowed connection instead of giving it back (it is broken). */
  destroy(conn: T): void {
    const state = this.#borrowedState(conn, 'destroy');
    if (state === undefined) return;
    this.#unlend(state);
    void this.#gp.destroy(conn);
  }

  /**
   * Borrows a connection for `fn` (sync or async) and gives it back.
   *
   * Whether the connection is kept is decided from the connection, never from `fn`'s error: it is
   * destroyed when the driver reported it dead during the use (`CreateContext.lost`), or when `fn`
   * failed with what looks like a connection-level error (dns, tcp or tls) and a check of the
   * connection (`factory.validate`) then fails. A broken connection's error reaches the caller as a
   * `BulwarkError` with the layer and code of the driver's error (`TCP_CLOSED`, `TCP_RESET`, ...),
   * `mayHaveExecuted`, the pool's target and the driver's error as `cause`. Any other error — an SQL
   * error, or another client's failure (an HTTP `TCP_REFUSED` from a call made inside `fn`) — comes
   * back untouched (the same object) and the connection is released; after an error it is validated
   * before it is handed out again.
   *
   * `fn` may run for `useTimeout` (the pool's, or this call's): past it the connection is destroyed
   * and the use rejects with `TCP_TIMEOUT` (`mayHaveExecuted: true`), whatever `fn` still does.
   *
   * @example
   * ```ts
   * const n = await pool.use(async (db) => (await db.query('SELECT count(*) FROM t')).rows[0].count);
   * await pool.use((db) => db.query('CALL nightly_rollup()'), { useTimeout: 120_000 });
   * ```
   */
  use<R>(fn: (conn: T) => R | PromiseLike<R>, options?: UseOptions): Promise<R> {
    let useTimeout = this.#o.useTimeout;
    let acquire: AcquireOptions | undefined;
    if (options !== undefined) {
      try {
        ({ useTimeout, acquire } = resolveUse(options, useTimeout));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.acquire(acquire).then((conn) => this.#run(conn, fn, useTimeout));
  }

  /** Counters and sizes now. */
  stats(): PoolStats {
    const size = this.#conns.size;
    const idle = this.#idle.length;
    return {
      name: this.#o.name,
      size,
      idle,
      borrowed: this.#borrowed,
      checking: Math.max(0, size - idle - this.#borrowed),
      waiting: this.#pending.size,
      creating: this.#supply.loops,
      created: this.#created,
      destroyed: this.#destroyed,
      createAttempts: this.#creator.attempts,
      failedCreates: this.#creator.failed,
      failedValidations: this.#failedValidations,
      retired: this.#retired,
      timedOut: this.#timedOut,
      usesTimedOut: this.#usesTimedOut,
      rejected: this.#rejected,
      circuit: this.#creator.circuit,
      closed: this.#closing !== undefined,
    };
  }

  /**
   * Listens to a pool event: `create-failed`, `validation-failed`, `leak`, `retired`. The same
   * messages go to `node:diagnostics_channel` as `bulwark:pool:<event>`.
   */
  on<K extends PoolEventName>(event: K, listener: (message: PoolEventMap[K]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Removes a listener added with {@link on}. */
  off<K extends PoolEventName>(event: K, listener: (message: PoolEventMap[K]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /**
   * Drains and closes: waiting acquires fail with `POOL_CLOSED`, no new connection is created,
   * running uses finish (up to `timeout`, then their connections are destroyed anyway), and every
   * connection is destroyed. Later acquires fail with `POOL_CLOSED`. Safe to call more than once.
   */
  close(options?: CloseOptions): Promise<void> {
    if (this.#closing === undefined) {
      const o = checkObject(options, 'close', ['timeout']);
      this.#closing = this.#shutdown(checkDuration(o.timeout, 'close.timeout', 30_000));
    }
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // --- waiting and lending ---

  /** Queues `waiter` in generic-pool, unless no connection can come before its deadline. */
  #enqueue(waiter: Waiter<T>, priority: number): void {
    if (waiter.settled) return;
    if (this.#closing !== undefined) {
      this.#fail(waiter, this.#error('POOL_CLOSED'));
      return;
    }
    const creator = this.#creator;
    if (creator.failing && this.#idle.length === 0 && this.#conns.size < this.#o.max) {
      // Only a new connection would serve it, and connects are failing: answer now when waiting
      // cannot help — the failure will not pass by itself (a wrong password) and no connection
      // could come back, the next attempt starts past the deadline, or the breaker is open.
      const hopeless =
        creator.circuit === 'open' ||
        (!creator.transient && this.#conns.size === 0) ||
        this.#read() + creator.waitTime(true) > waiter.deadline;
      if (hopeless) {
        this.#fail(waiter, this.#error('POOL_CREATE_FAILED', creator.lastError));
        return;
      }
    }
    this.#queue.tagNext(waiter);
    const granted = this.#gp.acquire(priority);
    this.#queue.tagNext(undefined);
    waiter.request = this.#queue.last;
    granted.then(
      (conn) => this.#deliver(waiter, conn),
      (err: unknown) => this.#fail(waiter, err),
    );
    // A create loop may be sleeping out a long backoff (nobody was waiting): now someone is.
    if (creator.failing) this.#supply.wake();
  }

  /** generic-pool granted `conn` to `waiter`: check it if needed, then lend it, or try again. */
  #deliver(waiter: Waiter<T>, conn: T): void {
    const state = this.#conns.get(conn);
    waiter.request = undefined;
    if (state === undefined) {
      this.#enqueue(waiter, PRIORITY.retry); // destroyed on its way (cannot happen; never crash on it)
      return;
    }
    if (waiter.settled || this.#closing !== undefined) {
      this.#giveBack(conn, state);
      this.#fail(waiter, this.#error('POOL_CLOSED'));
      return;
    }
    const now = this.#read();
    if (state.lost || state.expired || now >= state.expiresAt) {
      this.#retire(conn, state);
      this.#enqueue(waiter, PRIORITY.retry);
      return;
    }
    if (!needsCheck(state, now, this.#o, this.#validates)) {
      this.#answer(waiter, conn, state);
      return;
    }
    void this.#check(conn, state, 'borrow').then((ok) => {
      if (!ok) this.#enqueue(waiter, PRIORITY.retry);
      else if (waiter.settled || this.#closing !== undefined) {
        this.#giveBack(conn, state);
        this.#fail(waiter, this.#error('POOL_CLOSED'));
      } else this.#answer(waiter, conn, state);
    });
  }

  #answer(waiter: Waiter<T>, conn: T, state: ConnState): void {
    this.#pending.delete(waiter);
    this.#lend(conn, state, waiter.stack);
    if (poolWaitChannel.hasSubscribers && !Number.isNaN(waiter.startedAt)) {
      poolWaitChannel.publish(this.#timing(this.#read() - waiter.startedAt));
    }
    waiter.resolve(conn);
  }

  #fail(waiter: Waiter<T>, err: unknown): void {
    this.#pending.delete(waiter);
    this.#queue.remove(waiter.request);
    waiter.reject(err);
  }

  #expire(waiter: Waiter<T>): void {
    if (waiter.settled) return;
    this.#timedOut++;
    const creator = this.#creator;
    this.#fail(
      waiter,
      creator.failing
        ? this.#error('POOL_CREATE_FAILED', creator.lastError)
        : this.#error('POOL_ACQUIRE_TIMEOUT', undefined, `${this.#borrowed} of max ${this.#o.max} borrowed`),
    );
  }

  #lend(conn: T, state: ConnState, stack: string | undefined): void {
    state.borrowed = true;
    this.#borrowed++;
    const threshold = this.#o.leakDetectionThreshold;
    // Read by the leak timer and by bulwark:pool:use; NaN when neither will.
    state.borrowedAt = threshold > 0 || poolUseChannel.hasSubscribers ? this.#read() : Number.NaN;
    if (threshold > 0) {
      state.leakTimer = this.#clock.setTimeout(() => {
        state.leakTimer = undefined;
        if (this.#conns.get(conn) !== state || !state.borrowed) return;
        const heldFor = this.#clock.now() - state.borrowedAt;
        this.#events.emit('leak', () => ({ pool: this.#o.name, heldFor, stack }));
      }, threshold);
      unref(state.leakTimer);
    }
  }

  #unlend(state: ConnState): void {
    state.borrowed = false;
    this.#borrowed--;
    if (poolUseChannel.hasSubscribers && !Number.isNaN(state.borrowedAt)) {
      poolUseChannel.publish(this.#timing(this.#read() - state.borrowedAt));
    }
    if (state.leakTimer !== undefined) {
      this.#clock.clearTimeout(state.leakTimer);
      state.leakTimer = undefined;
    }
  }

  /** The state of a borrowed connection; `undefined` (ignore) for one a forced close destroyed. */
  #borrowedState(conn: T, what: string): ConnState | undefined {
    const state = this.#conns.get(conn);
    if (state?.borrowed) return state;
    if (this.#forced.delete(conn)) return undefined;
    throw new TypeError(`${what}(): this connection is not borrowed from pool "${this.#o.name}"`);
  }

  /**
   * Puts a borrowed connection back (or retires it). A `suspect` one — its last use failed — is
   * validated before its next hand-out; any other is known to work now.
   */
  #release(conn: T, state: ConnState, suspect: boolean): void {
    this.#unlend(state);
    if (this.#closing !== undefined || state.lost || state.expired) {
      this.#retire(conn, state);
      return;
    }
    // The coarse time, not a clock read: it is never later than the real one, so idle times can
    // only look longer (an earlier check or ping), never shorter.
    const now = this.#now;
    state.usedAt = now;
    if (suspect) state.fresh = false;
    else markAlive(state, now, this.#o, this.#validates);
    void this.#gp.release(conn);
  }

  /** Whether `conn` is still lent out under `state` (not given back or destroyed by someone else). */
  #holds(conn: T, state: ConnState): boolean {
    return this.#conns.get(conn) === state && state.borrowed;
  }

  // --- use(): the deadline, and what a failure says about the connection ---

  /**
   * Runs `fn` on a borrowed connection under `ms` — the check after a failure included — then gives
   * the connection back or destroys it. A sync `fn` that returns sets no timer.
   */
  #run<R>(conn: T, fn: (conn: T) => R | PromiseLike<R>, ms: number): Promise<R> {
    const state = this.#conns.get(conn)!;
    let result: R | PromiseLike<R>;
    try {
      result = fn(conn);
    } catch (err) {
      result = Promise.reject(err);
    }
    if (!isThenable(result)) {
      if (this.#holds(conn, state)) this.#release(conn, state, false);
      return Promise.resolve(result);
    }
    return new Promise<R>((resolve, reject) => {
      let over = false;
      const timer = this.#clock.setTimeout(() => {
        over = true;
        reject(this.#useTimedOut(conn, state, ms));
      }, ms);
      const fail = (err: unknown): void => {
        if (over) return;
        over = true;
        this.#clock.clearTimeout(timer);
        reject(err);
      };
      Promise.resolve(result).then(
        (value) => {
          if (over) return;
          over = true;
          this.#clock.clearTimeout(timer);
          if (this.#holds(conn, state)) this.#release(conn, state, false);
          resolve(value);
        },
        (err: unknown) => {
          if (!over) this.#failed(conn, state, err).catch(fail);
        },
      );
    });
  }

  /**
   * `fn` failed with `err`: decides from the connection whether it broke — the driver reported it
   * dead, or, after what looks like a connection-level error, a check of it fails — and destroys it
   * then, rejecting with `err` tagged; otherwise releases it (suspect) and rejects with `err` as is.
   */
  async #failed(conn: T, state: ConnState, err: unknown): Promise<never> {
    if (!this.#holds(conn, state)) throw err; // fn gave it back itself, or close() forced it shut
    if (state.lost) {
      this.#unlend(state);
      this.#retire(conn, state); // reported as 'retired' (lost), with what the driver said
      throw tagConnectionError(err, this.#o);
    }
    if (!this.#validates || !isConnectionFailure(err)) {
      this.#release(conn, state, true);
      throw err;
    }
    // Possibly this connection's failure, possibly another client's: ask the connection.
    const ok = await this.#check(conn, state, 'use');
    if (!ok) throw tagConnectionError(err, this.#o); // #check destroyed it
    if (this.#holds(conn, state)) this.#release(conn, state, false);
    throw err;
  }

  /** A use ran past its deadline: destroys the connection, whatever `fn` still does with it. */
  #useTimedOut(conn: T, state: ConnState, ms: number): BulwarkError {
    this.#usesTimedOut++;
    if (this.#holds(conn, state)) {
      this.destroy(conn);
      // Silence on one connection often means a dropped flow the idle ones share: check them aside.
      this.#review(true);
    }
    return useTimeoutError(this.#o, ms);
  }

  // --- connections the pool holds itself: checks and housekeeping ---

  /** Validates a connection generic-pool lent to the pool; destroys it and says `false` when broken. */
  async #check(conn: T, state: ConnState, phase: 'borrow' | 'keepalive' | 'use'): Promise<boolean> {
    const started = this.#read();
    const result = await checkConnection(
      (c: T) => this.#factory.validate?.(c),
      conn,
      this.#o.validationTimeout,
      this.#clock,
    );
    if (this.#conns.get(conn) !== state) return false; // destroyed meanwhile (a use deadline, close)
    if (result.ok && !state.lost) {
      markAlive(state, this.#read(), this.#o, this.#validates);
      return true;
    }
    if (result.ok) {
      this.#retire(conn, state);
      return false;
    }
    this.#failedValidations++;
    this.#creator.suspect();
    this.#events.emit('validation-failed', () => ({
      pool: this.#o.name,
      phase,
      reason: result.reason,
      ...(result.error === undefined ? {} : { error: result.error }),
      idleFor: phase === 'use' ? 0 : started - state.usedAt,
    }));
    if (this.#conns.get(conn) === state) void this.#gp.destroy(conn);
    // No answer at all looks like a dropped flow (NAT, load balancer), which the other idle
    // connections most likely share: check them aside, so this acquire goes on with a new one.
    if (result.reason === 'timeout') this.#review(true);
    return false;
  }

  /** Takes one particular idle connection out of generic-pool; `undefined` when it is not idle. */
  #take(conn: T): Promise<T> | undefined {
    if (this.#closing !== undefined || !this.#idle.prefer(conn)) return undefined;
    const taken = this.#gp.acquire(PRIORITY.internal); // shifts the preferred entry synchronously
    this.#idle.unprefer(); // never let a preference leak into the fast path's "top of the stack"
    return taken;
  }

  /** Puts a connection the pool held itself back into the idle stack (or retires it). */
  #giveBack(conn: T, state: ConnState): void {
    if (this.#closing !== undefined || state.lost || state.expired) {
      this.#retire(conn, state);
      return;
    }
    void this.#gp.release(conn);
  }

  /** Destroys a connection the pool holds; reports why when it looked healthy or was lost. */
  #retire(conn: T, state: ConnState, idle = false): void {
    if (this.#closing === undefined) {
      const now = this.#read();
      const expired = state.expired || now >= state.expiresAt;
      const reason = state.lost ? 'lost' : idle ? 'idle' : expired ? 'lifetime' : undefined;
      if (reason !== undefined) {
        this.#retired++;
        this.#events.emit('retired', () => ({
          pool: this.#o.name,
          reason,
          age: now - state.createdAt,
          ...(reason === 'lost' && state.lostReason !== undefined ? { cause: state.lostReason } : {}),
        }));
      }
    }
    if (this.#conns.get(conn) === state) void this.#gp.destroy(conn);
  }

  #onLost(conn: T, reason: unknown): void {
    const state = this.#conns.get(conn);
    if (state === undefined || state.lost) return;
    state.lost = true;
    state.lostReason = reason;
    this.#creator.suspect();
    // Idle: replace it now, before a caller gets it. Borrowed or being checked: when it comes back.
    void this.#take(conn)?.then((c) => this.#retire(c, state));
  }

  /** The housekeeping tick: marks what expires before the next tick, then reviews the idle connections. */
  #tick(): void {
    if (this.#conns.size === 0) {
      this.#ticker.stop(); // restarted by the next create
      return;
    }
    const horizon = this.#read() + this.#ticker.period;
    for (const state of this.#conns.values()) if (horizon >= state.expiresAt) state.expired = true;
    this.#review(false);
  }

  /** Acts on the housekeeper's verdicts for the idle connections. */
  #review(suspect: boolean): void {
    if (this.#closing !== undefined) return;
    const conns = this.#idle.connections();
    const states = conns.map((c) => this.#conns.get(c)!);
    const verdicts = reviewIdle(
      states,
      this.#read(),
      this.#ticker.period,
      this.#o,
      this.#validates,
      this.#conns.size,
      suspect,
    );
    verdicts.forEach((verdict, i) => {
      const conn = conns[i]!;
      const state = states[i]!;
      if (verdict === 'ping') {
        void this.#take(conn)
          ?.then((c) => this.#check(c, state, 'keepalive'))
          .then((ok) => ok && this.#giveBack(conn, state));
      } else if (verdict !== 'keep') {
        void this.#take(conn)?.then((c) => this.#retire(c, state, verdict === 'idle'));
      }
    });
  }

  /** A timing channel's message. */
  #timing(ms: number): PoolTiming {
    return { source: this, pool: this.#o.name, ms };
  }

  /** Reads the clock (and keeps the coarse time current). */
  #read(): number {
    this.#now = this.#clock.now();
    return this.#now;
  }

  // --- creating and destroying (generic-pool's factory) ---

  /** Whether `loops` create loops are all needed: for callers in the queue, or to reach `min`. */
  #createWanted(loops: number): boolean {
    const forCallers = Math.max(0, this.#queue.tagged - this.#idle.length);
    const forMin = Math.max(0, this.#o.min - this.#conns.size);
    return forCallers + forMin >= loops;
  }

  #adopt(conn: T, ref: LostRef<T>): T {
    const state = newConnState(this.#read(), this.#clock, this.#o, this.#validates, ref);
    if (ref.early) this.#creator.suspect();
    this.#conns.set(conn, state);
    this.#created++;
    if (this.#closing === undefined) this.#ticker.start();
    return conn; // generic-pool lists it idle and hands it to the first waiter
  }

  /**
   * A connect failed: report it. A transient failure (refused, reset, timed out) lets the waiting
   * callers wait for the next probe, up to their deadlines; any other fails now the callers only a
   * new connection could serve.
   */
  #createFailed(cause: unknown): void {
    const creator = this.#creator;
    this.#events.emit('create-failed', () => ({
      pool: this.#o.name,
      error: this.#error('POOL_CREATE_FAILED', cause),
      failures: creator.streak,
      retryIn: creator.waitTime(this.#queue.tagged > 0),
      circuit: creator.circuit,
    }));
    if (creator.transient) return;
    // Connections that exist but are not idle (borrowed, being checked) may come back to serve
    // some callers, and so may attempts still in flight; the rest are waiting for nothing.
    let excess = this.#queue.tagged - (this.#conns.size - this.#idle.length) - creator.inFlight;
    for (const [, waiter] of this.#queue.waiters()) {
      if (excess-- <= 0) break;
      this.#fail(waiter, this.#error('POOL_CREATE_FAILED', cause));
    }
  }

  /** generic-pool's `destroy`: forget the connection and close it (never rejects, bounded wait). */
  #onDestroy(conn: T): Promise<void> {
    const state = this.#conns.get(conn);
    if (state !== undefined) {
      this.#conns.delete(conn);
      if (state.borrowed) this.#unlend(state);
      if (state.leakTimer !== undefined) this.#clock.clearTimeout(state.leakTimer);
    }
    this.#destroyed++;
    return destroyQuietly(this.#factory, conn, this.#clock);
  }

  async #shutdown(timeout: number): Promise<void> {
    const closed = this.#error('POOL_CLOSED');
    for (const waiter of [...this.#pending]) this.#fail(waiter, closed);
    this.#ticker.stop();
    this.#supply.stop(); // wakes create loops waiting out a backoff
    this.#creator.close(closed); // aborts connects in flight
    const drained = this.#gp.drain(); // no more creates; resolves once every loan is back
    let timer: unknown;
    const late = new Promise<boolean>((resolve) => {
      timer = this.#clock.setTimeout(() => resolve(true), timeout);
    });
    const timedOut = await Promise.race([drained.then(() => false), late]);
    this.#clock.clearTimeout(timer);
    if (timedOut) {
      for (const [conn, state] of this.#conns) {
        if (!state.borrowed) continue;
        this.#forced.add(conn);
        this.#unlend(state);
        void this.#gp.destroy(conn);
      }
    }
    await drained;
    await this.#gp.clear();
    this.#idle.clear();
  }

  #error(code: PoolCode, cause?: unknown, detail?: string): BulwarkError {
    return poolError(this.#o, code, cause, detail);
  }
}

/**
 * Creates a pool of connections made by `factory`. Options are validated here: a bad value throws
 * an `InvalidOptionError` naming it, as does a factory without `create` or `destroy`.
 *
 * @example
 * ```ts
 * const pool = createPool(pgFactory({ host: 'db', database: 'app' }), {
 *   min: 2,
 *   max: 20,
 *   acquireTimeout: 2_000,
 * });
 * pool.on('create-failed', ({ error }) => log.warn(error.toJSON()));
 * ```
 */
export function createPool<T>(factory: PoolFactory<T>, options?: PoolOptions): Pool<T> {
  return new Pool(factory, options);
}

function resolveAcquire(
  options: AcquireOptions,
  fallback: number,
  path: string,
  o = checkObject(options, path, ['signal', 'timeout']),
): { timeout: number; signal: AbortSignal | undefined } {
  const signal = o.signal as AbortSignal | undefined;
  checkThat(
    signal === undefined || (typeof signal === 'object' && signal !== null && 'aborted' in signal),
    `${path}.signal`,
    'an AbortSignal',
    signal,
  );
  return { timeout: checkDuration(o.timeout, `${path}.timeout`, fallback), signal };
}

/** `use()`'s options: its own deadline, and the acquire's (validated here, under `use.`). */
function resolveUse(options: UseOptions, fallback: number): { useTimeout: number; acquire: AcquireOptions } {
  const o = checkObject(options, 'use', ['signal', 'timeout', 'useTimeout']);
  const { timeout, signal } = resolveAcquire(options, Number.NaN, 'use', o);
  const acquire: AcquireOptions = {};
  if (!Number.isNaN(timeout)) acquire.timeout = timeout;
  if (signal !== undefined) acquire.signal = signal;
  return { useTimeout: checkDuration(o.useTimeout, 'use.useTimeout', fallback, 1), acquire };
}
