/**
 * One timer for all of a client's attempt deadlines. A Node timer per call costs more than the
 * policies themselves (allocation, list insertion, ref counting); here a call's deadline is two
 * array writes into a FIFO of calls with the same budget (same budget ⇒ expiries in order), and
 * one clock timer is armed at the earliest live deadline. Cancelling is one write.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';

/** Something with a deadline: `onDeadline` runs if it is still scheduled when time runs out. */
export interface Expirable {
  /** Slot in its FIFO while scheduled, -1 otherwise (managed by {@link Deadlines}). */
  deadlineSlot: number;
  /** The FIFO it is in (managed by {@link Deadlines}). */
  deadlineQueue: unknown;
  onDeadline(): void;
}

class Fifo {
  readonly duration: number;
  items: (Expirable | undefined)[] = [];
  times: number[] = [];
  head = 0;

  constructor(duration: number) {
    this.duration = duration;
  }

  get nextAt(): number {
    this.#skipCancelled();
    return this.head < this.items.length ? this.times[this.head]! : Number.POSITIVE_INFINITY;
  }

  push(item: Expirable, at: number): void {
    item.deadlineSlot = this.items.length;
    item.deadlineQueue = this;
    this.items.push(item);
    this.times.push(at);
  }

  /**
   * Takes the item in `slot` out. Calls mostly end in the order they started, so the FIFO is kept
   * to the calls in flight: cancelled items at either end are dropped at once, instead of waiting
   * for the timer (a whole budget away) to sweep them.
   */
  remove(slot: number): void {
    const items = this.items;
    const times = this.times;
    items[slot] = undefined;
    if (slot === items.length - 1) {
      do {
        items.pop();
        times.pop();
      } while (items.length > this.head && items[items.length - 1] === undefined);
    }
    if (slot === this.head) {
      let head = this.head;
      while (head < items.length && items[head] === undefined) head++;
      this.head = head;
    }
    if (this.head === items.length) {
      if (this.head > 0) {
        items.length = 0;
        times.length = 0;
        this.head = 0;
      }
    } else if (this.head > 1024) {
      this.#compact();
    }
  }

  /** Removes and returns every live item due at or before `now`. */
  popDue(now: number, out: Expirable[]): void {
    while (this.head < this.items.length && this.times[this.head]! <= now) {
      const item = this.items[this.head];
      this.items[this.head++] = undefined;
      if (item !== undefined) {
        item.deadlineSlot = -1;
        item.deadlineQueue = undefined;
        out.push(item);
      }
    }
    this.#compact();
  }

  #skipCancelled(): void {
    while (this.head < this.items.length && this.items[this.head] === undefined) this.head++;
    this.#compact();
  }

  #compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.times = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      // Shift the live part down and renumber the slots it holds.
      this.items = this.items.slice(this.head);
      this.times = this.times.slice(this.head);
      this.head = 0;
      for (let i = 0; i < this.items.length; i++) {
        const item = this.items[i];
        if (item !== undefined) item.deadlineSlot = i;
      }
    }
  }
}

// Distinct budgets kept in FIFOs; a budget beyond these (per-call overrides, retries with what is
// left of the total) gets a timer of its own.
const MAX_QUEUES = 8;

/** The deadline scheduler of one client. */
export class Deadlines {
  readonly #clock: Clock;
  readonly #queues = new Map<number, Fifo>();
  readonly #own = new Map<Expirable, TimerHandle>();
  #timer: TimerHandle = undefined;
  #armedAt = Number.POSITIVE_INFINITY;
  readonly #fire = (): void => this.#onTimer();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Calls `item.onDeadline()` after `duration` ms unless cancelled first. `now` is `clock.now()`. */
  schedule(item: Expirable, duration: number, now: number): void {
    let queue = this.#queues.get(duration);
    if (queue === undefined) {
      if (this.#queues.size >= MAX_QUEUES) {
        item.deadlineSlot = -2;
        this.#own.set(
          item,
          this.#clock.setTimeout(() => {
            this.#own.delete(item);
            item.deadlineSlot = -1;
            item.onDeadline();
          }, duration),
        );
        return;
      }
      queue = new Fifo(duration);
      this.#queues.set(duration, queue);
    }
    const at = now + duration;
    queue.push(item, at);
    if (at < this.#armedAt) this.#arm(at, now);
  }

  /** Cancels a scheduled deadline (a no-op when it is not scheduled). */
  cancel(item: Expirable): void {
    const slot = item.deadlineSlot;
    if (slot >= 0) {
      (item.deadlineQueue as Fifo).remove(slot);
      item.deadlineSlot = -1;
      item.deadlineQueue = undefined;
    } else if (slot === -2) {
      this.#clock.clearTimeout(this.#own.get(item));
      this.#own.delete(item);
      item.deadlineSlot = -1;
    }
  }

  /** Stops the timer; scheduled items never fire (used by close, after every call has settled). */
  stop(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    for (const handle of this.#own.values()) this.#clock.clearTimeout(handle);
    this.#own.clear();
    this.#queues.clear();
  }

  #arm(at: number, now: number): void {
    this.#clock.clearTimeout(this.#timer);
    this.#armedAt = at;
    this.#timer = this.#clock.setTimeout(this.#fire, Math.max(0, at - now));
    // Deadlines must not keep the process alive: whatever they guard (a socket, a lookup) does.
    (this.#timer as { unref?: () => void } | undefined)?.unref?.();
  }

  #onTimer(): void {
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    const due: Expirable[] = [];
    let next = Number.POSITIVE_INFINITY;
    for (const queue of this.#queues.values()) {
      queue.popDue(now, due);
      const at = queue.nextAt;
      if (at < next) next = at;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next, now);
    for (const item of due) item.onDeadline();
  }
}
