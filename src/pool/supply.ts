/**
 * The create loop generic-pool runs as its `factory.create`: it keeps trying — spaced by the
 * creator's probe delay or backoff (and the breaker, when configured), one attempt at a time while
 * connects fail — until it has a connection or nobody needs one any more. generic-pool therefore
 * never sees a failed connect, which it would retry at once, forever.
 */
import type { Clock } from '../clock/clock.ts';
import type { Creator, LostRef } from './creator.ts';
import { unref } from './factory.ts';

/** What the loop asks the pool. */
export interface SupplyHooks<T> {
  /** Whether the pool is closing (the loop then stops with `closedError()`). */
  closing(): boolean;
  closedError(): unknown;
  /** Whether `loops` create loops are all still needed (for waiting callers, or for `min`). */
  wanted(loops: number): boolean;
  /** Whether callers are waiting (attempts then come every probe interval, not by the backoff). */
  demand(): boolean;
  /** Takes a new connection in; returns it to generic-pool. */
  adopt(conn: T, ref: LostRef<T>): T;
  /** A connect attempt failed with `cause` (the connect error). */
  failed(cause: unknown): void;
}

/** Thrown to generic-pool by a loop that is no longer needed (generic-pool only emits it as an event). */
const NO_DEMAND = new Error('no connection needed any more');

/** The create loops of one pool. */
export class Supply<T> {
  readonly #creator: Creator<T>;
  readonly #clock: Clock;
  readonly #hooks: SupplyHooks<T>;
  readonly #minPause: number;
  readonly #stop = new AbortController();
  readonly #sleepers = new Set<() => void>();
  #loops = 0;

  constructor(creator: Creator<T>, clock: Clock, hooks: SupplyHooks<T>, minPause: number) {
    this.#creator = creator;
    this.#clock = clock;
    this.#hooks = hooks;
    this.#minPause = Math.max(1, minPause);
  }

  /** Loops running (connecting, or waiting out the backoff). */
  get loops(): number {
    return this.#loops;
  }

  /** Wakes every loop waiting out a backoff, so it sees the pool closing. */
  stop(): void {
    this.#stop.abort();
  }

  /** Wakes every loop waiting out a backoff, so it works out its wait again (a caller came). */
  wake(): void {
    for (const wake of this.#sleepers) wake();
  }

  /** One create loop: resolves with a connection, or rejects when it is not needed any more. */
  async create(): Promise<T> {
    this.#loops++;
    try {
      for (;;) {
        if (this.#hooks.closing()) throw this.#hooks.closedError();
        if (!this.#hooks.wanted(this.#loops)) throw NO_DEMAND;
        const creator = this.#creator;
        if (creator.probing && creator.inFlight > 0) {
          await creator.whenIdle(); // the probe decides for everyone
          continue;
        }
        const wait = creator.waitTime(this.#hooks.demand());
        if (wait > 0) {
          await this.#pause(wait);
          continue;
        }
        const outcome = await creator.attempt();
        if (outcome.ok) return this.#hooks.adopt(outcome.conn, outcome.ref);
        try {
          if (outcome.counted) this.#hooks.failed(outcome.error);
          else await this.#pause(Math.max(creator.waitTime(false), this.#minPause));
        } catch (err) {
          // Whatever went wrong here must not become generic-pool's instant retry (a busy loop).
          process.nextTick(() => {
            throw err;
          });
          await this.#pause(Math.max(creator.waitTime(false), this.#minPause));
        }
      }
    } finally {
      this.#loops--;
    }
  }

  /** Sleeps on the clock; `stop()` and `wake()` end it. The timer does not keep the process alive. */
  #pause(ms: number): Promise<void> {
    const signal = this.#stop.signal;
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#clock.clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = this.#clock.setTimeout(done, ms);
      unref(timer);
      signal.addEventListener('abort', done, { once: true });
      this.#sleepers.add(done);
    });
  }
}
