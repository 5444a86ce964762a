/**
 * Hedged requests ("The Tail at Scale", Dean & Barroso 2013): when a call has not answered after
 * a delay — fixed, or the origin's recent p95 — a second attempt of the same call goes out and
 * the first answer wins. This file holds the options and the decision (when, and whether a hedge
 * may go: the retry budget pays for it, the adaptive throttle can veto it); the race itself is
 * the client's (client/hedge.ts).
 *
 * @see https://research.google/pubs/the-tail-at-scale/
 */
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkDuration, checkNumber, checkObject } from '../options/validate.ts';

/**
 * Hedging options: opt-in, per client and per call, for idempotent calls with a replayable body
 * only (the methods in `retry.methods`, or a request with an `Idempotency-Key`).
 *
 * @example
 * ```ts
 * createClient({ hedge: { delay: 'p95' } });          // after the origin's recent p95
 * await client.fetch(url, { hedge: { delay: 50 } });   // this call: after 50 ms
 * await client.fetch(url, { hedge: false });           // this call: never
 * ```
 */
export interface HedgeOptions {
  /**
   * Milliseconds to wait for the first attempt before the hedge goes out, or `'p95'`: the 95th
   * percentile of the origin's recent call latencies (to the response headers), so about one call
   * in twenty is hedged. With `'p95'`, no call is hedged before the origin has `minSamples`.
   */
  delay: number | 'p95';
  /**
   * Hedges per call at most. Only 1 is supported: a second hedge buys little over the first
   * ("The Tail at Scale") and doubles the worst case.
   * @default 1
   */
  max?: 1;
  /**
   * With `delay: 'p95'`: responses the origin must have seen before its p95 is trusted.
   * @default 20
   */
  minSamples?: number;
}

/** Hedging options after validation and defaults. */
export interface ResolvedHedge {
  readonly delay: number | 'p95';
  readonly max: 1;
  readonly minSamples: number;
}

/** The defaults (besides `delay`, which has none: hedging is opt-in). */
export const HEDGE_DEFAULTS: Omit<ResolvedHedge, 'delay'> = Object.freeze({ max: 1, minSamples: 20 });

const HEDGE_KEYS = ['delay', 'max', 'minSamples'] as const;

/**
 * Validates hedging options; `path` prefixes the option names in errors. `false` turns hedging
 * off; an object without `delay` takes the one of `base` (the client's, for a call).
 */
export function resolveHedge(
  input: unknown,
  path: string,
  base: ResolvedHedge | false,
): ResolvedHedge | false {
  if (input === false) return false;
  if (input === undefined) return base;
  const o = checkObject(input, path, HEDGE_KEYS);
  const inherited = base === false ? undefined : base;
  let delay: number | 'p95';
  if (o.delay === 'p95') delay = 'p95';
  else if (o.delay === undefined && inherited !== undefined) delay = inherited.delay;
  else if (typeof o.delay === 'number') delay = checkDuration(o.delay, `${path}.delay`, 0);
  else throw new InvalidOptionError(`${path}.delay`, "a duration in milliseconds or 'p95'", o.delay);
  checkNumber(o.max, `${path}.max`, 1, { min: 1, max: 1, integer: true });
  const minSamples = checkNumber(
    o.minSamples,
    `${path}.minSamples`,
    inherited?.minSamples ?? HEDGE_DEFAULTS.minSamples,
    { min: 1, max: 1024, integer: true },
  );
  return Object.freeze({ delay, max: 1, minSamples });
}

/** What the hedging decision reads of an origin: its recent latency, its budget, its throttle. */
export interface HedgeOrigin {
  /** The recent p95 of call latency, or `undefined` with fewer than `minSamples` responses. */
  latencyP95(minSamples: number): number | undefined;
  /** The retry budget (`undefined`: none, hedges are free). */
  readonly budget?: { withdraw(): boolean } | undefined;
  /** The adaptive throttle (`undefined`: off). */
  readonly throttle?: { probability(now: number): number } | undefined;
}

/**
 * Milliseconds after its start a call is hedged, or `undefined`: not hedged (`'p95'` without
 * enough samples yet).
 */
export function hedgeDelay(options: ResolvedHedge, origin: HedgeOrigin): number | undefined {
  return options.delay === 'p95' ? origin.latencyP95(options.minSamples) : options.delay;
}

/** Why a hedge that was due did not go out. */
export type HedgeRefusal = 'throttle' | 'budget';

/**
 * Whether a hedge that is due may go out at `now`: not while the origin's throttle refuses any
 * attempt (a struggling upstream gets no extra load), and only for a retry-budget token, which it
 * keeps (a hedge is an extra request, won or lost). Returns `undefined` when it may (the token
 * taken), or why not (nothing taken).
 */
export function admitHedge(origin: HedgeOrigin, now: number): HedgeRefusal | undefined {
  if (origin.throttle !== undefined && origin.throttle.probability(now) > 0) return 'throttle';
  if (origin.budget !== undefined && !origin.budget.withdraw()) return 'budget';
  return undefined;
}
