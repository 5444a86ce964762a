/**
 * Housekeeping: a tick on the pool's clock (a few times a second, never keeping the process
 * alive) and `reviewIdle`, which decides for each idle connection whether to retire it (expired,
 * lost, idle too long above `min`), ping it (keepalive due, or suspected after a validation timed
 * out) or keep it — marking it stale before it has been idle for `validateAfterIdle`.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { ConnState } from './conn-state.ts';
import { unref } from './factory.ts';
import type { ResolvedPoolOptions } from './options.ts';

/** What to do with one idle connection. */
export type Verdict = 'keep' | 'ping' | 'lifetime' | 'idle' | 'lost';

/**
 * The tick period: a quarter of `validateAfterIdle` (at most 250 ms, at least 5 ms) when the pool
 * validates, else 1 s — keepalive, idle timeout and lifetime are minutes.
 */
export function tickPeriod(o: ResolvedPoolOptions, validates: boolean): number {
  return validates && o.validateAfterIdle > 0 ? Math.min(250, Math.max(5, o.validateAfterIdle / 4)) : 1_000;
}

/**
 * Reviews idle connections (longest idle first) at `now`, knowing the next review comes one `tick`
 * later: what would expire or turn stale before then is treated as such now, so nothing is ever
 * handed out past `maxLifetime` or idle past `validateAfterIdle` unchecked. `size` is the number of
 * open connections; with `suspect`, every connection idle past `validateAfterIdle` is pinged.
 */
export function reviewIdle(
  states: readonly ConnState[],
  now: number,
  tick: number,
  o: ResolvedPoolOptions,
  validates: boolean,
  size: number,
  suspect: boolean,
): Verdict[] {
  const horizon = now + tick;
  let open = size;
  return states.map((state): Verdict => {
    if (state.lost) return retire('lost');
    if (horizon >= state.expiresAt) return retire('lifetime');
    if (o.idleTimeout > 0 && open > o.min && now - state.usedAt >= o.idleTimeout) return retire('idle');
    if (validates && (suspect ? now - state.aliveAt > o.validateAfterIdle : now >= state.keepaliveAt))
      return 'ping';
    if (validates && horizon - state.aliveAt >= o.validateAfterIdle) state.fresh = false;
    return 'keep';
  });

  function retire(verdict: Verdict): Verdict {
    open--;
    return verdict;
  }
}

/** A periodic timer on a clock that does not keep the process alive. */
export class Ticker {
  readonly #clock: Clock;
  readonly #period: number;
  readonly #tick: () => void;
  #timer: TimerHandle | undefined;

  constructor(clock: Clock, period: number, tick: () => void) {
    this.#clock = clock;
    this.#period = period;
    this.#tick = tick;
  }

  get period(): number {
    return this.#period;
  }

  get running(): boolean {
    return this.#timer !== undefined;
  }

  start(): void {
    if (this.#timer !== undefined) return;
    const next = (): void => {
      this.#timer = this.#clock.setTimeout(() => {
        next();
        this.#tick();
      }, this.#period);
      unref(this.#timer);
    };
    next();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
