// The hedging decision on a virtual clock, with the real retry budget, throttle and origin stats:
// when a hedge is due (fixed delay, or the origin's p95 once it has minSamples), and whether it
// may go (the throttle refusing anything vetoes it; it takes a budget token, which it keeps).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { OriginStats } from '../../src/http/origin-stats.ts';
import {
  admitHedge,
  type HedgeOrigin,
  HedgeShare,
  hedgeDelay,
  resolveHedge,
} from '../../src/policy/hedge.ts';
import { RetryBudget, resolveRetryBudget } from '../../src/policy/retry-budget.ts';
import { resolveThrottle, Throttle } from '../../src/policy/throttle.ts';

const target = { origin: 'http://a.test', host: 'a.test', port: 80 };

/** An origin with the given parts, and a share of hedges that does not get in the way. */
function origin(stats: OriginStats, extra: Partial<HedgeOrigin> = {}): HedgeOrigin {
  const share = new HedgeShare();
  for (let i = 0; i < 100; i++) share.earn(1);
  return { latencyP95: (n) => stats.latencyP95(n), share, ...extra };
}

describe('resolveHedge', () => {
  it('resolves defaults, inherits the delay, and turns off with false', () => {
    const client = resolveHedge({ delay: 30 }, 'hedge', false);
    assert.deepEqual(client, { delay: 30, max: 1, minSamples: 20, ratio: 0.05 });
    assert.deepEqual(resolveHedge({ minSamples: 5 }, 'hedge', client), {
      delay: 30,
      max: 1,
      minSamples: 5,
      ratio: 0.05,
    });
    assert.deepEqual(resolveHedge({ delay: 'p95' }, 'hedge', client), {
      delay: 'p95',
      max: 1,
      minSamples: 20,
      ratio: 0.05,
    });
    assert.equal(resolveHedge(false, 'hedge', client), false);
    assert.equal(resolveHedge(undefined, 'hedge', client), client);
    assert.deepEqual(resolveHedge({ delay: 0, max: 1, ratio: 0.2 }, 'hedge', false), {
      delay: 0,
      max: 1,
      minSamples: 20,
      ratio: 0.2,
    });
  });

  it('names the option path in its errors', () => {
    assert.throws(() => resolveHedge({ minSamples: 5 }, 'hedge', false), {
      name: 'InvalidOptionError',
      message: /hedge\.delay/,
    });
    assert.throws(() => resolveHedge({ delay: 1e12 }, 'hedge', false), InvalidOptionError);
    assert.throws(
      () => resolveHedge({ delay: Number.POSITIVE_INFINITY }, 'hedge', false),
      InvalidOptionError,
    );
    assert.throws(() => resolveHedge({ delay: '50' }, 'hedge', false), InvalidOptionError);
    assert.throws(() => resolveHedge({ delay: 5, max: 2 }, 'hedge', false), /hedge\.max/);
    assert.throws(() => resolveHedge({ delay: 5, minSamples: 2000 }, 'hedge', false), /hedge\.minSamples/);
    assert.throws(() => resolveHedge([], 'hedge', false), InvalidOptionError);
    assert.throws(() => resolveHedge({ delay: 5, ratio: 1.5 }, 'hedge', false), /hedge\.ratio/);
    assert.throws(() => resolveHedge({ delay: 5, ratio: -0.1 }, 'hedge', false), /hedge\.ratio/);
  });
});

describe('hedgeDelay', () => {
  it('a fixed delay is the delay, whatever the stats', () => {
    assert.equal(
      hedgeDelay({ delay: 42, max: 1, minSamples: 20, ratio: 0.05 }, origin(new OriginStats())),
      42,
    );
  });

  it("'p95' waits for minSamples responses, then follows the recent p95", () => {
    const stats = new OriginStats();
    const options = { delay: 'p95', max: 1, minSamples: 20, ratio: 0.05 } as const;
    for (let i = 1; i <= 19; i++) stats.recordResponse(undefined, i);
    assert.equal(hedgeDelay(options, origin(stats)), undefined);
    stats.recordResponse(undefined, 20);
    assert.equal(hedgeDelay(options, origin(stats)), 19); // 1..20: the 95th percentile is 19
    // Recomputed once per 32 responses, not per call: 31 slow ones later it still reads 19 ...
    for (let i = 0; i < 31; i++) stats.recordResponse(undefined, 1_000);
    assert.equal(hedgeDelay(options, origin(stats)), 19);
    // ... and with the 32nd the p95 of the window.
    stats.recordResponse(undefined, 1_000);
    assert.equal(hedgeDelay(options, origin(stats)), 1_000);
  });
});

describe('admitHedge', () => {
  it('takes a budget token per hedge and refuses when none is left', () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(resolveRetryBudget({ reserve: 2 }), clock);
    const o = origin(new OriginStats(), { budget });
    assert.equal(admitHedge(o, clock.now()), undefined);
    assert.equal(admitHedge(o, clock.now()), undefined);
    assert.equal(admitHedge(o, clock.now()), 'budget');
    assert.ok(budget.level < 1);
    // Successful calls pay for more.
    for (let i = 0; i < 3; i++)
      budget.recordSuccess({ attempts: 1, staleRetried: false, endedAt: clock.now() });
    assert.equal(admitHedge(o, clock.now()), undefined);
  });

  it('hedges at most their ratio of the calls: a bucket earned per call, spent per hedge', () => {
    const share = new HedgeShare(); // one to start with
    const o = origin(new OriginStats(), { share });
    assert.equal(admitHedge(o, 0), undefined);
    assert.equal(admitHedge(o, 0), 'ratio');
    for (let i = 0; i < 19; i++) share.earn(0.05);
    assert.equal(admitHedge(o, 0), 'ratio', '19 calls earn less than one hedge');
    share.earn(0.05);
    assert.equal(admitHedge(o, 0), undefined, 'the 20th call earns one');
    for (let i = 0; i < 1_000; i++) share.earn(0.05);
    let sent = 0;
    while (admitHedge(o, 0) === undefined) sent++;
    assert.equal(sent, 5, 'at most 100 · ratio saved up');
  });

  it('a hedge the budget refuses gives its share back', () => {
    const clock = new VirtualClock();
    const share = new HedgeShare();
    const budget = new RetryBudget(resolveRetryBudget({ reserve: 0 }), clock);
    const o = origin(new OriginStats(), { share, budget });
    assert.equal(admitHedge(o, 0), 'budget');
    assert.ok(share.spend(), 'the share is still there');
  });

  it('no budget: hedges are free', () => {
    assert.equal(admitHedge(origin(new OriginStats()), 0), undefined);
  });

  it('refused while the throttle refuses anything, without taking a token; admitted again once it heals', async () => {
    const clock = new VirtualClock();
    const budget = new RetryBudget(resolveRetryBudget({ reserve: 5 }), clock);
    const throttle = new Throttle(resolveThrottle({ window: 100 }), clock, target);
    const o = origin(new OriginStats(), { budget, throttle });
    for (let i = 0; i < 20; i++) throttle.settled(clock.now(), false); // an outage: nothing accepted
    const before = budget.level;
    assert.equal(admitHedge(o, clock.now()), 'throttle');
    assert.equal(budget.level, before);
    await clock.advance(2_000); // the counts fade
    for (let i = 0; i < 20; i++) throttle.settled(clock.now(), true);
    assert.equal(throttle.probability(clock.now()), 0);
    assert.equal(admitHedge(o, clock.now()), undefined);
  });
});
