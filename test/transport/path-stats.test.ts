// The client sees the path too: every TCP handshake's connect time goes to stats().path, and a
// connect whose SYN was dropped (a listener with a full accept queue, on loopback) shows the
// SYN-retransmit signature there. A TCP_TIMEOUT to an origin with that history carries the 'loss'
// hint; the same timeout to an origin without it does not. Hints never change code or layer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '../../src/client/client.ts';
import { isBulwarkError, PATH_HINTS } from '../../src/errors/bulwark-error.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startGatedListener } from '../helpers/gated-listener.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { startUnacceptingListener } from '../helpers/unaccepting-listener.ts';

/** Before the first SYN retransmission (1 s): the SYN is surely lost by then. */
const WHILE_LOST = 200;

describe('stats().path and the loss hint', { concurrency: true }, () => {
  it('a connect that waited for its SYN retransmission counts in synRetransmits; a TCP_TIMEOUT then carries hint loss', async (t) => {
    const server = cleanup(t, await startHttpServer());
    // Every response closes its connection: each request is a new TCP handshake.
    server.handle((_req, res) => {
      res.setHeader('connection', 'close');
      res.end('ok');
    });
    const gate = cleanup(t, await startGatedListener({ host: '127.0.0.1', port: server.port }));
    const client = createClient({ retry: false, timeout: { connect: 1_500 } });
    t.after(() => client.close());
    const url = `http://127.0.0.1:${gate.port}/`;

    const fast = await client.request(url);
    await fast.body.dump();
    await gate.shut();
    const slow = client.request(url);
    await sleep(WHILE_LOST);
    gate.open();
    await (await slow).body.dump();

    const path = client.stats()[`http://127.0.0.1:${gate.port}`]!.path;
    assert.equal(path.connect.count, 2);
    assert.equal(path.synRetransmits, 1, `connect times ${path.connect.p50} / ${path.connect.p99} ms`);
    assert.equal(path.synRetransmitShare, 0.5);
    assert.equal(path.estimatedLoss, round(1 / 3), 'one of three SYNs lost');
    assert.ok(path.connect.p99 >= 1_000 - 100, 'the slow one waited for the retransmission');

    await gate.shut();
    const err = await client.request(url).then(
      () => assert.fail('the SYNs are dropped: expected a timeout'),
      (e: unknown) => e,
    );
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'TCP_TIMEOUT');
    assert.equal(err.layer, 'tcp');
    assert.equal(err.hint, 'loss');
    assert.equal(err.toJSON().hint, 'loss');
    assert.ok(err.message.endsWith(`[hint: loss — ${PATH_HINTS.loss}]`), err.message);
    gate.open();
  });

  it('a TCP_TIMEOUT to an origin whose connects never showed a retransmission: no hint', async (t) => {
    const listener = cleanup(t, await startUnacceptingListener());
    const client = createClient({ retry: false, timeout: { connect: 300 } });
    t.after(() => client.close());
    const err = await client.request(`http://127.0.0.1:${listener.port}/`).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'TCP_TIMEOUT');
    assert.equal(err.hint, undefined);
    assert.equal('hint' in err.toJSON(), false);
    assert.equal(client.stats()[`http://127.0.0.1:${listener.port}`]!.path.connect.count, 0);
  });

  it('counts every handshake, also those of attempts that failed later (latency.connect does not)', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((req) => {
      req.socket.destroy();
    });
    const client = createClient({ retry: false });
    t.after(() => client.close());
    const err = await client.request(server.url).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    const stats = client.stats()[server.url]!;
    assert.equal(stats.path.connect.count, 1);
    assert.equal(stats.latency.connect.count, 0);
    assert.deepEqual(
      [stats.path.synRetransmits, stats.path.synRetransmitShare, stats.path.estimatedLoss],
      [0, 0, 0],
    );
  });
});

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
