/** The `outlier` option's validation: defaults, bounds, unknown keys, and the client's wiring of it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveClientOptions } from '../../src/client/options.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { OUTLIER_DEFAULTS, resolveOutlier } from '../../src/transport/outlier-options.ts';

describe('outlier options', () => {
  it('defaults to Envoy’s figures', () => {
    assert.deepEqual(resolveOutlier({}), OUTLIER_DEFAULTS);
    assert.deepEqual(resolveOutlier(undefined), OUTLIER_DEFAULTS);
    assert.equal(OUTLIER_DEFAULTS.consecutiveFailures, 5);
    assert.equal(OUTLIER_DEFAULTS.baseEjectionTime, 30_000);
  });

  it('takes every option, and Infinity consecutive failures (the success-rate rule only)', () => {
    const r = resolveOutlier({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      interval: 1,
      baseEjectionTime: 5,
      maxEjectionTime: 5,
      maxEjectedPercent: 100,
      successRate: { minimumHosts: 2, requestVolume: 1, stdevFactor: 0 },
    });
    assert.equal(r.consecutiveFailures, Number.POSITIVE_INFINITY);
    assert.deepEqual(r.successRate, { minimumHosts: 2, requestVolume: 1, stdevFactor: 0 });
    assert.equal(resolveOutlier({ successRate: false }).successRate, false);
    // A base above the default maximum raises the maximum with it.
    assert.equal(resolveOutlier({ baseEjectionTime: 600_000 }).maxEjectionTime, 600_000);
  });

  for (const [input, path] of [
    [null, 'outlier'],
    [[], 'outlier'],
    [{ consecutive: 5 }, 'outlier.consecutive'],
    [{ consecutiveFailures: 0 }, 'outlier.consecutiveFailures'],
    [{ consecutiveFailures: 2.5 }, 'outlier.consecutiveFailures'],
    [{ consecutiveFailures: null }, 'outlier.consecutiveFailures'],
    [{ interval: 0 }, 'outlier.interval'],
    [{ interval: 2 ** 31 }, 'outlier.interval'],
    [{ baseEjectionTime: Number.NaN }, 'outlier.baseEjectionTime'],
    [{ baseEjectionTime: 10_000, maxEjectionTime: 9_999 }, 'outlier.maxEjectionTime'],
    [{ maxEjectedPercent: 101 }, 'outlier.maxEjectedPercent'],
    [{ maxEjectedPercent: -1 }, 'outlier.maxEjectedPercent'],
    [{ successRate: null }, 'outlier.successRate'],
    [{ successRate: true }, 'outlier.successRate'],
    [{ successRate: { minimumHosts: 1 } }, 'outlier.successRate.minimumHosts'],
    [{ successRate: { requestVolume: 0 } }, 'outlier.successRate.requestVolume'],
    [{ successRate: { stdevFactor: -1 } }, 'outlier.successRate.stdevFactor'],
    [{ successRate: { factor: 2 } }, 'outlier.successRate.factor'],
  ] as const) {
    it(`rejects ${JSON.stringify(input)} naming ${path}`, () => {
      assert.throws(
        () => resolveClientOptions({ outlier: input }),
        (err: unknown) => err instanceof InvalidOptionError && err.message.includes(path),
      );
    });
  }

  it('client: on by default, true for the defaults, false for none; refused beside a dispatcher', () => {
    const on = resolveClientOptions({ dns: false });
    assert.deepEqual(on.outlier, OUTLIER_DEFAULTS);
    assert.deepEqual(resolveClientOptions({ dns: false, outlier: true }).outlier, OUTLIER_DEFAULTS);
    assert.equal(resolveClientOptions({ dns: false, outlier: false }).outlier, false);
    assert.equal(resolveClientOptions({ dns: false, outlier: { interval: 5 } }).outlier !== false, true);
    const dispatcher = { dispatch: () => true };
    assert.throws(() => resolveClientOptions({ dispatcher, outlier: {} }), InvalidOptionError);
    assert.equal(resolveClientOptions({ dispatcher, outlier: false }).outlier, false);
    assert.equal(resolveClientOptions({ dispatcher }).outlier, false);
  });
});
