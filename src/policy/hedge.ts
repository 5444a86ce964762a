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
  /**
   * The most hedges per origin as a share of its hedgeable calls, on average: each such call
   * earns the origin `ratio` of a hedge, a hedge spends one, and at most `max(1, 100 · ratio)` are
   * saved up (an origin starts with one). It bounds the extra load whatever the latencies do (a queueing upstream makes every
   * call slow, and a fixed delay would hedge them all); the retry budget still applies on top.
   * @default 0.05
   */
  ratio?: number;
}

/** Hedging options after validation and defaults. */
export interface ResolvedHedge {
  readonly delay: number | 'p95';
  readonly max: 1;
  readonly minSamples: number;
  readonly ratio: number;
}

/**
 * The defaults (besides `delay`, which has none: hedging is opt-in): one hedge, a p95 trusted
 * after 20 responses, at most 5 % more requests ("The Tail at Scale" hedges at the p95: about 5 %).
 */
export const HEDGE_DEFAULTS: Omit<ResolvedHedge, 'delay'> = Object.freeze({
  max: 1,
  minSamples: 20,
  ratio: 0.05,
});

const HEDGE_KEYS = ['delay', 'max', 'minSamples', 'ratio'] as const;

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
  const ratio = checkNumber(o.ratio, `${path}.ratio`, inherited?.ratio ?? HEDGE_DEFAULTS.ratio, {
    min: 0,
    max: 1,
  });
  return Object.freeze({ delay, max: 1, minSamples, ratio });
}

/**
 * An origin's share of hedges (`ratio`): a bucket that starts with one hedge, that every hedgeable
 * call fills by its ratio and every hedge empties by one, holding at most `max(1, 100 · ratio)`. No time enters: it follows
 * the calls, so a quiet origin keeps its few saved hedges and a busy one earns them as it goes.
 */
export class HedgeShare {
  /** One to start with: a new client may hedge its first slow call, and then earns the next. */
  #tokens = 1;

  /** A hedgeable call started: it earns `ratio` of a hedge. */
  earn(ratio: number): void {
    this.#tokens = Math.min(capOf(ratio), this.#tokens + ratio);
  }

  /** Gives back a hedge spent and then not sent. */
  refund(): void {
    this.#tokens += 1;
  }

  /** Spends a hedge; `false` (and nothing spent) when less than one is saved. */
  spend(): boolean {
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

function capOf(ratio: number): number {
  return Math.max(1, 100 * ratio);
}

/** What the hedging decision reads of an origin: its recent latency, its hedge share, budget and throttle. */
export interface HedgeOrigin {
  /** The recent p95 of call latency, or `undefined` with fewer than `minSamples` responses. */
  latencyP95(minSamples: number): number | undefined;
  /** The origin's share of hedges (`ratio`). */
  readonly share: HedgeShare;
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
export type HedgeRefusal = 'throttle' | 'ratio' | 'budget';

/**
 * Whether a hedge that is due may go out at `now`: not while the origin's throttle refuses any
 * attempt (a struggling upstream gets no extra load), only within the origin's share of hedges,
 * and only for a retry-budget token, which it keeps (a hedge is an extra request, won or lost).
 * Returns `undefined` when it may (share and token spent), or why not (nothing spent).
 */
export function admitHedge(origin: HedgeOrigin, now: number): HedgeRefusal | undefined {
  if (origin.throttle !== undefined && origin.throttle.probability(now) > 0) return 'throttle';
  if (!origin.share.spend()) return 'ratio';
  if (origin.budget !== undefined && !origin.budget.withdraw()) {
    origin.share.refund(); // the hedge was not sent: its share back
    return 'budget';
  }
  return undefined;
}
