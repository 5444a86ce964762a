/**
 * What Bulwark keeps per origin and every call to it shares: its breaker, retry budget, bulkhead,
 * adaptive throttle, share of hedges,
 * statistics, and its connection pool for the request fast path. The client's registry
 * (client/origin.ts) makes one per origin on the first call to it.
 */
import type { Dispatcher } from 'undici';
import type { Target } from '../errors/bulwark-error.ts';
import type { Breaker } from '../policy/breaker.ts';
import type { Bulkhead } from '../policy/bulkhead.ts';
import type { HedgeShare } from '../policy/hedge.ts';
import type { RetryBudget } from '../policy/retry-budget.ts';
import type { Throttle } from '../policy/throttle.ts';
import type { AddressOutliers } from '../transport/outlier-detection.ts';
import type { OriginStats } from './origin-stats.ts';

/** Everything Bulwark keeps per origin. */
export interface OriginState {
  readonly origin: string;
  readonly target: Target;
  readonly breaker: Breaker | undefined;
  readonly budget: RetryBudget | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly throttle: Throttle | undefined;
  /** Outlier ejection across the origin's addresses (`undefined` with `outlier: false`). */
  readonly outliers: AddressOutliers | undefined;
  readonly stats: OriginStats;
  /** The origin's connection pool, cached for the request fast path (replaced once closed). */
  pool: Dispatcher | undefined;
  /** The origin's share of hedges (`hedge.ratio`), made by its first hedgeable call. */
  hedgeShare?: HedgeShare;
}
