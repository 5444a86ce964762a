/**
 * Backoff as pure functions: how long to wait before retry number n. Jitter is on by default
 * (full jitter), every delay is capped, and randomness is injected so runs can be replayed.
 *
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
import { checkDuration, checkObject, checkOneOf, checkThat } from '../options/validate.ts';

/**
 * How the exponential delay is randomised.
 * - `full`: uniform in [0, min(cap, base·2ⁿ⁻¹)] — the least contention (AWS 2015).
 * - `equal`: half fixed, half random — never shorter than half the exponential delay.
 * - `decorrelated`: uniform in [base, 3 × previous delay], capped.
 * - `none`: plain exponential min(cap, base·2ⁿ⁻¹) — the retry storm in a box; for comparison.
 */
export type Jitter = 'full' | 'equal' | 'decorrelated' | 'none';

/** Every jitter strategy. */
export const JITTERS: readonly Jitter[] = Object.freeze(['full', 'equal', 'decorrelated', 'none']);

/**
 * Backoff options (all optional).
 *
 * @example
 * ```ts
 * createClient({ retry: { backoff: { jitter: 'decorrelated', base: 50, cap: 2_000 } } });
 * ```
 */
export interface BackoffOptions {
  /**
   * The jitter strategy.
   * @default 'full'
   */
  jitter?: Jitter;
  /**
   * The first retry's (maximum) delay in milliseconds; it doubles each retry.
   * @default 100
   */
  base?: number;
  /**
   * No delay is ever longer than this, in milliseconds. Must be ≥ `base`.
   * @default 10000
   */
  cap?: number;
}

/** Backoff options after validation and defaults. */
export interface ResolvedBackoff {
  readonly jitter: Jitter;
  readonly base: number;
  readonly cap: number;
}

/** The defaults: full jitter, base 100 ms, cap 10 s (AWS "Exponential Backoff and Jitter"). */
export const BACKOFF_DEFAULTS: ResolvedBackoff = Object.freeze({ jitter: 'full', base: 100, cap: 10_000 });

/** Validates backoff options; `path` prefixes the option names in errors. */
export function resolveBackoff(
  input: unknown,
  path = 'backoff',
  defaults = BACKOFF_DEFAULTS,
): ResolvedBackoff {
  const o = checkObject(input, path, ['jitter', 'base', 'cap']);
  const jitter = checkOneOf(o.jitter, `${path}.jitter`, JITTERS, defaults.jitter);
  const base = checkDuration(o.base, `${path}.base`, defaults.base);
  const cap = checkDuration(o.cap, `${path}.cap`, Math.max(defaults.cap, base));
  checkThat(cap >= base, `${path}.cap`, `≥ base (${base})`, cap);
  return Object.freeze({ jitter, base, cap });
}

/**
 * The delay before retry number `retry` (1 for the first retry), in milliseconds.
 *
 * @param previous - the previous delay (for `decorrelated`; pass 0 before the first retry)
 * @param random - a uniform [0, 1) source, usually `clock.random`
 */
export function backoffDelay(b: ResolvedBackoff, retry: number, random: () => number, previous = 0): number {
  const exp = Math.min(b.cap, b.base * 2 ** Math.max(0, retry - 1));
  switch (b.jitter) {
    case 'full':
      return random() * exp;
    case 'equal':
      return exp / 2 + (random() * exp) / 2;
    case 'decorrelated': {
      const prev = Math.max(previous, b.base);
      return Math.min(b.cap, b.base + random() * (prev * 3 - b.base));
    }
    case 'none':
      return exp;
  }
}
