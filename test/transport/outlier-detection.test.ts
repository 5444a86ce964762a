/**
 * The outlier-ejection mechanism on a virtual clock: consecutive failures, the success-rate rule,
 * ejection time growing with repeats and decaying, the maximum ejected share (never the last
 * address), the return after the ejection time, round-robin selection within families, the
 * diagnostics channels and the per-address snapshot.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import {
  AddressOutliers,
  OutlierDetection,
  type OutlierEjectEvent,
  type OutlierReturnEvent,
  rotateWithinFamilies,
} from '../../src/transport/outlier-detection.ts';
import {
  OUTLIER_DEFAULTS,
  type OutlierOptions,
  resolveOutlier,
} from '../../src/transport/outlier-options.ts';
import type { Address } from '../../src/transport/system-resolver.ts';

const ORIGIN = 'http://api.test';
const FOUR: Address[] = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'].map((address) => ({
  address,
  family: 4,
}));

function setup(options: OutlierOptions = {}, answer: readonly Address[] = FOUR) {
  const clock = new VirtualClock();
  const ejected: string[] = [];
  const o = new AddressOutliers(ORIGIN, resolveOutlier(options), clock, (a) => ejected.push(a));
  o.select(answer);
  return { clock, o, ejected };
}

function fail(o: AddressOutliers, address: string, times: number): void {
  for (let i = 0; i < times; i++) o.record(address, false);
}

/** Which addresses `n` selections would start with. */
function firsts(o: AddressOutliers, n: number, answer: readonly Address[] = FOUR): string[] {
  return Array.from({ length: n }, () => o.select(answer)[0]!.address);
}

/** Collects the events of a channel while `fn` runs. */
function events<T>(name: string, fn: () => void): T[] {
  const seen: T[] = [];
  const listener = (m: unknown) => seen.push(m as T);
  subscribe(name, listener);
  try {
    fn();
  } finally {
    unsubscribe(name, listener);
  }
  return seen;
}

describe('outlier detection: consecutive failures', () => {
  it('ejects an address after consecutiveFailures failures in a row, and only then', () => {
    const { o, ejected } = setup();
    fail(o, '127.0.0.2', 4);
    o.record('127.0.0.2', true); // a success resets the run
    fail(o, '127.0.0.2', 4);
    assert.deepEqual(ejected, []);
    o.record('127.0.0.2', false);
    assert.deepEqual(ejected, ['127.0.0.2']);
    assert.equal(o.ejected, 1);
    const s = o.snapshot()['127.0.0.2']!;
    assert.equal(s.ejected, true);
    assert.equal(s.timesEjected, 1);
    assert.equal(s.requests, 10);
    assert.equal(s.failures, 9);
    assert.equal(typeof s.ejectedUntil, 'string');
  });

  it('leaves an ejected address out of every selection, and spreads the others round-robin', () => {
    const { o } = setup();
    fail(o, '127.0.0.3', 5);
    const starts = firsts(o, 300);
    assert.equal(starts.includes('127.0.0.3'), false);
    for (const a of ['127.0.0.1', '127.0.0.2', '127.0.0.4']) {
      assert.equal(starts.filter((s) => s === a).length, 100);
    }
    // Never offered to happy eyeballs either.
    assert.equal(
      o.select(FOUR).some((a) => a.address === '127.0.0.3'),
      false,
    );
  });

  it('returns it after baseEjectionTime, with a return event', async () => {
    const { clock, o } = setup();
    fail(o, '127.0.0.1', 5);
    await clock.advance(29_999);
    assert.equal(o.snapshot()['127.0.0.1']!.ejected, true);
    await clock.advance(1);
    const back = events<OutlierReturnEvent>('bulwark:outlier:return', () => o.select(FOUR));
    assert.deepEqual(back, [{ origin: ORIGIN, address: '127.0.0.1', ejectedFor: 30_000 }]);
    assert.equal(o.snapshot()['127.0.0.1']!.ejected, false);
    assert.equal(o.ejected, 0);
    assert.ok(firsts(o, 8).includes('127.0.0.1'));
  });

  it('ejects for base × times ejected, capped at maxEjectionTime; the count decays per healthy interval', async () => {
    const { clock, o } = setup({ baseEjectionTime: 1_000, maxEjectionTime: 2_500, interval: 100_000 });
    const durations: number[] = [];
    const run = () => {
      const ev = events<OutlierEjectEvent>('bulwark:outlier:eject', () => fail(o, '127.0.0.4', 5));
      durations.push(ev[0]!.duration);
    };
    run();
    await clock.advance(1_000);
    run();
    await clock.advance(2_000);
    run();
    await clock.advance(2_500);
    assert.deepEqual(durations, [1_000, 2_000, 2_500]);
    assert.equal(o.snapshot()['127.0.0.4']!.timesEjected, 3);
    // One interval in which it was ejected (no decay), then one without: 3 → 2.
    await clock.advance(100_000);
    o.select(FOUR);
    assert.equal(o.snapshot()['127.0.0.4']!.timesEjected, 3);
    await clock.advance(100_000);
    assert.equal(o.snapshot()['127.0.0.4']!.timesEjected, 2);
  });

  it('publishes the eject event with its reason and the address', () => {
    const { o } = setup();
    const ev = events<OutlierEjectEvent>('bulwark:outlier:eject', () => fail(o, '127.0.0.2', 5));
    assert.deepEqual(ev, [
      {
        origin: ORIGIN,
        address: '127.0.0.2',
        reason: 'consecutive-failures',
        duration: 30_000,
        timesEjected: 1,
        successRate: 0,
      },
    ]);
  });
});

describe('outlier detection: the maximum ejected share', () => {
  it('ejects at most maxEjectedPercent of the addresses (50 % of four: two)', () => {
    const { o, ejected } = setup();
    for (const a of FOUR) fail(o, a.address, 5);
    assert.deepEqual(ejected, ['127.0.0.1', '127.0.0.2']);
    assert.deepEqual(
      o
        .select(FOUR)
        .map((a) => a.address)
        .sort(),
      ['127.0.0.3', '127.0.0.4'],
    );
  });

  it('never ejects the last address, even at 100 %', () => {
    const { o, ejected } = setup({ maxEjectedPercent: 100 });
    for (const a of FOUR) fail(o, a.address, 50);
    assert.equal(ejected.length, 3);
    assert.deepEqual(
      o.select(FOUR).map((a) => a.address),
      ['127.0.0.4'],
    );
  });

  it('ejects one of two at 50 %, none of one, none at 0 %', () => {
    const two = FOUR.slice(0, 2);
    const a = setup({}, two);
    fail(a.o, '127.0.0.1', 5);
    fail(a.o, '127.0.0.2', 5);
    assert.deepEqual(a.ejected, ['127.0.0.1']);
    const one = setup({}, FOUR.slice(0, 1));
    fail(one.o, '127.0.0.1', 500);
    assert.deepEqual(one.ejected, []);
    const none = setup({ maxEjectedPercent: 0 });
    fail(none.o, '127.0.0.1', 500);
    assert.deepEqual(none.ejected, []);
  });

  it('selects every address when all are ejected (an answer that shrank to ejected ones)', () => {
    const { o } = setup();
    fail(o, '127.0.0.1', 5);
    fail(o, '127.0.0.2', 5);
    const shrunk = FOUR.slice(0, 2);
    // The answer changed: the two that left are forgotten, the ejected ones stay ejected...
    const picked = o
      .select(shrunk)
      .map((a) => a.address)
      .sort();
    // ...and since both left are ejected, both are offered rather than none.
    assert.deepEqual(picked, ['127.0.0.1', '127.0.0.2']);
    assert.deepEqual(Object.keys(o.snapshot()).sort(), ['127.0.0.1', '127.0.0.2']);
  });
});

describe('outlier detection: the success-rate rule', () => {
  it('cannot single out one of four at the default factor: a lone outlier is at most √3 σ below', async () => {
    const { clock, o, ejected } = setup({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      successRate: { minimumHosts: 4 },
    });
    for (let i = 0; i < 100; i++) {
      for (const a of FOUR.slice(0, 3)) o.record(a.address, true);
      o.record('127.0.0.4', false);
    }
    await clock.advance(10_000);
    o.select(FOUR);
    assert.deepEqual(ejected, []);
  });

  it('ejects an address well below its peers over an interval, with the minimum volume', async () => {
    const { clock, o, ejected } = setup({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      successRate: { minimumHosts: 4, stdevFactor: 1.5 },
    });
    // 127.0.0.4 fails every other call; the others never.
    for (let i = 0; i < 100; i++) {
      for (const a of FOUR.slice(0, 3)) o.record(a.address, true);
      o.record('127.0.0.4', i % 2 === 0);
    }
    assert.deepEqual(ejected, []);
    await clock.advance(10_000);
    const ev = events<OutlierEjectEvent>('bulwark:outlier:eject', () => o.select(FOUR));
    assert.deepEqual(ejected, ['127.0.0.4']);
    assert.equal(ev[0]!.reason, 'success-rate');
    assert.equal(ev[0]!.successRate, 0.5);
  });

  it('judges nobody below requestVolume or with fewer than minimumHosts addresses judged', async () => {
    const { clock, o, ejected } = setup({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      successRate: { minimumHosts: 4, stdevFactor: 1.5 },
    });
    for (let i = 0; i < 99; i++) {
      for (const a of FOUR.slice(0, 3)) o.record(a.address, true);
      o.record('127.0.0.4', false);
    }
    await clock.advance(10_000);
    o.select(FOUR);
    assert.deepEqual(ejected, []); // 99 < 100 outcomes for the bad one
    const few = setup({ consecutiveFailures: Number.POSITIVE_INFINITY, successRate: { stdevFactor: 1.5 } });
    for (let i = 0; i < 200; i++) {
      for (const a of FOUR.slice(0, 3)) few.o.record(a.address, true);
      few.o.record('127.0.0.4', false);
    }
    await few.clock.advance(10_000);
    few.o.select(FOUR);
    assert.deepEqual(few.ejected, []);
  });

  it('ejects nobody when every address is equally bad (the whole origin fails)', async () => {
    const { clock, o, ejected } = setup({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      successRate: { minimumHosts: 4, stdevFactor: 1.5 },
    });
    for (let i = 0; i < 200; i++) for (const a of FOUR) o.record(a.address, i % 3 !== 0);
    await clock.advance(10_000);
    o.select(FOUR);
    assert.deepEqual(ejected, []);
  });

  it('with five addresses the default rule ejects the one at half its peers’ rate', async () => {
    const five: Address[] = [...FOUR, { address: '127.0.0.5', family: 4 }];
    const { clock, o, ejected } = setup({ consecutiveFailures: Number.POSITIVE_INFINITY }, five);
    for (let i = 0; i < 100; i++) {
      for (const a of FOUR) o.record(a.address, true);
      o.record('127.0.0.5', i % 2 === 0);
    }
    await clock.advance(10_000);
    o.select(five);
    assert.deepEqual(ejected, ['127.0.0.5']);
  });

  it('is off with successRate: false', async () => {
    const { clock, o, ejected } = setup({
      consecutiveFailures: Number.POSITIVE_INFINITY,
      successRate: false,
    });
    for (let i = 0; i < 200; i++) {
      for (const a of FOUR.slice(0, 3)) o.record(a.address, true);
      o.record('127.0.0.4', false);
    }
    await clock.advance(10_000);
    o.select(FOUR);
    assert.deepEqual(ejected, []);
  });
});

describe('outlier detection: addresses and selection', () => {
  it('ignores outcomes at an address it never selected (an IP literal, a dispatcher of the caller)', () => {
    const { o, ejected } = setup();
    fail(o, '10.9.9.9', 50);
    assert.deepEqual(ejected, []);
    assert.equal(o.snapshot()['10.9.9.9'], undefined);
  });

  it('rotates within each family, keeping each position’s family for happy eyeballs', () => {
    const mixed: Address[] = [
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
      { address: '::2', family: 6 },
      { address: '127.0.0.2', family: 4 },
    ];
    assert.deepEqual(
      rotateWithinFamilies(mixed, 1).map((a) => a.address),
      ['::2', '127.0.0.2', '::1', '127.0.0.1'],
    );
    assert.deepEqual(rotateWithinFamilies(mixed, 2), mixed);
    // One address per family (the usual A + AAAA): the order is left as it was.
    const pair: Address[] = [mixed[0]!, mixed[1]!];
    assert.deepEqual(rotateWithinFamilies(pair, 7), pair);
  });

  it('OutlierDetection: one state per origin; connectFailed counts against the address', () => {
    const clock = new VirtualClock();
    const retired: string[] = [];
    const d = new OutlierDetection(OUTLIER_DEFAULTS, clock, (origin, host, address) =>
      retired.push(`${origin} ${host} ${address}`),
    );
    d.select('http://a.test', 'a.test', FOUR);
    d.select('http://b.test', 'b.test', FOUR);
    for (let i = 0; i < 5; i++) d.connectFailed('http://a.test', '127.0.0.3');
    d.connectFailed('http://never.test', '127.0.0.3'); // no state made for it
    assert.deepEqual(retired, ['http://a.test a.test 127.0.0.3']);
    assert.equal(d.of('http://b.test', 'b.test').ejected, 0);
  });
});
