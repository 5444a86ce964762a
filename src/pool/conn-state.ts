/**
 * What the pool knows about one open connection: its age, when it was last used and last known to
 * work, when it is due for a keepalive ping, and the flags the fast path reads instead of a clock.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { ResolvedPoolOptions } from './options.ts';

/** One connection's state. Times are on the pool's clock, in milliseconds. */
export interface ConnState {
  readonly createdAt: number;
  /** Never handed out from then on (`maxLifetime` ± 2.5 %). */
  readonly expiresAt: number;
  /** Last released (or created): the start of its idle time, for `idleTimeout`. */
  usedAt: number;
  /** Last known to work (released, validated, pinged, created), for `validateAfterIdle`. */
  aliveAt: number;
  /** Next keepalive ping while idle. */
  keepaliveAt: number;
  /** Idle time before a ping: `keepaliveInterval` minus up to 10 %, drawn once per connection. */
  readonly keepaliveAfter: number;
  /**
   * May be handed out without a check: set when it is known to work, cleared by the housekeeping
   * tick before it has been idle for `validateAfterIdle`. The fast path reads this, not the clock.
   */
  fresh: boolean;
  /** Past (or within one tick of) `expiresAt`: retired instead of going back to the pool. */
  expired: boolean;
  borrowed: boolean;
  borrowedAt: number;
  /** The driver reported it dead (`CreateContext.lost`). */
  lost: boolean;
  lostReason: unknown;
  leakTimer: TimerHandle | undefined;
}

/** What a create learned about the connection dying before it resolved. */
export interface LostInfo {
  readonly early: boolean;
  readonly reason: unknown;
}

/** The state of a connection created at `now`. */
export function newConnState(
  now: number,
  clock: Clock,
  o: ResolvedPoolOptions,
  validates: boolean,
  lost: LostInfo,
): ConnState {
  const lifetime = o.maxLifetime;
  const state: ConnState = {
    createdAt: now,
    expiresAt:
      lifetime > 0 ? now + lifetime * (1 + 0.025 * (2 * clock.random() - 1)) : Number.POSITIVE_INFINITY,
    usedAt: now,
    aliveAt: now,
    keepaliveAt: Number.POSITIVE_INFINITY,
    keepaliveAfter:
      validates && o.keepaliveInterval > 0
        ? o.keepaliveInterval * (1 - 0.1 * clock.random())
        : Number.POSITIVE_INFINITY,
    fresh: false,
    expired: false,
    borrowed: false,
    borrowedAt: 0,
    lost: lost.early,
    lostReason: lost.reason,
    leakTimer: undefined,
  };
  markAlive(state, now, o, validates);
  return state;
}

/** Records that the connection worked at `now` (released, validated or pinged). */
export function markAlive(state: ConnState, now: number, o: ResolvedPoolOptions, validates: boolean): void {
  state.aliveAt = now;
  // validateAfterIdle 0 means every hand-out is checked.
  state.fresh = !validates || o.validateAfterIdle > 0;
  state.keepaliveAt = now + state.keepaliveAfter;
}

/** Whether a connection must be validated before hand-out at `now` (the waiting path, with a real clock reading). */
export function needsCheck(
  state: ConnState,
  now: number,
  o: ResolvedPoolOptions,
  validates: boolean,
): boolean {
  return validates && (!state.fresh || now - state.aliveAt > o.validateAfterIdle);
}
