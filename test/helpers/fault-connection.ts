// One proxied TCP connection: the accepted client socket, its upstream socket and the two lanes
// between them. It applies a fault to itself whenever the proxy switches faults.
import net, { type Socket } from 'node:net';
import { Lane } from './fault-lane.ts';
import { type Fault, laneSettings } from './faults.ts';

export interface Target {
  host: string;
  port: number;
}

export interface ConnectionHooks {
  forwardedUp(bytes: number): void;
  forwardedDown(bytes: number): void;
  /** Both sockets are closed (or the client is, and upstream was never connected). */
  done(connection: ProxyConnection): void;
}

export class ProxyConnection {
  #client: Socket;
  #upstream = new net.Socket({ allowHalfOpen: true });
  #target: Target;
  #up: Lane;
  #down: Lane;
  #connected = false;
  #forgotten = false;
  #done = false;

  constructor(client: Socket, target: Target, fault: Fault, hooks: ConnectionHooks) {
    this.#client = client;
    this.#target = target;
    client.setNoDelay(true);
    const { up, down } = laneSettings({ kind: 'blackhole' }); // until apply() below
    this.#up = new Lane(client, this.#upstream, up, {
      forwarded: hooks.forwardedUp,
      reset: () => this.reset(),
    });
    this.#down = new Lane(this.#upstream, client, down, {
      forwarded: hooks.forwardedDown,
      reset: () => this.reset(),
    });
    const check = (): void => {
      const upstreamGone = this.#upstream.destroyed || !this.#connected;
      if (this.#done || !client.destroyed || !upstreamGone) return;
      this.#done = true;
      this.#up.stop();
      this.#down.stop();
      if (!this.#upstream.destroyed) this.#upstream.destroy();
      hooks.done(this);
    };
    client.on('close', check);
    this.#upstream.on('close', check);
    this.apply(fault);
  }

  /** Switches this connection to `fault`; a forgotten ('drop') connection stays forgotten. */
  apply(fault: Fault): void {
    if (this.#forgotten || this.#done) return;
    if (fault.kind === 'reset' || (fault.kind === 'reset-after' && fault.bytes === 0)) {
      this.reset();
      return;
    }
    if (fault.kind === 'drop') {
      this.#forgotten = true;
      this.#up.discard();
      this.#down.discard();
      return;
    }
    // Blackholed connections are not connected upstream yet: a partitioned SYN never arrives.
    if (fault.kind !== 'blackhole' && !this.#connected) {
      this.#connected = true;
      this.#upstream.connect({ host: this.#target.host, port: this.#target.port, noDelay: true });
    }
    const { up, down } = laneSettings(fault);
    this.#up.configure(up);
    this.#down.configure(down);
  }

  /** Resets (RST) both sides at once. */
  reset(): void {
    if (!this.#client.destroyed) this.#client.resetAndDestroy();
    if (this.#upstream.destroyed) return;
    if (this.#connected) this.#upstream.resetAndDestroy();
    else this.#upstream.destroy();
  }

  /** Destroys both sockets, for the proxy's close(); resolves once both are closed. */
  async destroy(): Promise<void> {
    this.#up.stop();
    this.#down.stop();
    const sockets = [this.#client, this.#upstream].filter((socket) => !socket.closed);
    const closed = sockets.map((socket) => new Promise((resolve) => socket.once('close', resolve)));
    for (const socket of sockets) socket.destroy();
    await Promise.all(closed);
  }
}
