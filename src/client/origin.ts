/**
 * Per-origin state shared by every call to that origin: its breaker, retry budget, bulkhead and
 * statistics. Created on the first call to an origin.
 */
import type { Dispatcher } from 'undici';
import type { Target } from '../errors/bulwark-error.ts';
import type { Breaker } from '../policy/breaker.ts';
import type { Bulkhead } from '../policy/bulkhead.ts';
import type { RetryBudget } from '../policy/retry-budget.ts';
import { OriginStats, type OriginStatsSnapshot } from './stats.ts';

/** Everything Bulwark keeps per origin. */
export interface OriginState {
  readonly origin: string;
  readonly target: Target;
  readonly breaker: Breaker | undefined;
  readonly budget: RetryBudget | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly stats: OriginStats;
  /** The origin's connection pool, cached for the request fast path (replaced once closed). */
  pool: Dispatcher | undefined;
}

/** Builds the state of one origin. */
export type OriginFactory = (
  origin: string,
  target: Target,
) => Omit<OriginState, 'stats' | 'origin' | 'target' | 'pool'>;

/** The registry of origin states. */
export class Origins {
  readonly #map = new Map<string, OriginState>();
  readonly #factory: OriginFactory;

  constructor(factory: OriginFactory) {
    this.#factory = factory;
  }

  /** The state of `origin` (a normalised `URL#origin`), created on first use. */
  get(origin: string, url: URL): OriginState {
    let state = this.#map.get(origin);
    if (state === undefined) {
      const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
      const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
      const target: Target = Object.freeze({ origin, host, port });
      state = { ...this.#factory(origin, target), origin, target, stats: new OriginStats(), pool: undefined };
      this.#map.set(origin, state);
    }
    return state;
  }

  /** Every origin's statistics. */
  snapshot(): OriginStatsSnapshot[] {
    const out: OriginStatsSnapshot[] = [];
    for (const s of this.#map.values()) {
      out.push(
        s.stats.snapshot(s.origin, {
          budgetLevel: s.budget?.level ?? null,
          breaker: s.breaker?.state ?? null,
          bulkhead: s.bulkhead
            ? { inFlight: s.bulkhead.inFlight, queued: s.bulkhead.queued, rejected: s.bulkhead.rejected }
            : null,
        }),
      );
    }
    return out;
  }

  /** Every origin's state (for close). */
  values(): IterableIterator<OriginState> {
    return this.#map.values();
  }
}
