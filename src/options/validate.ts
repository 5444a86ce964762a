/**
 * Option validation helpers. Every `resolve*` function in Bulwark builds on these, so a bad value
 * always throws an `InvalidOptionError` naming the path, the expectation and the value received.
 */
import { type Clock, systemClock } from '../clock/clock.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';

/** Bounds for {@link checkNumber}. */
export interface NumberRule {
  /** Inclusive lower bound. */
  min?: number;
  /** Inclusive upper bound. */
  max?: number;
  /** Require an integer. */
  integer?: boolean;
  /** Allow `Infinity` (never `NaN`). */
  infinite?: boolean;
}

/** A plain object whose keys are all in `allowed`; `undefined` becomes `{}`. */
export function checkObject(
  value: unknown,
  path: string,
  allowed: readonly string[],
): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(path, 'an object', value);
  }
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) {
      throw new InvalidOptionError(
        path === '' ? key : `${path}.${key}`,
        `a known option (${path === '' ? 'options' : path} accepts ${allowed.join(', ')})`,
        (value as Record<string, unknown>)[key],
      );
    }
  }
  return value as Record<string, unknown>;
}

/** A finite number within the rule's bounds, or `fallback` when `value` is undefined. */
export function checkNumber(value: unknown, path: string, fallback: number, rule: NumberRule = {}): number {
  if (value === undefined) return fallback;
  const {
    min = Number.NEGATIVE_INFINITY,
    max = Number.POSITIVE_INFINITY,
    integer = false,
    infinite = false,
  } = rule;
  const kind = `${integer ? 'an integer' : 'a number'}${boundsText(min, max)}${infinite ? ' (or Infinity)' : ''}`;
  if (typeof value !== 'number' || Number.isNaN(value)) throw new InvalidOptionError(path, kind, value);
  if (!Number.isFinite(value) && !(infinite && value === Number.POSITIVE_INFINITY)) {
    throw new InvalidOptionError(path, kind, value);
  }
  if (Number.isFinite(value) && integer && !Number.isInteger(value))
    throw new InvalidOptionError(path, kind, value);
  if (value < min || value > max) throw new InvalidOptionError(path, kind, value);
  return value;
}

/**
 * The longest duration any option takes, in milliseconds (about 24.8 days): Node's timers hold at
 * most 2³¹−1 ms, and a longer delay fires at once (with a `TimeoutOverflowWarning`), which would
 * turn a "wait a very long time" into "fail now" or a timer re-armed every millisecond.
 */
export const MAX_DURATION = 2_147_483_647;

/**
 * A duration in milliseconds: finite, ≥ `min` (default 0) and ≤ {@link MAX_DURATION}. Every
 * duration option of Bulwark (client, pool, DNS cache, health, probe) goes through this one check.
 */
export function checkDuration(value: unknown, path: string, fallback: number, min = 0): number {
  return checkNumber(value, path, fallback, { min, max: MAX_DURATION });
}

/** A boolean, or `fallback` when undefined. */
export function checkBoolean(value: unknown, path: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidOptionError(path, 'true or false', value);
  return value;
}

/** One of the listed literals, or `fallback` when undefined. */
export function checkOneOf<T extends string>(
  value: unknown,
  path: string,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new InvalidOptionError(path, `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`, value);
  }
  return value as T;
}

/** A non-empty string, or `fallback` when undefined. */
export function checkString(value: unknown, path: string, fallback: string, pattern?: RegExp): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || value === '' || (pattern !== undefined && !pattern.test(value))) {
    throw new InvalidOptionError(
      path,
      pattern === undefined ? 'a non-empty string' : `a string matching ${pattern}`,
      value,
    );
  }
  return value;
}

/** A function, or `fallback` when undefined. */
export function checkFunction<F extends Function>(value: unknown, path: string, fallback: F): F;
export function checkFunction<F extends Function>(value: unknown, path: string): F | undefined;
export function checkFunction<F extends Function>(value: unknown, path: string, fallback?: F): F | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw new InvalidOptionError(path, 'a function', value);
  return value as F;
}

/** A {@link Clock} (`now`, `setTimeout`, `clearTimeout`, `random`), or the system clock when undefined. */
export function checkClock(value: unknown, path: string): Clock {
  if (value === undefined) return systemClock;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(
      path,
      'a Clock (an object with now, setTimeout, clearTimeout and random)',
      value,
    );
  }
  for (const member of ['now', 'setTimeout', 'clearTimeout', 'random'] as const) {
    const fn = (value as Record<string, unknown>)[member];
    if (typeof fn !== 'function') throw new InvalidOptionError(`${path}.${member}`, 'a function', fn);
  }
  return value as Clock;
}

/**
 * An undici dispatcher (anything with a `dispatch(options, handler)` method, as undici's own
 * `fetch` accepts: an `Agent`, `ProxyAgent`, `MockAgent`, a `compose`d one, another copy of
 * undici's), or `undefined`. Typed structurally so this layer needs nothing of undici.
 */
export function checkDispatcher<D extends { dispatch: Function }>(
  value: unknown,
  path: string,
  alternative?: string,
): D | undefined {
  if (value === undefined) return undefined;
  if (
    (typeof value !== 'object' && typeof value !== 'function') ||
    value === null ||
    typeof (value as { dispatch?: unknown }).dispatch !== 'function'
  ) {
    const expected = 'an undici Dispatcher (an object with a dispatch method)';
    throw new InvalidOptionError(
      path,
      alternative === undefined ? expected : `${expected} or ${alternative}`,
      value,
    );
  }
  return value as D;
}

/** Throws unless `ok`, with the given path and expectation. */
export function checkThat(ok: boolean, path: string, expected: string, received: unknown): void {
  if (!ok) throw new InvalidOptionError(path, expected, received);
}

function boundsText(min: number, max: number): string {
  const lo = Number.isFinite(min) ? ` ≥ ${min}` : '';
  const hi = Number.isFinite(max) ? ` ≤ ${max}` : '';
  return lo && hi ? `${lo} and${hi}` : lo || hi;
}
