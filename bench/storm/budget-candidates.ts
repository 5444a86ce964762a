/**
 * The retry budgets compared in bench/storm/budgets.ts, each run in Bulwark's real pipeline through
 * the client's internal `budget` factory: the published designs (gRPC's throttling bucket, which
 * Bulwark had before; Finagle's RetryBudget; the SRE book's 10 % per-client ratio) and variants of
 * Bulwark's own budget with one part taken away or changed. Each is a subclass of `RetryBudget`
 * answering its three questions (`withdraw`, `recordSuccess`, `level`) its own way.
 *
 * Bulwark tells a budget of a retry (`withdraw`) and of a successful call (`recordSuccess`). The
 * published designs also count failed attempts (gRPC) or every request (Finagle): for those,
 * `install` listens on `bulwark:retry:attempt`, which carries every failed attempt with its origin
 * and what was decided, and hands the budget of that origin the attempts it did not see.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { Clock } from '../../src/clock/clock.ts';
import type { RetryReason } from '../../src/policy/retry.ts';
import { RETRY_BUDGET_DEFAULTS, type RetriedCall, RetryBudget } from '../../src/policy/retry-budget.ts';
import type { InstalledBudget, Strategy } from './strategies.ts';

/** A budget that also hears of the calls that failed (their last attempt and why it was not retried). */
interface FailureListener {
  onFailedCall(reason: RetryReason): void;
}

/**
 * gRPC retry throttling (A6), as Bulwark had it: `capacity` tokens, every failed attempt a retry
 * could fix costs 1 (retried or not), a successful call returns `refund`, and a retry may start
 * only while more than half the bucket is left.
 */
class GrpcBucket extends RetryBudget implements FailureListener {
  readonly #capacity: number;
  readonly #refund: number;
  #tokens: number;

  constructor(clock: Clock, capacity: number, refund: number) {
    super(RETRY_BUDGET_DEFAULTS, clock);
    this.#capacity = capacity;
    this.#refund = refund;
    this.#tokens = capacity;
  }

  override get level(): number {
    return this.#tokens;
  }

  /** Asked when a retry would start: the failure is charged first, as gRPC does. */
  override withdraw(): boolean {
    this.#tokens = Math.max(0, this.#tokens - 1);
    return this.#tokens > this.#capacity / 2;
  }

  override recordSuccess(): void {
    this.#tokens = Math.min(this.#capacity, this.#tokens + this.#refund);
  }

  /** The failures Bulwark decided on before asking the budget were charged too. */
  onFailedCall(reason: RetryReason): void {
    if (CHARGED_BEFORE_ASKING.has(reason)) this.#tokens = Math.max(0, this.#tokens - 1);
  }
}

/** Reasons `decideRetry` gives after the point where the old bucket charged the failure. */
const CHARGED_BEFORE_ASKING: ReadonlySet<RetryReason> = new Set([
  'limit',
  'not-idempotent',
  'retry-after-too-long',
  'deadline',
]);

/**
 * Finagle's `RetryBudget`: every request deposits, a retry withdraws `1 / percent` deposits, and
 * both expire after `ttl` (a windowed sum in 10 slices); on top of that a reserve of
 * `minPerSecond × ttl` retries that never runs out for good, only within a window.
 */
class FinagleBudget extends RetryBudget implements FailureListener {
  readonly #clock: Clock;
  readonly #slice: number;
  readonly #percent: number;
  readonly #reserve: number;
  /** Deposits (+1) and withdrawals (−1/percent) per slice of the window, in a ring. */
  readonly #slices = new Float64Array(10);
  #sliceIndex = 0;
  #sliceStart: number;

  constructor(clock: Clock, ttl: number, minPerSecond: number, percent: number) {
    super(RETRY_BUDGET_DEFAULTS, clock);
    this.#clock = clock;
    this.#slice = ttl / 10;
    this.#percent = percent;
    this.#reserve = minPerSecond * (ttl / 1000);
    this.#sliceStart = clock.now();
  }

  /** Retries left: the reserve plus the window's deposits, less its withdrawals, in retries. */
  override get level(): number {
    this.#rotate();
    let sum = 0;
    for (const x of this.#slices) sum += x;
    return this.#reserve + sum * this.#percent;
  }

  override withdraw(): boolean {
    if (this.level < 1) return false;
    this.#slices[this.#sliceIndex]! -= 1 / this.#percent;
    return true;
  }

  /** A request deposits once: the successful call here, a failed one when its last attempt fails. */
  override recordSuccess(): void {
    this.#rotate();
    this.#slices[this.#sliceIndex]! += 1;
  }

  onFailedCall(): void {
    this.recordSuccess();
  }

  #rotate(): void {
    const now = this.#clock.now();
    while (now - this.#sliceStart >= this.#slice) {
      this.#sliceStart += this.#slice;
      this.#sliceIndex = (this.#sliceIndex + 1) % 10;
      this.#slices[this.#sliceIndex] = 0;
      if (now - this.#sliceStart >= this.#slice * 10) {
        this.#slices.fill(0);
        this.#sliceStart = now;
      }
    }
  }
}

/** Bulwark's budget without the refund: a retry that succeeds does not get its token back. */
class NoRefundBudget extends RetryBudget {
  override recordSuccess(): void {
    super.recordSuccess(FIRST_ATTEMPT);
  }
}
const FIRST_ATTEMPT: RetriedCall = Object.freeze({ attempts: 1, staleRetried: false, endedAt: 0 });

/** Bulwark's budget with a fixed ceiling instead of fading deposits (a plain token bucket). */
class FixedCapBudget extends RetryBudget {
  readonly #cap: number;
  readonly #ratio: number;
  #tokens: number;

  constructor(clock: Clock, cap: number, ratio: number, reserve: number) {
    super(RETRY_BUDGET_DEFAULTS, clock);
    this.#cap = cap;
    this.#ratio = ratio;
    this.#tokens = reserve;
  }

  override get level(): number {
    return this.#tokens;
  }

  override withdraw(): boolean {
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  override recordSuccess(call: RetriedCall): void {
    const back = call.attempts > (call.staleRetried ? 2 : 1) ? 1 : 0;
    this.#tokens = Math.min(this.#cap, this.#tokens + this.#ratio + back);
  }
}

/**
 * A candidate's installer: each origin's budget from `make`; for budgets that also count failed
 * attempts, a listener on `bulwark:retry:attempt` for the run.
 */
function installer(make: (clock: Clock) => RetryBudget): () => InstalledBudget {
  return () => {
    const byOrigin = new Map<string, RetryBudget>();
    const onAttempt = (message: unknown): void => {
      const { origin, retry, reason } = message as { origin: string; retry: boolean; reason: RetryReason };
      const budget = byOrigin.get(origin) as (RetryBudget & Partial<FailureListener>) | undefined;
      if (!retry) budget?.onFailedCall?.(reason);
    };
    subscribe('bulwark:retry:attempt', onAttempt);
    return {
      factory: (_options, clock, origin) => {
        const budget = make(clock);
        if ('onFailedCall' in budget) byOrigin.set(origin, budget);
        return budget;
      },
      uninstall: () => unsubscribe('bulwark:retry:attempt', onAttempt),
    };
  };
}

/** Bulwark's retry defaults with the breaker off, and the budget given here. */
function candidate(
  id: string,
  label: string,
  note: string,
  budget: Partial<Pick<Strategy, 'budget'>> & { readonly options?: object } = {},
): Strategy {
  return {
    id,
    label,
    note,
    options: { retry: budget.options === undefined ? {} : { budget: budget.options }, breaker: false },
    ...(budget.budget && { budget: budget.budget }),
  };
}

/** The candidates, in the order the table shows them. */
export const CANDIDATES: readonly Strategy[] = Object.freeze([
  candidate(
    'grpc',
    'gRPC bucket (Bulwark before)',
    '10 tokens, a failed attempt −1, a success +0.1, retries above half',
    {
      budget: installer((clock) => new GrpcBucket(clock, 10, 0.1)),
    },
  ),
  candidate('grpc-0.5', 'gRPC bucket, success +0.5', 'as before with 5× the refund per success', {
    budget: installer((clock) => new GrpcBucket(clock, 10, 0.5)),
  }),
  candidate('finagle', 'Finagle RetryBudget', 'ttl 10 s, minRetriesPerSec 10, percentCanRetry 0.2', {
    budget: installer((clock) => new FinagleBudget(clock, 10_000, 10, 0.2)),
  }),
  candidate('sre', 'SRE book 10 % per client', 'Finagle structure: ttl 10 s, no floor, 10 % of requests', {
    budget: installer((clock) => new FinagleBudget(clock, 10_000, 0, 0.1)),
  }),
  candidate(
    'earned',
    'Bulwark: earned retries',
    'the defaults: ratio 0.4, reserve 3, window 200 ms, memory 10 s',
  ),
  candidate('no-refund', '… without the refund', 'a retry that succeeds keeps its token spent', {
    budget: installer((clock) => new NoRefundBudget(RETRY_BUDGET_DEFAULTS, clock)),
  }),
  candidate('no-memory', '… without the memory', 'memory 0: retries that succeed do not raise the reserve', {
    options: { memory: 0 },
  }),
  candidate('fixed-cap', '… a bucket of 10, no fading', 'a fixed ceiling of 10 tokens instead of fading', {
    budget: installer((clock) => new FixedCapBudget(clock, 10, RETRY_BUDGET_DEFAULTS.ratio, 3)),
  }),
  candidate('window-1s', '… window 1 s', 'window 1 000 ms', { options: { window: 1_000 } }),
  candidate('ratio-0.2', '… ratio 0.2', 'ratio 0.2', { options: { ratio: 0.2 } }),
  candidate('ratio-0.3', '… ratio 0.3', 'ratio 0.3', { options: { ratio: 0.3 } }),
  candidate('ratio-0.5', '… ratio 0.5', 'ratio 0.5', { options: { ratio: 0.5 } }),
  candidate('reserve-2', '… reserve 2', 'reserve 2', { options: { reserve: 2 } }),
  candidate(
    'first-draft',
    'first draft: ratio 0.2, window 1 s, no memory',
    'ratio 0.2, window 1 000 ms, memory 0',
    {
      options: { ratio: 0.2, window: 1_000, memory: 0 },
    },
  ),
]);
