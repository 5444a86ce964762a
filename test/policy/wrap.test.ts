// The generic policies (policy.* and wrap) on a virtual clock: every order of the five policies,
// what each does (retry with backoff and budget, breaker opening to CIRCUIT_OPEN, bulkhead
// shedding, timeouts with their budget, fallback), the classifier, aborts at every moment with
// every kind of reason, bad input, and nothing left behind (timers, listeners).
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { BulwarkError, isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import type { PolicyContext } from '../../src/policy/policy-call.ts';
import { isFailure, type Policy, policy, wrap } from '../../src/policy/wrap.ts';
import { ABORT_REASONS, abortWith } from '../helpers/abort-reasons.ts';

/** A network failure the taxonomy knows (layer tcp, retryable). */
const reset = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
/** An application's own error (layer app). */
class AppError extends Error {}

/** Lets promise callbacks run (the stages settle through promises off the success path). */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function permutations<T>(items: readonly T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('wrap: every order', () => {
  const kinds = ['timeout', 'retry', 'breaker', 'bulkhead', 'fallback'] as const;
  const make = (kind: (typeof kinds)[number], clock: VirtualClock): Policy =>
    kind === 'timeout'
      ? policy.timeout(1_000, { clock })
      : kind === 'retry'
        ? policy.retry({ clock, limit: 2 })
        : kind === 'breaker'
          ? policy.breaker({ clock })
          : kind === 'bulkhead'
            ? policy.bulkhead({ clock, limit: 1, queue: 1 })
            : policy.fallback('fallback');

  it('any order of the five runs a function, retries a failure and times out a hang', async () => {
    for (const order of permutations(kinds)) {
      const clock = new VirtualClock({ seed: 7 });
      const p = wrap(...order.map((k) => make(k, clock)));
      assert.equal(await p.execute(() => 'value'), 'value', order.join(','));
      let calls = 0;
      const retried = p.execute(async () => {
        if (++calls === 1) throw reset();
        return 'second';
      });
      await clock.advance(200);
      // A fallback inside the retry answers the first failure itself; otherwise the retry does.
      const fallbackInside = order.indexOf('fallback') > order.indexOf('retry');
      assert.equal(await retried, fallbackInside ? 'fallback' : 'second', order.join(','));
      const hung = p.execute(() => new Promise(() => {}));
      const settled = hung.then(
        (v) => v,
        (e: unknown) => e,
      );
      await clock.advance(10_000);
      const outcome = await settled;
      // A fallback outside the timeout answers it; otherwise the call fails with CALL_TIMEOUT.
      if (order.indexOf('fallback') < order.indexOf('timeout')) assert.equal(outcome, 'fallback');
      else {
        assert.ok(isBulwarkError(outcome), order.join(','));
        assert.equal(outcome.code, 'CALL_TIMEOUT', order.join(','));
        const budget = order.indexOf('timeout') > order.indexOf('retry') ? 'attempt' : 'total';
        assert.equal(outcome.budget, budget, order.join(','));
      }
      await clock.advance(60_000);
      assert.equal(clock.pending, 0, `no timer left: ${order.join(',')}`);
    }
  });
});

describe('policy.retry', () => {
  it('retries network failures with jittered backoff on the clock, and stops at the limit', async () => {
    const clock = new VirtualClock({ seed: 1 });
    const p = policy.retry({ clock, limit: 2, backoff: { base: 100, cap: 1_000 } });
    const attempts: number[] = [];
    const failing = p
      .execute(({ attempt }) => {
        attempts.push(attempt);
        throw reset();
      })
      .catch((e: unknown) => e);
    await flush();
    assert.deepEqual(attempts, [1], 'the second attempt waits for its backoff');
    await clock.advance(2_000);
    const err = await failing;
    assert.deepEqual(attempts, [1, 2, 3]);
    assert.equal((err as { code?: string }).code, 'ECONNRESET', "the last attempt's error, as it is");
    assert.equal(p.stats.retries, 2);
  });

  it("does not retry an application's error unless the classifier says so", async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const plain = policy.retry({ clock });
    await assert.rejects(
      plain.execute(() => {
        calls++;
        throw new AppError('bad input');
      }),
      AppError,
    );
    assert.equal(calls, 1);
    const mine = policy.retry({ clock, isFailure: (e) => e instanceof AppError });
    calls = 0;
    const done = mine.execute(() => {
      if (++calls < 3) throw new AppError('flaky');
      return 'ok';
    });
    await clock.advance(30_000);
    assert.equal(await done, 'ok');
    assert.equal(calls, 3);
  });

  it('never retries a BulwarkError that is not retryable (an inner CIRCUIT_OPEN)', async () => {
    const clock = new VirtualClock();
    let calls = 0;
    const p = policy.retry({ clock, isFailure: () => true });
    const open = new BulwarkError({ layer: 'circuit', code: 'CIRCUIT_OPEN' });
    await assert.rejects(
      p.execute(() => {
        calls++;
        throw open;
      }),
      (e) => e === open,
    );
    assert.equal(calls, 1);
  });

  it('spends the retry budget: in an outage retries stop once the reserve is gone', async () => {
    const clock = new VirtualClock({ seed: 3 });
    const p = policy.retry({ clock, limit: 2, budget: { reserve: 2 } });
    let calls = 0;
    for (let i = 0; i < 10; i++) {
      const r = p.execute(() => {
        calls++;
        throw reset();
      });
      r.catch(() => {});
      await clock.advance(20_000);
      await assert.rejects(r);
    }
    assert.ok(calls < 10 * 3, `${calls} attempts for 10 calls`);
    assert.ok(p.stats.budgetExhausted > 0);
  });

  it("does not start a retry that cannot finish within a total timeout around it ('deadline')", async () => {
    const clock = new VirtualClock({ seed: 2 });
    const p = wrap(
      policy.timeout(150, { clock }),
      policy.retry({ clock, limit: 5, backoff: { base: 1_000, cap: 1_000, jitter: 'none' } }),
    );
    let calls = 0;
    const r = p
      .execute(() => {
        calls++;
        throw reset();
      })
      .catch((e: unknown) => e);
    await clock.advance(1_000);
    const err = await r;
    assert.equal(calls, 1, 'a 1 s backoff does not fit a 150 ms budget');
    assert.equal((err as { code?: string }).code, 'ECONNRESET');
  });
});

describe('policy.timeout', () => {
  it('a total timeout: CALL_TIMEOUT with budget total, the signal aborted with it, a late result dropped', async () => {
    const clock = new VirtualClock();
    const p = policy.timeout(500, { clock });
    let seen: PolicyContext | undefined;
    let finish: (v: string) => void = () => {};
    const r = p
      .execute((ctx) => {
        seen = ctx;
        return new Promise<string>((resolve) => (finish = resolve));
      })
      .catch((e: unknown) => e);
    await clock.advance(499);
    assert.equal(seen?.signal.aborted, false);
    await clock.advance(1);
    const err = await r;
    assert.ok(isBulwarkError(err));
    assert.equal(err.layer, 'call');
    assert.equal(err.code, 'CALL_TIMEOUT');
    assert.equal(err.budget, 'total');
    assert.equal(err.retryable, true);
    assert.equal(seen?.signal.aborted, true);
    assert.equal(seen?.signal.reason, err);
    finish('late'); // dropped
    await flush();
  });

  it('inside a retry it is per attempt: each attempt gets its own signal and budget', async () => {
    const clock = new VirtualClock({ seed: 5 });
    const p = wrap(policy.retry({ clock, limit: 2 }), policy.timeout(100, { clock }));
    const signals: AbortSignal[] = [];
    const r = p.execute(({ signal, attempt }) => {
      signals.push(signal);
      return attempt < 3 ? new Promise(() => {}) : 'third';
    });
    await clock.advance(5_000);
    assert.equal(await r, 'third');
    assert.equal(signals.length, 3);
    assert.deepEqual(
      signals.map((s) => s.aborted),
      [true, true, false],
    );
    const reason = signals[0]!.reason as BulwarkError;
    assert.equal(reason.code, 'CALL_TIMEOUT');
    assert.equal(reason.budget, 'attempt');
  });

  it('a total timeout stops the retries short of it, and ends an attempt that hangs after a retry', async () => {
    const clock = new VirtualClock();
    const p = wrap(
      policy.timeout(1_000, { clock }),
      policy.retry({ clock, limit: 10, backoff: { base: 400, cap: 400, jitter: 'none' } }),
    );
    let calls = 0;
    const failing = p
      .execute(() => {
        calls++;
        throw reset();
      })
      .catch((e: unknown) => e);
    await clock.advance(10_000);
    // Attempts at 0, 400 and 800 ms; a fourth (at 1 200) would not fit: the last failure as it is.
    assert.equal(((await failing) as { code?: string }).code, 'ECONNRESET');
    assert.equal(calls, 3);
    calls = 0;
    const hanging = p
      .execute(() => (++calls === 1 ? Promise.reject(reset()) : new Promise(() => {})))
      .catch((e: unknown) => e);
    await clock.advance(10_000);
    const err = await hanging;
    assert.ok(isBulwarkError(err) && err.code === 'CALL_TIMEOUT' && err.budget === 'total');
    assert.equal(err.attempts, 2);
    await clock.advance(10_000);
    assert.equal(calls, 2, 'nothing runs after the timeout');
    assert.equal(clock.pending, 0);
  });

  it('validates its duration', () => {
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, '100', null, undefined]) {
      assert.throws(() => policy.timeout(bad as number), InvalidOptionError, String(bad));
    }
    assert.throws(() => policy.timeout(10, { nope: 1 } as never), /accepts clock/);
  });
});

describe('policy.breaker', () => {
  it('opens on failures and answers CIRCUIT_OPEN (cause: the failure) without calling; half-opens on the clock', async () => {
    const clock = new VirtualClock();
    const b = policy.breaker({ clock, minimumCalls: 3, resetTimeout: 5_000 });
    let calls = 0;
    const fail = (): Promise<never> => {
      calls++;
      return Promise.reject(reset());
    };
    for (let i = 0; i < 3; i++) await assert.rejects(b.execute(fail), { code: 'ECONNRESET' });
    assert.equal(b.state, 'open');
    const err = await b.execute(fail).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'CIRCUIT_OPEN');
    assert.equal(err.layer, 'circuit');
    assert.equal((err.cause as { code?: string }).code, 'ECONNRESET');
    assert.equal(calls, 3, 'an open breaker does not call');
    await clock.advance(5_000);
    assert.equal(b.state, 'half-open');
    assert.equal(await b.execute(() => 'probe'), 'probe');
    assert.equal(b.state, 'closed');
  });

  it("an application's error does not count, unless the classifier says so", async () => {
    const clock = new VirtualClock();
    const b = policy.breaker({ clock, minimumCalls: 2 });
    for (let i = 0; i < 5; i++) await assert.rejects(b.execute(() => Promise.reject(new AppError())));
    assert.equal(b.state, 'closed');
    const counting = policy.breaker({ clock, minimumCalls: 2, isFailure: () => true });
    for (let i = 0; i < 2; i++) await assert.rejects(counting.execute(() => Promise.reject(new AppError())));
    assert.equal(counting.state, 'open');
  });

  it('a classifier that throws counts the error as a failure (and the call still settles)', async () => {
    const b = policy.breaker({
      clock: new VirtualClock(),
      minimumCalls: 1,
      isFailure: () => {
        throw new Error('classifier bug');
      },
    });
    await assert.rejects(
      b.execute(() => Promise.reject(new AppError('x'))),
      AppError,
    );
    assert.equal(b.state, 'open');
  });

  it('inside a retry, each attempt is a sample; an open breaker stops the retries', async () => {
    const clock = new VirtualClock({ seed: 9 });
    const b = policy.breaker({ clock, minimumCalls: 2 });
    const p = wrap(policy.retry({ clock, limit: 5 }), b);
    let calls = 0;
    const r = p
      .execute(() => {
        calls++;
        throw reset();
      })
      .catch((e: unknown) => e);
    await clock.advance(60_000);
    const err = await r;
    assert.equal(calls, 2);
    assert.ok(isBulwarkError(err) && err.code === 'CIRCUIT_OPEN');
  });
});

describe('policy.bulkhead', () => {
  it('holds limit calls, queues queue more, sheds the rest with POOL_QUEUE_FULL', async () => {
    const clock = new VirtualClock();
    const b = policy.bulkhead({ clock, limit: 1, queue: 1 });
    let release: () => void = () => {};
    const first = b.execute(() => new Promise<string>((resolve) => (release = () => resolve('first'))));
    const second = b.execute(() => 'second');
    await assert.rejects(
      b.execute(() => 'third'),
      { code: 'POOL_QUEUE_FULL', layer: 'pool' },
    );
    assert.deepEqual(b.stats, { inFlight: 1, queued: 1, rejected: 1 });
    release();
    assert.equal(await first, 'first');
    assert.equal(await second, 'second');
    assert.deepEqual(b.stats, { inFlight: 0, queued: 0, rejected: 1 });
  });

  it('a queued call leaves at a total timeout around it', async () => {
    const clock = new VirtualClock();
    const b = policy.bulkhead({ clock, limit: 1, queue: 5 });
    const p = wrap(policy.timeout(100, { clock }), b);
    const held = b.execute(() => new Promise(() => {}));
    held.catch(() => {});
    const r = p.execute(() => 'never').catch((e: unknown) => e);
    await clock.advance(100);
    const err = await r;
    assert.ok(isBulwarkError(err));
    assert.ok(err.code === 'CALL_TIMEOUT' || err.code === 'POOL_ACQUIRE_TIMEOUT', err.code);
    assert.equal(err.budget, 'total');
    assert.equal(b.stats.queued, 0);
  });
});

describe('policy.fallback', () => {
  it('answers failures with a value or a function of the failure; lets app errors through by default', async () => {
    const v = policy.fallback('cached');
    assert.equal(await v.execute(() => Promise.reject(reset())), 'cached');
    await assert.rejects(
      v.execute(() => Promise.reject(new AppError())),
      AppError,
    );
    const f = policy.fallback((e) => `from ${(e as { code: string }).code}`);
    assert.equal(await f.execute(() => Promise.reject(reset())), 'from ECONNRESET');
    const any = policy.fallback(async () => 'any', { when: () => true });
    assert.equal(await any.execute(() => Promise.reject(new AppError())), 'any');
    const broken = policy.fallback(
      () => {
        throw new AppError('fallback failed');
      },
      { when: () => true },
    );
    await assert.rejects(
      broken.execute(() => Promise.reject(reset())),
      /fallback failed/,
    );
  });
});

describe('aborts', () => {
  const all = (clock: VirtualClock): Policy =>
    wrap(
      policy.fallback('fallback', { when: () => true }),
      policy.timeout(10_000, { clock }),
      policy.bulkhead({ clock, limit: 1, queue: 10 }),
      policy.retry({ clock, limit: 3, isFailure: () => true }),
      policy.timeout(5_000, { clock }),
      policy.breaker({ clock, minimumCalls: 100 }),
    );

  for (const [label, make] of ABORT_REASONS) {
    it(`rejects with the caller's reason as it is — ${label} — at every moment`, async () => {
      const moments = ['before', 'in the attempt', 'in the backoff sleep', 'in the bulkhead queue'] as const;
      for (const moment of moments) {
        const clock = new VirtualClock({ seed: 4 });
        const p = all(clock);
        const controller = new AbortController();
        const reason = make();
        let calls = 0;
        if (moment === 'before') abortWith(controller, reason);
        let blocker: Promise<unknown> | undefined;
        let unblock: () => void = () => {};
        if (moment === 'in the bulkhead queue') {
          blocker = p.execute(() => new Promise<void>((resolve) => (unblock = resolve)));
        }
        const r = p
          .execute(() => {
            calls++;
            if (moment === 'in the backoff sleep') throw reset();
            return new Promise(() => {}); // ignores its signal
          }, controller.signal)
          .then(
            (v) => ({ v }),
            (e: unknown) => ({ e }),
          );
        await flush();
        if (moment !== 'before') abortWith(controller, reason);
        await flush();
        const outcome = await r;
        assert.ok('e' in outcome, `${moment}: rejected, not answered by the fallback`);
        assert.equal(outcome.e, controller.signal.reason, moment);
        assert.equal(calls, moment === 'before' || moment === 'in the bulkhead queue' ? 0 : 1, moment);
        assert.equal(getEventListeners(controller.signal, 'abort').length, 0, `${moment}: no listener left`);
        unblock();
        await blocker;
        await clock.advance(100_000);
        assert.equal(clock.pending, 0, `${moment}: no timer left`);
      }
    });
  }

  it('a signal reused for many calls collects no listeners', async () => {
    const clock = new VirtualClock();
    const p = wrap(policy.timeout(1_000, { clock }), policy.retry({ clock }));
    const controller = new AbortController();
    for (let i = 0; i < 100; i++) {
      await p.execute(async ({ signal }) => signal.aborted, controller.signal);
    }
    assert.equal(getEventListeners(controller.signal, 'abort').length, 0);
  });
});

describe('bad input', () => {
  it('InvalidOptionError for bad options, naming the option', () => {
    assert.throws(() => policy.retry({ limit: -1 }), /policy\.retry\.limit/);
    assert.throws(() => policy.retry({ nope: 1 } as never), /policy\.retry\.nope/);
    assert.throws(() => policy.retry({ isFailure: 'yes' } as never), /policy\.retry\.isFailure/);
    assert.throws(() => policy.breaker({ threshold: 101 }), /policy\.breaker\.threshold/);
    assert.throws(() => policy.breaker({ clock: {} } as never), /policy\.breaker\.clock/);
    assert.throws(() => policy.bulkhead({ limit: 0 }), /policy\.bulkhead\.limit/);
    assert.throws(() => policy.bulkhead(null as never), InvalidOptionError);
    assert.throws(() => policy.fallback(1, { when: 1 } as never), /policy\.fallback\.when/);
  });

  it('wrap: policies only, one clock, at most one retry, breaker and bulkhead', () => {
    const a = new VirtualClock();
    const b = new VirtualClock();
    assert.throws(() => wrap(), InvalidOptionError);
    assert.throws(() => wrap({} as never), InvalidOptionError);
    assert.throws(() => wrap(policy.retry({ clock: a }), policy.breaker({ clock: b })), /one clock/);
    assert.throws(() => wrap(policy.retry({ clock: a }), policy.retry({ clock: a })), /at most one retry/);
    const ok = wrap(wrap(policy.timeout(5, { clock: a }), policy.fallback(0)), policy.breaker({ clock: a }));
    assert.ok(ok);
  });

  it('execute never throws: a bad function or signal rejects', async () => {
    const p = policy.fallback(0);
    await assert.rejects(p.execute(null as never), InvalidOptionError);
    await assert.rejects(
      p.execute(() => 1, {} as never),
      InvalidOptionError,
    );
    assert.equal(await p.execute(() => 1, null as never), 1);
  });

  it('a function that throws synchronously, or returns a value, is handled as its promise would be', async () => {
    const p = policy.retry({ clock: new VirtualClock() });
    await assert.rejects(
      p.execute(() => {
        throw new AppError('sync');
      }),
      AppError,
    );
    assert.equal(await p.execute(() => 5), 5);
    assert.equal(await p.execute(() => null), null);
  });

  it('the default classifier is classify() ≠ app', () => {
    assert.equal(isFailure(reset()), true);
    assert.equal(isFailure(new AppError()), false);
    assert.equal(isFailure(new DOMException('aborted', 'AbortError')), false);
    assert.equal(isFailure(new BulwarkError({ layer: 'call', code: 'CALL_TIMEOUT' })), true);
  });
});

describe('policy.timeout inside a bulkhead', () => {
  it('counts from when the call got its slot, not from when it queued', async () => {
    const clock = new VirtualClock();
    const b = policy.bulkhead({ clock, limit: 1, queue: 1 });
    const p = wrap(b, policy.timeout(100, { clock }));
    let release: () => void = () => {};
    const first = p.execute(() => new Promise<string>((resolve) => (release = () => resolve('first'))));
    const second = p.execute(() => new Promise((resolve) => clock.setTimeout(() => resolve('second'), 80)));
    await clock.advance(60); // the second call has queued for 60 ms
    release();
    assert.equal(await first, 'first');
    await clock.advance(80); // 80 ms after it got its slot: within its 100
    assert.equal(await second, 'second');
  });
});

describe('odd inputs', () => {
  it('the longest timeout, the most retries, a huge bulkhead', async () => {
    const clock = new VirtualClock({ seed: 8 });
    const p = wrap(
      policy.timeout(2_147_483_647, { clock }),
      policy.bulkhead({ clock, limit: Number.MAX_SAFE_INTEGER, queue: Number.MAX_SAFE_INTEGER }),
      policy.retry({ clock, limit: 100, budget: false, backoff: { base: 1, cap: 1 } }),
    );
    let calls = 0;
    const r = p.execute(() => {
      if (++calls < 100) throw reset();
      return 'hundredth';
    });
    await clock.advance(1_000);
    assert.equal(await r, 'hundredth');
    assert.equal(calls, 100);
    assert.equal(await policy.fallback(undefined).execute(() => Promise.reject(reset())), undefined);
  });
});
