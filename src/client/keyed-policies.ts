/**
 * Breakers and bulkheads per key (`breaker.key`, `bulkhead.key`): a function of the request names
 * the key — a route, a tenant, a user — in place of the origin, and each key gets its own breaker or
 * bulkhead, kept in a bounded map (policy/keyed.ts: `maxKeys`, idle keys expire after
 * `keyIdleTimeout`). The client resolves a call's breaker and bulkhead here when it makes the call.
 */
import type { Clock } from '../clock/clock.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import type { OriginState } from '../http/origin-state.ts';
import { checkFunction, checkObject } from '../options/validate.ts';
import type { Breaker, BreakerState } from '../policy/breaker.ts';
import type { Bulkhead } from '../policy/bulkhead.ts';
import { KeyedMap, type ResolvedKeyLimits, resolveKeyLimits } from '../policy/keyed.ts';

/** What a key function is given: the request, before any attempt. */
export interface KeyRequest {
  /** The URL as the call gave it (normalised). */
  readonly url: string;
  /** The method, upper-cased. */
  readonly method: string;
  /** `scheme://host[:port]`. */
  readonly origin: string;
  /** Path and query. */
  readonly path: string;
  /** The headers as the call gave them: a record, pairs or a `Headers` object (or `undefined`). */
  readonly headers: unknown;
}

/**
 * Keying options a breaker or bulkhead takes besides its own.
 *
 * @example
 * ```ts
 * // One breaker per route: failures on /reset do not open the breaker for /login.
 * createClient({ breaker: { key: ({ method, path }) => `${method} ${path.split('?')[0]}` } });
 * ```
 */
export interface PolicyKeyOptions {
  /**
   * Names the key whose breaker (or bulkhead) a call uses, per call; keys are scoped to the
   * call's origin. Must return a string. Without it, one per origin.
   */
  key?: (request: KeyRequest) => string;
  /**
   * Live keys at most; past it the idlest is forgotten (keys with calls in flight or queued are
   * kept). With `key` only.
   * @default 1000
   */
  maxKeys?: number;
  /**
   * A key unused for this long (ms) is forgotten, with its breaker's or bulkhead's state. With
   * `key` only.
   * @default 60000
   */
  keyIdleTimeout?: number;
}

/** A key function and its limits, after validation. */
export interface ResolvedPolicyKey {
  readonly key: (request: KeyRequest) => string;
  readonly limits: ResolvedKeyLimits;
}

const KEY_OPTION_NAMES = ['key', 'maxKeys', 'keyIdleTimeout'] as const;

/**
 * Splits the keying options off a breaker's or bulkhead's options (`own`: the policy's own option
 * names). Returns the policy's own options and the resolved keying (`undefined`: per origin).
 */
export function splitKeyOptions(
  input: unknown,
  path: string,
  own: readonly string[],
): { readonly rest: Record<string, unknown> | undefined; readonly keyed: ResolvedPolicyKey | undefined } {
  if (input === undefined) return { rest: undefined, keyed: undefined };
  const o = checkObject(input, path, [...own, ...KEY_OPTION_NAMES]);
  const { key, maxKeys, keyIdleTimeout, ...rest } = o;
  const fn = checkFunction<(request: KeyRequest) => string>(key, `${path}.key`);
  const limits = resolveKeyLimits(maxKeys, keyIdleTimeout, path);
  return { rest, keyed: fn === undefined ? undefined : Object.freeze({ key: fn, limits }) };
}

/** One keyed policy's state: the origin it belongs to, the caller's key, and its breaker or bulkhead. */
interface KeyedEntry<V> {
  readonly state: OriginState;
  readonly key: string;
  readonly value: V;
}

/** The breakers or bulkheads of one client, by key. */
export class KeyedPolicies<V extends Breaker | Bulkhead> {
  readonly #resolved: ResolvedPolicyKey;
  readonly #path: string;
  readonly #map: KeyedMap<KeyedEntry<V>>;
  /** The origin state and key of the entry being made (read by the map's `create`). */
  #makingState: OriginState | undefined;
  #makingKey = '';

  constructor(
    resolved: ResolvedPolicyKey,
    path: string,
    clock: Clock,
    values: {
      create(state: OriginState, key: string): V;
      busy?(value: V): boolean;
      dispose(value: V): void;
    },
  ) {
    this.#resolved = resolved;
    this.#path = path;
    this.#map = new KeyedMap(resolved.limits, clock, {
      create: () => {
        const state = this.#makingState as OriginState;
        const key = this.#makingKey;
        return { state, key, value: values.create(state, key) };
      },
      ...(values.busy === undefined ? {} : { busy: (entry: KeyedEntry<V>) => values.busy!(entry.value) }),
      dispose: (entry) => values.dispose(entry.value),
    });
  }

  /** Live keys now. */
  get size(): number {
    return this.#map.size;
  }

  /**
   * The key of `request`: what the key function returns. Throws what it throws, or
   * `InvalidOptionError` when it returns something other than a string.
   */
  keyOf(request: KeyRequest): string {
    const key = this.#resolved.key(request);
    if (typeof key !== 'string') {
      throw new InvalidOptionError(`${this.#path}.key`, 'a function returning a string', key);
    }
    return key;
  }

  /** Whether `other` names its keys with the same function (one call of it serves both). */
  sharesKeyWith(other: KeyedPolicies<Breaker | Bulkhead> | undefined): boolean {
    return other !== undefined && other.#resolved.key === this.#resolved.key;
  }

  /** The breaker or bulkhead of `key` (from {@link keyOf}) to `state`'s origin, at clock time `now`. */
  at(state: OriginState, key: string, now: number): V {
    this.#makingState = state;
    this.#makingKey = key;
    // Keys are per origin: the same route on two upstreams is two breakers.
    const value = this.#map.get(`${state.origin} ${key}`, now).value;
    this.#makingState = undefined;
    return value;
  }

  /** Each origin's keys and what `describe` makes of their breaker or bulkhead. */
  byOrigin<T>(describe: (value: V) => T): Map<string, Record<string, T>> {
    const out = new Map<string, Record<string, T>>();
    for (const [, entry] of this.#map.entries()) {
      let keys = out.get(entry.state.origin);
      if (keys === undefined) {
        keys = {};
        out.set(entry.state.origin, keys);
      }
      // Defined rather than assigned: a key may be any string, '__proto__' too.
      Object.defineProperty(keys, entry.key, {
        value: describe(entry.value),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  /** Every live breaker or bulkhead (for close). */
  *values(): IterableIterator<V> {
    for (const entry of this.#map.values()) yield entry.value;
  }
}

/** A breaker's state for stats. */
export function breakerSnapshot(breaker: Breaker): BreakerState {
  return breaker.state;
}

/** A bulkhead's occupancy for stats. */
export function bulkheadSnapshot(bulkhead: Bulkhead): {
  readonly inFlight: number;
  readonly queued: number;
  readonly rejected: number;
} {
  return { inFlight: bulkhead.inFlight, queued: bulkhead.queued, rejected: bulkhead.rejected };
}
