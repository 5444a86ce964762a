/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): each origin keeps how
 * many attempts the application made (`requests`, those the throttle refused included) and how
 * many the upstream accepted (`accepts`: an answer that is not a failure), and refuses a new
 * attempt locally with probability `max(0, (requests − k·accepts) / (requests + 1))`.
 *
 * In an outage accepts fall to zero, so most attempts are refused before they leave the process
 * (at most `max` of them, so the upstream's return is seen at once); when the
 * upstream heals, the few attempts let through are accepted, each one lowers the probability,
 * and traffic comes back within a few windows, with no fixed reset timeout. `k` (2, as in the
 * book) is how much headroom there is before it refuses anything: up to half the attempts may
 * fail without a single local refusal, so a brownout is left to the retry budget.
 *
 * Both counts fade exponentially with the time constant `window`, computed lazily from the
 * clock when the next event comes: no timer. A fleet of processes can add what the rest of the
 * fleet counted ({@link Throttle.join}), so that clients that each make a request every ten
 * seconds still see an outage as one: the decision stays local and synchronous, the fleet's
 * totals arrive by a periodic sync (client/fleet.ts), never on a request's path.
 *
 * @see https://sre.google/sre-book/handling-overload/#eq2101
 */
import type { Clock } from '../clock/clock.ts';
import { BulwarkError, type RequestInfo, type Target } from '../errors/bulwark-error.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkDuration, checkNumber, checkObject } from '../options/validate.ts';
import { continuation, type Stage } from './pipeline.ts';

/**
 * Adaptive throttling options (all optional).
 *
 * @example
 * ```ts
 * createClient({ throttle: { k: 3, window: 250, max: 0.9 } });
 * ```
 */
export interface ThrottleOptions {
  /**
   * Accepts multiplier: attempts are refused only once `requests` exceed `k · accepts`. Lower is
   * more aggressive (1.1 sheds as soon as a tenth fail); higher lets more through.
   * @default 3
   */
  k?: number;
  /**
   * Time constant, in milliseconds, over which the counts fade. Traffic comes back after an
   * outage within a few of these; a client sees an outage as one once it (or its fleet, with
   * `fleet`) made a few attempts within one.
   * @default 250
   */
  window?: number;
  /**
   * The most an attempt is ever refused with (Envoy's admission control has the same cap): in an
   * outage about `1 − max` of the attempts still go, so accepts return as soon as the upstream
   * does and traffic comes back within a window or two.
   * @default 0.9
   */
  max?: number;
  /**
   * Attempts (faded, this process's plus the fleet's) below which nothing is refused: on a few
   * counts one failure would read as an outage (with 1 attempt that failed, the formula refuses
   * half), so a quiet client in a brownout would refuse calls the upstream would have served.
   * @default 5
   */
  minRequests?: number;
  /**
   * A fleet (`createFleet`) whose processes share their counts: every origin's throttle decides
   * on its counts plus the rest of the fleet's, so low-rate clients see an outage too.
   */
  fleet?: ThrottleFleet;
}

/** What a throttle needs of a fleet (policy/fleet.ts): to be in its syncs until detached. */
export interface ThrottleFleet {
  attach(origin: string, throttle: Throttle): () => void;
}

/** Throttle options after validation and defaults. */
export interface ResolvedThrottle {
  readonly k: number;
  readonly window: number;
  readonly max: number;
  readonly minRequests: number;
  readonly fleet: ThrottleFleet | undefined;
}

/**
 * The defaults: `k` 3, counts fading over 250 ms, refusing at most 90 %. The book's `k` is 2; 3
 * brought traffic back faster after an outage in the fleet simulator (bench/README.md) and leaves
 * a brownout of up to two failures in three to the retry budget.
 */
export const THROTTLE_DEFAULTS: ResolvedThrottle = Object.freeze({
  k: 3,
  window: 250,
  max: 0.9,
  minRequests: 5,
  fleet: undefined,
});

/** Validates throttle options; `path` prefixes the option names in errors. */
export function resolveThrottle(input: unknown, path = 'throttle'): ResolvedThrottle {
  const o = checkObject(input, path, ['k', 'window', 'max', 'minRequests', 'fleet']);
  const d = THROTTLE_DEFAULTS;
  if (o.fleet !== undefined && typeof (o.fleet as Partial<ThrottleFleet> | null)?.attach !== 'function') {
    throw new InvalidOptionError(`${path}.fleet`, 'a Fleet (createFleet)', o.fleet);
  }
  return Object.freeze({
    k: checkNumber(o.k, `${path}.k`, d.k, { min: 1 }),
    window: checkDuration(o.window, `${path}.window`, d.window, 1),
    max: checkNumber(o.max, `${path}.max`, d.max, { min: 0, max: 1 }),
    minRequests: checkNumber(o.minRequests, `${path}.minRequests`, d.minRequests, { min: 0 }),
    fleet: o.fleet as ThrottleFleet | undefined,
  });
}

/**
 * The fleet's totals for one key, shared by every throttle of that key in a process and updated
 * by each sync (policy/fleet.ts): raw counts over the last `span` milliseconds, used until `until`.
 */
export interface FleetShare {
  readonly requests: number;
  readonly accepts: number;
  readonly span: number;
  readonly until: number;
}

/** Counts of attempts made and accepted. */
export interface ThrottleCounts {
  readonly requests: number;
  readonly accepts: number;
}

/** One origin's adaptive throttle. */
export class Throttle {
  readonly #k: number;
  readonly #window: number;
  readonly #max: number;
  readonly #minRequests: number;
  readonly #clock: Clock;
  readonly #target: Target;
  #requests = 0;
  #accepts = 0;
  #at: number;
  /** Raw events since the fleet last published them ({@link Throttle.clearNew}). */
  #newRequests = 0;
  #newAccepts = 0;
  /** The fleet's totals for this throttle's key, while it is in a fleet. */
  #share: FleetShare | undefined;
  /** What this throttle published itself within the share's span (raw), left out of the totals. */
  #ownRequests = 0;
  #ownAccepts = 0;
  /** Called when the first new event since the fleet last published comes (the fleet's to-do). */
  #onNew: (() => void) | undefined;
  /** Attempts refused so far. */
  refused = 0;

  constructor(options: ResolvedThrottle, clock: Clock, target: Target) {
    this.#k = options.k;
    this.#window = options.window;
    this.#max = options.max;
    this.#minRequests = options.minRequests;
    this.#clock = clock;
    this.#target = target;
    this.#at = clock.now();
  }

  /** The time constant the counts fade over (the fleet sync scales its totals to it). */
  get window(): number {
    return this.#window;
  }

  /**
   * Decides whether an attempt may go: `false` (and the attempt counted as made and refused) with
   * the probability above. An attempt that goes is counted when it ends ({@link Throttle.settled}):
   * attempts in flight are neither made nor accepted yet, so a healthy client's in-flight calls
   * never look like refusals.
   */
  admit(now: number): boolean {
    this.#settle(now);
    const p = this.#probability(now);
    if (p <= 0 || this.#clock.random() >= p) return true;
    if (this.#newRequests === 0 && this.#newAccepts === 0) this.#onNew?.();
    this.#requests += 1;
    this.#newRequests += 1;
    this.refused += 1;
    return false;
  }

  /** Counts an attempt that ended, accepted by the upstream or not. */
  settled(now: number, accepted: boolean): void {
    this.#settle(now);
    if (this.#newRequests === 0 && this.#newAccepts === 0) this.#onNew?.();
    this.#requests += 1;
    this.#newRequests += 1;
    if (accepted) {
      this.#accepts += 1;
      this.#newAccepts += 1;
    }
  }

  /** The probability the next attempt is refused. */
  probability(now = this.#clock.now()): number {
    this.#settle(now);
    return Math.max(0, this.#probability(now));
  }

  /** This process's faded counts now. */
  counts(now = this.#clock.now()): ThrottleCounts {
    this.#settle(now);
    return { requests: this.#requests, accepts: this.#accepts };
  }

  /** Whether the rest of the fleet's counts are in use at `now`. */
  fleetActive(now = this.#clock.now()): boolean {
    return this.#share !== undefined && now < this.#share.until;
  }

  /** Attempts counted since the fleet last published (what its next sync adds to the store). */
  get newRequests(): number {
    return this.#newRequests;
  }

  /** Accepts counted since the fleet last published. */
  get newAccepts(): number {
    return this.#newAccepts;
  }

  /** The fleet published the new counts: start counting anew. */
  clearNew(): void {
    this.#newRequests = 0;
    this.#newAccepts = 0;
  }

  /**
   * Joins a fleet: from now on the throttle decides on its own counts plus `share`'s (less what
   * it published itself, {@link Throttle.setOwn}) while the share is fresh, and calls `onNew` when
   * it has new events for the fleet to publish.
   */
  join(share: FleetShare, onNew: () => void): void {
    this.#share = share;
    this.#onNew = onNew;
    this.#ownRequests = 0;
    this.#ownAccepts = 0;
    if (this.#newRequests > 0 || this.#newAccepts > 0) onNew();
  }

  /** Leaves the fleet: local decisions only from now on. */
  leave(): void {
    this.#share = undefined;
    this.#onNew = undefined;
  }

  /** What this throttle published itself within the share's span (raw counts). */
  setOwn(requests: number, accepts: number): void {
    this.#ownRequests = requests;
    this.#ownAccepts = accepts;
  }

  /** The error of a refused attempt. */
  refusal(request: RequestInfo | undefined): BulwarkError {
    return new BulwarkError({ layer: 'circuit', code: 'CIRCUIT_THROTTLED', target: this.#target, request });
  }

  #probability(now: number): number {
    let requests = this.#requests;
    let accepts = this.#accepts;
    const share = this.#share;
    if (share !== undefined && now < share.until) {
      // The rest of the fleet's counts over its span, on this throttle's scale (rate × window).
      const scale = this.#window / share.span;
      const r = share.requests - this.#ownRequests;
      const a = share.accepts - this.#ownAccepts;
      if (r > 0) requests += r * scale;
      if (a > 0) accepts += a * scale;
    }
    if (requests < this.#minRequests) return 0;
    return Math.min(this.#max, (requests - this.#k * accepts) / (requests + 1));
  }

  #settle(now: number): void {
    const elapsed = now - this.#at;
    if (elapsed <= 0) return;
    this.#at = now;
    const fade = Math.exp(-elapsed / this.#window);
    this.#requests *= fade;
    this.#accepts *= fade;
  }
}

/** What the throttle stage reads of a call. */
export interface ThrottleCall {
  /** The throttle of the call's origin (`undefined`: none). */
  readonly state: { readonly throttle?: Throttle | undefined };
  /** Attempts started so far (the first one's time is the call's start: no clock read). */
  readonly attempts: number;
  readonly startedAt: number;
  /** For `CIRCUIT_THROTTLED` errors. */
  readonly request: RequestInfo;
}

/**
 * The throttle stage, per attempt: a refused attempt fails at once with `CIRCUIT_THROTTLED` (not
 * retried: the next call decides again); an attempt whose outcome (the `err` its `done` gets)
 * `accepted` says the upstream accepted counts as an accept.
 */
export function throttleStage<C extends ThrottleCall, R>(
  clock: Clock,
  accepted: (err: unknown) => boolean,
): Stage<C, R> {
  return (next) => {
    const counted = continuation<C, R>((done) => (call, err, result) => {
      (call.state.throttle as Throttle).settled(clock.now(), accepted(err));
      done(call, err, result);
    });
    return (call, done) => {
      const throttle = call.state.throttle;
      if (throttle === undefined) {
        next(call, done);
        return;
      }
      if (!throttle.admit(call.attempts === 0 ? call.startedAt : clock.now())) {
        done(call, throttle.refusal(call.request));
        return;
      }
      next(call, counted(done));
    };
  };
}
