/**
 * A bounded map of per-key policy state (a breaker or a bulkhead per route, per tenant, per user):
 * at most `maxKeys` live keys, the idlest evicted first, and keys idle for `keyIdleTimeout`
 * expired — on the injected clock, swept a few at a time as keys are used, with no timer per key.
 * So a key per user id cannot grow memory without limit.
 */
import type { Clock } from '../clock/clock.ts';
import { checkDuration, checkNumber } from '../options/validate.ts';

/** How many keys a keyed policy keeps, and for how long an idle one. */
export interface ResolvedKeyLimits {
  readonly maxKeys: number;
  readonly keyIdleTimeout: number;
}

/** 1 000 live keys; a key unused for a minute is forgotten. */
export const KEY_LIMIT_DEFAULTS: ResolvedKeyLimits = Object.freeze({ maxKeys: 1000, keyIdleTimeout: 60_000 });

/** The most keys one map may be asked to keep. */
export const MAX_KEYS = 1_000_000;

/** Validates `maxKeys` and `keyIdleTimeout` of the option at `path`. */
export function resolveKeyLimits(maxKeys: unknown, keyIdleTimeout: unknown, path: string): ResolvedKeyLimits {
  return Object.freeze({
    maxKeys: checkNumber(maxKeys, `${path}.maxKeys`, KEY_LIMIT_DEFAULTS.maxKeys, {
      min: 1,
      max: MAX_KEYS,
      integer: true,
    }),
    keyIdleTimeout: checkDuration(
      keyIdleTimeout,
      `${path}.keyIdleTimeout`,
      KEY_LIMIT_DEFAULTS.keyIdleTimeout,
      1,
    ),
  });
}

/** What a keyed map needs to know of its values. */
export interface KeyedValues<V> {
  /** Makes the value of a new key. */
  create(key: string): V;
  /** Whether a value is in use (calls in flight or queued): it is then neither expired nor evicted. */
  busy?(value: V): boolean;
  /** Releases an expired or evicted value. */
  dispose?(value: V): void;
}

interface Entry<V> {
  readonly value: V;
  /** Clock time the key was last used. */
  usedAt: number;
}

/** Entries looked at per sweep or eviction, at most: the work per new key stays constant. */
const SCAN = 16;

/**
 * The map. Its insertion order is the keys' order of use, kept approximately: a used key moves to
 * the end only when it was last moved more than `slack` ago (a Map delete and set per call cost
 * more than the lookup), so the order — and what is evicted and when a key expires — is right to
 * within `slack` (a sixteenth of `keyIdleTimeout`, at most a second).
 */
export class KeyedMap<V> {
  readonly #map = new Map<string, Entry<V>>();
  readonly #limits: ResolvedKeyLimits;
  readonly #clock: Clock;
  readonly #values: KeyedValues<V>;
  readonly #slack: number;
  #expired = 0;
  #evicted = 0;

  constructor(limits: ResolvedKeyLimits, clock: Clock, values: KeyedValues<V>) {
    this.#limits = limits;
    this.#clock = clock;
    this.#values = values;
    this.#slack = Math.min(1_000, limits.keyIdleTimeout / 16);
  }

  /** Live keys now. */
  get size(): number {
    return this.#map.size;
  }

  /** Keys expired for idleness, and keys evicted to stay within `maxKeys`, so far. */
  get dropped(): { readonly expired: number; readonly evicted: number } {
    return { expired: this.#expired, evicted: this.#evicted };
  }

  /** The value of `key`, made now if it has none; marks the key used at `now` (clock ms). */
  get(key: string, now: number = this.#clock.now()): V {
    const map = this.#map;
    const entry = map.get(key);
    if (entry !== undefined) {
      if (now - entry.usedAt > this.#slack) {
        map.delete(key);
        map.set(key, entry);
      }
      entry.usedAt = now;
      return entry.value;
    }
    this.#sweep(now);
    if (map.size >= this.#limits.maxKeys) this.#evictOne();
    const value = this.#values.create(key);
    map.set(key, { value, usedAt: now });
    return value;
  }

  /** Every live key and its value (for stats). */
  *entries(): IterableIterator<[string, V]> {
    for (const [key, entry] of this.#map) yield [key, entry.value];
  }

  /** Every value (for close). */
  *values(): IterableIterator<V> {
    for (const entry of this.#map.values()) yield entry.value;
  }

  /** Expires idle keys from the front (the least recently used), a few at a time. */
  #sweep(now: number): void {
    const idle = this.#limits.keyIdleTimeout;
    let looked = 0;
    for (const [key, entry] of this.#map) {
      if (++looked > SCAN || now - entry.usedAt < idle) return;
      if (this.#values.busy?.(entry.value) === true) continue;
      this.#drop(key, entry);
      this.#expired++;
    }
  }

  /** Evicts the idlest key that is not busy; with only busy ones in front, the map grows past `maxKeys`. */
  #evictOne(): void {
    let looked = 0;
    for (const [key, entry] of this.#map) {
      if (++looked > SCAN) return;
      if (this.#values.busy?.(entry.value) === true) continue;
      this.#drop(key, entry);
      this.#evicted++;
      return;
    }
  }

  #drop(key: string, entry: Entry<V>): void {
    this.#map.delete(key);
    this.#values.dispose?.(entry.value);
  }
}
