/**
 * The injectable clock: time, timers and randomness behind one interface, so the same policy code
 * runs in real time, in tests on a virtual clock, and in the fleet simulator.
 */

/** An opaque timer handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/**
 * Time, timers and randomness for Bulwark's policies (deadline, backoff, retry budget, breaker).
 * Pass your own through `createClient({ clock })` or `createPool(factory, { clock })`; the default is
 * {@link systemClock}.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock({ seed: 42 });
 * const client = createClient({ clock });
 * await clock.advance(5_000); // half-open breakers, expire deadlines, finish backoff sleeps
 * ```
 */
export interface Clock {
  /** Monotonic milliseconds (any origin); differences are what matter. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer; a handle that already fired or is `undefined` is ignored. */
  clearTimeout(handle: TimerHandle): void;
  /** A uniformly distributed number in [0, 1). */
  random(): number;
}

/** The real clock: `performance.now()`, Node's timers and `Math.random()`. */
export const systemClock: Clock = Object.freeze({
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): TimerHandle => setTimeout(fn, ms),
  clearTimeout: (handle: TimerHandle): void => clearTimeout(handle as NodeJS.Timeout | undefined),
  random: Math.random,
});

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
