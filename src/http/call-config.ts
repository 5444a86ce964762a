/**
 * A call's configuration: the per-call options `client.fetch` and `client.request` accept
 * (`timeout`, `retry`, `throwHttpErrors`, `hooks`, `hedge`) and the config a call runs with, resolved over its
 * client's.
 */
import { checkBoolean } from '../options/validate.ts';
import { type HedgeOptions, type ResolvedHedge, resolveHedge } from '../policy/hedge.ts';
import { type ResolvedRetry, type RetryOptions, resolveRetry } from '../policy/retry-options.ts';
import {
  CALL_TIMEOUT_KEYS,
  type ResolvedTimeouts,
  resolveTimeouts,
  type TimeoutOptions,
} from '../policy/timeouts.ts';
import { type Hooks, type ResolvedHooks, resolveHooks } from './hook-options.ts';

/**
 * Per-call options accepted by `client.fetch(input, init)` and `client.request(url, options)`.
 *
 * @example
 * ```ts
 * await client.fetch(url, { timeout: 2_000, retry: { limit: 1 }, throwHttpErrors: true });
 * ```
 */
export interface CallOptions {
  /** Overrides for this call's budgets (`total`, `attempt`, `headers`, `body`); a number sets `total`. */
  timeout?: Pick<TimeoutOptions, 'total' | 'attempt' | 'headers' | 'body'> | number;
  /** Overrides for this call's retries, or `false` for a single attempt. */
  retry?: Omit<RetryOptions, 'budget'> | false;
  /** Overrides the client's `throwHttpErrors`. */
  throwHttpErrors?: boolean;
  /**
   * Hooks for this call, run after the client's (see {@link Hooks}); typed by each front-end with
   * its response (`never` here accepts either).
   */
  hooks?: Hooks<never>;
  /**
   * Hedging for this call over the client's (`delay` may be left out when the client has one), or
   * `false` for none: see {@link HedgeOptions}.
   */
  hedge?: Partial<HedgeOptions> | false;
}

/** Everything a call needs from the options, resolved. */
export interface CallConfig {
  readonly timeout: ResolvedTimeouts;
  readonly retry: ResolvedRetry | false;
  readonly throwHttpErrors: boolean;
  /** The client's hooks and the call's, or `undefined` when there are none. */
  readonly hooks: ResolvedHooks | undefined;
  /** Hedging, or `false` (the default: off). */
  readonly hedge: ResolvedHedge | false;
}

/**
 * Resolves a call's overrides over the client's config. Returns `base` itself when the call
 * overrides nothing (the hot path allocates nothing).
 */
export function resolveCallConfig(init: CallOptions | undefined, base: CallConfig): CallConfig {
  if (init === undefined) return base;
  const { timeout, retry, throwHttpErrors, hooks, hedge } = init;
  if (
    timeout === undefined &&
    retry === undefined &&
    throwHttpErrors === undefined &&
    hooks === undefined &&
    hedge === undefined
  )
    return base;
  return {
    timeout:
      timeout === undefined
        ? base.timeout
        : resolveTimeouts(timeout, 'timeout', base.timeout, CALL_TIMEOUT_KEYS),
    retry:
      retry === undefined
        ? base.retry
        : retry === false
          ? false
          : resolveRetry(retry, 'retry', base.retry === false ? undefined : base.retry),
    throwHttpErrors: checkBoolean(throwHttpErrors, 'throwHttpErrors', base.throwHttpErrors),
    hooks: resolveHooks(hooks, 'hooks', base.hooks),
    hedge: resolveHedge(hedge, 'hedge', base.hedge),
  };
}
