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
import { createFleet, type FleetStore, redisFleetStore } from '../../src/policy/fleet.ts';
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
});

describe('the fleet on a virtual clock', () => {
  /** A store in memory that answers at once (what Redis's script computes). */
  function memoryStore(): FleetStore & { calls: number } {
    const buckets = new Map<string, { requests: number; accepts: number }>();
    return {
      calls: 0,
      async exchange(updates, bucket, keys, from, to) {
        this.calls++;
        for (const u of updates) {
          const b = buckets.get(`${u.key}:${bucket}`) ?? { requests: 0, accepts: 0 };
          b.requests += u.requests;
          b.accepts += u.accepts;
          buckets.set(`${u.key}:${bucket}`, b);
        }
        const out = new Map();
        for (const k of keys) {
          let requests = 0;
          let accepts = 0;
          for (let b = from; b <= to; b++) {
            requests += buckets.get(`${k}:${b}`)?.requests ?? 0;
            accepts += buckets.get(`${k}:${b}`)?.accepts ?? 0;
          }
          out.set(k, { requests, accepts });
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

  it('rejects bad options and bad keys clearly', () => {
    assert.throws(() => createFleet({} as never), InvalidOptionError);
    assert.throws(() => createFleet({ store: { exchange: 1 } } as never), /fleet\.store/);
    const store = memoryStore();
    assert.throws(() => createFleet({ store, period: 0 }), /fleet\.period/);
    assert.throws(() => createFleet({ store, key: 'x' } as never), /fleet\.key/);
    assert.throws(() => createFleet({ store, other: 1 } as never), /fleet\.other/);
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
