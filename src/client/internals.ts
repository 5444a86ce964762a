/**
 * Seams for Bulwark's own benches and tests, outside the public API (the package exports neither
 * this module nor anything of it). A client constructed inside {@link withInternals} takes them:
 * - `directFetch: false` sends every `fetch` through undici's fetch (the direct path's reference);
 * - `budget` builds each origin's retry budget (the storm bench's candidate budgets).
 */
import type { RetryBudgetFactory } from '../policy/retry-budget.ts';

/** The seams a client can be given. */
export interface ClientInternals {
  directFetch?: boolean;
  budget?: RetryBudgetFactory;
}

let pending: ClientInternals | undefined;

/** Runs `make` (which constructs one client) with `internals` handed to that client. */
export function withInternals<T>(internals: ClientInternals, make: () => T): T {
  pending = internals;
  try {
    return make();
  } finally {
    pending = undefined;
  }
}

/** For the client's constructor: the seams it was made with, if any (taken once). */
export function takeInternals(): ClientInternals | undefined {
  const taken = pending;
  pending = undefined;
  return taken;
}
