// The per-origin breaker through the real client on a virtual clock: it opens on a failing
// upstream, answers CIRCUIT_OPEN without touching the network, and one probe closes it once the
// upstream heals. 4xx and caller aborts never count.
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { describe, it, type TestContext } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

/** A loopback server that answers 503 until `heal()`, then 200. */
async function failingUntilHealed(t: TestContext) {
  const server = cleanup(t, await startHttpServer());
  let healthy = false;
  server.handle((_req, res) => {
    res.statusCode = healthy ? 200 : 503;
    res.end(healthy ? 'ok' : 'down');
  });
  return {
    server,
    heal: () => {
      healthy = true;
    },
  };
}

describe('breaker', () => {
  it('opens on a failing upstream, fails fast without touching it, and one probe closes it', async (t) => {
    const { server, heal } = await failingUntilHealed(t);
    const clock = new VirtualClock();
    const events: string[] = [];
    const onState = (m: unknown) => events.push((m as { state: string }).state);
    channel('bulwark:breaker:state').subscribe(onState);
    t.after(() => channel('bulwark:breaker:state').unsubscribe(onState));
    const client = createClient({ clock, retry: false, breaker: { minimumCalls: 5, resetTimeout: 5_000 } });
    t.after(() => client.close());

    for (let i = 0; i < 5; i++) assert.equal((await client.fetch(server.url)).status, 503);
    assert.equal(client.stats()[server.origin]!.breaker, 'open');
    const seen = server.requests;

    const err = await client.fetch(server.url).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'CIRCUIT_OPEN');
    assert.equal(err.layer, 'circuit');
    assert.equal(err.mayHaveExecuted, false);
    assert.ok(isBulwarkError(err.cause), 'the cause is the failure that opened it');
    assert.equal(err.cause.code, 'HTTP_STATUS');
    assert.equal(err.cause.status, 503);
    assert.equal(server.requests, seen, 'no request reached the upstream');

    heal();
    await clock.advance(4_999);
    await assert.rejects(client.request(server.url), (e) => isBulwarkError(e) && e.code === 'CIRCUIT_OPEN');
    await clock.advance(1);
    assert.equal(client.stats()[server.origin]!.breaker, 'half-open');
    const probe = await client.request(server.url);
    assert.equal(probe.statusCode, 200);
    await probe.body.dump();
    assert.equal(client.stats()[server.origin]!.breaker, 'closed');
    assert.equal(server.requests, seen + 1, 'exactly one probe');
    assert.deepEqual(events, ['open', 'half-open', 'closed']);
  });

  it('with the defaults, an open breaker lets the next call probe 750 ms later, so traffic is back within a second of the heal', async (t) => {
    const { server, heal } = await failingUntilHealed(t);
    const clock = new VirtualClock();
    // Only the retry is off (its backoff would need the clock advanced); the breaker is the default one.
    const client = createClient({ clock, retry: false });
    t.after(() => client.close());
    // The default breaker opens once 20 calls in its window all failed.
    for (let i = 0; i < 20; i++) assert.equal((await client.fetch(server.url)).status, 503);
    assert.equal(client.stats()[server.origin]!.breaker, 'open');
    heal();
    await clock.advance(749);
    await assert.rejects(client.request(server.url), (e) => isBulwarkError(e) && e.code === 'CIRCUIT_OPEN');
    await clock.advance(1);
    const probe = await client.request(server.url);
    assert.equal(probe.statusCode, 200);
    await probe.body.dump();
    assert.equal(client.stats()[server.origin]!.breaker, 'closed');
  });

  it('opens on connection failures too, with the TCP error as the cause', async (t) => {
    const gone = await startHttpServer();
    const url = gone.url;
    await gone.close();
    const client = createClient({ retry: false, breaker: { minimumCalls: 3 } });
    t.after(() => client.close());
    for (let i = 0; i < 3; i++)
      await assert.rejects(client.request(url), (e) => isBulwarkError(e) && e.code === 'TCP_REFUSED');
    const err = await client.request(url).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err) && err.code === 'CIRCUIT_OPEN');
    assert.ok(isBulwarkError(err.cause) && err.cause.code === 'TCP_REFUSED');
  });

  it('4xx responses and caller aborts do not count as failures', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.statusCode = 404;
      res.end();
    });
    const client = createClient({ retry: false, breaker: { minimumCalls: 3 } });
    t.after(() => client.close());
    for (let i = 0; i < 10; i++) assert.equal((await client.fetch(server.url)).status, 404);
    for (let i = 0; i < 5; i++) {
      await assert.rejects(
        client.fetch(server.url, { signal: AbortSignal.abort(new Error('mine')) }),
        /mine/,
      );
    }
    assert.equal(client.stats()[server.origin]!.breaker, 'closed');
  });

  it('breakers are per origin', async (t) => {
    const bad = cleanup(t, await startHttpServer());
    bad.handle((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const good = cleanup(t, await startHttpServer());
    const client = createClient({ retry: false, breaker: { minimumCalls: 3 } });
    t.after(() => client.close());
    for (let i = 0; i < 3; i++) await (await client.fetch(bad.url)).text();
    assert.equal(client.stats()[bad.origin]!.breaker, 'open');
    assert.equal((await client.fetch(good.url)).status, 200);
    assert.equal(client.stats()[good.origin]!.breaker, 'closed');
  });
});
