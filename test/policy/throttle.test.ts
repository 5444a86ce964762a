// Adaptive throttling on a virtual clock: the SRE book's probability from faded counts, the cap,
// no refusal on a cold start or while calls are in flight, the stage's CIRCUIT_THROTTLED, and the
// fleet's counts used until they go stale.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { type Done, OK } from '../../src/policy/pipeline.ts';
import { resolveThrottle, Throttle, type ThrottleCall, throttleStage } from '../../src/policy/throttle.ts';

const target = { origin: 'http://up.test', host: 'up.test', port: 80 };

function throttle(options: object = {}, seed = 1) {
  const clock = new VirtualClock({ seed });
  return { clock, t: new Throttle(resolveThrottle(options), clock, target) };
}

describe('Throttle', () => {
  it('never refuses a cold start, nor a client whose attempts are accepted', async () => {
    const { clock, t } = throttle();
    for (let i = 0; i < 1000; i++) {
      assert.equal(t.admit(clock.now()), true);
      t.settled(clock.now(), true);
      await clock.advance(1);
    }
    assert.equal(t.refused, 0);
    assert.equal(t.probability(), 0);
  });

  it('refuses nothing on fewer than minRequests attempts: one failure is no outage', () => {
    const { clock, t } = throttle();
    for (let i = 0; i < 4; i++) t.settled(clock.now(), false);
    assert.equal(t.probability(), 0);
    t.settled(clock.now(), false);
    assert.ok(Math.abs(t.probability() - 5 / 6) < 1e-12);
    assert.throws(() => resolveThrottle({ minRequests: -1 }), /throttle\.minRequests/);
  });

  it('follows max(0, (requests − k·accepts) / (requests + 1)), capped at max', () => {
    const { clock, t } = throttle({ k: 2, max: 1 });
    // 10 attempts, 4 accepted, all at one instant: (10 − 8) / 11.
    for (let i = 0; i < 10; i++) t.settled(clock.now(), i < 4);
    assert.ok(Math.abs(t.probability() - 2 / 11) < 1e-12);
    const capped = throttle({ k: 2, max: 0.5 });
    for (let i = 0; i < 10; i++) capped.t.settled(0, false);
    assert.equal(capped.t.probability(), 0.5);
  });

  it('refuses about the probability it reports, and counts refusals as attempts', () => {
    const { clock, t } = throttle({ max: 0.9, window: 1e9 });
    for (let i = 0; i < 100; i++) t.settled(clock.now(), false);
    let refused = 0;
    const n = 10_000;
    for (let i = 0; i < n; i++) if (!t.admit(clock.now())) refused++;
    assert.equal(refused, t.refused);
    // p stays at the cap (no accepts): 0.9 ± 5 standard deviations.
    assert.ok(Math.abs(refused / n - 0.9) < 5 * Math.sqrt((0.9 * 0.1) / n), `${refused}`);
    assert.ok(t.counts().requests > 100 + refused - 1);
  });

  it('forgets with the window: counts fade by e^(−t/window)', async () => {
    const { clock, t } = throttle({ window: 100 });
    for (let i = 0; i < 10; i++) t.settled(clock.now(), false);
    await clock.advance(100);
    assert.ok(Math.abs(t.counts().requests - 10 / Math.E) < 1e-9);
    await clock.advance(10_000);
    assert.ok(t.probability() < 1e-12);
    assert.equal(t.admit(clock.now()), true);
  });

  it('adds the fleet’s counts, less its own, scaled to its window, until they go stale or it leaves', async () => {
    const { clock, t } = throttle({ max: 0.9, window: 250 });
    assert.equal(t.fleetActive(), false);
    // 4 000 failures over the fleet's 1 s span: 1 000 on a 250 ms scale.
    const share = { requests: 4000, accepts: 0, span: 1000, until: clock.now() + 50 };
    let told = 0;
    t.join(share, () => told++);
    assert.equal(t.fleetActive(), true);
    assert.equal(t.probability(), 0.9);
    await clock.advance(50);
    assert.equal(t.fleetActive(), false);
    assert.equal(t.probability(), 0);
    // Its own published counts are not counted twice: all 4 000 were its own.
    share.until = clock.now() + 50;
    t.setOwn(4000, 0);
    assert.equal(t.probability(), 0);
    // A store that lost a bucket (own above the totals) counts as none from the fleet.
    t.setOwn(5000, 10);
    assert.equal(t.probability(), 0);
    // The fleet is told once when the first new event comes, and not again until it publishes.
    t.settled(clock.now(), false);
    t.settled(clock.now(), false);
    assert.equal(told, 1);
    t.clearNew();
    t.settled(clock.now(), true);
    assert.equal(told, 2);
    t.setOwn(0, 0);
    t.leave();
    assert.equal(t.fleetActive(), false);
    assert.ok(t.probability() < 0.9);
  });

  it('keeps the raw events for the fleet until it clears them', () => {
    const { clock, t } = throttle();
    t.settled(clock.now(), true);
    t.settled(clock.now(), false);
    assert.deepEqual([t.newRequests, t.newAccepts], [2, 1]);
    t.clearNew();
    assert.deepEqual([t.newRequests, t.newAccepts], [0, 0]);
  });

  it('validates its options', () => {
    assert.throws(() => resolveThrottle({ k: 0.5 }), InvalidOptionError);
    assert.throws(() => resolveThrottle({ max: 1.5 }), InvalidOptionError);
    assert.throws(() => resolveThrottle({ window: 0 }), InvalidOptionError);
    assert.throws(() => resolveThrottle({ window: Number.NaN }), InvalidOptionError);
    assert.throws(() => resolveThrottle({ fleet: {} }), /throttle\.fleet/);
    assert.throws(() => resolveThrottle({ other: 1 }), /throttle\.other/);
    assert.throws(() => resolveThrottle(null), InvalidOptionError);
    assert.deepEqual(
      { ...resolveThrottle(undefined) },
      {
        k: 3,
        window: 250,
        max: 0.9,
        minRequests: 5,
        fleet: undefined,
      },
    );
  });
});

describe('throttleStage', () => {
  interface FakeCall extends ThrottleCall {
    attempts: number;
  }
  const accepted = (err: unknown) => err === OK;

  it('refuses with CIRCUIT_THROTTLED before the attempt, and counts what the attempt answered', () => {
    const clock = new VirtualClock();
    const t = new Throttle(resolveThrottle({ window: 1e9 }), clock, target);
    let reached = 0;
    let answer: unknown = new Error('503');
    const handler = throttleStage<FakeCall, string>(
      clock,
      accepted,
    )((call, done) => {
      reached++;
      done(call, answer, answer === OK ? 'ok' : undefined);
    });
    const outcomes: unknown[] = [];
    const done: Done<FakeCall, string> = (_call, err, result) => outcomes.push(err === OK ? result : err);
    const call = (): FakeCall => ({
      state: { throttle: t },
      attempts: 0,
      startedAt: clock.now(),
      request: { method: 'GET', path: '/' },
    });
    for (let i = 0; i < 50; i++) handler(call(), done);
    const refusals = outcomes.filter((o) => isBulwarkError(o) && o.code === 'CIRCUIT_THROTTLED');
    assert.ok(refusals.length > 20, `${refusals.length} refused`);
    assert.equal(reached + refusals.length, 50);
    const e = refusals[0];
    assert.ok(isBulwarkError(e) && e.layer === 'circuit' && e.request?.path === '/');
    // The upstream is back: what goes through is accepted and the probability falls to 0.
    answer = OK;
    for (let i = 0; i < 1000; i++) handler(call(), done);
    assert.equal(t.probability(), 0, JSON.stringify(t.counts()));
    assert.equal(outcomes.at(-1), 'ok');
  });

  it('passes calls straight on when the origin has no throttle', () => {
    const clock = new VirtualClock();
    const handler = throttleStage<FakeCall, string>(clock, accepted)((call, done) => done(call, OK, 'ok'));
    let out: unknown;
    handler({ state: {}, attempts: 0, startedAt: 0, request: { method: 'GET', path: '/' } }, (_c, _e, r) => {
      out = r;
    });
    assert.equal(out, 'ok');
  });
});
