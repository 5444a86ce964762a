/**
 * The retry strategies compared in a storm, each expressed as Bulwark client options so that the
 * storm runs Bulwark's own retry loop, backoff, budget and breaker (no copy of the policies). The
 * peers' strategies (p-retry's and undici's defaults) are their delay schedules written with
 * Bulwark's `jitter: 'none'` exponential backoff, with the budget and the breaker off.
 */
import type { ClientOptions } from '../../src/client/options.ts';
import type { Fleet } from '../../src/policy/fleet.ts';
import type { RetryBudgetFactory } from '../../src/policy/retry-budget.ts';

/** A candidate budget set up for one run: the client's factory, and what to undo afterwards. */
export interface InstalledBudget {
  readonly factory: RetryBudgetFactory;
  uninstall(): void;
}

/** One strategy: an id for the command line, a label for tables and charts, and its options. */
export interface Strategy {
  readonly id: string;
  readonly label: string;
  readonly options: Omit<ClientOptions, 'clock' | 'dns'>;
  /** How the strategy was expressed, where it is not a Bulwark default. */
  readonly note: string;
  /** A retry budget other than Bulwark's (bench/storm/budget-candidates.ts), set up per run. */
  readonly budget?: () => InstalledBudget;
  /**
   * What the fleet shares: each client object is a process with its own `Fleet`, syncing through
   * one simulated store (bench/storm/fleet-store.ts), given to the throttle (`'throttle'`), the
   * retry budget (`'budget'`) or both.
   */
  readonly fleet?: 'throttle' | 'budget' | 'both';
}

/** A peer's delay schedule: `limit` retries at base·2ⁿ⁻¹ capped at `cap`, no jitter, no deadline, budget or breaker. */
function schedule(limit: number, base: number, cap: number): Strategy['options'] {
  return {
    retry: { limit, backoff: { jitter: 'none', base, cap }, budget: false },
    breaker: false,
    timeout: { total: 3_600_000 },
  };
}

/** Every strategy, in the order tables and charts show them. */
export const STRATEGIES: readonly Strategy[] = Object.freeze([
  {
    id: 'none',
    label: 'no retry',
    options: { retry: false, breaker: false },
    note: 'retry: false, breaker: false',
  },
  {
    id: 'immediate',
    label: 'immediate, 3 attempts',
    options: {
      retry: { limit: 2, backoff: { jitter: 'none', base: 0, cap: 0 }, budget: false },
      breaker: false,
    },
    note: 'naive retry: 2 retries with no delay (base 0), no budget, no breaker',
  },
  {
    id: 'p-retry',
    label: 'p-retry defaults',
    options: schedule(10, 1_000, 2_147_483_647),
    note: 'p-retry: retries 10, factor 2, minTimeout 1000, no randomize, no deadline → limit 10, none, base 1000, uncapped, total 1 h',
  },
  {
    id: 'axios-retry',
    label: 'axios-retry defaults',
    options: schedule(3, 0, 0),
    note: 'axios-retry: retries 3, retryDelay noDelay (0), 5xx and network errors on idempotent requests, no timeout',
  },
  {
    id: 'got',
    label: 'got defaults',
    options: schedule(2, 1_000, 2_147_483_647),
    note: 'got: limit 2, delay 2^(n−1) × 1000 + up to 100 ms noise (the noise left out), backoffLimit ∞, no timeout',
  },
  {
    id: 'undici',
    label: 'undici RetryAgent defaults',
    options: schedule(5, 500, 30_000),
    note: 'undici retry-handler: maxRetries 5, minTimeout 500, factor 2, maxTimeout 30000, no jitter, no deadline',
  },
  {
    id: 'full',
    label: 'full jitter',
    options: { retry: { backoff: { jitter: 'full' }, budget: false }, breaker: false },
    note: 'Bulwark backoff (base 100, cap 10 000, 3 attempts), no budget, no breaker',
  },
  {
    id: 'equal',
    label: 'equal jitter',
    options: { retry: { backoff: { jitter: 'equal' }, budget: false }, breaker: false },
    note: 'as full jitter, equal',
  },
  {
    id: 'decorrelated',
    label: 'decorrelated jitter',
    options: { retry: { backoff: { jitter: 'decorrelated' }, budget: false }, breaker: false },
    note: 'as full jitter, decorrelated',
  },
  {
    id: 'budget',
    label: 'full jitter + budget',
    options: { retry: {}, breaker: false },
    note: 'Bulwark retry defaults (its budget included), breaker off',
  },
  {
    id: 'breaker',
    label: 'full jitter + breaker',
    options: { retry: { budget: false } },
    note: 'Bulwark breaker defaults, no budget',
  },
  {
    id: 'throttle',
    label: 'budget + adaptive throttle',
    options: { retry: {}, breaker: false, throttle: true },
    note: 'Bulwark retry defaults (its budget included), adaptive throttling (k 3, window 250 ms, at most 90 % refused) in place of the breaker',
  },
  {
    id: 'fleet',
    label: 'budget + fleet throttle',
    options: { retry: {}, breaker: false, throttle: true },
    fleet: 'throttle',
    note: 'as budget + adaptive throttle, the throttle counts shared by the fleet (sync every 100 ms, 2 ms to the store, totals over 300 ms)',
  },
  {
    id: 'fleet-budget',
    label: 'fleet budget',
    options: { retry: {}, breaker: false },
    fleet: 'budget',
    note: 'Bulwark retry defaults, the retry budget shared by the fleet (retry.budget.fleet: sync every 100 ms, 2 ms to the store, totals over 300 ms, floor 1 retry/s fleet-wide), no throttle, breaker off',
  },
  {
    id: 'fleet-both',
    label: 'fleet budget + fleet throttle',
    options: { retry: {}, breaker: false, throttle: true },
    fleet: 'both',
    note: 'as fleet budget, with the adaptive throttle on the same fleet',
  },
  {
    id: 'throttle-breaker',
    label: 'Bulwark defaults + throttle',
    options: { throttle: true },
    note: 'createClient({ throttle: true }): the breaker and the adaptive throttle side by side',
  },
  {
    id: 'fleet-breaker',
    label: 'Bulwark defaults + fleet throttle',
    options: { throttle: true },
    fleet: 'throttle',
    note: 'createClient({ throttle: { fleet } }): the breaker (defaults) beside the throttle shared by the fleet (sync every 100 ms, 2 ms to the store, totals over 300 ms)',
  },
  {
    id: 'fleet-budget-breaker',
    label: 'Bulwark defaults + fleet budget',
    options: {},
    fleet: 'budget',
    note: 'createClient({ retry: { budget: { fleet } } }): the defaults (breaker included) with the retry budget shared by the fleet (sync every 100 ms, 2 ms to the store, totals over 300 ms)',
  },
  {
    id: 'fleet-all',
    label: 'Bulwark defaults + fleet budget + fleet throttle',
    options: { throttle: true },
    fleet: 'both',
    note: 'createClient({ retry: { budget: { fleet } }, throttle: { fleet } }): the defaults (breaker included) with the retry budget and the adaptive throttle shared by one fleet',
  },
  {
    id: 'bulwark',
    label: 'Bulwark defaults',
    options: {},
    note: 'createClient() defaults: full jitter, budget and breaker',
  },
  {
    id: 'hedge',
    label: 'Bulwark defaults + hedge',
    options: { hedge: { delay: 50 } },
    note: 'createClient({ hedge: { delay: 50 } }): a second attempt after 50 ms (about twice a healthy call), paid from the retry budget',
  },
  {
    id: 'hedge-p95',
    label: 'Bulwark defaults + hedge at p95',
    options: { hedge: { delay: 'p95' } },
    note: "createClient({ hedge: { delay: 'p95' } }): a second attempt after the origin's recent p95 (once it has 20 responses)",
  },
] satisfies Strategy[]);

/** `strategy`'s options with `fleet` given to what the strategy shares (its throttle, its budget). */
export function fleetOptions(strategy: Strategy, fleet: Fleet): Strategy['options'] {
  const o = strategy.options;
  const throttle = typeof o.throttle === 'object' ? o.throttle : {};
  const retry = typeof o.retry === 'object' ? o.retry : {};
  const budget = typeof retry.budget === 'object' ? retry.budget : {};
  return {
    ...o,
    ...(strategy.fleet !== 'budget' && { throttle: { ...throttle, fleet } }),
    ...(strategy.fleet !== 'throttle' && { retry: { ...retry, budget: { ...budget, fleet } } }),
  };
}

/** Strategy ids. */
export const STRATEGY_IDS: readonly string[] = STRATEGIES.map((s) => s.id);

/** The strategies named by `ids`, in the canonical order. */
export function pickStrategies(ids: readonly string[]): Strategy[] {
  return STRATEGIES.filter((s) => ids.includes(s.id));
}
