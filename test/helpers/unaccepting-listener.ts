// A loopback port where a TCP connect never completes, for connect timeouts: on loopback a
// closed port answers RST at once, so instead a listener never accepts and its accept queue is
// filled; Linux then drops further SYNs, and the client keeps retransmitting until it gives up.
//
// The listener lives in a worker thread that blocks in Atomics.wait right after listening, so
// its event loop never accepts; no child process or signals are needed.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net, { type Socket } from 'node:net';
import { Worker } from 'node:worker_threads';

export interface UnacceptingListener extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** Ends the worker and the sockets that fill its queue. */
  close(): Promise<void>;
}

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const net = require('node:net');
const server = net.createServer();
server.on('error', (err) => parentPort.postMessage({ error: String(err) }));
// A short backlog (0 would mean Node's default, 511) fills with a couple of connections.
server.listen({ host: workerData.host, port: 0, backlog: workerData.backlog }, () => {
  parentPort.postMessage({ port: server.address().port });
  Atomics.wait(new Int32Array(workerData.wake), 0, 0);
});
`;

/** The worker's listen() backlog; Linux queues backlog + 1 connections before dropping SYNs. */
export const BACKLOG = 1;
/** How long a filler may take to connect before the queue may be full. */
const FULL_AFTER_MS = 100;
/** With /proc: a filler slower than this (while the queue is not full) means something is wrong. */
const CONNECT_LIMIT_MS = 5000;
/** More fillers than this means the kernel is not dropping SYNs: give up rather than loop. */
const MAX_FILLERS = 64;

type Outcome = 'connected' | 'pending' | 'failed';

/** Waits up to `ms` for `socket` to connect; may be called again on a pending socket. */
function waitConnect(socket: Socket, ms: number): Promise<Outcome> {
  if (!socket.connecting) return Promise.resolve(socket.destroyed ? 'failed' : 'connected');
  return new Promise((resolve) => {
    const done = (outcome: Outcome): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('close', onClose);
      resolve(outcome);
    };
    const onConnect = (): void => done('connected');
    const onClose = (): void => done('failed');
    socket.once('connect', onConnect);
    socket.once('close', onClose);
    // The timer phase runs before the poll phase: after a stalled event loop a completed connect
    // may not be reported yet, so look once more after one poll before calling it pending.
    const timer = setTimeout(() => setImmediate(() => done(socket.connecting ? 'pending' : 'connected')), ms);
  });
}

/**
 * Connections waiting in the accept queue of the listener on `port`, read from /proc/net/tcp
 * (for a listening socket, rx_queue is that count); undefined where /proc is not available.
 */
function acceptQueueLength(host: string, port: number): number | undefined {
  let table: string;
  try {
    table = readFileSync(host.includes(':') ? '/proc/net/tcp6' : '/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  const suffix = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of table.split('\n')) {
    const [, local, , state, queues] = line.trim().split(/\s+/);
    if (local?.endsWith(suffix) && state === '0A' && queues !== undefined) {
      return Number.parseInt(queues.split(':')[1] ?? '', 16);
    }
  }
  return undefined;
}

/**
 * Connects fillers one by one until the accept queue is full, so that further SYNs are dropped.
 * A filler still pending after a short wait shows the queue is full — unless /proc says the
 * queue still has room (a slow machine, not a full queue): then it waits on for that filler.
 */
export async function fillQueue(host: string, port: number, sockets: Socket[]): Promise<void> {
  const full = (): boolean | undefined => {
    const length = acceptQueueLength(host, port);
    return length === undefined ? undefined : length > BACKLOG;
  };
  for (let i = 0; i < MAX_FILLERS; i++) {
    const socket = net.connect({ host, port });
    socket.on('error', () => {});
    sockets.push(socket);
    let outcome = await waitConnect(socket, FULL_AFTER_MS);
    if (outcome === 'pending') {
      if (full() !== false) return; // full, or no /proc to ask: trust the pending connect
      outcome = await waitConnect(socket, CONNECT_LIMIT_MS);
      if (outcome === 'pending')
        throw new Error(`filler connect to ${host}:${port} hangs with room in the queue`);
    }
    if (outcome === 'failed') throw new Error(`filler connect to ${host}:${port} failed`);
    if (full() === true) return; // saves waiting for one more filler to hang
  }
  throw new Error(`accept queue of ${host}:${port} never filled`);
}

/** Starts a listener whose connects hang; see the file comment. Linux only. */
export async function startUnacceptingListener(host = '127.0.0.1'): Promise<UnacceptingListener> {
  const wake = new SharedArrayBuffer(4);
  const worker = new Worker(WORKER, { eval: true, workerData: { host, wake, backlog: BACKLOG } });
  worker.unref(); // a forgotten close() must not keep the test process alive
  const sockets: Socket[] = [];
  let closing: Promise<number> | undefined;
  const close = async (): Promise<void> => {
    if (closing === undefined) {
      for (const socket of sockets) socket.destroy();
      // Wake the worker first: terminate() must not depend on interrupting Atomics.wait.
      Atomics.store(new Int32Array(wake), 0, 1);
      Atomics.notify(new Int32Array(wake), 0);
      closing = worker.terminate();
    }
    await closing;
  };
  try {
    const [message] = (await once(worker, 'message')) as [{ port?: number; error?: string }];
    if (message.port === undefined) throw new Error(`unaccepting listener failed: ${message.error}`);
    const port = message.port;
    await fillQueue(host, port, sockets);
    return { host, port, close, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}
