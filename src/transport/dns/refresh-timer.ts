/**
 * Refresh-ahead for the DNS cache: the set of hot names (used since their last refresh started) and
 * one timer for the whole cache, due at the earliest refresh point among them. Cold names get no
 * timer at all; they simply expire.
 */
import type { Clock, TimerHandle } from '../../clock/clock.ts';
import { MAX_DURATION } from '../../options/validate.ts';
import type { Entry } from './entry.ts';
import { unref } from './resolutions.ts';

/** Node timers overflow above this. */
const MAX_DELAY = MAX_DURATION;

/** The hot set and its timer. */
export class RefreshTimer {
  readonly #clock: Clock;
  readonly #hot = new Set<Entry>();
  /** Starts a background refresh of `e`. */
  readonly #refresh: (e: Entry) => void;
  /** Whether a query of `e` is in flight. */
  readonly #busy: (e: Entry) => boolean;
  #timer: TimerHandle;
  #at = Number.POSITIVE_INFINITY;
  #closed = false;

  constructor(clock: Clock, refresh: (e: Entry) => void, busy: (e: Entry) => boolean) {
    this.#clock = clock;
    this.#refresh = refresh;
    this.#busy = busy;
  }

  /** Marks `e` as used since its last refresh; its refresh point gets the timer if it is the earliest. */
  markHot(e: Entry): void {
    if (e.hot) return;
    e.hot = true;
    this.#hot.add(e);
    if (!this.#busy(e)) this.schedule(e.refreshAt);
  }

  /** A refresh of `e` started, or `e` left the cache. */
  markCold(e: Entry): void {
    e.hot = false;
    this.#hot.delete(e);
  }

  /** Makes sure the timer fires by `at`. */
  schedule(at: number): void {
    if (this.#closed || at >= this.#at) return;
    this.#clock.clearTimeout(this.#timer);
    this.#at = at;
    const delay = Math.min(MAX_DELAY, Math.max(0, at - this.#clock.now()));
    this.#timer = unref(this.#clock.setTimeout(this.#fire, delay));
  }

  /** Forgets every hot name and cancels the timer; `close` also refuses new schedules. */
  clear(close = false): void {
    for (const e of this.#hot) e.hot = false;
    this.#hot.clear();
    this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    if (close) this.#closed = true;
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#at = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const e of this.#hot) {
      if (this.#busy(e)) continue; // rescheduled when its answer lands
      if (e.refreshAt <= now + 1) this.#refresh(e);
      else next = Math.min(next, e.refreshAt);
    }
    if (next !== Number.POSITIVE_INFINITY) this.schedule(next);
  };
}
