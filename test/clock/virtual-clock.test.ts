// The virtual clock: timers fire in order as time is advanced, cleared ones never fire, promise
// callbacks settle between timers, and a seed fixes the random sequence.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep } from '../../src/clock/clock.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';

describe('VirtualClock', () => {
  it('fires timers in time order, same-time timers in the order they were set', async () => {
    const clock = new VirtualClock({ start: 1_000 });
    const seen: string[] = [];
    clock.setTimeout(() => seen.push('c@30'), 30);
    clock.setTimeout(() => seen.push('a@10'), 10);
    clock.setTimeout(() => seen.push('b@10'), 10);
    const cleared = clock.setTimeout(() => seen.push('never'), 20);
    clock.clearTimeout(cleared);
    await clock.advance(25);
    assert.deepEqual(seen, ['a@10', 'b@10']);
    assert.equal(clock.now(), 1_025);
    assert.equal(clock.nextAt(), 1_030);
    await clock.advance(10);
    assert.deepEqual(seen, ['a@10', 'b@10', 'c@30']);
    assert.equal(clock.nextAt(), undefined);
  });

  it('lets async work that a timer starts run at that instant', async () => {
    const clock = new VirtualClock();
    const at: number[] = [];
    void (async () => {
      await sleep(clock, 100);
      at.push(clock.now());
      await sleep(clock, 50);
      at.push(clock.now());
    })();
    await clock.advance(1_000);
    assert.deepEqual(at, [100, 150]);
  });

  it('sleep rejects with the signal’s reason', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const p = sleep(clock, 1_000, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(p, /stop/);
    assert.equal(clock.nextAt(), undefined, 'its timer was cleared');
  });

  it('a seed fixes the random sequence, uniform in [0, 1)', () => {
    const a = new VirtualClock({ seed: 42 });
    const b = new VirtualClock({ seed: 42 });
    const xs = Array.from({ length: 10_000 }, () => a.random());
    assert.deepEqual(
      xs.slice(0, 5),
      Array.from({ length: 5 }, () => b.random()),
    );
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  });

  it('runAll fires until nothing is left', async () => {
    const clock = new VirtualClock();
    let n = 0;
    const tick = (): void => {
      if (++n < 5) clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    assert.equal(await clock.runAll(), 5);
    assert.equal(clock.now(), 50);
  });
});
