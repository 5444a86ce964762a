/**
 * The retry stage's options: how many retries, the backoff, the budget, which statuses are
 * retried and the longest `Retry-After` honoured, with their defaults and their validation.
 */
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkDuration, checkFunction, checkNumber, checkObject } from '../options/validate.ts';
import { type BackoffOptions, type ResolvedBackoff, resolveBackoff } from './backoff.ts';
import { IDEMPOTENT_METHODS, normaliseMethod } from './failure.ts';
import { type ResolvedRetryBudget, type RetryBudgetOptions, resolveRetryBudget } from './retry-budget.ts';

/**
 * What {@link RetryOptions.shouldRetry} is asked about: one failed attempt, either a failure
 * (`error`, a `BulwarkError`) or a response whose status failed it (`response`: the `Response` of
 * `client.fetch`, the result of `client.request`).
 */
export interface ShouldRetryContext {
  /** The attempt's failure, or `undefined` when it got a response. */
  readonly error: unknown;
  /** The attempt's response, or `undefined` when it failed without one. */
  readonly response: unknown;
  /** The number of the attempt that failed (1 for the first). */
  readonly attempt: number;
  /** The request's method. */
  readonly method: string;
}

/**
 * Your own retry rule: `true` to retry, `false` not to, `undefined` to keep the built-in decision.
 * Synchronous. It refines the built-in decision and cannot bypass its safety rules (see
 * {@link RetryOptions.shouldRetry}).
 */
export type ShouldRetry = (context: ShouldRetryContext) => boolean | undefined;

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
  /**
   * The methods retried after the request may have reached the server (a response, a reset or a
   * timeout after it was sent). Any method is retried when it surely did not (a DNS, connect or
   * TLS failure), and a request with an `Idempotency-Key` header always counts as idempotent.
   * Listing a method that is not idempotent (`['POST']`) is the explicit opt-in that lets it be
   * retried after it may have executed, by the built-in rules and by {@link shouldRetry}.
   * @default ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']
   */
  methods?: readonly string[];
  /**
   * Your own rule, asked after each failed attempt that the built-in rules would judge (a
   * failure of the network or of the server, or a response with a status that fails the attempt:
   * 5xx, 429 and {@link statusCodes}). `false` stops the retries (`notRetried: 'should-retry'`);
   * `true` asks for a retry the built-in rules would not make (a status or code they do not retry);
   * `undefined` keeps their decision. It cannot bypass the safety rules: a request that may have
   * executed is retried only when its method is in {@link methods} or it has an `Idempotency-Key`;
   * a one-shot body is never resent; the `limit`, the retry budget and the deadline always apply;
   * an open breaker (`CIRCUIT_OPEN`) and the caller's own errors and aborts are never retried. If
   * it throws, the call fails with its error, untouched.
   *
   * @example
   * ```ts
   * // Never retry a 503 that says the service is in maintenance.
   * createClient({ retry: { shouldRetry: ({ response }) =>
   *   (response as Response | undefined)?.headers.get('x-maintenance') ? false : undefined } });
   * ```
   */
  shouldRetry?: ShouldRetry;
}

/** Retry options after validation. */
export interface ResolvedRetry {
  readonly limit: number;
  readonly backoff: ResolvedBackoff;
  readonly budget: ResolvedRetryBudget | false;
  readonly statusCodes: ReadonlySet<number>;
  readonly maxRetryAfter: number;
  readonly methods: ReadonlySet<string>;
  readonly shouldRetry: ShouldRetry | undefined;
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

const RETRY_KEYS = [
  'limit',
  'backoff',
  'budget',
  'statusCodes',
  'maxRetryAfter',
  'methods',
  'shouldRetry',
] as const;

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
  let methods = base?.methods ?? IDEMPOTENT_METHODS;
  if (o.methods !== undefined) {
    const list = o.methods;
    if (!Array.isArray(list))
      throw new InvalidOptionError(`${path}.methods`, 'an array of HTTP methods', list);
    methods = new Set(
      list.map((m: unknown, i) => {
        if (typeof m !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(m))
          throw new InvalidOptionError(`${path}.methods[${i}]`, 'an HTTP method name', m);
        // As the request's own method is compared: normalised as fetch does.
        return normaliseMethod(m);
      }),
    );
  }
  const shouldRetry = checkFunction<ShouldRetry>(o.shouldRetry, `${path}.shouldRetry`) ?? base?.shouldRetry;
  return Object.freeze({ limit, backoff, budget, statusCodes, maxRetryAfter, methods, shouldRetry });
}
