// Proves the bare TCP servers: the silent one never answers nor closes, and the raw one lets a
// test write a malformed HTTP response that Node's parser rejects.
import assert from 'node:assert/strict';
import http from 'node:http';
import { test } from 'node:test';
import tls from 'node:tls';
import { cleanup } from './cleanup.ts';
import { startRawServer, startSilentServer } from './raw-server.ts';
import { TcpProbe } from './tcp-probe.ts';

test('the silent server accepts, reads, never writes and never closes', async (t) => {
  const server = cleanup(t, await startSilentServer());
  const client = cleanup(t, await TcpProbe.connect(server.port));
  client.socket.write('GET / HTTP/1.1\r\nhost: x\r\n\r\n');
  assert.deepEqual(await client.quietFor(150), { bytes: 0, ended: false, closed: false });
  assert.deepEqual([server.connections, server.openSockets], [1, 1]);
});

test('a TLS handshake against the silent server never completes', async (t) => {
  const server = cleanup(t, await startSilentServer());
  const socket = tls.connect({ host: server.host, port: server.port, rejectUnauthorized: false });
  try {
    const outcome = await new Promise<string>((resolve) => {
      socket.once('secureConnect', () => resolve('secure'));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
      setTimeout(() => resolve('pending'), 150);
    });
    assert.equal(outcome, 'pending');
  } finally {
    socket.destroy();
  }
});

test('the raw server can send a malformed status line', async (t) => {
  const server = cleanup(
    t,
    await startRawServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 abc\r\n\r\n'));
    }),
  );
  const failure = await new Promise<NodeJS.ErrnoException>((resolve) => {
    http.get(`http://${server.host}:${server.port}/`, { agent: false }).on('error', resolve);
  });
  assert.equal(failure.code, 'HPE_INVALID_STATUS');
});

test('close() destroys open sockets', async () => {
  const server = await startRawServer(() => {});
  const client = await TcpProbe.connect(server.port);
  await server.close();
  assert.equal(server.openSockets, 0);
  await client.untilClosed();
});
