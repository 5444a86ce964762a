// The deadline scheduler: one clock timer for all deadlines; same-budget deadlines fire in order,
// cancelled ones never fire, and budgets beyond the FIFOs get timers of their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { Deadlines, type Expirable } from '../../src/policy/deadlines.ts';

function item(name: string, fired: string[]): Expirable {
  return { deadlineSlot: -1, deadlineQueue: undefined, onDeadline: () => fired.push(name) };
}

describe('Deadlines', () => {
  it('fires each deadline at its time, never a cancelled one, with one timer', async () => {
    const clock = new VirtualClock();
    const deadlines = new Deadlines(clock);
    const fired: string[] = [];
    const a = item('a', fired);
    const b = item('b', fired);
    const c = item('c', fired);
    deadlines.schedule(a, 100, clock.now());
    await clock.advance(10);
    deadlines.schedule(b, 100, clock.now());
    deadlines.schedule(c, 50, clock.now());
    deadlines.cancel(b);
    assert.equal(clock.nextAt(), 60, 'one live clock timer, armed at the earliest deadline');
    await clock.advance(49);
    assert.deepEqual(fired, []);
    await clock.advance(1);
    assert.deepEqual(fired, ['c']);
    await clock.advance(40);
    assert.deepEqual(fired, ['c', 'a']);
    await clock.advance(1_000);
    assert.deepEqual(fired, ['c', 'a']);
    deadlines.stop();
  });

  it('handles many budgets and a large number of entries', async () => {
    const clock = new VirtualClock();
    const deadlines = new Deadlines(clock);
    const fired: string[] = [];
    for (let d = 1; d <= 12; d++) deadlines.schedule(item(`d${d}`, fired), d * 10, clock.now());
    const many = Array.from({ length: 10_000 }, (_, i) => item(`m${i}`, fired));
    for (const m of many) deadlines.schedule(m, 500, clock.now());
    for (const m of many.slice(0, 9_999)) deadlines.cancel(m);
    await clock.advance(1_000);
    assert.deepEqual(fired, [...Array.from({ length: 12 }, (_, i) => `d${i + 1}`), 'm9999']);
    deadlines.stop();
    assert.equal(clock.nextAt(), undefined);
  });
});
