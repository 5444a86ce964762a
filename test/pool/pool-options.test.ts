/** Bad input to createPool, acquire and close: an InvalidOptionError naming the path, before anything runs. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { POOL_BREAKER_DEFAULTS, POOL_DEFAULTS, resolvePoolOptions } from '../../src/pool/options.ts';
import { createPool } from '../../src/pool/pool.ts';
import { fakeFactory } from './fake-factory.ts';

function rejects(options: unknown, path: RegExp): void {
  assert.throws(
    () => createPool(fakeFactory(), options as never),
    (err: unknown) => err instanceof InvalidOptionError && path.test(err.path) && path.test(err.message),
  );
}

describe('createPool: options', () => {
  it('has documented defaults and leaves the caller object alone', () => {
    const input = Object.freeze({ max: 3, breaker: Object.freeze({ resetTimeout: 1_000 }) });
    const o = resolvePoolOptions(input);
    assert.equal(o.max, 3);
    assert.equal(o.min, POOL_DEFAULTS.min);
    assert.equal(o.acquireTimeout, 10_000);
    assert.equal(o.validateAfterIdle, 1_000);
    assert.equal(o.validationTimeout, 1_000);
    assert.equal(o.keepaliveInterval, 60_000);
    assert.equal(o.maxLifetime, 1_800_000);
    assert.equal(o.maxWaiting, 1_000);
    assert.deepEqual(o.breaker, { ...POOL_BREAKER_DEFAULTS, resetTimeout: 1_000 });
    assert.equal(o.name, 'pool');
    assert.equal(o.probeInterval, 200);
    assert.equal(o.useTimeout, 30_000);
    assert.equal(resolvePoolOptions({ breaker: false }).breaker, false);
    assert.equal(resolvePoolOptions({}).breaker, false, 'no create breaker unless asked for');
    assert.deepEqual(resolvePoolOptions({ breaker: {} }).breaker, POOL_BREAKER_DEFAULTS);
  });

  it('rejects max < min, naming max', () => {
    rejects({ min: 5, max: 2 }, /^max$|max must be ≥ min \(5\)/);
  });

  it('rejects non-finite and negative durations', () => {
    rejects({ acquireTimeout: Number.POSITIVE_INFINITY }, /acquireTimeout/);
    rejects({ acquireTimeout: Number.NaN }, /acquireTimeout/);
    rejects({ validationTimeout: Number.POSITIVE_INFINITY }, /validationTimeout/);
    rejects({ validationTimeout: 0 }, /validationTimeout/);
    rejects({ keepaliveInterval: -1 }, /keepaliveInterval/);
    rejects({ maxLifetime: '30m' }, /maxLifetime/);
    rejects({ idleTimeout: Number.POSITIVE_INFINITY }, /idleTimeout/);
    rejects({ createTimeout: 0 }, /createTimeout/);
    rejects({ probeInterval: 0 }, /probeInterval/);
    rejects({ probeInterval: Number.POSITIVE_INFINITY }, /probeInterval/);
    rejects({ useTimeout: 0 }, /useTimeout/);
    rejects({ useTimeout: '30s' }, /useTimeout/);
    rejects({ maxWaiting: 1.5 }, /maxWaiting/);
    rejects({ max: 0 }, /^max$|max must be/);
  });

  it('rejects unknown keys and bad nested options', () => {
    rejects({ acquireTimout: 1 }, /acquireTimout/);
    rejects({ backoff: { base: 500, cap: 100 } }, /backoff\.cap/);
    rejects({ breaker: { treshold: 1 } }, /breaker\.treshold/);
    rejects({ breaker: true }, /breaker/);
    rejects({ clock: { now: () => 0 } }, /clock\.setTimeout/);
    rejects({ target: { host: 'db', port: 70_000 } }, /target\.port/);
    rejects({ target: { host: 'db', port: 5432, origin: 'postgres://user:pw@db:5432' } }, /target\.origin/);
    rejects({ name: '' }, /name/);
    rejects('fast', /options/);
  });

  it('rejects a factory without create or destroy', () => {
    const check = (factory: unknown, path: string): void =>
      assert.throws(
        () => createPool(factory as never),
        (err: unknown) => err instanceof InvalidOptionError && err.path === path,
      );
    check(undefined, 'factory');
    check({ destroy: () => {} }, 'factory.create');
    check({ create: async () => 1 }, 'factory.destroy');
    check({ create: async () => 1, destroy: () => {}, validate: 'SELECT 1' }, 'factory.validate');
  });

  it('takes the target from the factory and names the pool after it', async () => {
    const clock = new VirtualClock();
    const factory = { ...fakeFactory(), target: { origin: 'postgres://db:5432', host: 'db', port: 5432 } };
    const pool = createPool(factory, { clock });
    assert.equal(pool.name, 'postgres://db:5432');
    assert.equal(pool.target?.host, 'db');
    const named = createPool(factory, { clock, name: 'orders', target: { host: '10.0.0.1', port: 6432 } });
    assert.equal(named.name, 'orders');
    assert.equal(named.target?.origin, 'tcp://10.0.0.1:6432');
    await Promise.all([pool.close(), named.close()]);
  });

  it('validates acquire() and close() options', async () => {
    const pool = createPool(fakeFactory(), { clock: new VirtualClock() });
    assert.throws(() => pool.acquire({ timeout: -1 }), /acquire\.timeout/);
    assert.throws(() => pool.acquire({ signal: 'stop' as never }), /acquire\.signal/);
    assert.throws(() => pool.acquire({ timout: 1 } as never), /acquire\.timout/);
    assert.throws(() => pool.close({ timeout: Number.NaN }), /close\.timeout/);
    await pool.close();
  });
});
