// A TCP client socket that records everything that happens to it (bytes, FIN, error, close),
// so tests can wait for an exact state or assert that nothing happened for a while.
import net, { type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export class TcpProbe implements AsyncDisposable {
  readonly socket: Socket;
  #chunks: Buffer[] = [];
  #received = 0;
  #ended = false;
  #closed = false;
  #error: NodeJS.ErrnoException | undefined;
  #waiters = new Set<() => void>();

  /** Wraps `socket` (already connected or connecting) and starts recording. */
  constructor(socket: Socket) {
    this.socket = socket;
    const changed = (): void => {
      for (const waiter of this.#waiters) waiter();
    };
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#received += chunk.length;
      changed();
    });
    socket.on('end', () => {
      this.#ended = true;
      changed();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#error = err;
      changed();
    });
    socket.on('close', () => {
      this.#closed = true;
      changed();
    });
  }

  /** Connects to `host`:`port`; resolves once connected, rejects with the connect error. */
  static async connect(port: number, host = '127.0.0.1'): Promise<TcpProbe> {
    const socket = net.connect({ host, port, noDelay: true });
    const probe = new TcpProbe(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return probe;
  }

  /** All bytes received so far. */
  get data(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  get received(): number {
    return this.#received;
  }

  /** The peer sent FIN. */
  get ended(): boolean {
    return this.#ended;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get error(): NodeJS.ErrnoException | undefined {
    return this.#error;
  }

  /** Resolves when `condition()` holds; rejects after `timeoutMs` with `what` in the message. */
  until(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = (): void => {
        if (!condition()) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.#describe()})`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Resolves once at least `bytes` bytes have arrived. */
  untilBytes(bytes: number, timeoutMs?: number): Promise<void> {
    return this.until(() => this.#received >= bytes, `${bytes} bytes`, timeoutMs);
  }

  /** Resolves once the socket is closed, with the error that closed it if any. */
  async untilClosed(timeoutMs?: number): Promise<NodeJS.ErrnoException | undefined> {
    await this.until(() => this.#closed, 'close', timeoutMs);
    return this.#error;
  }

  /** Waits `ms` and returns how many bytes arrived and whether the socket ended or closed meanwhile. */
  async quietFor(ms: number): Promise<{ bytes: number; ended: boolean; closed: boolean }> {
    const before = this.#received;
    await sleep(ms);
    return { bytes: this.#received - before, ended: this.#ended, closed: this.#closed };
  }

  #describe(): string {
    const error = this.#error ? `, error ${this.#error.code}` : '';
    return `received ${this.#received} bytes, ended ${this.#ended}, closed ${this.#closed}${error}`;
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.socket.destroy();
    return Promise.resolve();
  }
}
