// A loopback port whose SYNs can be dropped and let through again, at will, for the client's
// SYN-retransmit statistics and loss hints: shut() stops the listener accepting and fills its
// accept queue, so Linux drops every further SYN (the unaccepting listener's trick); open() lets
// it accept again, and a connect waiting for its SYN retransmission completes at the next
// retransmit point (+1 s). Accepted connections are piped to a target server. Repeatable, unlike
// the slow acceptor, whose listener is released once.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { BACKLOG, fillQueue } from './unaccepting-listener.ts';

export interface GatedListener extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** Stops accepting and fills the accept queue: from now on SYNs are dropped. */
  shut(): Promise<void>;
  /** Accepts again (the queue drains; a retransmitted SYN connects). */
  open(): void;
  close(): Promise<void>;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const sockets = new Set();
const gate = new Int32Array(workerData.gate);
const server = net.createServer((socket) => {
  const upstream = net.connect(workerData.target);
  for (const s of [socket, upstream]) {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => { sockets.delete(s); socket.destroy(); upstream.destroy(); });
  }
  socket.pipe(upstream);
  upstream.pipe(socket);
});
server.on('error', (err) => parentPort.postMessage({ error: String(err) }));
parentPort.on('message', (message) => {
  if (message === 'shut') {
    parentPort.postMessage({ shut: true });
    // Blocks this thread's event loop (nothing is accepted) until the gate opens.
    Atomics.wait(gate, 0, 0);
    return;
  }
  server.close();
  for (const s of sockets) s.destroy();
  parentPort.close();
});
server.listen({ host: workerData.host, port: 0, backlog: workerData.backlog }, () => {
  parentPort.postMessage({ port: server.address().port });
});
`;

/** Starts an open gated listener on `host`, piped to `target`. Linux only. */
export async function startGatedListener(
  target: { host: string; port: number },
  host = '127.0.0.1',
): Promise<GatedListener> {
  const shared = new SharedArrayBuffer(4);
  const gate = new Int32Array(shared);
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { host, gate: shared, backlog: BACKLOG, target },
  });
  worker.unref();
  let fillers: Socket[] = [];
  const open = (): void => {
    for (const socket of fillers) socket.destroy();
    fillers = [];
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
  };
  let closing: Promise<unknown> | undefined;
  const close = async (): Promise<void> => {
    if (closing === undefined) {
      open();
      worker.postMessage('close');
      closing = Promise.race([once(worker, 'exit'), new Promise((r) => setTimeout(r, 1_000))]).then(() =>
        worker.terminate(),
      );
    }
    await closing;
  };
  try {
    const [message] = (await once(worker, 'message')) as [{ port?: number; error?: string }];
    if (message.port === undefined) throw new Error(`gated listener failed: ${message.error}`);
    const port = message.port;
    const shut = async (): Promise<void> => {
      Atomics.store(gate, 0, 0);
      worker.postMessage('shut');
      await once(worker, 'message');
      await fillQueue(host, port, fillers);
    };
    return { host, port, shut, open, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}
