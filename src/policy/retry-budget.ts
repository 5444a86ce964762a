/**
 * The retry budget, per origin: a retry costs a token and gets it back if it succeeds, and every
 * successful call deposits 0.4 of one. So only retries that fail spend, and the calls that succeed
 * pay for them: in a full outage nothing succeeds, a client spends its small reserve and stops; in a
 * brownout most retries succeed, pay for themselves and keep flowing. What a client holds above its
 * reserve fades within a fraction of a second, so it follows the client's recent request rate (a
 * busy client absorbs a burst of failures as large as its traffic, and brings no more than that into
 * an outage); and every retry that succeeded raises the reserve for a while, so a brownout, whose
 * retries succeed, builds a cushion for its bursts of failures where an outage builds none.
 *
 * It replaced gRPC's bucket (every failed attempt costs a token, a success returns 0.1, retries
 * while more than half full), which cannot tell an outage from a brownout — it stops retrying
 * whenever more than about 9 % of attempts fail — and whose fixed 10 tokens emptied under the
 * burst of failures of many calls in flight. bench/README.md ("The retry budget") has the
 * candidates measured and why this one.
 *
 * With a fleet (`fleet`, policy/fleet.ts) the same rule also holds for the fleet as a whole: a
 * retry the local tokens allow is still refused when the fleet's recent retries outrun what its
 * recent successes pay for (see {@link RetryBudget.withdraw}), decided on the fleet's totals of the
 * last sync, locally and synchronously.
 *
 * @see https://github.com/grpc/proposal/blob/master/A6-client-retries.md#throttling-retry-attempts-and-hedged-rpcs
 * @see https://github.com/twitter/finagle/blob/develop/finagle-core/src/main/scala/com/twitter/finagle/service/RetryBudget.scala
 */
import type { Clock } from '../clock/clock.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkDuration, checkNumber, checkObject } from '../options/validate.ts';

/**
 * Retry budget options (all optional).
 *
 * @example
 * ```ts
 * createClient({ retry: { budget: { ratio: 0.2, reserve: 2 } } });
 * ```
 */
export interface RetryBudgetOptions {
  /**
   * Tokens every successful call deposits. A retry costs a token and gets it back if it succeeds,
   * so this is how many failed retries one successful call pays for: with 0.4 and 3 attempts per
   * call, retries keep flowing until about half of all attempts fail.
   * @default 0.4
   */
  ratio?: number;
  /**
   * Tokens a client keeps with no recent traffic: what a new client may retry before its first
   * success, and about what a healthy client spends on a full outage (with what its last
   * `window` of traffic deposited). Only deposits and refunds refill it.
   * @default 3
   */
  reserve?: number;
  /**
   * Time constant, in milliseconds, over which tokens above the reserve fade: a client making λ
   * successful calls a second holds about `reserve + ratio · λ · window / 1000` tokens, enough for
   * the failures of as many calls in flight, and brings no more than that into an outage.
   * @default 200
   */
  window?: number;
  /**
   * Time constant, in milliseconds, over which a retry that succeeded keeps raising the reserve by
   * a token: a brownout whose retries succeed builds a reserve that absorbs its bursts of
   * failures; an outage builds none. 0 turns it off.
   * @default 10000
   */
  memory?: number;
  /**
   * A fleet (`createFleet`) whose processes share their retry counts: a retry is also refused when
   * the whole fleet's recent retries outrun `ratio` times its recent successes, plus the retries
   * that succeeded, plus the fleet's small floor (`FleetOptions.minRetriesPerSecond`). So in a full
   * outage the fleet makes about that floor of retries, however many processes it has and however
   * rarely each calls; between syncs the decision is local, and when the fleet's store fails the
   * budget is local only.
   */
  fleet?: BudgetFleet;
}

/** What a budget needs of a fleet (policy/fleet.ts): to be in its syncs until detached. */
export interface BudgetFleet {
  attachBudget(origin: string, budget: RetryBudget): () => void;
}

/**
 * The fleet's retry totals for one key, shared by every budget of that key in a process and updated
 * by each sync (policy/fleet.ts): raw counts over the fleet's window, used until `until`.
 */
export interface FleetBudgetShare {
  /** Calls that succeeded. */
  readonly successes: number;
  /** Retries asked for, refused or not. */
  readonly retries: number;
  /** Retries that succeeded. */
  readonly paid: number;
  /** Retries the fleet may make over the window with no success at all. */
  readonly floor: number;
  readonly until: number;
  /**
   * The key is new to this process and its first sync (started at once) has neither answered nor
   * failed yet: retries wait for it, refused rather than made blind.
   */
  readonly pending: boolean;
}

/** Retry budget options after validation and defaults. */
export interface ResolvedRetryBudget {
  readonly ratio: number;
  readonly reserve: number;
  readonly window: number;
  readonly memory: number;
  readonly fleet: BudgetFleet | undefined;
}

/** The defaults: 0.4 tokens per successful call, a reserve of 3, fading over 200 ms, memory 10 s. */
export const RETRY_BUDGET_DEFAULTS: ResolvedRetryBudget = Object.freeze({
  ratio: 0.4,
  reserve: 3,
  window: 200,
  memory: 10_000,
  fleet: undefined,
});

/** Validates retry budget options; `path` prefixes the option names in errors. */
export function resolveRetryBudget(input: unknown, path = 'budget'): ResolvedRetryBudget {
  const o = checkObject(input, path, ['ratio', 'reserve', 'window', 'memory', 'fleet']);
  const d = RETRY_BUDGET_DEFAULTS;
  if (o.fleet !== undefined && typeof (o.fleet as Partial<BudgetFleet> | null)?.attachBudget !== 'function') {
    throw new InvalidOptionError(`${path}.fleet`, 'a Fleet (createFleet)', o.fleet);
  }
  return Object.freeze({
    ratio: checkNumber(o.ratio, `${path}.ratio`, d.ratio, { min: 0 }),
    reserve: checkNumber(o.reserve, `${path}.reserve`, d.reserve, { min: 0 }),
    window: checkDuration(o.window, `${path}.window`, d.window, 1),
    memory: checkDuration(o.memory, `${path}.memory`, d.memory),
    fleet: o.fleet as BudgetFleet | undefined,
  });
}

/** The part of a successful call the budget reads: when it succeeded, and did a retry it paid for? */
export interface RetriedCall {
  /** Attempts the call made. */
  readonly attempts: number;
  /** Whether one of them was the free retry of a stale keep-alive connection (no token taken). */
  readonly staleRetried: boolean;
  /** Clock time the response headers arrived (0: unknown, the budget reads its clock). */
  readonly endedAt: number;
}

/**
 * The retry tokens of one origin. Time enters only through fading, computed from the clock when the
 * next event comes: no timer.
 */
export class RetryBudget {
  readonly #options: ResolvedRetryBudget;
  readonly #clock: Clock;
  #tokens: number;
  /** Retries that succeeded, fading over `memory`: what they add to the reserve now. */
  #proven = 0;
  /** When the two were last brought up to date. */
  #at: number;
  /** The fleet's totals for this budget's key, while it is in a fleet. */
  #share: FleetBudgetShare | undefined;
  /** Called when the first new event since the fleet last published comes (the fleet's to-do). */
  #onNew: (() => void) | undefined;
  /** Raw events since the fleet last published them ({@link RetryBudget.clearNew}). */
  #newSuccesses = 0;
  #newRetries = 0;
  #newPaid = 0;

  constructor(options: ResolvedRetryBudget, clock: Clock) {
    this.#options = options;
    this.#clock = clock;
    this.#tokens = options.reserve;
    this.#at = clock.now();
  }

  /** Tokens on hand now. */
  get level(): number {
    return this.#settle(this.#clock.now());
  }

  /**
   * Takes a token for a retry; `false` (and nothing taken) when less than one is left or, in a fleet
   * whose totals are fresh, with probability `1 − allowed / asked`: `asked` the retries the fleet's
   * budgets were asked for over its window (refused or not), `allowed` its `floor + ratio · successes + paid` (a retry
   * that succeeds pays for itself). The fleet as a whole then makes about `allowed` retries, each
   * process its share, without a word between them until the next sync.
   */
  withdraw(): boolean {
    const now = this.#clock.now();
    const tokens = this.#settle(now);
    const share = this.#share;
    if (share !== undefined) {
      // Every retry wanted counts, refused here or not: a process whose own tokens ran out still
      // tells the fleet that its retries fail.
      this.#noteNew();
      this.#newRetries += 1;
    }
    if (tokens < 1) return false;
    if (share !== undefined) {
      if (share.pending) return false;
      if (now < share.until && share.retries > 0) {
        const allowed = share.floor + this.#options.ratio * share.successes + share.paid;
        if (allowed < share.retries && this.#clock.random() * share.retries >= allowed) return false;
      }
    }
    this.#tokens = tokens - 1;
    return true;
  }

  /** Gives back the token of a retry that was withdrawn and then not made (a hook cancelled it). */
  refund(): void {
    this.#tokens = this.#settle(this.#clock.now()) + 1;
  }

  /** Credits a successful call: its deposit, and the token back if a retry the budget paid for succeeded. */
  recordSuccess(call: RetriedCall): void {
    // The call's own end time: a clock read per success costs as much as the rest of this.
    const tokens = this.#settle(call.endedAt || this.#clock.now()) + this.#options.ratio;
    const paid = call.attempts > (call.staleRetried ? 2 : 1);
    if (paid) {
      this.#tokens = tokens + 1;
      this.#proven += 1;
    } else this.#tokens = tokens;
    if (this.#share !== undefined) {
      this.#noteNew();
      this.#newSuccesses += 1;
      if (paid) this.#newPaid += 1;
    }
  }

  /** Whether the budget is in a fleet. */
  get fleetJoined(): boolean {
    return this.#share !== undefined;
  }

  /** Whether the fleet's totals are in use at `now`. */
  fleetActive(now = this.#clock.now()): boolean {
    return this.#share !== undefined && now < this.#share.until;
  }

  /** Calls that succeeded since the fleet last published (what its next sync adds to the store). */
  get newSuccesses(): number {
    return this.#newSuccesses;
  }

  /** Retries asked for since the fleet last published. */
  get newRetries(): number {
    return this.#newRetries;
  }

  /** Retries that succeeded since the fleet last published. */
  get newPaid(): number {
    return this.#newPaid;
  }

  /** The fleet published the new counts: start counting anew. */
  clearNew(): void {
    this.#newSuccesses = 0;
    this.#newRetries = 0;
    this.#newPaid = 0;
  }

  /**
   * Joins a fleet: from now on retries are also decided on `share` while it is fresh, and `onNew`
   * is called when there are new events for the fleet to publish.
   */
  join(share: FleetBudgetShare, onNew: () => void): void {
    this.#share = share;
    this.#onNew = onNew;
    this.clearNew();
  }

  /** Leaves the fleet: local decisions only from now on. */
  leave(): void {
    this.#share = undefined;
    this.#onNew = undefined;
  }

  #noteNew(): void {
    if (this.#newSuccesses === 0 && this.#newRetries === 0) this.#onNew?.();
  }

  /** Brings the tokens up to `now` — what lies above the reserve fades — and returns them. */
  #settle(now: number): number {
    const elapsed = now - this.#at;
    if (elapsed <= 0) return this.#tokens;
    this.#at = now;
    const { reserve, window, memory } = this.#options;
    if (this.#proven > 0) {
      this.#proven *= Math.exp(-elapsed / memory);
      if (this.#proven < 1e-3) this.#proven = 0;
    }
    const keep = reserve + this.#proven;
    if (this.#tokens > keep) this.#tokens = keep + (this.#tokens - keep) * Math.exp(-elapsed / window);
    return this.#tokens;
  }
}

/**
 * Builds the retry budget of one origin (`origin` is `scheme://host:port`): the storm bench's
 * candidate budgets (client/internals.ts); the client itself builds a {@link RetryBudget}.
 */
export type RetryBudgetFactory = (options: ResolvedRetryBudget, clock: Clock, origin: string) => RetryBudget;
