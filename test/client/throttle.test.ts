// Adaptive throttling through the real client on loopback: an upstream answering 503 gets most
// attempts refused locally with CIRCUIT_THROTTLED (the server sees only what was let through),
// stats() shows it, and traffic comes back on its own once the upstream heals — no reset timeout.
// A client in a fleet takes its throttles out of the fleet's syncs when it closes.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { createFleet, type FleetStore } from '../../src/policy/fleet.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

describe('throttle', () => {
  it('sheds an outage locally and lets traffic back in as soon as the upstream answers', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let healthy = false;
    let served = 0;
    server.handle((_req, res) => {
      served++;
      res.statusCode = healthy ? 200 : 503;
      res.end(healthy ? 'ok' : 'down');
    });
    const clock = new VirtualClock();
    const client = createClient({ clock, retry: false, breaker: false, throttle: { window: 1_000 } });
    t.after(() => client.close());

    let throttled = 0;
    for (let i = 0; i < 200; i++) {
      try {
        const res = await client.request(server.url);
        await res.body.dump();
      } catch (err) {
        assert.ok(
          isBulwarkError(err) && err.code === 'CIRCUIT_THROTTLED' && err.layer === 'circuit',
          String(err),
        );
        assert.equal(err.target?.origin, server.origin);
        throttled++;
      }
    }
    assert.equal(served + throttled, 200);
    assert.ok(throttled > 120, `${throttled} of 200 refused`);
    const during = client.stats()[server.origin]!;
    assert.equal(during.throttle?.refused, throttled);
    assert.equal(during.throttle?.probability, 0.9);
    assert.equal(during.throttle?.fleet, false);
    assert.equal(during.failuresByCode.CIRCUIT_THROTTLED, throttled);

    // Healed: what goes through is accepted, and within a few windows nothing is refused.
    healthy = true;
    const healedAt = clock.now();
    let ok = 0;
    while (client.stats()[server.origin]!.throttle!.probability > 0) {
      assert.ok(clock.now() - healedAt < 10_000, 'still throttled 10 windows after the heal');
      try {
        const res = await client.fetch(server.url);
        await res.text();
        ok++;
      } catch {}
      await clock.advance(10);
    }
    assert.ok(ok > 0);
    for (let i = 0; i < 100; i++) {
      const res = await client.fetch(server.url);
      assert.equal(res.status, 200);
      await res.text();
    }
  });

  it('is off by default and validated', async () => {
    const client = createClient();
    await client.close();
    assert.throws(() => createClient({ throttle: { k: 0 } }), InvalidOptionError);
    assert.throws(() => createClient({ throttle: 'on' as never }), InvalidOptionError);
    assert.throws(() => createClient({ throttle: { fleet: {} as never } }), /throttle\.fleet/);
  });

  it('leaves the fleet when the client closes', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.end('ok');
    });
    const clock = new VirtualClock();
    let published = 0;
    const store: FleetStore = {
      async exchange(updates) {
        for (const u of updates) published += u.requests;
        return new Map();
      },
    };
    const fleet = createFleet({ store, clock, period: 100 });
    t.after(() => fleet.close());
    const client = createClient({ clock, throttle: { fleet } });
    await (await client.request(server.url)).body.dump();
    await clock.advance(100);
    await clock.advance(0);
    assert.equal(published, 1);
    assert.equal(client.stats()[server.origin]!.throttle?.fleet, true);
    await client.close();
    await (async () => {})();
    // No member is left: the fleet's timer stops.
    await clock.advance(1_000);
    assert.equal(clock.pending, 0);
  });
});
