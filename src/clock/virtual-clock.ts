/**
 * A virtual clock for tests and the fleet simulator: time moves only when told to, timers fire in
 * order from a binary heap, and randomness comes from a seeded generator so runs repeat exactly.
 */
import type { Clock, TimerHandle } from './clock.ts';

interface VirtualTimer {
  at: number;
  seq: number;
  fn: (() => void) | undefined;
}

/**
 * Options of {@link VirtualClock}.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock({ start: 0, seed: 42 });
 * ```
 */
export interface VirtualClockOptions {
  /**
   * The starting time in milliseconds.
   * @default 0
   */
  start?: number;
  /**
   * Seed of the random generator (sfc32); the same seed gives the same sequence.
   * @default 1
   */
  seed?: number;
}

/**
 * A {@link Clock} whose time only moves through {@link VirtualClock.advance} or
 * {@link VirtualClock.runNext}. Timers due at the same instant fire in the order they were set.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock({ seed: 7 });
 * clock.setTimeout(() => console.log('later'), 1_000);
 * await clock.advance(1_000); // logs "later"
 * ```
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  #heap: VirtualTimer[] = [];
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(options: VirtualClockOptions = {}) {
    this.#now = options.start ?? 0;
    const seed = options.seed ?? 1;
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.random();
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer: VirtualTimer = { at: this.#now + Math.max(0, ms), seq: this.#seq++, fn };
    this.#push(timer);
    return timer;
  }

  clearTimeout(handle: TimerHandle): void {
    // Lazy deletion: a cleared timer stays in the heap without a callback until it reaches the top.
    if (typeof handle === 'object' && handle !== null && 'fn' in handle)
      (handle as VirtualTimer).fn = undefined;
  }

  /** sfc32: small, fast and good enough for jitter and Poisson arrivals. */
  random(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Timers that are set and not yet fired or cleared (cleared ones may be counted until they surface). */
  get pending(): number {
    return this.#heap.length;
  }

  /** The time of the next live timer, or `undefined` when none is set. */
  nextAt(): number | undefined {
    this.#dropCleared();
    return this.#heap[0]?.at;
  }

  /**
   * Fires the next timer synchronously (moving time to it) and returns `true`, or returns `false`
   * when no timer is set or the next one is later than `limit`.
   */
  runNext(limit = Number.POSITIVE_INFINITY): boolean {
    this.#dropCleared();
    const top = this.#heap[0];
    if (top === undefined || top.at > limit) return false;
    this.#pop();
    this.#now = Math.max(this.#now, top.at);
    const fn = top.fn;
    top.fn = undefined;
    fn?.();
    return true;
  }

  /**
   * Moves time forward by `ms`, firing every timer due on the way in order, and lets promise
   * callbacks settle after each one (so async code reacting to a timer runs at that instant).
   */
  async advance(ms: number): Promise<void> {
    const until = this.#now + ms;
    await settle();
    while (this.runNext(until)) await settle();
    this.#now = Math.max(this.#now, until);
    await settle();
  }

  /** Fires timers until none is left or `maxTimers` have fired; returns how many fired. */
  async runAll(maxTimers = 100_000): Promise<number> {
    let fired = 0;
    await settle();
    while (fired < maxTimers && this.runNext()) {
      fired++;
      await settle();
    }
    return fired;
  }

  #dropCleared(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.fn === undefined) this.#pop();
  }

  #less(x: VirtualTimer, y: VirtualTimer): boolean {
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  #push(timer: VirtualTimer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && this.#less(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && this.#less(heap[r]!, heap[m]!)) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
}

/** Lets pending promise callbacks run: a macrotask turn drains the microtask queue first. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
