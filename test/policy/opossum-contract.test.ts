// What Bulwark's breaker (src/policy/breaker.ts) relies on in opossum beyond its README, pinned
// against the installed version (CI also runs the newest 10.x): a change here fails this test
// rather than the breaker. docs/architecture.md says why opossum is still the right base.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import CircuitBreaker from 'opossum';
import { MAX_DURATION } from '../../src/options/validate.ts';

const action = async (x: unknown): Promise<unknown> => x;

function breaker(options: CircuitBreaker.Options = {}): CircuitBreaker {
  return new CircuitBreaker(action, {
    timeout: false,
    resetTimeout: MAX_DURATION,
    rollingCountTimeout: 10_000,
    rollingCountBuckets: 10,
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
    rotateBucketController: new EventEmitter(),
    ...options,
  } as CircuitBreaker.Options);
}

describe('opossum, as Bulwark uses it', () => {
  it("counts the 'fire', 'success' and 'failure' events emitted on it into its window", () => {
    const cb = breaker();
    for (let i = 0; i < 5; i++) cb.emit('fire', []);
    for (let i = 0; i < 3; i++) cb.emit('success', undefined, 0);
    for (let i = 0; i < 2; i++) cb.emit('failure', new Error('x'), 0, []);
    const { fires, successes, failures } = cb.stats;
    assert.deepEqual({ fires, successes, failures }, { fires: 5, successes: 3, failures: 2 });
    cb.shutdown();
  });

  it("rotates its window on the rotateBucketController's 'rotate' events, and only then", () => {
    const rotator = new EventEmitter();
    const cb = breaker({ rotateBucketController: rotator, rollingCountBuckets: 3 } as CircuitBreaker.Options);
    cb.emit('fire', []);
    rotator.emit('rotate');
    rotator.emit('rotate');
    assert.equal(cb.stats.fires, 1, 'still in the window after 2 of 3 rotations');
    rotator.emit('rotate');
    assert.equal(cb.stats.fires, 0, 'gone after 3');
    cb.shutdown();
    assert.equal(rotator.listenerCount('rotate'), 0, 'shutdown lets go of the controller');
  });

  it("open() emits 'open' once and makes fire() reject with opossum's own error", async () => {
    const cb = breaker();
    let opened = 0;
    cb.on('open', () => opened++);
    cb.open();
    cb.open();
    assert.equal(opened, 1);
    assert.equal(cb.opened, true);
    const err = await cb.fire('x').catch((e: unknown) => e);
    assert.equal(CircuitBreaker.isOurError(err as Error), true);
    cb.shutdown();
  });

  it('starts half-open from { state: { closed: false, halfOpen: true } }; one good fire closes it', async () => {
    const cb = breaker({ state: { closed: false, halfOpen: true } } as unknown as CircuitBreaker.Options);
    assert.equal(cb.halfOpen, true);
    let closed = 0;
    cb.on('close', () => closed++);
    assert.equal(await cb.fire('probe'), 'probe');
    assert.equal(cb.closed, true);
    assert.equal(closed, 1);
    cb.shutdown();
  });

  it('takes resetTimeout 2³¹−1 (the breaker half-opens by its own clock) without a timer overflow', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    const cb = breaker();
    cb.open();
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.deepEqual(
      warnings.filter((w) => w.name === 'TimeoutOverflowWarning'),
      [],
    );
    cb.shutdown();
  });
});
