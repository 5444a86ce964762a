/**
 * One timer for all of a client's attempt deadlines. A Node timer per call costs more than the
 * policies themselves (allocation, list insertion, ref counting); here a call's deadline links it
 * into a list of calls with the same budget (same budget ⇒ expiries in order), and one clock timer
 * is armed at the earliest live deadline. The list runs through the calls themselves, so
 * scheduling and cancelling are a few field writes on objects the call already touches, with no
 * array to grow, sweep or compact.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';

/** Something with a deadline: `onDeadline` runs if it is still scheduled when time runs out. */
export interface Expirable {
  /** The list it is in while scheduled, `undefined` otherwise (managed by {@link Deadlines}). */
  deadlineList: unknown;
  /** Its neighbours in that list (managed by {@link Deadlines}). */
  deadlinePrev: Expirable | undefined;
  deadlineNext: Expirable | undefined;
  /** Clock time it is due (managed by {@link Deadlines}). */
  deadlineAt: number;
  onDeadline(): void;
}

/** The scheduled items of one budget, earliest due first. */
class List {
  readonly duration: number;
  head: Expirable | undefined = undefined;
  tail: Expirable | undefined = undefined;

  constructor(duration: number) {
    this.duration = duration;
  }

  /**
   * Links `item` in by its due time. It almost always goes last (same budget, later start); a call
   * that waited in the bulkhead counts its budget from when it started, so it may go a little
   * further forward.
   */
  insert(item: Expirable, at: number): void {
    let prev = this.tail;
    while (prev !== undefined && prev.deadlineAt > at) prev = prev.deadlinePrev;
    const next = prev === undefined ? this.head : prev.deadlineNext;
    item.deadlineList = this;
    item.deadlineAt = at;
    item.deadlinePrev = prev;
    item.deadlineNext = next;
    if (prev === undefined) this.head = item;
    else prev.deadlineNext = item;
    if (next === undefined) this.tail = item;
    else next.deadlinePrev = item;
  }

  remove(item: Expirable): void {
    const { deadlinePrev: prev, deadlineNext: next } = item;
    if (prev === undefined) this.head = next;
    else prev.deadlineNext = next;
    if (next === undefined) this.tail = prev;
    else next.deadlinePrev = prev;
    item.deadlineList = undefined;
    item.deadlinePrev = undefined;
    item.deadlineNext = undefined;
  }

  /** Removes and returns every item due at or before `now`. */
  popDue(now: number, out: Expirable[]): void {
    let item = this.head;
    while (item !== undefined && item.deadlineAt <= now) {
      const next = item.deadlineNext;
      this.remove(item);
      out.push(item);
      item = next;
    }
  }
}

/** Marks an item whose budget got a clock timer of its own (see `MAX_LISTS`). */
const OWN_TIMER = Symbol('own timer');

// Distinct budgets kept in lists; a budget beyond these (per-call overrides, retries with what is
// left of the total) gets a timer of its own.
const MAX_LISTS = 8;

/** The deadline scheduler of one client. */
export class Deadlines {
  readonly #clock: Clock;
  readonly #lists = new Map<number, List>();
  readonly #own = new Map<Expirable, TimerHandle>();
  /** The list used last (most calls of a client share one budget): no map lookup for them. */
  #last: List | undefined;
  #timer: TimerHandle = undefined;
  #armedAt = Number.POSITIVE_INFINITY;
  readonly #fire = (): void => this.#onTimer();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Calls `item.onDeadline()` after `duration` ms unless cancelled first. `now` is `clock.now()`. */
  schedule(item: Expirable, duration: number, now: number): void {
    if (item.deadlineList !== undefined) this.cancel(item); // rescheduled: one deadline at a time
    let list = this.#last;
    if (list === undefined || list.duration !== duration) {
      list = this.#lists.get(duration);
      if (list === undefined) {
        if (this.#lists.size >= MAX_LISTS) {
          item.deadlineList = OWN_TIMER;
          this.#own.set(
            item,
            this.#clock.setTimeout(() => {
              this.#own.delete(item);
              item.deadlineList = undefined;
              item.onDeadline();
            }, duration),
          );
          return;
        }
        list = new List(duration);
        this.#lists.set(duration, list);
      }
      this.#last = list;
    }
    const at = now + duration;
    list.insert(item, at);
    // (`now` may be a call's start rather than the present: the timer is set from the clock.)
    if (at < this.#armedAt) this.#arm(at, this.#clock.now());
  }

  /** Cancels a scheduled deadline (a no-op when it is not scheduled). */
  cancel(item: Expirable): void {
    const list = item.deadlineList;
    if (list === undefined) return;
    if (list === OWN_TIMER) {
      this.#clock.clearTimeout(this.#own.get(item));
      this.#own.delete(item);
      item.deadlineList = undefined;
      return;
    }
    (list as List).remove(item);
  }

  /** Stops the timer; scheduled items never fire (used by close, after every call has settled). */
  stop(): void {
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#armedAt = Number.POSITIVE_INFINITY;
    for (const handle of this.#own.values()) this.#clock.clearTimeout(handle);
    this.#own.clear();
    for (const list of this.#lists.values()) {
      while (list.head !== undefined) list.remove(list.head);
    }
    this.#lists.clear();
    this.#last = undefined;
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
    for (const list of this.#lists.values()) {
      list.popDue(now, due);
      const head = list.head;
      if (head !== undefined && head.deadlineAt < next) next = head.deadlineAt;
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next, now);
    for (const item of due) item.onDeadline();
  }
}
