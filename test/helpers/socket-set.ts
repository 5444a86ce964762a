// Tracks the sockets a test server has accepted, so that close() can destroy every one of them
// and the test process exits by itself instead of waiting for keep-alive or idle timers.
import type { Socket } from 'node:net';

export class SocketSet {
  #live = new Set<Socket>();
  #total = 0;

  /** Starts tracking `socket` until it closes. */
  add(socket: Socket): void {
    this.#total++;
    this.#live.add(socket);
    socket.once('close', () => this.#live.delete(socket));
  }

  /** Sockets accepted so far, including closed ones. */
  get total(): number {
    return this.#total;
  }

  /** Sockets still open. */
  get size(): number {
    return this.#live.size;
  }

  /** Destroys every open socket at once (no FIN handshake to wait for); resolves once all closed. */
  async destroyAll(): Promise<void> {
    const closed = [...this.#live].map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    for (const socket of this.#live) socket.destroy();
    await Promise.all(closed);
  }
}
