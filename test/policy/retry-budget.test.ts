// The retry budget on a virtual clock, driven the way the retry stage drives it: `withdraw()` before
// a retry, `recordSuccess(call)` when a call succeeds. A retry costs a token and gets it back if it
// succeeds, successful calls deposit `ratio`, what lies above the reserve fades over `window`, and
// retries that succeeded raise the reserve for about `memory`. In a fleet, retries are also decided
// on the fleet's totals of the last sync (a share the test writes as the fleet's sync would).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import {
  type BudgetFleet,
  type FleetBudgetShare,
  RETRY_BUDGET_DEFAULTS,
  type RetriedCall,
  RetryBudget,
  resolveRetryBudget,
} from '../../src/policy/retry-budget.ts';

const FIRST: RetriedCall = { attempts: 1, staleRetried: false, endedAt: 0 };
const RETRIED: RetriedCall = { attempts: 2, staleRetried: false, endedAt: 0 };
const { ratio, reserve, window, memory } = RETRY_BUDGET_DEFAULTS;

/**
 * One call of up to 1 + `limit` attempts, each failing with probability `failure` (from the
 * clock's seeded random), asking the budget before every retry as `decideRetry` does.
 */
function call(
  budget: RetryBudget,
  clock: VirtualClock,
  failure: number,
  limit = 2,
): { ok: boolean; retries: number; refused: boolean } {
  let retries = 0;
  for (let attempt = 1; ; attempt++) {
    if (clock.random() >= failure) {
      budget.recordSuccess({ attempts: attempt, staleRetried: false, endedAt: 0 });
      return { ok: true, retries, refused: false };
    }
    if (attempt > limit) return { ok: false, retries, refused: false };
    if (!budget.withdraw()) return { ok: false, retries, refused: true };
    retries++;
  }
}

/** `calls` calls spaced `gap` ms apart on the virtual clock; totals. */
async function run(budget: RetryBudget, clock: VirtualClock, calls: number, gap: number, failure: number) {
  const total = { ok: 0, retries: 0, refused: 0 };
  for (let i = 0; i < calls; i++) {
    const r = call(budget, clock, failure);
    total.ok += Number(r.ok);
    total.retries += r.retries;
    total.refused += Number(r.refused);
    await clock.advance(gap);
  }
  return total;
}

describe('RetryBudget', () => {
  it('a full outage from healthy: a client retries its reserve and then stops, however many calls follow', async () => {
    const clock = new VirtualClock({ seed: 1 });
    const budget = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    await run(budget, clock, 100, 500, 0); // 50 s healthy at 2 calls a second
    const outage = await run(budget, clock, 1_000, 500, 1);
    assert.equal(outage.ok, 0);
    // What it held: the reserve, and what is left of the deposits that fade over 200 ms (a few
    // hundredths of a token at one call per 500 ms).
    assert.equal(outage.retries, reserve);
    assert.equal(budget.withdraw(), false, 'nothing taken when less than a token is left');
    assert.ok(budget.level >= 0 && budget.level < 1);
  });

  it('a 30 % random brownout: retries keep flowing, because most of them succeed', async () => {
    const clock = new VirtualClock({ seed: 2 });
    const budget = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    const calls = 2_000;
    const brownout = await run(budget, clock, calls, 500, 0.3);
    // 3 attempts at 30 % failures succeed 97.3 % of the time; refusals may cost a few calls.
    assert.ok(brownout.ok / calls >= 0.97, `success ${brownout.ok / calls}`);
    assert.ok(brownout.refused <= calls * 0.002, `${brownout.refused} retries refused`);
  });

  it('a retry that succeeds gets its token back and raises the reserve for about `memory`', async () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    assert.equal(budget.withdraw(), true);
    assert.equal(budget.level, reserve - 1);
    budget.recordSuccess(RETRIED);
    assert.equal(budget.level, reserve + ratio, 'the token back and the deposit');
    await clock.advance(10 * window);
    assert.ok(budget.level > reserve, 'what a succeeding retry earned does not fade back to the reserve');
    await clock.advance(10 * memory);
    assert.ok(Math.abs(budget.level - reserve) < 1e-3, `back to the reserve: ${budget.level}`);
  });

  it('the free retry of a stale keep-alive connection gets no token back (it took none)', () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    budget.recordSuccess({ attempts: 2, staleRetried: true, endedAt: 0 });
    assert.equal(budget.level, reserve + ratio);
    budget.recordSuccess({ attempts: 3, staleRetried: true, endedAt: 0 }); // stale retry, then a paid one
    assert.equal(budget.level, reserve + 2 * ratio + 1);
  });

  it('follows the request rate: a burst of successes funds as many retries, then fades to the reserve', async () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    for (let i = 0; i < 1_000; i++) budget.recordSuccess(FIRST);
    const held = budget.level;
    assert.ok(Math.abs(held - (reserve + 1_000 * ratio)) < 1e-9);
    let retries = 0;
    while (budget.withdraw()) retries++;
    assert.equal(retries, Math.floor(held), 'the failures of that many calls in flight, at once');
    const left = budget.level;
    for (let i = 0; i < 1_000; i++) budget.recordSuccess(FIRST);
    await clock.advance(window);
    const expected = reserve + (left + 1_000 * ratio - reserve) * Math.exp(-1);
    assert.ok(Math.abs(budget.level - expected) < 1e-9, `${budget.level} ≈ ${expected}`);
    await clock.advance(20 * window);
    assert.ok(Math.abs(budget.level - reserve) < 1e-3, `back to the reserve: ${budget.level}`);
  });

  it('validates its options', () => {
    assert.deepEqual(resolveRetryBudget(undefined), RETRY_BUDGET_DEFAULTS);
    assert.deepEqual(resolveRetryBudget({ memory: 0 }), { ...RETRY_BUDGET_DEFAULTS, memory: 0 });
    assert.throws(() => resolveRetryBudget({ ratio: -1 }, 'retry.budget'), { path: 'retry.budget.ratio' });
    assert.throws(() => resolveRetryBudget({ reserve: Number.NaN }), { path: 'budget.reserve' });
    assert.throws(() => resolveRetryBudget({ window: 0 }), { path: 'budget.window' });
    assert.throws(() => resolveRetryBudget({ memory: -1 }), { path: 'budget.memory' });
    assert.throws(() => resolveRetryBudget({ capacity: 10 }), { path: 'budget.capacity' });
    assert.throws(() => resolveRetryBudget({ fleet: {} }, 'retry.budget'), { path: 'retry.budget.fleet' });
    assert.throws(() => resolveRetryBudget({ fleet: null }), { path: 'budget.fleet' });
    const fleet: BudgetFleet = { attachBudget: () => () => {} };
    assert.equal(resolveRetryBudget({ fleet }).fleet, fleet);
  });
});

describe('RetryBudget in a fleet', () => {
  /** A share as the fleet's sync writes it, fresh for a second from `clock.now()`. */
  function share(clock: VirtualClock, counts: Partial<FleetBudgetShare>): FleetBudgetShare {
    return {
      successes: 0,
      retries: 0,
      paid: 0,
      floor: 0.3,
      until: clock.now() + 1_000,
      pending: false,
      ...counts,
    };
  }
  /** A budget whose own tokens never run out, so only the fleet refuses. */
  const rich = (clock: VirtualClock): RetryBudget =>
    new RetryBudget(resolveRetryBudget({ reserve: 1e9 }), clock);
  const admitted = (budget: RetryBudget, n: number): number => {
    let k = 0;
    for (let i = 0; i < n; i++) if (budget.withdraw()) k++;
    return k;
  };

  it('an outage seen by the fleet: about floor ÷ asked of the retries go, and a refusal takes no token', () => {
    const clock = new VirtualClock({ seed: 3 });
    const budget = rich(clock);
    budget.join(share(clock, { retries: 30, floor: 0.3 }), () => {});
    const before = budget.level;
    const k = admitted(budget, 10_000);
    // 0.3 of 30 asked: 1 %.
    assert.ok(k > 60 && k < 140, `${k} of 10 000 admitted`);
    assert.equal(budget.level, before - k);
    assert.equal(budget.fleetActive(), true);
  });

  it('a brownout seen by the fleet: every retry goes while successes and retries that succeeded pay for them', () => {
    const clock = new VirtualClock({ seed: 4 });
    const budget = rich(clock);
    // 30 % of attempts fail: per 100 calls about 97 succeed, 39 retries are asked, 27 succeed.
    budget.join(share(clock, { successes: 97, retries: 39, paid: 27 }), () => {});
    assert.equal(admitted(budget, 1_000), 1_000);
    // Deeper: 0.4 · 50 + 10 + 0.3 = 30.3 of 60 asked — about half go.
    budget.join(share(clock, { successes: 50, retries: 60, paid: 10 }), () => {});
    const k = admitted(budget, 10_000);
    assert.ok(Math.abs(k / 10_000 - 30.3 / 60) < 0.03, `${k} of 10 000 admitted`);
  });

  it('is local again once the share goes stale or the budget leaves; waits while its first sync is pending', async () => {
    const clock = new VirtualClock({ seed: 5 });
    const budget = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    budget.join(share(clock, { retries: 1_000, floor: 0 }), () => {});
    assert.equal(budget.withdraw(), false, 'floor 0 and no success: the fleet refuses every retry');
    assert.equal(budget.level, reserve, 'no token taken');
    await clock.advance(1_000);
    assert.equal(budget.fleetActive(), false);
    // Stale: the local tokens alone, the reserve of 3.
    assert.equal(admitted(budget, 10), 3);
    budget.join({ ...share(clock, {}), until: Number.NEGATIVE_INFINITY, pending: true }, () => {});
    assert.equal(budget.withdraw(), false, 'a key new to the process waits for its first sync');
    budget.leave();
    assert.equal(budget.fleetJoined, false);
    budget.recordSuccess(RETRIED);
    assert.equal(budget.withdraw(), true);
  });

  it('counts for the fleet what its next sync publishes: successes, retries asked (refused too, by either), retries paid', () => {
    const clock = new VirtualClock({ seed: 6 });
    const budget = new RetryBudget(resolveRetryBudget({ reserve: 1 }), clock);
    let woken = 0;
    budget.join(share(clock, { retries: 10, floor: 0 }), () => woken++);
    assert.equal(woken, 0);
    assert.equal(budget.withdraw(), false); // asked, refused by the fleet
    assert.equal(woken, 1);
    budget.recordSuccess(FIRST);
    budget.recordSuccess(RETRIED);
    assert.equal(woken, 1, 'one wake-up per batch');
    assert.deepEqual([budget.newSuccesses, budget.newRetries, budget.newPaid], [2, 1, 1]);
    budget.clearNew();
    assert.deepEqual([budget.newSuccesses, budget.newRetries, budget.newPaid], [0, 0, 0]);
    // Refused by its own tokens: still counted, the fleet learns that its retries fail.
    const poor = new RetryBudget(resolveRetryBudget({ reserve: 0 }), clock);
    poor.join(share(clock, {}), () => woken++);
    assert.equal(poor.withdraw(), false);
    assert.equal(poor.newRetries, 1);
    // Outside a fleet nothing is kept for one.
    const alone = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    alone.withdraw();
    alone.recordSuccess(FIRST);
    assert.deepEqual([alone.newSuccesses, alone.newRetries], [0, 0]);
  });
});
