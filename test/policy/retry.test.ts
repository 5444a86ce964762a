// The retry stage on its own, driven by a minimal fake call (the slice it reads: retry options,
// idempotency, the body, the deadline, the budget and two counters) on a virtual clock: what it
// retries and how long it sleeps, the safety rules, the budget, the free retry of a stale
// keep-alive connection, and an abort during a backoff sleep.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { BulwarkError } from '../../src/errors/bulwark-error.ts';
import type { ErrorCode } from '../../src/errors/codes.ts';
import { FailedResponse } from '../../src/policy/failure.ts';
import { OK } from '../../src/policy/pipeline.ts';
import { type RetryCall, retryStage, Sleepers } from '../../src/policy/retry.ts';
import { RetryBudget, resolveRetryBudget } from '../../src/policy/retry-budget.ts';
import { type RetryOptions, resolveRetry } from '../../src/policy/retry-options.ts';

/** A virtual clock whose random draws are all 0.5, so full jitter sleeps half the backoff. */
class HalfClock extends VirtualClock {
  override random(): number {
    return 0.5;
  }
}

interface FakeCall extends RetryCall {
  attempts: number;
  staleSocket: boolean;
}

const failure = (code: ErrorCode): BulwarkError =>
  new BulwarkError({ layer: code.startsWith('TCP') ? 'tcp' : 'http', code } as never);

/**
 * Runs one call through the retry stage around an inner handler that answers attempt n with
 * `script[n - 1]` (OK, or a failure). Resolves with the outcome and the fake call.
 */
async function run(
  script: unknown[],
  opts: { retry?: RetryOptions; call?: Partial<FakeCall>; clock?: VirtualClock; staleOn?: number[] } = {},
) {
  const clock = opts.clock ?? new HalfClock();
  const call: FakeCall = {
    config: {
      retry: resolveRetry({ backoff: { base: 100, cap: 1_000 }, ...opts.retry }, 'retry', undefined),
    },
    signal: undefined,
    replayable: true,
    idempotent: true,
    method: 'GET',
    staleSocket: false,
    staleRetried: false,
    deadline: clock.now() + 30_000,
    attempts: 0,
    lastFailure: undefined,
    notRetried: undefined,
    origin: 'http://upstream.test',
    request: { method: 'GET', path: '/x' },
    state: {
      budget: new RetryBudget(resolveRetryBudget(undefined), clock),
      stats: { retries: 0, budgetExhausted: 0 },
    },
    ...opts.call,
  };
  const startedAt: number[] = [];
  const handler = retryStage<FakeCall, string>(clock, { sleepers: new Sleepers() })((c, done) => {
    c.attempts++;
    startedAt.push(clock.now());
    c.staleSocket = opts.staleOn?.includes(c.attempts) ?? false;
    const answer = script[c.attempts - 1];
    queueMicrotask(() => done(c, answer, answer === OK ? `ok after ${c.attempts}` : undefined));
  });
  const outcome = new Promise<{ err: unknown; result?: string }>((resolve) =>
    handler(call, (_c, err, result) => resolve({ err, ...(result === undefined ? {} : { result }) })),
  );
  await clock.runAll();
  return { ...(await outcome), call, startedAt };
}

describe('retry stage (fake call)', () => {
  it('retries a retryable failure after a jittered backoff, until an attempt succeeds', async () => {
    const r = await run([failure('TCP_REFUSED'), failure('TCP_REFUSED'), OK]);
    assert.deepEqual(r, { ...r, err: OK, result: 'ok after 3' });
    assert.equal(r.call.state.stats.retries, 2);
    // Full jitter with random 0.5: 0.5 × 100, then 0.5 × 200.
    assert.deepEqual(r.startedAt, [0, 50, 150]);
  });

  it("stops at the limit with the last failure, and says why ('limit')", async () => {
    const last = failure('TCP_REFUSED');
    const r = await run([failure('TCP_REFUSED'), failure('TCP_REFUSED'), last], { retry: { limit: 2 } });
    assert.equal(r.err, last);
    assert.equal(r.call.attempts, 3);
    assert.equal(r.call.notRetried, 'limit');
  });

  it('never repeats a request that may have executed unless it is idempotent', async () => {
    const reset = failure('TCP_RESET'); // may have executed
    const post = await run([reset, OK], { call: { idempotent: false } });
    assert.equal(post.err, reset);
    assert.equal(post.call.notRetried, 'not-idempotent');
    // A refused connect surely did not reach the server: any method is retried.
    const refused = await run([failure('TCP_REFUSED'), OK], { call: { idempotent: false } });
    assert.equal(refused.err, OK);
  });

  it("a one-shot body is never sent twice ('one-shot-body')", async () => {
    const r = await run([failure('TCP_REFUSED'), OK], { call: { replayable: false } });
    assert.equal(r.call.notRetried, 'one-shot-body');
    assert.equal(r.call.attempts, 1);
  });

  it('a stale keep-alive connection is retried once, at once, without counting against the limit', async () => {
    const r = await run([failure('TCP_RESET'), OK], { retry: { limit: 0 }, staleOn: [1] });
    // limit 0 turns the stage off altogether: nothing to retry with.
    assert.equal(r.call.attempts, 1);
    const s = await run([failure('TCP_RESET'), failure('TCP_REFUSED'), OK], {
      retry: { limit: 1 },
      staleOn: [1],
    });
    assert.equal(s.err, OK);
    assert.equal(s.call.attempts, 3, 'the free retry, then the one the limit allows');
    assert.equal(s.startedAt[1], 0, 'the free retry does not sleep');
    assert.equal(s.call.staleRetried, true);
  });

  it("no retry that could not finish within the deadline ('deadline')", async () => {
    const clock = new HalfClock();
    const r = await run([failure('TCP_REFUSED'), OK], {
      clock,
      retry: { backoff: { jitter: 'none', base: 5_000, cap: 5_000 } },
      call: { deadline: 1_000 },
    });
    assert.equal(r.call.notRetried, 'deadline');
    assert.equal(r.call.attempts, 1);
  });

  it("no retry once the budget is spent ('budget-exhausted'), counted", async () => {
    const clock = new HalfClock();
    const budget = new RetryBudget(resolveRetryBudget({ reserve: 1 }), clock);
    const state = { budget, stats: { retries: 0, budgetExhausted: 0 } };
    const first = await run([failure('TCP_REFUSED'), failure('TCP_REFUSED')], { clock, call: { state } });
    assert.equal(first.call.attempts, 2, 'the reserve pays for one retry');
    assert.equal(first.call.notRetried, 'budget-exhausted');
    assert.equal(state.stats.budgetExhausted, 1);
  });

  it('a failing response (a 503) is retried like a failure, Retry-After honoured up to its cap', async () => {
    const dispose = (): void => {};
    const r = await run([new FailedResponse(503, 'x', '2', dispose), OK]);
    assert.equal(r.err, OK);
    assert.deepEqual(r.startedAt, [0, 2_000], 'slept the Retry-After');
    const tooLong = await run([new FailedResponse(503, 'x', '3600', dispose), OK]);
    assert.equal(tooLong.call.notRetried, 'retry-after-too-long');
  });

  it("an abort during the backoff sleep ends the call with the signal's reason", async () => {
    const clock = new HalfClock();
    const controller = new AbortController();
    clock.setTimeout(() => controller.abort(null), 1); // 1 ms into the 10 s sleep
    const r = await run([failure('TCP_REFUSED'), OK], {
      clock,
      retry: { backoff: { jitter: 'none', base: 10_000, cap: 10_000 } },
      call: { signal: controller.signal },
    });
    assert.equal(r.err, null, 'the reason itself, null included');
    assert.equal(r.call.attempts, 1);
  });
});
