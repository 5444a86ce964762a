/**
 * The circuit breaker for one origin: opossum's state machine and rolling window, driven by the
 * injectable clock. Bucket rotation and the open → half-open transition happen lazily on the next
 * call, so a breaker costs no timer at all and runs the same in real time and on a virtual clock.
 * While it is closed an attempt runs without opossum's `fire`: it is counted as it starts and as
 * it ends, into opossum's window, and the breaker decides to open from that window (see
 * {@link Breaker.settle}); open and half-open calls go through `fire`.
 */
import { EventEmitter } from 'node:events';
import CircuitBreaker from 'opossum';
import type { Clock } from '../clock/clock.ts';
import { BulwarkError, type RequestInfo, type Target } from '../errors/bulwark-error.ts';
import { checkDuration, checkNumber, checkObject, MAX_DURATION } from '../options/validate.ts';
import { continuation, OK, promised, type Stage, settleFrom } from './pipeline.ts';

/**
 * Circuit breaker options (all optional).
 *
 * @example
 * ```ts
 * createClient({ breaker: { threshold: 25, minimumCalls: 50, resetTimeout: 10_000 } });
 * ```
 */
export interface BreakerOptions {
  /**
   * Open when the failure percentage of the calls in the window exceeds this (0–100) with 95 %
   * confidence — the lower end of the failure rate's 95 % interval (Wilson score) is above it — or
   * when every call in the window failed. Over many calls that is the percentage itself; over a
   * few it takes more than a chance run of failures, so a brownout's random failures (30 % of a
   * few dozen calls) do not open it, while an outage opens it as soon as there are `minimumCalls`
   * calls. Calls still in flight count as calls that have not failed, as opossum's `fire` counts
   * them.
   * @default 50
   */
  threshold?: number;
  /**
   * Calls in the window before the breaker may open at all.
   * @default 20
   */
  minimumCalls?: number;
  /**
   * The rolling window the failure percentage is computed over, in milliseconds.
   * @default 10000
   */
  window?: number;
  /**
   * Buckets the window is divided into (its resolution).
   * @default 10
   */
  buckets?: number;
  /**
   * How long the breaker stays open before one half-open probe is let through, in milliseconds.
   * Short, so traffic is back within a second of the upstream's recovery; the probe is the next
   * real call, so an idle client sends none, and a busy one sends one per reset (in the fleet
   * simulator, 1 000 clients × 2 req/s through a 30 s outage: recovery 0.7 s and 0.61× the normal
   * load upstream, against 4.7 s and 0.38× with a 5 s reset — bench/README.md).
   * @default 750
   */
  resetTimeout?: number;
}

/** Breaker options after validation and defaults. */
export interface ResolvedBreaker {
  readonly threshold: number;
  readonly minimumCalls: number;
  readonly window: number;
  readonly buckets: number;
  readonly resetTimeout: number;
}

/** The defaults: open above 50 % failures over 10 s with ≥ 20 calls; half-open after 750 ms. */
export const BREAKER_DEFAULTS: ResolvedBreaker = Object.freeze({
  threshold: 50,
  minimumCalls: 20,
  window: 10_000,
  buckets: 10,
  resetTimeout: 750,
});

/** The names of the breaker's own options. */
export const BREAKER_OPTION_NAMES: readonly string[] = Object.freeze([
  'threshold',
  'minimumCalls',
  'window',
  'buckets',
  'resetTimeout',
]);

/** Validates breaker options; `path` prefixes the option names in errors. */
export function resolveBreaker(input: unknown, path = 'breaker'): ResolvedBreaker {
  const o = checkObject(input, path, BREAKER_OPTION_NAMES);
  const d = BREAKER_DEFAULTS;
  return Object.freeze({
    threshold: checkNumber(o.threshold, `${path}.threshold`, d.threshold, { min: 0, max: 100 }),
    minimumCalls: checkNumber(o.minimumCalls, `${path}.minimumCalls`, d.minimumCalls, {
      min: 0,
      integer: true,
    }),
    window: checkDuration(o.window, `${path}.window`, d.window, 1),
    buckets: checkNumber(o.buckets, `${path}.buckets`, d.buckets, { min: 1, max: 1000, integer: true }),
    resetTimeout: checkDuration(o.resetTimeout, `${path}.resetTimeout`, d.resetTimeout),
  });
}

/** The three states of a breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Hooks a breaker reports through. */
export interface BreakerHooks {
  /** Decides whether an error counts against the upstream (the taxonomy's errorFilter). */
  isFailure: (err: unknown) => boolean;
  /** Called on every state change; `cause` is the failure that opened it, for `open`. */
  onStateChange?: (state: BreakerState, cause: unknown) => void;
  /** The origin the breaker guards, for `CIRCUIT_OPEN` errors. */
  target?: Target;
  /** Turns the failure that opened the breaker into the `cause` callers see (default: as it is). */
  describeCause?: (failure: unknown) => unknown;
}

// opossum's own reset timer must never fire: the clock decides when the breaker half-opens.
const NEVER = MAX_DURATION;

function invoke<A, T>(action: (arg: A) => Promise<T>, arg: A): Promise<T> {
  return action(arg);
}

const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** Outcomes a closed breaker counts before it hands them to opossum at the latest. */
const FLUSH_EVERY = 32;

/** z of a two-sided 95 % interval. */
const Z = 1.96;

/**
 * The lower end of the 95 % Wilson score interval of a failure rate, `failures` of `calls`: the
 * failure rate the window shows with confidence.
 * @see https://en.wikipedia.org/wiki/Binomial_proportion_confidence_interval#Wilson_score_interval
 */
export function failureRateLowerBound(failures: number, calls: number): number {
  if (calls <= 0) return 0;
  const p = Math.min(1, failures / calls);
  const z2 = Z * Z;
  const center = p + z2 / (2 * calls);
  const margin = Z * Math.sqrt((p * (1 - p)) / calls + z2 / (4 * calls * calls));
  return Math.max(0, (center - margin) / (1 + z2 / calls));
}

/** One origin's circuit breaker. */
export class Breaker {
  readonly #options: ResolvedBreaker;
  readonly #clock: Clock;
  readonly #hooks: BreakerHooks;
  readonly #bucketMs: number;
  readonly #rotator = new EventEmitter();
  #cb: CircuitBreaker<[(arg: never) => Promise<unknown>, unknown], unknown>;
  #rotatedAt: number;
  #openedAt = 0;
  #lastFailure: unknown;
  #openCause: unknown;
  #state: BreakerState = 'closed';
  /** Calls of the closed breaker started, succeeded and failed, not yet handed to opossum (`#flush`). */
  #started = 0;
  #succeeded = 0;
  #failed = 0;

  constructor(options: ResolvedBreaker, clock: Clock, hooks: BreakerHooks) {
    this.#options = options;
    this.#clock = clock;
    this.#hooks = hooks;
    this.#bucketMs = options.window / options.buckets;
    this.#rotatedAt = clock.now();
    this.#cb = this.#create(false);
  }

  /** The state now (an open breaker whose reset timeout has passed reads as half-open). */
  get state(): BreakerState {
    this.#tick(this.#clock.now());
    return this.#state;
  }

  /** The failure that last opened the breaker. */
  get openCause(): unknown {
    return this.#openCause;
  }

  /**
   * Runs `action(arg)` through the breaker. Rejects with `CIRCUIT_OPEN` (cause: the failure that
   * opened it) without calling `action` while the breaker is open, or while the one half-open
   * probe is in flight.
   */
  run<A, T>(
    action: (arg: A) => Promise<T>,
    arg: A,
    requestOf?: (arg: A) => RequestInfo | undefined,
    now = this.#clock.now(),
  ): Promise<T> {
    if (this.closedAt(now)) {
      // The action runs as it is and its outcome is handed to opossum afterwards (`settle`).
      this.start();
      return new Promise<T>((resolve, reject) => {
        const done = (_arg: A, err: unknown, result?: T): void =>
          err === OK ? resolve(result as T) : reject(err);
        action(arg).then(
          (result) => this.settle(arg, OK, result, done),
          (err: unknown) => this.settle(arg, err, undefined, done),
        );
      });
    }
    const fired = this.#cb.fire(action as (arg: never) => Promise<unknown>, arg) as Promise<T>;
    return fired.catch((err: unknown) => {
      if (CircuitBreaker.isOurError(err as Error)) throw this.#openError(requestOf?.(arg));
      throw err;
    });
  }

  /**
   * Whether the breaker is closed at clock time `now` (rotating its window and half-opening as
   * the clock says). A caller that runs an action because it is closed reports its start with
   * {@link start} and its outcome with {@link settle}; otherwise it goes through {@link run}.
   */
  closedAt(now: number): boolean {
    this.#tick(now);
    return this.#state === 'closed';
  }

  /** An action starts while the breaker is closed: it counts as a call of the window from now. */
  start(): void {
    if (++this.#started >= FLUSH_EVERY) this.#flush();
  }

  /**
   * Counts the outcome of an action run while the breaker was closed (its start was counted by
   * {@link start}), then passes it on to `done`.
   *
   * Starts, successes (and errors the filter does not count) and failures reach opossum's rolling
   * window the way opossum counts its own — its `Status` listens to the breaker's documented
   * `fire`, `success` and `failure` events — in small batches (`#flush`), always before the failure
   * rate is read. `fire()` itself would cost three promises, two clock reads and a semaphore per
   * call (about 1 µs, as much as every other policy together). A call counts from its start, as
   * opossum's `fire` counts it, so calls still in flight are calls that have not failed (yet): a
   * burst of fast failures among many slow successes at a cold start does not read as an outage.
   *
   * After a failure the breaker opens (opossum's documented `open()`) when the window holds at
   * least `minimumCalls` calls and either all of them failed or its failure rate exceeds
   * `threshold` with 95 % confidence ({@link failureRateLowerBound}) — the one place Bulwark departs
   * from opossum's own rule, a bare `failures / calls > threshold`, which a chance run of a
   * brownout's random failures trips.
   *
   * An outcome that arrives after the breaker opened is not counted: an open breaker counts
   * nothing, and a half-open one waits for its own probe.
   *
   * `arg` (the action's argument: the call) is handed back to `done` as it is, so a caller can
   * pass the same `done` for every action instead of a closure per action.
   */
  settle<A, T>(
    arg: A,
    err: unknown,
    result: T | undefined,
    done: (arg: A, err: unknown, result?: T) => void,
  ): void {
    if (this.#state === 'closed') {
      if (err !== OK && this.#hooks.isFailure(err)) {
        this.#failed++;
        this.#lastFailure = err;
        this.#flush();
        this.#openIfFailing();
      } else if (++this.#succeeded >= FLUSH_EVERY) this.#flush();
    }
    if (err === OK) done(arg, OK, result);
    else done(arg, err);
  }

  /** Opens the breaker when its window shows the upstream failing (see {@link settle}). */
  #openIfFailing(): void {
    const { fires, failures } = this.#cb.stats;
    const { minimumCalls, threshold } = this.#options;
    if (fires < minimumCalls || (failures / fires) * 100 <= threshold) return;
    if (failures >= fires || failureRateLowerBound(failures, fires) * 100 > threshold) this.#cb.open();
  }

  /**
   * Hands the starts, successes and failures counted since the last flush to opossum. They matter
   * only when the failure rate is read — at a failure — and must land in the bucket they happened
   * in, so they are flushed before every failure and every bucket rotation, and in between every
   * {@link FLUSH_EVERY} of them (a few dozen emits in a row, on warm caches, instead of opossum's
   * listeners and its window being touched once per call).
   */
  #flush(): void {
    const cb = this.#cb;
    for (let n = this.#started; n > 0; n--) cb.emit('fire', NO_ARGS);
    for (let n = this.#succeeded; n > 0; n--) cb.emit('success', undefined, 0);
    for (let n = this.#failed; n > 0; n--) cb.emit('failure', this.#lastFailure, 0, NO_ARGS);
    this.#started = 0;
    this.#succeeded = 0;
    this.#failed = 0;
  }

  /** Stops the breaker for good (on client close). */
  shutdown(): void {
    this.#cb.shutdown();
  }

  #openError(request: RequestInfo | undefined): BulwarkError {
    return new BulwarkError({
      layer: 'circuit',
      code: 'CIRCUIT_OPEN',
      target: this.#hooks.target,
      request,
      cause: this.#openCause,
    });
  }

  /** Rotates the window's buckets and half-opens, according to the clock. */
  #tick(now: number): void {
    const elapsed = now - this.#rotatedAt;
    if (elapsed >= this.#bucketMs) {
      this.#flush(); // into the bucket they happened in
      const steps = Math.floor(elapsed / this.#bucketMs);
      for (let i = Math.min(steps, this.#options.buckets); i > 0; i--) this.#rotator.emit('rotate');
      this.#rotatedAt += steps * this.#bucketMs;
    }
    if (this.#state === 'open' && now - this.#openedAt >= this.#options.resetTimeout) {
      // A fresh opossum instance in half-open state: public API only, and a clean window after it closes.
      this.#cb.shutdown();
      this.#cb = this.#create(true);
      this.#setState('half-open', undefined);
    }
  }

  #create(halfOpen: boolean): CircuitBreaker<[(arg: never) => Promise<unknown>, unknown], unknown> {
    const o = this.#options;
    const cb = new CircuitBreaker(
      invoke as (action: (arg: never) => Promise<unknown>, arg: unknown) => Promise<unknown>,
      {
        timeout: false,
        resetTimeout: NEVER,
        errorThresholdPercentage: o.threshold,
        volumeThreshold: o.minimumCalls,
        rollingCountTimeout: o.window,
        rollingCountBuckets: o.buckets,
        rollingPercentilesEnabled: false,
        enableSnapshots: false,
        rotateBucketController: this.#rotator,
        errorFilter: (err: unknown) => !this.#hooks.isFailure(err),
        ...(halfOpen ? { state: { closed: false, halfOpen: true } } : {}),
      } as CircuitBreaker.Options,
    );
    cb.on('failure', (err: unknown) => {
      this.#lastFailure = err;
    });
    cb.on('open', () => {
      this.#openedAt = this.#clock.now();
      this.#openCause = this.#hooks.describeCause?.(this.#lastFailure) ?? this.#lastFailure;
      this.#setState('open', this.#openCause);
    });
    cb.on('close', () => this.#setState('closed', undefined));
    return cb;
  }

  #setState(state: BreakerState, cause: unknown): void {
    if (this.#state === state) return;
    this.#state = state;
    // Counts of a closed breaker that opened are no part of the next window.
    if (state !== 'closed') {
      this.#started = 0;
      this.#succeeded = 0;
      this.#failed = 0;
    }
    this.#hooks.onStateChange?.(state, cause);
  }
}

/** What the breaker stage reads of a call. */
export interface BreakerCall {
  /**
   * The breaker this call samples (`undefined`: none): its origin's, its key's (`breaker.key`), or
   * a generic policy's.
   */
  readonly breaker: Breaker | undefined;
  /** Attempts started so far (the first one's time is the call's start: no clock read). */
  readonly attempts: number;
  readonly startedAt: number;
  /** For `CIRCUIT_OPEN` errors (`undefined` for a generic call, which has no request). */
  readonly request: RequestInfo | undefined;
}

/** The breaker stage: each attempt is one sample of its origin's breaker; an open one answers at once. */
export function breakerStage<C extends BreakerCall, R>(clock: Clock): Stage<C, R> {
  return (next) => {
    const attempt = promised(next);
    const counted = continuation<C, R>(
      (done) => (call, err, result) => (call.breaker as Breaker).settle(call, err, result, done),
    );
    return (call, done) => {
      const breaker = call.breaker;
      if (breaker === undefined) {
        next(call, done);
        return;
      }
      const now = call.attempts === 0 ? call.startedAt : clock.now();
      if (!breaker.closedAt(now)) {
        settleFrom(breaker.run(attempt, call, requestOf, now), call, done);
        return;
      }
      breaker.start();
      next(call, counted(done));
    };
  };
}

function requestOf(call: BreakerCall): RequestInfo | undefined {
  return call.request;
}
