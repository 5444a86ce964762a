// The retry budget as gRPC's throttling: failures drain it, successes refill it, and retries are
// allowed only while it is more than half full.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RETRY_BUDGET_DEFAULTS, RetryBudget, resolveRetryBudget } from '../../src/policy/retry-budget.ts';

describe('RetryBudget', () => {
  it('a full outage: retries stop once failures have drained it to half', () => {
    const budget = new RetryBudget();
    let retries = 0;
    for (let call = 0; call < 1_000; call++) {
      // Each call: a failed attempt, then a retry if the budget allows, up to 2 retries.
      budget.recordFailure();
      for (let r = 0; r < 2 && budget.canRetry; r++) {
        retries++;
        budget.recordFailure();
      }
    }
    assert.equal(retries, 3);
    assert.equal(budget.level, 0, 'never negative');
  });

  it('recovers after enough successes, and never exceeds its capacity', () => {
    const budget = new RetryBudget();
    for (let i = 0; i < 20; i++) budget.recordFailure();
    assert.equal(budget.canRetry, false);
    for (let i = 0; i < 51; i++) budget.recordSuccess();
    assert.equal(budget.canRetry, true, '5.1 tokens: above half of 10');
    for (let i = 0; i < 1_000; i++) budget.recordSuccess();
    assert.equal(budget.level, 10);
  });

  it('validates its options', () => {
    assert.deepEqual(resolveRetryBudget(undefined), RETRY_BUDGET_DEFAULTS);
    assert.throws(() => resolveRetryBudget({ threshold: 2 }, 'retry.budget'), {
      path: 'retry.budget.threshold',
    });
    assert.throws(() => resolveRetryBudget({ failureCost: 20 }), { path: 'budget.failureCost' });
    assert.throws(() => resolveRetryBudget({ retryCost: 1 }), { path: 'budget.retryCost' });
  });
});
