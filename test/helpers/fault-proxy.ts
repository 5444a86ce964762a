// A fault-injecting TCP proxy on loopback in front of a real server: tests put it between a
// client and an upstream and switch faults (latency, blackhole, reset, stall, drop, refuse) at
// any time, on live connections as well as new ones.
import net, { type Socket } from 'node:net';
import { type ConnectionHooks, ProxyConnection, type Target } from './fault-connection.ts';
import { checkFault, type Fault } from './faults.ts';
import { hostPort, listen } from './listen.ts';
import { SocketSet } from './socket-set.ts';

export type { Target } from './fault-connection.ts';
export type { Fault } from './faults.ts';

export interface FaultProxyOptions {
  /** Loopback address to listen on. @default '127.0.0.1' */
  host?: string;
  /** The fault in force from the start. @default { kind: 'pass' } */
  fault?: Fault;
}

/** A started proxy; see {@link startFaultProxy}. */
export class FaultProxy implements AsyncDisposable {
  readonly host: string;
  readonly target: Target;
  #port = 0;
  #fault: Fault;
  #listener: net.Server | undefined;
  #clients = new SocketSet();
  #connections = new Set<ProxyConnection>();
  #bytesUp = 0;
  #bytesDown = 0;
  #hooks: ConnectionHooks = {
    forwardedUp: (n) => {
      this.#bytesUp += n;
    },
    forwardedDown: (n) => {
      this.#bytesDown += n;
    },
    done: (connection) => this.#connections.delete(connection),
  };
  #closing: Promise<void> | undefined;

  static async start(target: Target, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
    const proxy = new FaultProxy(target, opts);
    if (proxy.#fault.kind === 'refuse') {
      // Reserve a port that nothing listens on yet; listen() there once the fault changes.
      const probe = net.createServer();
      proxy.#port = await listen(probe, proxy.host);
      await new Promise((resolve) => probe.close(resolve));
    } else {
      proxy.#listener = proxy.#createListener();
      proxy.#port = await listen(proxy.#listener, proxy.host);
    }
    return proxy;
  }

  private constructor(target: Target, opts: FaultProxyOptions) {
    this.target = { host: target.host, port: target.port };
    this.host = opts.host ?? '127.0.0.1';
    this.#fault = opts.fault ?? { kind: 'pass' };
    checkFault(this.#fault);
  }

  get port(): number {
    return this.#port;
  }

  /** `http://127.0.0.1:PORT`, for HTTP clients going through the proxy. */
  get url(): string {
    return `http://${hostPort(this.host, this.#port)}`;
  }

  get fault(): Fault {
    return this.#fault;
  }

  /** Connections accepted so far. */
  get accepted(): number {
    return this.#clients.total;
  }

  /** Client sockets open now (a dropped connection counts until its client closes). */
  get live(): number {
    return this.#clients.size;
  }

  /** Bytes forwarded client→server. */
  get bytesUp(): number {
    return this.#bytesUp;
  }

  /** Bytes forwarded server→client. */
  get bytesDown(): number {
    return this.#bytesDown;
  }

  /**
   * Switches to `fault` for live and new connections. Resolves once it is in force: at once,
   * except when the listener must be closed ('refuse') or opened again (leaving 'refuse').
   */
  async setFault(fault: Fault): Promise<void> {
    checkFault(fault);
    if (this.#closing) throw new Error('fault proxy is closed');
    this.#fault = fault;
    for (const connection of this.#connections) connection.apply(fault);
    if (fault.kind === 'refuse' && this.#listener) {
      // close() stops accepting at once; its callback would wait for live connections to end.
      this.#listener.close();
      this.#listener = undefined;
    } else if (fault.kind !== 'refuse' && !this.#listener) {
      const listener = this.#createListener();
      this.#listener = listener;
      try {
        await listen(listener, this.host, this.#port);
      } catch (err) {
        if (this.#listener === listener) this.#listener = undefined;
        throw new Error(`fault proxy could not listen on port ${this.#port} again`, { cause: err });
      }
    }
  }

  /** Closes the listener and destroys every connection, both sides. */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    const listener = this.#listener;
    this.#listener = undefined;
    const closed: Promise<unknown>[] = [...this.#connections].map((connection) => connection.destroy());
    this.#connections.clear();
    closed.push(this.#clients.destroyAll()); // and any client socket not yet closed
    if (listener) closed.push(new Promise((resolve) => listener.close(resolve)));
    this.#closing = Promise.all(closed).then(() => {});
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #createListener(): net.Server {
    return net.createServer({ allowHalfOpen: true }, (client) => this.#accept(client));
  }

  #accept(client: Socket): void {
    this.#clients.add(client);
    if (this.#closing) {
      client.destroy();
      return;
    }
    this.#connections.add(new ProxyConnection(client, this.target, this.#fault, this.#hooks));
  }
}

/** Starts a proxy on a loopback port 0 forwarding to `target`. */
export function startFaultProxy(target: Target, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  return FaultProxy.start(target, opts);
}
