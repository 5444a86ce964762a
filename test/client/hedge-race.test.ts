// The hedge race (client/hedge.ts) on a virtual clock, its two calls ended by the test in every
// order: who wins, what the caller's promise is settled with, which loser is aborted, what is
// disposed. The host is the test's (it records what the race asks of the client); the calls are
// plain records of the fields the race reads. The same race runs end to end on loopback in
// hedge.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type HedgeHost, HedgeLost, HedgeRace } from '../../src/client/hedge.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import type { Call } from '../../src/http/call.ts';
import { OriginStats } from '../../src/http/origin-stats.ts';
import { FailedResponse } from '../../src/policy/failure.ts';
import { type HedgeOrigin, HedgeShare, resolveHedge } from '../../src/policy/hedge.ts';
import { OK } from '../../src/policy/pipeline.ts';

interface Setup {
  clock: VirtualClock;
  race: HedgeRace;
  first: Call;
  stats: OriginStats;
  settled: { call: Call; err: unknown; result: unknown }[];
  disposed: unknown[];
  /** The calls the race ran (its hedges). */
  ran: Call[];
  signals: { first: AbortSignal; hedge?: AbortSignal };
  origin: HedgeOrigin;
}

function callOf(stats: OriginStats, deadline: number): Call {
  return { state: { stats }, deadline, hedge: 'not-sent' } as unknown as Call;
}

function setup(options: { caller?: AbortSignal; deadline?: number; closing?: boolean } = {}): Setup {
  const clock = new VirtualClock();
  const stats = new OriginStats();
  const settled: Setup['settled'] = [];
  const disposed: unknown[] = [];
  const ran: Call[] = [];
  const host: HedgeHost = {
    clock,
    closing: () => options.closing === true,
    run: (call) => ran.push(call),
    settle: (call, err, result) => settled.push({ call, err, result }),
    dispose: (result) => disposed.push(result),
  };
  const hedgeOptions = resolveHedge({ delay: 50 }, 'hedge', false);
  assert.ok(hedgeOptions !== false);
  const race = new HedgeRace(hedgeOptions, options.caller);
  const signals: Setup['signals'] = { first: race.firstSignal() };
  const first = callOf(stats, options.deadline ?? 30_000);
  race.first = first;
  race.host = host;
  race.launch = () => {
    signals.hedge = race.hedgeSignal();
    return callOf(stats, first.deadline);
  };
  const share = new HedgeShare();
  const origin: HedgeOrigin = { latencyP95: () => undefined, share };
  return { clock, race, first, stats, settled, disposed, ran, signals, origin };
}

/** Starts the race and lets the delay pass: the hedge goes out. */
async function hedged(s: Setup): Promise<Call> {
  s.race.start(s.origin);
  await s.clock.advance(50);
  assert.equal(s.ran.length, 1, 'the hedge went out');
  return s.ran[0]!;
}

describe('HedgeRace', () => {
  it('the first answering before the delay: settled at once, no hedge, timer cleared', async () => {
    const s = setup();
    s.race.start(s.origin);
    await s.clock.advance(49);
    s.race.ended(s.first, OK, 'r1');
    assert.deepEqual(s.settled, [{ call: s.first, err: OK, result: 'r1' }]);
    assert.equal(s.clock.nextAt(), undefined, 'the hedge timer was cleared');
    await s.clock.advance(100);
    assert.equal(s.ran.length, 0);
    assert.equal(s.first.hedge, 'not-sent');
  });

  it('the hedge answers first: it wins, the first is aborted with HedgeLost, its late answer disposed', async () => {
    const s = setup();
    const hedge = await hedged(s);
    assert.equal(s.stats.hedgesSent, 1);
    s.race.ended(hedge, OK, 'r2');
    assert.deepEqual(s.settled, [{ call: hedge, err: OK, result: 'r2' }]);
    assert.equal(hedge.hedge, 'hedge-won');
    assert.equal(s.stats.hedgesWon, 1);
    assert.ok(s.signals.first.aborted);
    assert.ok(s.signals.first.reason instanceof HedgeLost);
    assert.equal(s.signals.hedge?.aborted, false);
    s.race.ended(s.first, OK, 'late');
    assert.deepEqual(s.disposed, ['late']);
    assert.equal(s.settled.length, 1);
  });

  it('the first answers after the hedge went out: it wins, the hedge is aborted', async () => {
    const s = setup();
    const hedge = await hedged(s);
    s.race.ended(s.first, OK, 'r1');
    assert.equal(s.first.hedge, 'first-won');
    assert.ok(s.signals.hedge?.reason instanceof HedgeLost);
    assert.equal(s.signals.first.aborted, false);
    s.race.ended(hedge, new HedgeLost(), undefined);
    assert.equal(s.settled.length, 1);
    assert.equal(s.stats.hedgesWon, 0);
  });

  it('a failure does not win: it waits for the other, which wins if it answers', async () => {
    for (const order of ['first fails', 'hedge fails'] as const) {
      const s = setup();
      const hedge = await hedged(s);
      const [loser, winner] = order === 'first fails' ? [s.first, hedge] : [hedge, s.first];
      const failed = new FailedResponse(503, 'r503', undefined, (r) => s.disposed.push(r));
      s.race.ended(loser, failed, undefined);
      assert.equal(s.settled.length, 0, `${order}: nothing settled yet`);
      s.race.ended(winner, OK, 'r200');
      assert.deepEqual(s.settled, [{ call: winner, err: OK, result: 'r200' }], order);
      assert.deepEqual(s.disposed, ['r503'], `${order}: the failing response is disposed`);
    }
  });

  it("both fail: the race fails with the first call's failure, in either order", async () => {
    for (const order of ['first, then hedge', 'hedge, then first'] as const) {
      const s = setup();
      const hedge = await hedged(s);
      const firstErr = new Error('first');
      const hedgeErr = new FailedResponse(502, 'r502', undefined, (r) => s.disposed.push(r));
      if (order === 'first, then hedge') {
        s.race.ended(s.first, firstErr, undefined);
        s.race.ended(hedge, hedgeErr, undefined);
      } else {
        s.race.ended(hedge, hedgeErr, undefined);
        s.race.ended(s.first, firstErr, undefined);
      }
      assert.deepEqual(s.settled, [{ call: s.first, err: firstErr, result: undefined }], order);
      assert.deepEqual(s.disposed, ['r502']);
      assert.equal(s.first.hedge, 'first-won');
    }
  });

  it('the first failing before the delay ends the race: no hedge', async () => {
    const s = setup();
    s.race.start(s.origin);
    const err = new Error('refused');
    s.race.ended(s.first, err, undefined);
    assert.deepEqual(s.settled, [{ call: s.first, err, result: undefined }]);
    await s.clock.advance(100);
    assert.equal(s.ran.length, 0);
  });

  it("the caller's abort reaches both calls' signals with its reason", async () => {
    const caller = new AbortController();
    const s = setup({ caller: caller.signal });
    await hedged(s);
    const reason = { why: 'gone' };
    caller.abort(reason);
    assert.equal(s.signals.first.reason, reason);
    assert.equal(s.signals.hedge?.reason, reason);
  });

  it('no hedge when the caller aborted, the client is closing, the deadline passed or the share is spent', async () => {
    const caller = new AbortController();
    const aborted = setup({ caller: caller.signal });
    aborted.race.start(aborted.origin);
    caller.abort();
    await aborted.clock.advance(50);
    assert.equal(aborted.ran.length, 0);

    const closing = setup({ closing: true });
    closing.race.start(closing.origin);
    await closing.clock.advance(50);
    assert.equal(closing.ran.length, 0);

    const late = setup({ deadline: 40 });
    late.race.start(late.origin);
    await late.clock.advance(50);
    assert.equal(late.ran.length, 0);

    const spent = setup();
    assert.ok(spent.origin.share.spend());
    spent.race.start(spent.origin);
    await spent.clock.advance(50);
    assert.equal(spent.ran.length, 0);
    assert.equal(spent.stats.hedgesRefused, 1);
  });

  it("'p95' with too few samples: no timer at all", async () => {
    const s = setup();
    const p95 = resolveHedge({ delay: 'p95' }, 'hedge', false);
    assert.ok(p95 !== false);
    const race = new HedgeRace(p95, undefined);
    race.start(s.origin); // latencyP95 answers undefined
    assert.equal(s.clock.nextAt(), undefined);
  });
});
