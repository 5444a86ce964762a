/** The breaker on a virtual clock: opens on failures, answers CIRCUIT_OPEN, half-opens, one probe closes it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import {
  BREAKER_DEFAULTS,
  Breaker,
  type BreakerCall,
  type BreakerState,
  breakerStage,
  failureRateLowerBound,
  resolveBreaker,
} from '../../src/policy/breaker.ts';
import { OK } from '../../src/policy/pipeline.ts';

class Boom extends Error {}
const fail = async (): Promise<never> => {
  throw new Boom('upstream down');
};
const ok = async (): Promise<string> => 'ok';

function makeBreaker(clock: VirtualClock, states: BreakerState[] = []) {
  return new Breaker(resolveBreaker({ minimumCalls: 4, resetTimeout: 5_000 }), clock, {
    isFailure: (err) => err instanceof Boom,
    onStateChange: (s) => states.push(s),
    target: { origin: 'http://upstream.test', host: 'upstream.test', port: 80 },
  });
}

describe('Breaker', () => {
  it('opens above the threshold, rejects without calling, half-opens after resetTimeout, and closes on a good probe', async () => {
    const clock = new VirtualClock();
    const states: BreakerState[] = [];
    const breaker = makeBreaker(clock, states);
    for (let i = 0; i < 4; i++) await assert.rejects(breaker.run(fail, undefined), Boom);
    assert.equal(breaker.state, 'open');

    let called = 0;
    const counted = async () => {
      called++;
      return 'x';
    };
    const err = await breaker
      .run(counted, undefined, () => ({ method: 'GET', path: '/a?secret=1' }))
      .catch((e) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'CIRCUIT_OPEN');
    assert.equal(err.layer, 'circuit');
    assert.ok(err.cause instanceof Boom, 'the cause is the failure that opened it');
    assert.equal(err.request?.path, '/a');
    assert.equal(called, 0);

    await clock.advance(4_999);
    assert.equal(breaker.state, 'open');
    await clock.advance(1);
    assert.equal(breaker.state, 'half-open');

    // One probe only: a second call while the probe is in flight is rejected.
    let release!: () => void;
    const probe = breaker.run(() => new Promise<string>((r) => (release = () => r('probe'))), undefined);
    await assert.rejects(breaker.run(ok, undefined), (e) => isBulwarkError(e) && e.code === 'CIRCUIT_OPEN');
    release();
    assert.equal(await probe, 'probe');
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
    // The window is fresh after closing: one failure does not reopen it.
    await assert.rejects(breaker.run(fail, undefined), Boom);
    assert.equal(breaker.state, 'closed');
    breaker.shutdown();
  });

  it('a failed probe opens it again for another resetTimeout', async () => {
    const clock = new VirtualClock();
    const breaker = makeBreaker(clock);
    for (let i = 0; i < 4; i++) await assert.rejects(breaker.run(fail, undefined), Boom);
    await clock.advance(5_000);
    await assert.rejects(breaker.run(fail, undefined), Boom);
    assert.equal(breaker.state, 'open');
    await clock.advance(4_000);
    assert.equal(breaker.state, 'open');
    await clock.advance(1_000);
    assert.equal(breaker.state, 'half-open');
    breaker.shutdown();
  });

  it('errors that are not failures (errorFilter) never open it', async () => {
    const clock = new VirtualClock();
    const breaker = makeBreaker(clock);
    for (let i = 0; i < 50; i++)
      await assert.rejects(breaker.run(async () => Promise.reject(new TypeError('app')), undefined));
    assert.equal(breaker.state, 'closed');
    breaker.shutdown();
  });

  it('forgets failures older than the window', async () => {
    const clock = new VirtualClock();
    const breaker = makeBreaker(clock);
    for (let i = 0; i < 3; i++) await assert.rejects(breaker.run(fail, undefined), Boom);
    await clock.advance(10_000);
    for (let i = 0; i < 3; i++) await breaker.run(ok, undefined);
    await assert.rejects(breaker.run(fail, undefined), Boom);
    assert.equal(breaker.state, 'closed', '1 failure of 4 in the window is below 50 %');
    breaker.shutdown();
  });

  it('counts every outcome of a closed breaker exactly, and opens at the first failure the rule says', async () => {
    const clock = new VirtualClock();
    const states: BreakerState[] = [];
    const breaker = new Breaker(resolveBreaker({ minimumCalls: 20, threshold: 50 }), clock, {
      isFailure: (err) => err instanceof Boom,
      onStateChange: (s) => states.push(s),
      target: { origin: 'http://upstream.test', host: 'upstream.test', port: 80 },
    });
    // Successes and filtered errors (not failures) both count as successes, as in opossum's fire().
    for (let i = 0; i < 8; i++) assert.equal(await breaker.run(ok, undefined), 'ok');
    for (let i = 0; i < 2; i++)
      await assert.rejects(
        breaker.run(async () => Promise.reject(new TypeError('4xx')), undefined),
        TypeError,
      );
    let failures = 0;
    while (breaker.state === 'closed' && failures < 100) {
      await assert.rejects(breaker.run(fail, undefined), Boom);
      failures++;
      const calls = 10 + failures;
      const opens = calls >= 20 && failures / calls > 0.5 && failureRateLowerBound(failures, calls) > 0.5;
      assert.equal(breaker.state, opens ? 'open' : 'closed', `${failures} failures of ${calls} calls`);
    }
    // The lower end of the 95 % interval first passes 50 % at 21 failures of 31 (68 %); a bare
    // "failures / calls > 50 %" would have opened at 11 of 21.
    assert.equal(failures, 21);
    assert.deepEqual(states, ['open']);
    breaker.shutdown();
  });

  it('a chance run of a brownout does not open it; an outage opens it at minimumCalls', async () => {
    const clock = new VirtualClock();
    const make = () =>
      new Breaker(resolveBreaker({ minimumCalls: 20, threshold: 50 }), clock, {
        isFailure: (err) => err instanceof Boom,
        target: { origin: 'http://upstream.test', host: 'upstream.test', port: 80 },
      });
    // 15 failures of 28 calls (54 %): above 50 %, but what 30 % random failures give by chance.
    const brownout = make();
    for (let i = 0; i < 28; i++) {
      if (i % 2 === 0 || i === 27) await assert.rejects(brownout.run(fail, undefined), Boom);
      else await brownout.run(ok, undefined);
    }
    assert.equal(brownout.state, 'closed');
    brownout.shutdown();
    const outage = make();
    for (let i = 0; i < 19; i++) await assert.rejects(outage.run(fail, undefined), Boom);
    assert.equal(outage.state, 'closed', 'fewer than minimumCalls');
    await assert.rejects(outage.run(fail, undefined), Boom);
    assert.equal(outage.state, 'open', 'every call of the window failed');
    outage.shutdown();
  });

  it('calls in flight count: fast failures among many slow calls at a cold start do not open it', async () => {
    const clock = new VirtualClock();
    const breaker = new Breaker(resolveBreaker({ minimumCalls: 20, threshold: 50 }), clock, {
      isFailure: (err) => err instanceof Boom,
      target: { origin: 'http://upstream.test', host: 'upstream.test', port: 80 },
    });
    const finish: Array<() => void> = [];
    const slow = Array.from({ length: 200 }, () =>
      breaker.run(() => new Promise<string>((r) => finish.push(() => r('slow'))), undefined),
    );
    for (let i = 0; i < 20; i++) await assert.rejects(breaker.run(fail, undefined), Boom);
    assert.equal(breaker.state, 'closed', '20 failures of 220 calls started');
    for (const f of finish) f();
    assert.equal((await Promise.all(slow)).length, 200);
    assert.equal(breaker.state, 'closed');
    breaker.shutdown();
  });

  it('failureRateLowerBound: the lower end of the 95 % Wilson interval', () => {
    assert.equal(failureRateLowerBound(0, 0), 0);
    assert.equal(failureRateLowerBound(0, 50), 0);
    assert.ok(
      Math.abs(failureRateLowerBound(20, 20) - 20 / (20 + 1.96 ** 2)) < 1e-12,
      'n / (n + z²) when all failed',
    );
    assert.ok(failureRateLowerBound(15, 28) < 0.5 && failureRateLowerBound(15, 28) > 0.35);
    let previous = -1;
    for (let f = 0; f <= 100; f++) {
      const bound = failureRateLowerBound(f, 100);
      assert.ok(bound > previous && bound <= f / 100, `monotone and below the rate at ${f}`);
      previous = bound;
    }
    assert.ok(
      Math.abs(failureRateLowerBound(500_000, 1_000_000) - 0.5) < 0.002,
      'the rate itself over many calls',
    );
  });

  it('successes it has not handed to opossum yet still count at the next failure, in their own bucket', async () => {
    const clock = new VirtualClock();
    const make = () =>
      new Breaker(resolveBreaker({ minimumCalls: 20, threshold: 50 }), clock, {
        isFailure: (err) => err instanceof Boom,
        target: { origin: 'http://upstream.test', host: 'upstream.test', port: 80 },
      });
    // 31 successes (fewer than one batch), then failures: they still count, so it opens where the
    // rule says for 31 successes, not at 20 failures of 20.
    const a = make();
    for (let i = 0; i < 31; i++) await a.run(ok, undefined);
    let failures = 0;
    while (a.state === 'closed' && failures < 200) {
      await assert.rejects(a.run(fail, undefined), Boom);
      failures++;
    }
    assert.ok(failures > 31, `opened at ${failures} failures after 31 successes`);
    assert.ok(failureRateLowerBound(failures, failures + 31) > 0.5);
    assert.ok(failureRateLowerBound(failures - 1, failures + 30) <= 0.5, 'not one failure earlier');
    a.shutdown();
    // 40 successes, then the whole window passes: none of them may count in the new window.
    const b = make();
    for (let i = 0; i < 40; i++) await b.run(ok, undefined);
    await clock.advance(10_000);
    for (let i = 0; i < 19; i++) await assert.rejects(b.run(fail, undefined), Boom);
    assert.equal(b.state, 'closed', '19 calls in the window: below minimumCalls');
    await assert.rejects(b.run(fail, undefined), Boom);
    assert.equal(b.state, 'open', '20 failures of 20');
    b.shutdown();
  });

  it('a call that set out while it was closed is no half-open probe when it ends later', async () => {
    const clock = new VirtualClock();
    const states: BreakerState[] = [];
    const breaker = makeBreaker(clock, states);
    let finishSlow!: () => void;
    let failSlow!: () => void;
    const slowOk = breaker.run(() => new Promise<string>((r) => (finishSlow = () => r('late'))), undefined);
    const slowFail = breaker.run(
      () => new Promise<string>((_, reject) => (failSlow = () => reject(new Boom('late')))),
      undefined,
    );
    for (let i = 0; i < 50 && breaker.state === 'closed'; i++) {
      await assert.rejects(breaker.run(fail, undefined), Boom);
    }
    assert.equal(breaker.state, 'open');
    await clock.advance(5_000);
    let release!: () => void;
    const probe = breaker.run(() => new Promise<string>((r) => (release = () => r('probe'))), undefined);
    assert.equal(breaker.state, 'half-open');
    finishSlow();
    assert.equal(await slowOk, 'late', 'the late call keeps its own result');
    failSlow();
    await assert.rejects(slowFail, Boom);
    assert.equal(breaker.state, 'half-open', 'neither late outcome was taken as the probe');
    release();
    assert.equal(await probe, 'probe');
    assert.equal(breaker.state, 'closed');
    assert.deepEqual(states, ['open', 'half-open', 'closed']);
    breaker.shutdown();
  });

  it('validates its options', () => {
    assert.deepEqual(resolveBreaker(undefined), BREAKER_DEFAULTS);
    assert.throws(() => resolveBreaker({ threshold: 150 }), InvalidOptionError);
    assert.throws(() => resolveBreaker({ buckets: 0.5 }), /breaker\.buckets must be an integer/);
    assert.throws(() => resolveBreaker({ resetTimout: 1 }), /breaker\.resetTimout must be a known option/);
  });
});

describe('breaker stage (fake call)', () => {
  interface FakeCall extends BreakerCall {
    attempts: number;
  }

  it('samples each attempt; once open it answers CIRCUIT_OPEN without calling the rest', async () => {
    const clock = new VirtualClock();
    const breaker = makeBreaker(clock);
    let reached = 0;
    let failing = true;
    const handler = breakerStage<FakeCall, string>(clock)((call, done) => {
      reached++;
      call.attempts++;
      done(call, failing ? new Boom('down') : OK, failing ? undefined : 'ok');
    });
    const once = (): Promise<unknown> =>
      new Promise((resolve) => {
        const call: FakeCall = {
          breaker,
          attempts: 0,
          startedAt: clock.now(),
          request: { method: 'GET', path: '/x' },
        };
        handler(call, (_c, err, result) => resolve(err === OK ? result : err));
      });
    for (let i = 0; i < 4; i++) assert.ok((await once()) instanceof Boom);
    assert.equal(breaker.state, 'open');
    const shed = await once();
    assert.ok(isBulwarkError(shed) && shed.code === 'CIRCUIT_OPEN');
    assert.equal(reached, 4, 'the open breaker did not call the rest of the pipeline');
    await clock.advance(5_000);
    failing = false;
    assert.equal(await once(), 'ok', 'the half-open probe goes through');
    assert.equal(breaker.state, 'closed');
    breaker.shutdown();
  });

  it('an origin without a breaker passes straight through', () => {
    const seen: unknown[] = [];
    breakerStage<BreakerCall, string>(new VirtualClock())((call, done) => done(call, OK, 'direct'))(
      { breaker: undefined, attempts: 0, startedAt: 0, request: { method: 'GET', path: '/' } },
      (_c, err, result) => seen.push(err, result),
    );
    assert.deepEqual(seen, [OK, 'direct']);
  });
});
