// A loopback port where one TCP connect takes about a second, then carries a real exchange: the
// listener's accept queue is full when the client's SYN arrives, so Linux drops the SYN; the
// listener is released a moment later, and the client's first SYN retransmission (after the
// initial RTO of 1 s) connects. Accepted connections are piped to a target server, so a slow TCP
// handshake can be followed by TLS and HTTP. Built on the unaccepting listener's queue filling.
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { Worker } from 'node:worker_threads';
import { BACKLOG, fillQueue } from './unaccepting-listener.ts';

export interface SlowAcceptor extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** Lets the listener accept again (the queued and retransmitted SYNs then connect). */
  release(): void;
  close(): Promise<void>;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const sockets = new Set();
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
parentPort.on('message', () => {
  server.close();
  for (const s of sockets) s.destroy();
  parentPort.close();
});
server.listen({ host: workerData.host, port: 0, backlog: workerData.backlog }, () => {
  parentPort.postMessage({ port: server.address().port });
  // Blocks this thread's event loop (so nothing is accepted) until released.
  Atomics.wait(new Int32Array(workerData.wake), 0, 0);
});
`;

/** Starts a listener whose next connect hangs until {@link SlowAcceptor.release}, piped to `target`. */
export async function startSlowAcceptor(
  target: { host: string; port: number },
  host = '127.0.0.1',
): Promise<SlowAcceptor> {
  const wake = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER, { eval: true, workerData: { host, wake, backlog: BACKLOG, target } });
  worker.unref();
  const fillers: Socket[] = [];
  const release = (): void => {
    for (const socket of fillers) socket.destroy();
    Atomics.store(new Int32Array(wake), 0, 1);
    Atomics.notify(new Int32Array(wake), 0);
  };
  let closing: Promise<unknown> | undefined;
  const close = async (): Promise<void> => {
    if (closing === undefined) {
      release();
      worker.postMessage('close');
      closing = Promise.race([once(worker, 'exit'), new Promise((r) => setTimeout(r, 1_000))]).then(() =>
        worker.terminate(),
      );
    }
    await closing;
  };
  try {
    const [message] = (await once(worker, 'message')) as [{ port?: number; error?: string }];
    if (message.port === undefined) throw new Error(`slow acceptor failed: ${message.error}`);
    await fillQueue(host, message.port, fillers);
    return { host, port: message.port, release, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}
