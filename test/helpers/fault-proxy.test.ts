// Proves each fault of the fault proxy really happens on the wire, for new and live connections.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { type TestContext, test } from 'node:test';
import { startFaultProxy } from './fault-proxy.ts';
import type { Fault } from './faults.ts';
import { startHttpServer } from './http-server.ts';
import { startRawServer } from './raw-server.ts';
import { TcpProbe } from './tcp-probe.ts';
import { waitFor } from './wait-for.ts';

/** An upstream whose server-side sockets the test can watch and drive. */
async function startUpstream(t: TestContext, onPeer: (peer: TcpProbe) => void = () => {}) {
  const peers: TcpProbe[] = [];
  const server = await startRawServer((socket) => {
    const peer = new TcpProbe(socket);
    peers.push(peer);
    onPeer(peer);
  });
  t.after(() => server.close());
  return { server, peers, target: { host: server.host, port: server.port } };
}

const echo = (peer: TcpProbe): void => {
  peer.socket.on('data', (chunk) => peer.socket.write(chunk));
};

async function startProxy(t: TestContext, target: { host: string; port: number }, fault?: Fault) {
  const proxy = await startFaultProxy(target, fault === undefined ? {} : { fault });
  t.after(() => proxy.close());
  return proxy;
}

async function connect(t: TestContext, port: number): Promise<TcpProbe> {
  const probe = await TcpProbe.connect(port);
  t.after(() => probe.socket.destroy());
  return probe;
}

/** A client whose connect may fail or be reset; nothing is awaited. */
function dial(t: TestContext, port: number): TcpProbe {
  const probe = new TcpProbe(net.connect({ host: '127.0.0.1', port }));
  t.after(() => probe.socket.destroy());
  return probe;
}

test('pass forwards both ways, propagates FIN and counts', async (t) => {
  const { target } = await startUpstream(t, echo);
  const proxy = await startProxy(t, target);
  assert.equal(proxy.url, `http://127.0.0.1:${proxy.port}`);
  const client = await connect(t, proxy.port);
  client.socket.write('hello');
  await client.untilBytes(5);
  assert.equal(client.data.toString(), 'hello');
  assert.deepEqual([proxy.bytesUp, proxy.bytesDown, proxy.accepted, proxy.live], [5, 5, 1, 1]);

  client.socket.end(); // the upstream answers our FIN with its own (allowHalfOpen off)
  await client.until(() => client.ended, 'FIN from upstream');
  await waitFor(() => proxy.live === 0, 'live === 0');
  assert.equal(proxy.accepted, 1);
});

test('latency delays each direction and keeps order', async (t) => {
  const { target } = await startUpstream(t, echo);
  const proxy = await startProxy(t, target, { kind: 'latency', ms: 80 });
  const client = await connect(t, proxy.port);
  const start = performance.now();
  client.socket.write('a');
  await new Promise((resolve) => setTimeout(resolve, 10));
  client.socket.write('b');
  client.socket.write('c');
  await client.untilBytes(3);
  assert.ok(performance.now() - start >= 2 * 80 - 5, 'a round trip crosses the delay twice');
  assert.equal(client.data.toString(), 'abc');
});

test('blackhole accepts, forwards nothing, then delivers what it held when healed', async (t) => {
  const { server, target } = await startUpstream(t, echo);
  const proxy = await startProxy(t, target, { kind: 'blackhole' });
  const client = await connect(t, proxy.port); // the connect itself succeeds
  client.socket.write('held');
  assert.deepEqual(await client.quietFor(150), { bytes: 0, ended: false, closed: false });
  assert.equal(server.connections, 0, 'a blackholed connection is not connected upstream');

  await proxy.setFault({ kind: 'pass' });
  await client.untilBytes(4);
  assert.equal(client.data.toString(), 'held');
});

test('blackhole on a live connection holds both directions', async (t) => {
  const { peers, target } = await startUpstream(t);
  const proxy = await startProxy(t, target);
  const client = await connect(t, proxy.port);
  await waitFor(() => peers.length === 1, 'upstream connection');
  const peer = peers[0]!;

  await proxy.setFault({ kind: 'blackhole' });
  client.socket.write('up');
  peer.socket.write('down');
  const [clientSide, serverSide] = await Promise.all([client.quietFor(150), peer.quietFor(150)]);
  assert.deepEqual([clientSide.bytes, serverSide.bytes], [0, 0]);

  await proxy.setFault({ kind: 'pass' });
  await Promise.all([client.untilBytes(4), peer.untilBytes(2)]);
});

test('reset resets new connections on accept', async (t) => {
  const { server, target } = await startUpstream(t);
  const proxy = await startProxy(t, target, { kind: 'reset' });
  const client = dial(t, proxy.port);
  const error = await client.untilClosed();
  assert.equal(error?.code, 'ECONNRESET');
  assert.equal(server.connections, 0);
});

test('reset resets live connections at once, on both sides', async (t) => {
  const { peers, target } = await startUpstream(t);
  const proxy = await startProxy(t, target);
  const client = await connect(t, proxy.port);
  await waitFor(() => peers.length === 1, 'upstream connection');

  await proxy.setFault({ kind: 'reset' });
  assert.equal((await client.untilClosed())?.code, 'ECONNRESET');
  assert.equal((await peers[0]!.untilClosed())?.code, 'ECONNRESET');
});

test('reset-after forwards exactly N bytes downstream, then the client sees ECONNRESET', async (t) => {
  const { target } = await startUpstream(t, (peer) => peer.socket.write(Buffer.alloc(64 * 1024, 1)));
  const proxy = await startProxy(t, target, { kind: 'reset-after', bytes: 1000 });
  const client = dial(t, proxy.port);
  const error = await client.untilClosed();
  assert.equal(error?.code, 'ECONNRESET');
  assert.equal(client.received, 1000);
  assert.equal(proxy.bytesDown, 1000);
});

test('reset-after on a live connection counts from the switch', async (t) => {
  const { peers, target } = await startUpstream(t);
  const proxy = await startProxy(t, target);
  const client = await connect(t, proxy.port);
  await waitFor(() => peers.length === 1, 'upstream connection');
  peers[0]!.socket.write('12345');
  await client.untilBytes(5);

  await proxy.setFault({ kind: 'reset-after', bytes: 3 });
  peers[0]!.socket.write('abcdef');
  assert.equal((await client.untilClosed())?.code, 'ECONNRESET');
  assert.equal(client.data.toString(), '12345abc');
});

test('stall-after forwards exactly N bytes downstream, then nothing, without closing', async (t) => {
  const size = 64 * 1024;
  const { target } = await startUpstream(t, (peer) => peer.socket.write(Buffer.alloc(size, 1)));
  const proxy = await startProxy(t, target, { kind: 'stall-after', bytes: 1000 });
  const client = await connect(t, proxy.port);
  await client.untilBytes(1000);
  assert.deepEqual(await client.quietFor(200), { bytes: 0, ended: false, closed: false });
  assert.equal(client.received, 1000);

  client.socket.write('still');
  assert.equal(proxy.bytesUp, 0); // upstream direction passes (checked below once it arrives)
  await waitFor(() => proxy.bytesUp === 5, 'client→server still forwarded');

  await proxy.setFault({ kind: 'pass' }); // switching a live connection releases the rest
  await client.untilBytes(size);
  assert.equal(client.received, size);
});

test('drop: nothing crosses either way, nobody sees a close, and it never heals', async (t) => {
  const { peers, target } = await startUpstream(t, echo);
  const proxy = await startProxy(t, target);
  const client = await connect(t, proxy.port);
  client.socket.write('hi');
  await client.untilBytes(2);
  const peer = peers[0]!;

  await proxy.setFault({ kind: 'drop' });
  client.socket.write('lost up');
  peer.socket.write('lost down');
  const [clientSide, serverSide] = await Promise.all([client.quietFor(150), peer.quietFor(150)]);
  assert.deepEqual(clientSide, { bytes: 0, ended: false, closed: false });
  assert.deepEqual(serverSide, { bytes: 0, ended: false, closed: false });

  // The client gives up on the connection: the server is not told either.
  await proxy.setFault({ kind: 'pass' });
  client.socket.destroy();
  assert.deepEqual(await peer.quietFor(100), { bytes: 0, ended: false, closed: false });

  // New connections work again once the fault changes.
  const fresh = await connect(t, proxy.port);
  fresh.socket.write('new');
  await fresh.untilBytes(3);
  assert.equal(fresh.data.toString(), 'new');
});

test('drop: new connections are forgotten too while it is set', async (t) => {
  const { server, target } = await startUpstream(t, echo);
  const proxy = await startProxy(t, target, { kind: 'drop' });
  const client = await connect(t, proxy.port);
  client.socket.write('x');
  assert.deepEqual(await client.quietFor(150), { bytes: 0, ended: false, closed: false });
  await proxy.setFault({ kind: 'pass' });
  assert.deepEqual(await client.quietFor(50), { bytes: 0, ended: false, closed: false });
  assert.equal(server.connections, 0);
});

test('refuse: ECONNREFUSED, live connections pass, then the same port accepts again', async (t) => {
  const { target } = await startUpstream(t, echo);
  const proxy = await startProxy(t, target);
  const port = proxy.port;
  const live = await connect(t, port);

  await proxy.setFault({ kind: 'refuse' });
  await assert.rejects(TcpProbe.connect(port), { code: 'ECONNREFUSED' });
  live.socket.write('alive');
  await live.untilBytes(5);

  await proxy.setFault({ kind: 'pass' });
  assert.equal(proxy.port, port);
  const again = await connect(t, port);
  again.socket.write('back');
  await again.untilBytes(4);
});

test('refuse from the start reserves a port and listens on it when switched', async (t) => {
  const { target } = await startUpstream(t, echo);
  const proxy = await startProxy(t, target, { kind: 'refuse' });
  await assert.rejects(TcpProbe.connect(proxy.port), { code: 'ECONNREFUSED' });
  await proxy.setFault({ kind: 'latency', ms: 1 });
  const client = await connect(t, proxy.port);
  client.socket.write('ok');
  await client.untilBytes(2);
});

test('an upstream that refuses resets the client', async (t) => {
  const { server, target } = await startUpstream(t);
  await server.close(); // nothing listens on target.port now
  const proxy = await startProxy(t, target);
  const client = dial(t, proxy.port);
  assert.equal((await client.untilClosed())?.code, 'ECONNRESET');
});

test('close() destroys every connection on both sides', async (t) => {
  const { peers, target } = await startUpstream(t);
  const proxy = await startProxy(t, target, { kind: 'latency', ms: 10_000 });
  const client = await connect(t, proxy.port);
  client.socket.write('never delivered');
  await proxy.setFault({ kind: 'pass' });
  await waitFor(() => peers.length === 1, 'upstream connection');
  await proxy.close();
  await client.untilClosed();
  await peers[0]!.untilClosed();
  await assert.rejects(proxy.setFault({ kind: 'pass' }), /closed/);
});

test('setFault rejects malformed faults', async (t) => {
  const { target } = await startUpstream(t);
  const proxy = await startProxy(t, target);
  await assert.rejects(proxy.setFault({ kind: 'latency', ms: -1 }), TypeError);
  await assert.rejects(proxy.setFault({ kind: 'stall-after', bytes: Number.NaN }), TypeError);
  await assert.rejects(proxy.setFault({ kind: 'nope' } as unknown as Fault), TypeError);
  assert.deepEqual(proxy.fault, { kind: 'pass' });
});

test('HTTP goes through the proxy; a stall mid-body leaves the response hanging', async (t) => {
  const server = await startHttpServer({
    handler: (_req, res) => {
      res.writeHead(200, { 'content-length': '10000' }).end(Buffer.alloc(10_000, 'x'));
    },
  });
  t.after(() => server.close());
  const proxy = await startProxy(t, { host: server.host, port: server.port });
  const agent = new http.Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  const get = (onBody: (bytes: number) => void) =>
    new Promise<number>((resolve, reject) => {
      http
        .get(proxy.url, { agent }, (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => {
            bytes += chunk.length;
            onBody(bytes);
          });
          res.on('end', () => resolve(res.statusCode ?? 0));
        })
        .on('error', reject);
    });
  assert.equal(await get(() => {}), 200);

  // The same keep-alive connection now stalls after 500 bytes of the next response.
  await proxy.setFault({ kind: 'stall-after', bytes: 500 });
  let body = 0;
  const pending = get((bytes) => {
    body = bytes;
  });
  await waitFor(() => proxy.bytesDown > 0 && body > 0, 'the first body bytes');
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(body < 500, `got ${body} body bytes, headers and body together are 500`);
  assert.equal(proxy.accepted, 1, 'the stalled request reused the connection');

  await proxy.setFault({ kind: 'pass' });
  assert.equal(await pending, 200);
  assert.equal(body, 10_000);
});
