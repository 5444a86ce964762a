// Backoff as pure functions: every strategy stays within its bounds, every delay is capped, and
// the same random source gives the same delays.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { BACKOFF_DEFAULTS, backoffDelay, JITTERS, resolveBackoff } from '../../src/policy/backoff.ts';

describe('backoff', () => {
  it('none is plain capped exponential', () => {
    const b = resolveBackoff({ jitter: 'none', base: 100, cap: 1_000 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 10].map((n) => backoffDelay(b, n, () => 0.5)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  it('full jitter is uniform in [0, min(cap, base·2ⁿ⁻¹)]', () => {
    const b = resolveBackoff({ jitter: 'full', base: 100, cap: 1_000 });
    assert.equal(
      backoffDelay(b, 3, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(b, 3, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelay(b, 30, () => 0.999),
      999,
    );
  });

  it('equal jitter keeps at least half the exponential delay', () => {
    const b = resolveBackoff({ jitter: 'equal', base: 100, cap: 1_000 });
    assert.equal(
      backoffDelay(b, 2, () => 0),
      100,
    );
    assert.equal(
      backoffDelay(b, 2, () => 0.999),
      199.9,
    );
  });

  it('decorrelated jitter grows from the previous delay and is capped', () => {
    const b = resolveBackoff({ jitter: 'decorrelated', base: 100, cap: 1_000 });
    assert.equal(
      backoffDelay(b, 1, () => 0, 0),
      100,
    );
    assert.equal(
      backoffDelay(b, 2, () => 1, 300),
      100 + (900 - 100),
    );
    assert.equal(
      backoffDelay(b, 5, () => 1, 5_000),
      1_000,
    );
  });

  it('every strategy stays within [0, cap] for any retry number and random value', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...JITTERS),
        fc.integer({ min: 0, max: 5_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        fc.double({ min: 0, max: 100_000, noNaN: true }),
        (jitter, base, extra, retry, r, previous) => {
          const b = resolveBackoff({ jitter, base, cap: base + extra });
          const d = backoffDelay(b, retry, () => r, previous);
          return Number.isFinite(d) && d >= 0 && d <= b.cap;
        },
      ),
    );
  });

  it('is deterministic for a seeded clock', () => {
    const delays = (seed: number) => {
      const clock = new VirtualClock({ seed });
      return [1, 2, 3, 4].map((n) => backoffDelay(BACKOFF_DEFAULTS, n, () => clock.random()));
    };
    assert.deepEqual(delays(7), delays(7));
    assert.notDeepEqual(delays(7), delays(8));
  });

  it('validates its options with the path', () => {
    assert.throws(() => resolveBackoff({ base: 500, cap: 100 }, 'retry.backoff'), {
      name: 'InvalidOptionError',
      path: 'retry.backoff.cap',
    });
    assert.throws(() => resolveBackoff({ jitter: 'random' }), InvalidOptionError);
    assert.throws(() => resolveBackoff({ base: -1 }), /backoff.base/);
    assert.deepEqual(resolveBackoff(undefined), BACKOFF_DEFAULTS);
  });
});
