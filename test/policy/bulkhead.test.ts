// The bulkhead stage on its own, driven by a minimal fake call (the slice it reads: the origin's
// bulkhead, the deadline, the signal, the request) on a virtual clock: admission at once while a
// slot is free, a bounded queue that sheds at once, a wait that ends at the call's deadline or with
// the caller's abort reason, and the slot given back when the rest of the call settles.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { Bulkhead, type BulkheadCall, bulkheadStage, resolveBulkhead } from '../../src/policy/bulkhead.ts';
import { type Done, OK } from '../../src/policy/pipeline.ts';

interface FakeCall extends BulkheadCall {
  readonly id: number;
}

function setup(limit: number, queue: number) {
  const clock = new VirtualClock();
  const bulkhead = new Bulkhead(resolveBulkhead({ limit, queue }), clock);
  /** Calls that reached the inner handler, with how to finish each. */
  const running = new Map<number, (err: unknown) => void>();
  const handler = bulkheadStage<FakeCall, string>()((call, done) => {
    running.set(call.id, (err) => done(call, err, err === OK ? `ok ${call.id}` : undefined));
  });
  const outcomes = new Map<number, unknown>();
  const done: Done<FakeCall, string> = (call, err, result) =>
    outcomes.set(call.id, err === OK ? result : err);
  let ids = 0;
  const start = (deadlineIn = 10_000, signal?: AbortSignal): FakeCall => {
    const call: FakeCall = {
      id: ++ids,
      bulkhead,
      deadline: clock.now() + deadlineIn,
      signal,
      request: { method: 'GET', path: '/x' },
    };
    handler(call, done);
    return call;
  };
  return { clock, bulkhead, running, outcomes, start };
}

describe('bulkhead stage (fake call)', () => {
  it('admits up to the limit at once, queues the next, sheds past the queue with POOL_QUEUE_FULL', async () => {
    const s = setup(2, 1);
    s.start();
    s.start();
    assert.equal(s.running.size, 2, 'two admitted at once');
    s.start();
    assert.equal(s.bulkhead.queued, 1);
    s.start();
    await s.clock.advance(0);
    const shed = s.outcomes.get(4);
    assert.ok(isBulwarkError(shed) && shed.code === 'POOL_QUEUE_FULL' && shed.layer === 'pool');
    assert.equal(s.bulkhead.rejected, 1);
    // A call that settles gives its slot to the one waiting.
    s.running.get(1)?.(OK);
    await s.clock.advance(0);
    assert.equal(s.outcomes.get(1), 'ok 1');
    assert.ok(s.running.has(3), 'the queued call got the slot');
    assert.equal(s.bulkhead.inFlight, 2);
    s.running.get(2)?.(new Error('failed'));
    s.running.get(3)?.(OK);
    await s.clock.advance(0);
    assert.equal(s.bulkhead.inFlight, 0, 'every slot given back, on failure too');
  });

  it('a queued call leaves at its deadline with POOL_ACQUIRE_TIMEOUT (budget total)', async () => {
    const s = setup(1, 5);
    s.start();
    s.start(500);
    await s.clock.advance(499);
    assert.equal(s.outcomes.has(2), false);
    await s.clock.advance(1);
    const err = s.outcomes.get(2);
    assert.ok(isBulwarkError(err) && err.code === 'POOL_ACQUIRE_TIMEOUT' && err.budget === 'total');
    assert.equal(s.bulkhead.queued, 0);
  });

  it("a queued call leaves with its caller's abort reason, whatever its value", async () => {
    for (const reason of [null, 0, 'why', { why: 1 }]) {
      const s = setup(1, 5);
      s.start();
      const controller = new AbortController();
      s.start(10_000, controller.signal);
      controller.abort(reason);
      await s.clock.advance(0);
      assert.equal(s.outcomes.get(2), reason);
      assert.equal(s.bulkhead.queued, 0);
    }
  });

  it('a call of an origin with no bulkhead passes straight through', () => {
    const outcomes: unknown[] = [];
    const handler = bulkheadStage<BulkheadCall, string>()((call, done) => done(call, OK, 'direct'));
    handler(
      {
        bulkhead: undefined,
        deadline: 0,
        signal: undefined,
        request: { method: 'GET', path: '/' },
      },
      (_c, err, result) => outcomes.push(err, result),
    );
    assert.deepEqual(outcomes, [OK, 'direct']);
  });
});
