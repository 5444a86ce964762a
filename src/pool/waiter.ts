/**
 * One acquire that could not be answered at once: its promise, its deadline timer on the clock and
 * its abort listener, settled exactly once.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';

/** A pending acquire. */
export class Waiter<T> {
  readonly promise: Promise<T>;
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  /** The stack of the `acquire()` call, when leak detection is on. */
  readonly stack: string | undefined;
  /** generic-pool's request while the waiter is queued there. */
  request: object | undefined;
  /** When the acquire started (pool clock), for `bulwark:pool:wait`; `NaN` when nobody measures it. */
  startedAt = Number.NaN;
  #resolve!: (conn: T) => void;
  #reject!: (err: unknown) => void;
  #settled = false;
  #timer: TimerHandle | undefined;
  #onAbort: (() => void) | undefined;
  readonly #clock: Clock;

  /**
   * Starts the deadline timer (`onDeadline` at `deadline`) and listens to `signal` (`onAbort`).
   * An already aborted signal calls `onAbort` at once.
   */
  constructor(
    clock: Clock,
    deadline: number,
    signal: AbortSignal | undefined,
    stack: string | undefined,
    onDeadline: (waiter: Waiter<T>) => void,
    onAbort: (waiter: Waiter<T>) => void,
  ) {
    this.#clock = clock;
    this.deadline = deadline;
    this.signal = signal;
    this.stack = stack;
    this.request = undefined;
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#timer = clock.setTimeout(() => onDeadline(this), Math.max(0, deadline - clock.now()));
    if (signal !== undefined) {
      this.#onAbort = () => onAbort(this);
      if (signal.aborted) this.#onAbort();
      else signal.addEventListener('abort', this.#onAbort, { once: true });
    }
  }

  get settled(): boolean {
    return this.#settled;
  }

  /** Resolves with `conn`; `false` when already settled. */
  resolve(conn: T): boolean {
    if (!this.#finish()) return false;
    this.#resolve(conn);
    return true;
  }

  /** Rejects with `err`; `false` when already settled. */
  reject(err: unknown): boolean {
    if (!this.#finish()) return false;
    this.#reject(err);
    return true;
  }

  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#clock.clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.signal?.removeEventListener('abort', this.#onAbort);
    return true;
  }
}
