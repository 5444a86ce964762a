// Proves that a connect to the unaccepting listener hangs (as to a host that drops SYNs) while
// an ordinary loopback connect completes at once.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { cleanup } from './cleanup.ts';
import { startRawServer } from './raw-server.ts';
import { TcpProbe } from './tcp-probe.ts';
import { startUnacceptingListener } from './unaccepting-listener.ts';

test('a connect to it does not complete, while a normal one does', async (t) => {
  const normal = cleanup(t, await startRawServer(() => {}));
  const probe = cleanup(t, await TcpProbe.connect(normal.port));
  assert.equal(probe.socket.readyState, 'open');

  const listener = cleanup(t, await startUnacceptingListener());
  const socket = net.connect({ host: listener.host, port: listener.port });
  try {
    const outcome = await new Promise<string>((resolve) => {
      socket.once('connect', () => resolve('connected'));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
      setTimeout(() => resolve('pending'), 300);
    });
    assert.equal(outcome, 'pending');
    assert.equal(socket.connecting, true);
  } finally {
    socket.destroy();
  }
});

test('several hanging connects at once, and close() frees the port', async () => {
  const listener = await startUnacceptingListener();
  const sockets = [1, 2, 3].map(() => net.connect({ host: listener.host, port: listener.port }));
  await new Promise((resolve) => setTimeout(resolve, 150));
  assert.deepEqual(
    sockets.map((s) => s.connecting),
    [true, true, true],
  );
  for (const socket of sockets) socket.destroy();

  await listener.close();
  await listener.close(); // idempotent
  await assert.rejects(TcpProbe.connect(listener.port, listener.host), { code: 'ECONNREFUSED' });
});
