/**
 * The retry budget: a token bucket per origin in the manner of gRPC retry throttling. Each retry
 * spends a token and each success returns a fraction of one, so retries can never add more than a
 * fixed share of load, and during a full outage they stop once the burst is spent.
 *
 * @see https://github.com/grpc/proposal/blob/master/A6-client-retries.md#throttling-retry-attempts-and-hedged-rpcs
 */
import { checkNumber, checkObject, checkThat } from '../options/validate.ts';

/** Retry budget options (all optional). */
export interface RetryBudgetOptions {
  /**
   * Tokens in a full bucket: the burst of retries allowed with no successes in between.
   * @default 10
   */
  capacity?: number;
  /**
   * Tokens one retry spends.
   * @default 1
   */
  retryCost?: number;
  /**
   * Tokens one successful call returns (0.1 caps retries at about 10 % of successful traffic).
   * @default 0.1
   */
  successRefund?: number;
}

/** Retry budget options after validation and defaults. */
export interface ResolvedRetryBudget {
  readonly capacity: number;
  readonly retryCost: number;
  readonly successRefund: number;
}

/** The defaults: 10 tokens, a retry costs 1, a success returns 0.1 (gRPC throttling; SRE book 10 %). */
export const RETRY_BUDGET_DEFAULTS: ResolvedRetryBudget = Object.freeze({
  capacity: 10,
  retryCost: 1,
  successRefund: 0.1,
});

/** Validates retry budget options; `path` prefixes the option names in errors. */
export function resolveRetryBudget(input: unknown, path = 'budget'): ResolvedRetryBudget {
  const o = checkObject(input, path, ['capacity', 'retryCost', 'successRefund']);
  const d = RETRY_BUDGET_DEFAULTS;
  const capacity = checkNumber(o.capacity, `${path}.capacity`, d.capacity, { min: 0 });
  const retryCost = checkNumber(o.retryCost, `${path}.retryCost`, d.retryCost, { min: 0 });
  const successRefund = checkNumber(o.successRefund, `${path}.successRefund`, d.successRefund, { min: 0 });
  checkThat(retryCost <= capacity, `${path}.retryCost`, `≤ capacity (${capacity})`, retryCost);
  return Object.freeze({ capacity, retryCost, successRefund });
}

/** One bucket of retry tokens (one per origin). It needs no clock: only outcomes move it. */
export class RetryBudget {
  readonly #options: ResolvedRetryBudget;
  #tokens: number;

  constructor(options: ResolvedRetryBudget = RETRY_BUDGET_DEFAULTS) {
    this.#options = options;
    this.#tokens = options.capacity;
  }

  /** Tokens left now. */
  get level(): number {
    return this.#tokens;
  }

  /** Spends one retry's tokens and returns `true`, or returns `false` (spending nothing) when too few are left. */
  tryAcquire(): boolean {
    const cost = this.#options.retryCost;
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }

  /** Credits a successful call. */
  recordSuccess(): void {
    const { capacity, successRefund } = this.#options;
    this.#tokens = Math.min(capacity, this.#tokens + successRefund);
  }
}
