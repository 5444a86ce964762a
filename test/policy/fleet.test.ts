// The fleet on the real Redis: two processes' throttles share their counts through
// redisFleetStore; a Redis that stops answering (the fault proxy in front of it) puts each throttle
// back on its own counts at once, with one event and a stats flag, and the fleet's counts return
// once it answers again; the store's keys expire by themselves.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { systemClock } from '../../src/clock/clock.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { createFleet, type FleetCounts, type FleetStore, redisFleetStore } from '../../src/policy/fleet.ts';
import { RETRY_BUDGET_DEFAULTS, RetryBudget, resolveRetryBudget } from '../../src/policy/retry-budget.ts';
import { resolveThrottle, Throttle } from '../../src/policy/throttle.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { redisDatabase } from '../helpers/databases.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { waitFor } from '../helpers/wait-for.ts';

const availability = await redisDatabase();
const db = availability.kind === 'up' ? availability.db : undefined;
const target = { origin: 'http://upstream.test', host: 'upstream.test', port: 80 };
const prefix = `bulwark-test:fleet:${process.pid}:${Date.now()}:`;

function redisAt(host: string, port: number): Redis {
  const u = new URL(db!.url);
  return new Redis({
    host,
    port,
    ...(/^\/\d+$/.test(u.pathname) ? { db: Number(u.pathname.slice(1)) } : {}),
    enableOfflineQueue: false,
    commandTimeout: 200,
    maxRetriesPerRequest: 0,
  }).on('error', () => {}); // a refused reconnect is what some tests do; commands report their own errors
}

describe('the fleet on Redis', { skip: availability.kind === 'skip' ? availability.reason : false }, () => {
  if (availability.kind === 'down') {
    it('needs Redis', () => {
      throw availability.error;
    });
    return;
  }
  let redis: Redis;
  before(() => {
    redis = redisAt(db!.host, db!.port);
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('a quiet process sees the outage another process counts, and the keys expire', async () => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fleet-peer.child.ts', import.meta.url)), db!.url, prefix],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const fleet = createFleet({ store: redisFleetStore(redis, { prefix, ttl: 2_000 }), period: 50 });
    const mine = new Throttle(resolveThrottle({}), systemClock, target);
    const detach = fleet.attach('http://upstream.test', mine);
    try {
      // This process makes no attempt at all; the peer's failures alone must refuse ours.
      await waitFor(() => mine.probability() >= 0.89, 'the peer’s failures through Redis', {
        timeout: 10_000,
      });
      assert.equal(mine.fleetActive(), true);
      assert.equal(fleet.stats().active, true);
      assert.equal(mine.counts().requests, 0);
      let refused = 0;
      for (let i = 0; i < 1000; i++) if (!mine.admit(systemClock.now())) refused++;
      assert.ok(refused > 800, `${refused} of 1000 refused`);
      const keys = await redis.keys(`${prefix}*`);
      assert.ok(keys.length > 0);
      for (const k of keys) {
        const ttl = await redis.pttl(k);
        // Ours are written with a 2 s ttl, the peer's with the default 10 s.
        assert.ok(ttl > 0 && ttl <= 10_000, `${k} expires in ${ttl}`);
      }
    } finally {
      child.stdin!.end();
      await once(child, 'exit');
      detach();
      fleet.close();
    }
    // Out of the fleet: only its own counts (the refusals above) remain, and they fade.
    assert.equal(mine.fleetActive(), false);
    await waitFor(() => mine.probability() < 0.01, 'the local counts to fade', { timeout: 5_000 });
  });

  it('falls back to local counts at once when Redis stops answering, and returns when it answers', async (t) => {
    // cleanup(): the portable `await using` (Node 22 cannot parse it).
    const proxy = cleanup(t, await startFaultProxy({ host: db!.host, port: db!.port }));
    const viaProxy = redisAt(proxy.host, proxy.port);
    const peer = redisAt(db!.host, db!.port);
    const ready = Promise.all([once(viaProxy, 'ready'), once(peer, 'ready')]);
    const fleet = createFleet({ store: redisFleetStore(viaProxy, { prefix }), period: 200 });
    const peerFleet = createFleet({ store: redisFleetStore(peer, { prefix }), period: 200 });
    const mine = new Throttle(resolveThrottle({}), systemClock, target);
    const theirs = new Throttle(resolveThrottle({}), systemClock, target);
    const events: string[] = [];
    fleet.on('fallback', () => events.push('fallback'));
    fleet.on('restored', () => events.push('restored'));
    fleet.attach('http://upstream.test', mine);
    peerFleet.attach('http://upstream.test', theirs);
    const failing = setInterval(() => {
      for (let i = 0; i < 20; i++) theirs.settled(systemClock.now(), false);
    }, 10);
    try {
      await ready;
      await waitFor(() => mine.probability() >= 0.89, 'the peer’s failures through Redis', {
        timeout: 10_000,
      });
      await proxy.setFault({ kind: 'blackhole' });
      // The next sync outlives its period: local counts only, one event, the flag down.
      await waitFor(() => !mine.fleetActive(), 'the fallback to local counts', { timeout: 2_000 });
      assert.equal(mine.probability(), 0);
      const failed = fleet.stats().failures;
      await waitFor(() => fleet.stats().failures >= failed + 2, 'more failed syncs', { timeout: 5_000 });
      assert.deepEqual(events, ['fallback']);
      assert.equal(fleet.stats().active, false);
      assert.ok(fleet.stats().lastError instanceof Error);
      // Deciding stays synchronous while the store is down.
      for (let i = 0; i < 100; i++) mine.admit(systemClock.now());
      await proxy.setFault({ kind: 'pass' });
      await waitFor(() => mine.fleetActive() && mine.probability() >= 0.89, 'the fleet’s counts back', {
        timeout: 10_000,
      });
      assert.deepEqual(events.slice(0, 2), ['fallback', 'restored']);
      assert.equal(events.at(-1), 'restored');
      assert.equal(fleet.stats().active, true);
    } finally {
      clearInterval(failing);
      fleet.close();
      peerFleet.close();
      viaProxy.disconnect();
      peer.disconnect();
    }
  });

  it('shares the retry budget: a quiet process refuses the retries another asks in vain, and is local at once when Redis stops answering', async (t) => {
    const child = spawn(
      process.execPath,
      [fileURLToPath(new URL('./fleet-peer.child.ts', import.meta.url)), db!.url, prefix, 'budget'],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    const proxy = cleanup(t, await startFaultProxy({ host: db!.host, port: db!.port }));
    const viaProxy = redisAt(proxy.host, proxy.port);
    await once(viaProxy, 'ready');
    const fleet = createFleet({ store: redisFleetStore(viaProxy, { prefix }), period: 50 });
    const events: string[] = [];
    fleet.on('fallback', () => events.push('fallback'));
    fleet.on('restored', () => events.push('restored'));
    // Its own tokens never run out: whatever is refused, the fleet refused.
    const mine = new RetryBudget(resolveRetryBudget({ reserve: 1e9 }), systemClock);
    fleet.attachBudget('http://upstream.test', mine);
    const admitted = (n: number): number => {
      let k = 0;
      for (let i = 0; i < n; i++) if (mine.withdraw()) k++;
      return k;
    };
    try {
      // This process has no success and asks nothing; the peer asks ~2 000 retries a second in vain.
      await waitFor(() => mine.fleetActive() && admitted(100) <= 5, 'the peer’s retries through Redis', {
        timeout: 10_000,
      });
      assert.ok(admitted(1000) < 50);
      // The budgets' fields (`t`: retries asked) sit in the throttles' bucket hashes, and expire too.
      let asked = 0;
      for (const k of await redis.keys(`${prefix}*`)) {
        asked += Number((await redis.hget(k, 't')) ?? 0);
        const ttl = await redis.pttl(k);
        assert.ok(ttl > 0 && ttl <= 10_000, `${k} expires in ${ttl}`);
      }
      assert.ok(asked > 0, 'retries asked, in Redis');
      await proxy.setFault({ kind: 'blackhole' });
      await waitFor(() => !mine.fleetActive(), 'the fallback to the local budget', { timeout: 2_000 });
      assert.equal(admitted(1000), 1000);
      await waitFor(() => fleet.stats().failures >= 3, 'three failed syncs', { timeout: 5_000 });
      assert.deepEqual(events, ['fallback']);
      await proxy.setFault({ kind: 'pass' });
      await waitFor(() => mine.fleetActive() && admitted(100) <= 5, 'the fleet’s totals back', {
        timeout: 10_000,
      });
      assert.deepEqual(events, ['fallback', 'restored']);
    } finally {
      child.stdin!.end();
      await once(child, 'exit');
      fleet.close();
      viaProxy.disconnect();
    }
  });
});

describe('the fleet on a virtual clock', () => {
  const FIELDS = ['requests', 'accepts', 'successes', 'retries', 'paid'] as const;
  type Counts = Record<(typeof FIELDS)[number], number>;
  const zero = (): Counts => ({ requests: 0, accepts: 0, successes: 0, retries: 0, paid: 0 });

  /** A store in memory that answers at once (what Redis's script computes); `down` fails it. */
  function memoryStore(): FleetStore & { calls: number; down: boolean } {
    const buckets = new Map<string, Counts>();
    return {
      calls: 0,
      down: false,
      async exchange(updates, bucket, keys, from, to) {
        this.calls++;
        if (this.down) throw new Error('store down');
        for (const u of updates) {
          const b = buckets.get(`${u.key}:${bucket}`) ?? zero();
          for (const f of FIELDS) b[f] += u[f];
          buckets.set(`${u.key}:${bucket}`, b);
        }
        const out = new Map<string, FleetCounts>();
        for (const k of keys) {
          const sum = zero();
          for (let b = from; b <= to; b++)
            for (const f of FIELDS) sum[f] += buckets.get(`${k}:${b}`)?.[f] ?? 0;
          out.set(k, sum);
        }
        return out;
      },
    };
  }

  it('scales the window’s totals to the throttle’s time constant and leaves out its own counts', async () => {
    const clock = new VirtualClock();
    const store = memoryStore();
    const options = { store, clock, period: 100, window: 1000, bucket: 100, key: () => 'up' };
    const a = createFleet(options);
    const b = createFleet(options);
    const ta = new Throttle(resolveThrottle({ window: 250 }), clock, target);
    const tb = new Throttle(resolveThrottle({ window: 250 }), clock, target);
    a.attach('http://a.test', ta);
    b.attach('http://b.test', tb);
    // B counts 40 failures every 100 ms: 400 over the 1 s window → 100 on a 250 ms scale.
    for (let i = 0; i < 30; i++) {
      for (let n = 0; n < 40; n++) tb.settled(clock.now(), false);
      await clock.advance(100);
    }
    await clock.advance(0);
    assert.ok(ta.fleetActive());
    assert.equal(ta.counts().requests, 0);
    // A sees B's 100 (±1 bucket of timing): p = min(0.9, 100/101).
    assert.equal(ta.probability(), 0.9);
    // B does not count itself twice: its others are A's zero.
    const own = tb.counts().requests;
    assert.ok(Math.abs(tb.probability() - Math.min(0.9, own / (own + 1))) < 1e-9);
    a.close();
    b.close();
    assert.equal(ta.fleetActive(), false);
    const calls = store.calls;
    await clock.advance(1_000);
    assert.equal(store.calls, calls, 'no sync after close');
  });

  it('shares the retry budgets’ counts: a quiet process refuses the retries a busy peer asks in vain; local again while the store fails', async () => {
    const clock = new VirtualClock({ seed: 7 });
    const store = memoryStore();
    const options = {
      store,
      clock,
      period: 100,
      window: 300,
      bucket: 100,
      key: () => 'up',
      minRetriesPerSecond: 0,
    };
    const a = createFleet(options);
    const b = createFleet(options);
    const events: string[] = [];
    a.on('fallback', () => events.push('fallback'));
    a.on('restored', () => events.push('restored'));
    const quiet = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    const busy = new RetryBudget(resolveRetryBudget({ reserve: 1e9 }), clock);
    a.attachBudget('http://a.test', quiet);
    b.attachBudget('http://b.test', busy);
    // B asks for 20 retries every 100 ms and none succeeds (the first ones go, then the fleet refuses).
    const asking = async (periods: number): Promise<void> => {
      for (let i = 0; i < periods; i++) {
        for (let n = 0; n < 20; n++) busy.withdraw();
        await clock.advance(100);
      }
      await clock.advance(0);
    };
    await asking(6);
    assert.equal(quiet.fleetActive(), true);
    assert.equal(quiet.withdraw(), false, 'no success in the fleet and floor 0: refused');
    assert.equal(quiet.level, RETRY_BUDGET_DEFAULTS.reserve, 'its own tokens untouched');
    const calls = store.calls;
    await asking(5);
    assert.equal(store.calls - calls, 10, 'one exchange per process per period');
    // The store fails: local budget at once, one event.
    store.down = true;
    await asking(3);
    assert.deepEqual(events, ['fallback']);
    assert.equal(quiet.fleetActive(), false);
    assert.equal(quiet.withdraw(), true, 'the local reserve again');
    store.down = false;
    await asking(4);
    assert.deepEqual(events, ['fallback', 'restored']);
    assert.equal(quiet.withdraw(), false);
    // Successes in the fleet pay for retries again.
    for (let i = 0; i < 500; i++) busy.recordSuccess({ attempts: 1, staleRetried: false, endedAt: 0 });
    // Published into the bucket filling now, read once it is complete: two periods.
    await clock.advance(200);
    await clock.advance(0);
    assert.equal(quiet.withdraw(), true);
    a.close();
    b.close();
    assert.equal(quiet.fleetJoined, false);
  });

  it('reads a new key’s totals at once, and its budget waits for them', async () => {
    const clock = new VirtualClock();
    const store = memoryStore();
    const fleet = createFleet({ store, clock, period: 100 });
    const first = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    const detachFirst = fleet.attachBudget('http://first.test', first);
    assert.equal(first.withdraw(), false, 'pending until the fleet’s first sync');
    await clock.advance(100);
    await clock.advance(0);
    assert.equal(store.calls, 1);
    assert.equal(first.withdraw(), true);
    const next = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    const detach = fleet.attachBudget('http://next.test', next);
    assert.equal(next.withdraw(), false);
    await clock.advance(0);
    await clock.advance(0);
    assert.equal(store.calls, 2, 'synced at once, not a period later');
    assert.equal(next.fleetActive(), true);
    assert.equal(next.withdraw(), true);
    detach();
    detach();
    detachFirst();
    assert.equal(next.fleetJoined, false);
    // No member left: the timer stops.
    await clock.advance(1_000);
    assert.equal(clock.pending, 0);
    fleet.close();
  });

  it('a fleet of budgets only is back as soon as its store says it is available', async () => {
    const clock = new VirtualClock();
    const store = memoryStore();
    let available: (() => void) | undefined;
    const fleet = createFleet({
      store: {
        exchange: store.exchange.bind(store),
        onAvailable: (listener) => {
          available = listener;
          return () => {};
        },
      },
      clock,
      period: 1_000,
    });
    const budget = new RetryBudget(RETRY_BUDGET_DEFAULTS, clock);
    fleet.attachBudget('http://up.test', budget);
    store.down = true;
    await clock.advance(1_000);
    await clock.advance(0);
    assert.equal(fleet.stats().active, false);
    store.down = false;
    available?.();
    await clock.advance(0);
    assert.equal(fleet.stats().active, true, 'synced at once, not at the next period');
    assert.equal(budget.fleetActive(), true);
    fleet.close();
  });

  it('rejects bad options and bad keys clearly', () => {
    assert.throws(() => createFleet({} as never), InvalidOptionError);
    assert.throws(() => createFleet({ store: { exchange: 1 } } as never), /fleet\.store/);
    const store = memoryStore();
    assert.throws(() => createFleet({ store, period: 0 }), /fleet\.period/);
    assert.throws(() => createFleet({ store, key: 'x' } as never), /fleet\.key/);
    assert.throws(() => createFleet({ store, other: 1 } as never), /fleet\.other/);
    assert.throws(() => createFleet({ store, minRetriesPerSecond: -1 }), /fleet\.minRetriesPerSecond/);
    for (const bad of [null, Number.POSITIVE_INFINITY, Number.NaN, '1']) {
      assert.throws(
        () => createFleet({ store, minRetriesPerSecond: bad as never }),
        /fleet\.minRetriesPerSecond/,
      );
    }
    const f = createFleet({ store, key: () => '' });
    assert.throws(
      () => f.attach('http://x', new Throttle(resolveThrottle({}), systemClock, target)),
      /fleet\.key/,
    );
    f.close();
    assert.throws(() => redisFleetStore({} as never), /redis/);
    assert.throws(() => redisFleetStore({ eval: async () => [] }, { ttl: -1 }), /store\.ttl/);
  });
});
