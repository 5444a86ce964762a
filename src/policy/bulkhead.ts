/**
 * The bulkhead: a per-origin limit on calls in flight with a bounded FIFO queue in front of it.
 * Past the queue a call is shed at once with `POOL_QUEUE_FULL`; a queued call leaves the queue when
 * its deadline passes or its caller aborts. There is never an unbounded queue.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { BulwarkError, type RequestInfo, type Target } from '../errors/bulwark-error.ts';
import { checkNumber, checkObject } from '../options/validate.ts';
import { continuation, type Stage } from './pipeline.ts';

/**
 * Bulkhead options (all optional).
 *
 * @example
 * ```ts
 * createClient({ bulkhead: { limit: 64, queue: 128 } }); // the 193rd concurrent call gets POOL_QUEUE_FULL
 * ```
 */
export interface BulkheadOptions {
  /**
   * Calls in flight per origin.
   * @default 1000
   */
  limit?: number;
  /**
   * Calls that may wait for a slot per origin; the next one is rejected with `POOL_QUEUE_FULL`.
   * @default 1000
   */
  queue?: number;
}

/** Bulkhead options after validation and defaults. */
export interface ResolvedBulkhead {
  readonly limit: number;
  readonly queue: number;
}

/** 1 000 in flight (Microsoft.Extensions.Http.Resilience's rate limiter) and a queue of the same size. */
export const BULKHEAD_DEFAULTS: ResolvedBulkhead = Object.freeze({ limit: 1000, queue: 1000 });

/** The names of the bulkhead's own options. */
export const BULKHEAD_OPTION_NAMES: readonly string[] = Object.freeze(['limit', 'queue']);

/** Validates bulkhead options. */
export function resolveBulkhead(input: unknown, path = 'bulkhead'): ResolvedBulkhead {
  const o = checkObject(input, path, BULKHEAD_OPTION_NAMES);
  return Object.freeze({
    limit: checkNumber(o.limit, `${path}.limit`, BULKHEAD_DEFAULTS.limit, { min: 1, integer: true }),
    queue: checkNumber(o.queue, `${path}.queue`, BULKHEAD_DEFAULTS.queue, { min: 0, integer: true }),
  });
}

interface Waiter {
  resolve: () => void;
  reject: (err: unknown) => void;
  timer: TimerHandle;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  done: boolean;
}

/** One origin's bulkhead. */
export class Bulkhead {
  readonly #options: ResolvedBulkhead;
  readonly #clock: Clock;
  readonly #target: Target | undefined;
  #inFlight = 0;
  #queue: Waiter[] = [];
  #head = 0;
  #waiting = 0;
  #rejected = 0;
  #closed = false;

  constructor(options: ResolvedBulkhead, clock: Clock, target?: Target) {
    this.#options = options;
    this.#clock = clock;
    this.#target = target;
  }

  /** Calls holding a slot now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls waiting for a slot now. */
  get queued(): number {
    return this.#waiting;
  }

  /** Calls shed because the queue was full. */
  get rejected(): number {
    return this.#rejected;
  }

  /** Takes a slot at once when one is free (the hot path: no promise, no allocation). */
  tryAcquire(): boolean {
    if (this.#closed || this.#inFlight >= this.#options.limit || this.queued > 0) return false;
    this.#inFlight++;
    return true;
  }

  /**
   * Waits for a slot until `deadline` (clock ms). Rejects with `POOL_QUEUE_FULL` at once when the
   * queue is full, `POOL_ACQUIRE_TIMEOUT` (budget `total`) at the deadline, `POOL_CLOSED` on close,
   * or the signal's reason when the caller aborts.
   */
  acquire(deadline: number, signal: AbortSignal | undefined, request?: RequestInfo): Promise<void> {
    if (this.tryAcquire()) return Promise.resolve();
    if (this.#closed) return Promise.reject(this.#error('POOL_CLOSED', request));
    if (this.queued >= this.#options.queue) {
      this.#rejected++;
      return Promise.reject(this.#error('POOL_QUEUE_FULL', request));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, timer: undefined, signal, onAbort: undefined, done: false };
      const leave = (err: unknown): void => {
        if (waiter.done) return;
        waiter.done = true;
        this.#waiting--;
        this.#clock.clearTimeout(waiter.timer);
        if (waiter.onAbort) signal?.removeEventListener('abort', waiter.onAbort);
        reject(err);
      };
      waiter.timer = this.#clock.setTimeout(
        () => leave(this.#error('POOL_ACQUIRE_TIMEOUT', request, 'total')),
        Math.max(0, deadline - this.#clock.now()),
      );
      if (signal !== undefined) {
        waiter.onAbort = () => leave(signal.reason);
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#queue.push(waiter);
      this.#waiting++;
    });
  }

  /** Gives a slot back; the longest-waiting live caller takes it. */
  release(): void {
    while (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as unknown as Waiter;
      if (next.done) continue;
      next.done = true;
      this.#waiting--;
      this.#clock.clearTimeout(next.timer);
      if (next.onAbort) next.signal?.removeEventListener('abort', next.onAbort);
      this.#compact();
      next.resolve(); // the slot passes over without touching the count
      return;
    }
    this.#compact();
    this.#inFlight--;
  }

  /** Rejects every waiting call with `POOL_CLOSED` and refuses new ones. */
  close(): void {
    this.#closed = true;
    for (let i = this.#head; i < this.#queue.length; i++) {
      const w = this.#queue[i]!;
      if (w.done) continue;
      w.done = true;
      this.#clock.clearTimeout(w.timer);
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      w.reject(this.#error('POOL_CLOSED', undefined));
    }
    this.#queue = [];
    this.#head = 0;
    this.#waiting = 0;
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      if (this.#head === 0) return; // already empty: nothing to drop (the common case)
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  #error(
    code: 'POOL_QUEUE_FULL' | 'POOL_ACQUIRE_TIMEOUT' | 'POOL_CLOSED',
    request: RequestInfo | undefined,
    budget?: 'total',
  ): BulwarkError {
    return new BulwarkError({ layer: 'pool', code, budget, target: this.#target, request });
  }
}

/** What the bulkhead stage reads of a call. */
export interface BulkheadCall {
  /**
   * The bulkhead this call is admitted by (`undefined`: none): its origin's, its key's
   * (`bulkhead.key`), or a generic policy's.
   */
  readonly bulkhead: Bulkhead | undefined;
  /** Clock time the call's total budget runs out: it waits for a slot no longer. */
  readonly deadline: number;
  /** The caller's signal: an abort leaves the queue with its reason. */
  readonly signal: AbortSignal | undefined;
  /** For the errors it sheds the call with (`undefined` for a generic call). */
  readonly request: RequestInfo | undefined;
}

/** The bulkhead stage: admission per origin before the retry loop, held until the call settles. */
export function bulkheadStage<C extends BulkheadCall, R>(): Stage<C, R> {
  return (next) => {
    const releasing = continuation<C, R>((done) => (call, err, result) => {
      (call.bulkhead as Bulkhead).release();
      done(call, err, result);
    });
    return (call, done) => {
      const bulkhead = call.bulkhead;
      if (bulkhead === undefined) {
        next(call, done);
        return;
      }
      const release = releasing(done);
      if (bulkhead.tryAcquire()) {
        next(call, release);
        return;
      }
      bulkhead.acquire(call.deadline, call.signal, call.request).then(
        () => next(call, release),
        (err: unknown) => done(call, err),
      );
    };
  };
}
