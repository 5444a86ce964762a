/**
 * The retry stage's options: how many retries, the backoff, the budget, which statuses are
 * retried and the longest `Retry-After` honoured, with their defaults and their validation.
 */
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkDuration, checkNumber, checkObject } from '../options/validate.ts';
import { type BackoffOptions, type ResolvedBackoff, resolveBackoff } from './backoff.ts';
import { type ResolvedRetryBudget, type RetryBudgetOptions, resolveRetryBudget } from './retry-budget.ts';

/**
 * Retry options. `retry: false` turns retries off.
 *
 * @example
 * ```ts
 * createClient({ retry: { limit: 3, statusCodes: [502, 503, 504], maxRetryAfter: 5_000 } });
 * await client.fetch(url, { retry: false }); // one attempt for this call
 * ```
 */
export interface RetryOptions {
  /**
   * Retries after the first attempt (2 means up to 3 attempts: SRE book).
   * @default 2
   */
  limit?: number;
  /**
   * Backoff between attempts: full jitter, base 100 ms, cap 10 s.
   * @default { jitter: 'full', base: 100, cap: 10000 }
   */
  backoff?: BackoffOptions;
  /**
   * The per-origin retry budget (a retry costs a token and gets it back if it succeeds; every
   * successful call deposits `ratio`), or `false` for none.
   * @default { ratio: 0.4, reserve: 3, window: 200, memory: 10000 }
   */
  budget?: RetryBudgetOptions | false;
  /**
   * Response statuses that are retried.
   * @default [408, 429, 500, 502, 503, 504]
   */
  statusCodes?: readonly number[];
  /**
   * The longest `Retry-After` honoured, in milliseconds; a longer one ends the retries and the
   * response is returned.
   * @default 30000
   */
  maxRetryAfter?: number;
}

/** Retry options after validation. */
export interface ResolvedRetry {
  readonly limit: number;
  readonly backoff: ResolvedBackoff;
  readonly budget: ResolvedRetryBudget | false;
  readonly statusCodes: ReadonlySet<number>;
  readonly maxRetryAfter: number;
}

/** The retry defaults. */
export const RETRY_DEFAULTS: Readonly<{
  limit: number;
  statusCodes: readonly number[];
  maxRetryAfter: number;
}> = Object.freeze({
  limit: 2,
  statusCodes: Object.freeze([408, 429, 500, 502, 503, 504]),
  maxRetryAfter: 30_000,
});

const RETRY_KEYS = ['limit', 'backoff', 'budget', 'statusCodes', 'maxRetryAfter'] as const;

/**
 * Validates retry options over `base` (a call's over its client's). Throws `InvalidOptionError`
 * naming the option's path.
 */
export function resolveRetry(input: unknown, path: string, base: ResolvedRetry | undefined): ResolvedRetry {
  const o = checkObject(input, path, RETRY_KEYS);
  const limit = checkNumber(o.limit, `${path}.limit`, base?.limit ?? RETRY_DEFAULTS.limit, {
    min: 0,
    max: 100,
    integer: true,
  });
  const backoff =
    o.backoff === undefined && base ? base.backoff : resolveBackoff(o.backoff, `${path}.backoff`);
  const budget =
    o.budget === false
      ? false
      : o.budget === undefined && base
        ? base.budget
        : resolveRetryBudget(o.budget, `${path}.budget`);
  let statusCodes = base?.statusCodes ?? new Set(RETRY_DEFAULTS.statusCodes);
  if (o.statusCodes !== undefined) {
    const codes = o.statusCodes;
    if (!Array.isArray(codes))
      throw new InvalidOptionError(`${path}.statusCodes`, 'an array of HTTP statuses', codes);
    codes.forEach((c, i) => {
      checkNumber(c, `${path}.statusCodes[${i}]`, 0, { min: 100, max: 599, integer: true });
    });
    statusCodes = new Set(codes as number[]);
  }
  const maxRetryAfter = checkDuration(
    o.maxRetryAfter,
    `${path}.maxRetryAfter`,
    base?.maxRetryAfter ?? RETRY_DEFAULTS.maxRetryAfter,
  );
  return Object.freeze({ limit, backoff, budget, statusCodes, maxRetryAfter });
}
