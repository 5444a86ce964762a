// The retry budget shared by a fleet, through the real client on loopback: two clients, each with
// its own Fleet on one store (two processes of a fleet), call an upstream answering 503. The quiet
// one makes no retry while the busy one's retries all fail, although its own tokens are full; it is
// back on its local budget at once when the store fails (stats().budgetFleet false); closing the
// clients takes their budgets out of the fleet's syncs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { systemClock } from '../../src/clock/clock.ts';
import { createFleet, type FleetCounts, type FleetStore } from '../../src/policy/fleet.ts';
import { RetryBudget, resolveRetryBudget } from '../../src/policy/retry-budget.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** The store's protocol in memory (Redis's script is tested in test/policy/fleet.test.ts). */
function memoryStore(): FleetStore & { down: boolean; calls: number } {
  const buckets = new Map<string, FleetCounts>();
  const add = (a: FleetCounts | undefined, b: FleetCounts): FleetCounts => ({
    requests: (a?.requests ?? 0) + b.requests,
    accepts: (a?.accepts ?? 0) + b.accepts,
    successes: (a?.successes ?? 0) + b.successes,
    retries: (a?.retries ?? 0) + b.retries,
    paid: (a?.paid ?? 0) + b.paid,
  });
  const none: FleetCounts = { requests: 0, accepts: 0, successes: 0, retries: 0, paid: 0 };
  return {
    down: false,
    calls: 0,
    async exchange(updates, bucket, keys, from, to) {
      this.calls++;
      if (this.down) throw new Error('store down');
      for (const u of updates) buckets.set(`${u.key}:${bucket}`, add(buckets.get(`${u.key}:${bucket}`), u));
      const out = new Map<string, FleetCounts>();
      for (const k of keys) {
        let sum = none;
        for (let b = from; b <= to; b++) sum = add(sum, buckets.get(`${k}:${b}`) ?? none);
        out.set(k, sum);
      }
      return out;
    },
  };
}

describe('retry budget shared by a fleet', () => {
  it('a quiet client makes no retry while the fleet’s retries fail, and is local again when the store fails', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let served = 0;
    server.handle((_req, res) => {
      served++;
      res.statusCode = 503;
      res.end('down');
    });
    const store = memoryStore();
    // No floor: with no success anywhere the fleet allows no retry at all, so the test is exact.
    const fleetOptions = { store, period: 20, key: () => 'upstream', minRetriesPerSecond: 0 };
    const busyFleet = createFleet(fleetOptions);
    const quietFleet = createFleet(fleetOptions);
    t.after(() => {
      busyFleet.close();
      quietFleet.close();
    });
    const backoff = { base: 1, cap: 1 };
    // The busy client's own tokens never run out: it keeps asking the fleet.
    const busy = createClient({
      breaker: false,
      retry: { backoff, budget: { reserve: 1e9, fleet: busyFleet } },
    });
    const quiet = createClient({ breaker: false, retry: { backoff, budget: { fleet: quietFleet } } });
    let stop = false;
    const busyLoop = (async () => {
      while (!stop) await (await busy.request(server.url)).body.dump();
    })();
    try {
      // The quiet client's first call joins the fleet (its first retries wait for the first sync).
      await (await quiet.request(server.url)).body.dump();
      // A budget of the quiet process's fleet on the same key reads the same totals: once the busy
      // client's failed retries have reached them, it is refused.
      const probe = new RetryBudget(resolveRetryBudget({ reserve: 1e9 }), systemClock);
      const detachProbe = quietFleet.attachBudget(server.origin, probe);
      t.after(detachProbe);
      await waitFor(
        () => probe.fleetActive() && !probe.withdraw(),
        'the busy client’s retries in the fleet’s totals',
        { timeout: 5_000 },
      );
      assert.equal(quiet.stats()[server.origin]?.budgetFleet, true);
      const before = served;
      const level = quiet.stats()[server.origin]!.budgetLevel;
      const res = await quiet.request(server.url);
      await res.body.dump();
      assert.equal(res.statusCode, 503);
      assert.equal(res.attempts, 1, 'the fleet refused the retry');
      const s = quiet.stats()[server.origin]!;
      assert.ok(s.budgetExhausted >= 1);
      assert.equal(s.budgetLevel, level, 'its own tokens untouched');
      assert.ok(level !== null && level >= 1);
      assert.ok(served - before >= 1);

      // The store fails: the local budget at once, the flag down.
      store.down = true;
      await waitFor(() => quiet.stats()[server.origin]?.budgetFleet === false, 'the fallback', {
        timeout: 5_000,
      });
      const local = await quiet.request(server.url);
      await local.body.dump();
      assert.ok(local.attempts >= 2, 'retried on its local tokens');
      assert.equal(quietFleet.stats().active, false);
      detachProbe();
    } finally {
      stop = true;
      await busyLoop;
      await busy.close();
      await quiet.close();
    }
    // Both clients left their fleets: no member, no more syncs.
    const calls = store.calls;
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(store.calls - calls <= 2, `${store.calls - calls} syncs after close`);
  });

  it('has no fleet flag without a fleet, and validates the option', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.end('ok');
    });
    const client = createClient();
    t.after(() => client.close());
    await (await client.request(server.url)).body.dump();
    assert.equal(client.stats()[server.origin]?.budgetFleet, null);
    assert.throws(() => createClient({ retry: { budget: { fleet: {} as never } } }), /retry\.budget\.fleet/);
  });
});
