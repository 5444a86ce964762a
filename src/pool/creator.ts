/**
 * How the pool opens connections: each attempt runs with a timeout (through the create breaker when
 * one is configured), and a failure starts a streak during which attempts are spaced out: every
 * `probeInterval` (plus up to 15 % jitter) while callers wait, so a database that answers again is
 * found within one interval; by the jittered exponential backoff, never closer than
 * `probeInterval`, while nobody waits. The streak and its last error tell the pool why waiting
 * acquires fail (`POOL_CREATE_FAILED`), and whether waiting can help at all.
 */
import type { Clock } from '../clock/clock.ts';
import { isBulwarkError, type Target } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';
import { backoffDelay, type ResolvedBackoff } from '../policy/backoff.ts';
import { Breaker, type BreakerState, type ResolvedBreaker } from '../policy/breaker.ts';
import { connectError, createTimeoutError } from './errors.ts';
import { type CreateContext, destroyQuietly, type PoolFactory } from './factory.ts';

/** The probe delay's jitter: `probeInterval` × [1, 1.15). */
export const PROBE_JITTER = 0.15;

/** Settings of a {@link Creator}. */
export interface CreatorOptions {
  readonly backoff: ResolvedBackoff;
  readonly breaker: ResolvedBreaker | false;
  readonly createTimeout: number;
  readonly probeInterval: number;
  readonly clock: Clock;
  readonly target: Target | undefined;
}

/** Lets a connection report its own death before and after its create resolved. */
export interface LostRef<T> {
  conn: T | undefined;
  /** Set when `lost()` was called before the create resolved. */
  early: boolean;
  reason: unknown;
}

/** The outcome of one attempt. `counted: false` when no connect was tried (breaker open, closed). */
export type Attempt<T> =
  | { readonly ok: true; readonly conn: T; readonly ref: LostRef<T> }
  | { readonly ok: false; readonly error: unknown; readonly counted: boolean };

/** Opens connections for one pool. */
export class Creator<T> {
  readonly #factory: PoolFactory<T>;
  readonly #o: CreatorOptions;
  readonly #onLost: (conn: T, reason: unknown) => void;
  readonly #onCreated: ((ms: number) => void) | undefined;
  readonly #breaker: Breaker | undefined;
  readonly #controllers = new Set<AbortController>();
  #openedAt = 0;
  #streak = 0;
  #lastFailureAt = 0;
  #delay = 0;
  #probeDelay = 0;
  #lastError: unknown;
  #attempts = 0;
  #failed = 0;
  #inFlight = 0;
  #suspect = false;
  #idle: Array<() => void> = [];
  #closed = false;

  /** `onCreated` gets how long each successful connect took (ms on the clock). */
  constructor(
    factory: PoolFactory<T>,
    options: CreatorOptions,
    onLost: (conn: T, reason: unknown) => void,
    onCreated?: (ms: number) => void,
  ) {
    this.#factory = factory;
    this.#o = options;
    this.#onLost = onLost;
    this.#onCreated = onCreated;
    if (options.breaker !== false) {
      this.#breaker = new Breaker(options.breaker, options.clock, {
        isFailure: () => true,
        onStateChange: (state) => {
          if (state === 'open') this.#openedAt = options.clock.now();
        },
        ...(options.target === undefined ? {} : { target: options.target }),
      });
    }
  }

  /** `true` from a failed attempt until the next successful one. */
  get failing(): boolean {
    return this.#streak > 0;
  }

  /**
   * `true` while connects should go one at a time: after a failed attempt, or after a connection
   * died ({@link suspect}), until an attempt succeeds. A database that restarts kills every
   * connection at once; one probe, not one connect per lost connection, finds out whether it is back.
   */
  get probing(): boolean {
    return this.#streak > 0 || this.#suspect;
  }

  /** A connection died on its own: connect one at a time until one succeeds. */
  suspect(): void {
    this.#suspect = true;
  }

  /** Consecutive failed attempts. */
  get streak(): number {
    return this.#streak;
  }

  /** The connect error of the last failed attempt (dns/tcp/tls BulwarkError or the driver's own). */
  get lastError(): unknown {
    return this.#lastError;
  }

  /**
   * Whether the last failure may pass by itself (a refused or reset connect, a timeout: the
   * taxonomy's `retryable`), so that waiting for the next attempt is worth it. A wrong password or
   * an unknown database is not.
   */
  get transient(): boolean {
    return this.#streak > 0 && classify(this.#lastError).retryable;
  }

  /** Connect attempts made (calls of `factory.create`). */
  get attempts(): number {
    return this.#attempts;
  }

  /** Attempts that failed. */
  get failed(): number {
    return this.#failed;
  }

  /** Attempts in flight. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The breaker's state, or `'disabled'`. */
  get circuit(): BreakerState | 'disabled' {
    return this.#breaker?.state ?? 'disabled';
  }

  /**
   * Milliseconds until the next attempt may start: after a failure, the probe delay when callers
   * are waiting (`demand`), else the backoff; while the breaker is open, its reset.
   */
  waitTime(demand: boolean): number {
    const now = this.#o.clock.now();
    const delay = demand ? Math.min(this.#probeDelay, this.#delay) : this.#delay;
    let at = this.#streak > 0 ? this.#lastFailureAt + delay : now;
    if (this.#breaker?.state === 'open') at = Math.max(at, this.#openedAt + this.#resetTimeout());
    return Math.max(0, at - now);
  }

  /** Resolves once no attempt is in flight. */
  whenIdle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** One connect attempt. Never rejects. */
  async attempt(): Promise<Attempt<T>> {
    if (this.#closed) return { ok: false, error: undefined, counted: false };
    const controller = new AbortController();
    const ref: LostRef<T> = { conn: undefined, early: false, reason: undefined };
    const context: CreateContext = {
      signal: controller.signal,
      lost: (reason?: unknown) => {
        if (ref.conn !== undefined) this.#onLost(ref.conn, reason);
        else if (!ref.early) {
          ref.early = true;
          ref.reason = reason;
        }
      },
    };
    this.#controllers.add(controller);
    this.#inFlight++;
    try {
      const run = (): Promise<T> => this.#createWithTimeout(context, controller);
      const conn = this.#breaker === undefined ? await run() : await this.#breaker.run(run, undefined);
      ref.conn = conn;
      this.#streak = 0;
      this.#suspect = false;
      this.#delay = 0;
      this.#lastError = undefined;
      return { ok: true, conn, ref };
    } catch (err) {
      if (this.#closed) return { ok: false, error: err, counted: false };
      // The breaker answered without calling create: not an attempt, the last real failure stands.
      if (isBulwarkError(err) && err.code === 'CIRCUIT_OPEN' && err.layer === 'circuit') {
        return { ok: false, error: this.#lastError ?? err.cause, counted: false };
      }
      const error = connectError(err, this.#o.target);
      this.#failed++;
      this.#streak++;
      const clock = this.#o.clock;
      this.#lastFailureAt = clock.now();
      const floor = this.#o.probeInterval;
      const backoff = backoffDelay(this.#o.backoff, this.#streak, () => clock.random(), this.#delay);
      this.#delay = Math.max(floor, backoff);
      this.#probeDelay = floor * (1 + PROBE_JITTER * clock.random());
      this.#lastError = error;
      return { ok: false, error, counted: true };
    } finally {
      this.#controllers.delete(controller);
      if (--this.#inFlight === 0) {
        const waiting = this.#idle;
        this.#idle = [];
        for (const resolve of waiting) resolve();
      }
    }
  }

  /** Aborts every attempt in flight with `reason`; no attempt starts afterwards. */
  close(reason: unknown): void {
    this.#closed = true;
    for (const controller of this.#controllers) controller.abort(reason);
    this.#breaker?.shutdown();
  }

  #resetTimeout(): number {
    return this.#o.breaker === false ? 0 : this.#o.breaker.resetTimeout;
  }

  /** `factory.create(context)`, abandoned after `createTimeout` or when the context aborts. */
  #createWithTimeout(context: CreateContext, controller: AbortController): Promise<T> {
    const { clock, createTimeout, target } = this.#o;
    this.#attempts++;
    const started = clock.now();
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const timer = clock.setTimeout(
        () => controller.abort(createTimeoutError(target, createTimeout)),
        createTimeout,
      );
      const onAbort = (): void => {
        if (done) return;
        done = true;
        clock.clearTimeout(timer);
        reject(controller.signal.reason);
      };
      controller.signal.addEventListener('abort', onAbort, { once: true });
      let pending: Promise<T>;
      try {
        pending = Promise.resolve(this.#factory.create(context));
      } catch (err) {
        pending = Promise.reject(err);
      }
      pending.then(
        (conn) => {
          if (done) {
            void destroyQuietly(this.#factory, conn, clock); // arrived after it was given up
            return;
          }
          done = true;
          clock.clearTimeout(timer);
          controller.signal.removeEventListener('abort', onAbort);
          this.#onCreated?.(clock.now() - started);
          resolve(conn);
        },
        (err: unknown) => {
          if (done) return;
          done = true;
          clock.clearTimeout(timer);
          controller.signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }
}
