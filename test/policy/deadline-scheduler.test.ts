// The deadline scheduler: one clock timer for all deadlines; same-budget deadlines fire in order,
// cancelled ones never fire, and budgets beyond the FIFOs get timers of their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { Deadlines, type Expirable } from '../../src/policy/deadline-scheduler.ts';

function item(name: string, fired: string[]): Expirable {
  return {
    deadlineList: undefined,
    deadlinePrev: undefined,
    deadlineNext: undefined,
    deadlineAt: 0,
    onDeadline: () => fired.push(name),
  };
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
  it('cancels in any order, from either end or the middle, and still fires exactly the live ones on time', async () => {
    let seed = 42;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 20; round++) {
      const clock = new VirtualClock();
      const deadlines = new Deadlines(clock);
      const fired: { name: string; at: number }[] = [];
      const live = new Map<string, { item: Expirable; due: number }>();
      for (let step = 0; step < 3_000; step++) {
        const r = random();
        if (r < 0.45) {
          const name = `i${step}`;
          const it: Expirable = {
            deadlineList: undefined,
            deadlinePrev: undefined,
            deadlineNext: undefined,
            deadlineAt: 0,
            onDeadline: () => fired.push({ name, at: clock.now() }),
          };
          deadlines.schedule(it, 100, clock.now());
          live.set(name, { item: it, due: clock.now() + 100 });
        } else if (r < 0.9 && live.size > 0) {
          // Mostly the oldest or the newest (calls ending in order, or at once), sometimes any.
          const names = [...live.keys()];
          const pick = random();
          const name =
            pick < 0.4
              ? names[0]!
              : pick < 0.7
                ? names[names.length - 1]!
                : names[Math.floor(random() * names.length)]!;
          deadlines.cancel(live.get(name)!.item);
          live.delete(name);
        } else {
          await clock.advance(Math.floor(random() * 30));
          for (const f of fired) {
            const entry = live.get(f.name);
            assert.ok(entry !== undefined, `${f.name} fired after it was cancelled`);
            assert.equal(f.at, entry.due, `${f.name} fired on time`);
            live.delete(f.name);
          }
          fired.length = 0;
          for (const { due } of live.values()) assert.ok(due > clock.now(), 'nothing due is left unfired');
        }
      }
      deadlines.stop();
    }
  });
  it('a deadline counted from an earlier start fires on time behind later ones of the same budget', async () => {
    const clock = new VirtualClock();
    const deadlines = new Deadlines(clock);
    const fired: string[] = [];
    await clock.advance(500);
    deadlines.schedule(item('late-start', fired), 1_000, clock.now()); // due at 1 500
    deadlines.schedule(item('queued', fired), 1_000, 0); // started at 0 (waited in a queue): due at 1 000
    await clock.advance(500);
    assert.deepEqual(fired, ['queued']);
    await clock.advance(500);
    assert.deepEqual(fired, ['queued', 'late-start']);
    deadlines.stop();
  });

  it('scheduling an item again replaces its deadline', async () => {
    const clock = new VirtualClock();
    const deadlines = new Deadlines(clock);
    const fired: string[] = [];
    const a = item('a', fired);
    const b = item('b', fired);
    deadlines.schedule(a, 100, clock.now());
    deadlines.schedule(b, 100, clock.now());
    deadlines.schedule(a, 300, clock.now());
    await clock.advance(100);
    assert.deepEqual(fired, ['b']);
    await clock.advance(200);
    assert.deepEqual(fired, ['b', 'a']);
    deadlines.stop();
  });
});
