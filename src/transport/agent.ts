/**
 * The keepalive-tuned undici agent: one pool of connections per origin, every connection made by
 * Bulwark's three-phase connector, retired after a jittered maximum lifetime or when DNS says its
 * address left the name's answer. It also tells each request which connection carried it, for
 * timings and the stale keep-alive rule.
 */
import { Client, type Dispatcher, errors, Pool } from 'undici';
import { MAX_DURATION } from '../options/validate.ts';
import type { Connector } from './connect.ts';
import { type ConnectionRecord, newConnectionRecord } from './connection.ts';

/** Set on a request's dispatch options; the connection that takes the request writes itself into it. */
export const kAttempt: unique symbol = Symbol('bulwark.attempt');

/** The part of a request's state the agent writes: which connection took it. */
export interface AttemptLink {
  /** The connection the request was dispatched on (set at dispatch). */
  client: TrackedClient | undefined;
  /** The connection's record when it was already open at dispatch, i.e. the request reuses it. */
  reusedConnection: ConnectionRecord | undefined;
}

/** The agent's resolved options. */
export interface AgentOptions {
  readonly connector: Connector;
  /** Connections per origin (`null`: unlimited). */
  readonly connections: number | null;
  /** Keep-alive idle timeout of a connection, in milliseconds. */
  readonly idleTimeout: number;
  /** Maximum lifetime of a connection, in milliseconds (before jitter). */
  readonly maxLifetime: number;
  /** Relative jitter of the lifetime: 0.1 is ±10 %. */
  readonly lifetimeJitter: number;
  /** undici's headers timeout (time to the response headers once the request is sent). */
  readonly headersTimeout: number;
  /** undici's body timeout (idle time between body chunks). */
  readonly bodyTimeout: number;
  /** Randomness for the lifetime jitter. */
  readonly random: () => number;
  /** Speak HTTP/2 on connections whose TLS handshake chose it (the connector offers it). */
  readonly allowH2: boolean;
  /** The most streams in flight on one HTTP/2 connection (the client's validated option). */
  readonly maxConcurrentStreams: number;
}

/** An undici `Client` (one connection, no pipelining) that records its connection and requests. */
export class TrackedClient extends Client {
  /** The record of the current (or last) connection. */
  current: ConnectionRecord | undefined;

  constructor(origin: URL, opts: Client.Options & { connect: Connector }, owner: BulwarkAgent, host: string) {
    const self: { client?: TrackedClient } = {};
    const connector = opts.connect;
    super(origin, {
      ...opts,
      connect: (params, callback) => {
        const client = self.client!;
        const rec = newConnectionRecord(
          origin.origin,
          params.hostname,
          Number(params.port) || defaultPort(origin),
        );
        const lifetime = owner.lifetime();
        rec.expiresAt = rec.startedAt + lifetime;
        client.current = rec;
        connector(
          params as Parameters<Connector>[0],
          (err, socket) => {
            if (socket !== null) {
              // One timer per connection, so no request pays for a clock read to check its age.
              const timer = setTimeout(
                () => {
                  rec.retired = true;
                },
                lifetime - (performance.now() - rec.startedAt),
              );
              timer.unref();
              socket.once('close', () => clearTimeout(timer));
            }
            (callback as Parameters<Connector>[1])(err, socket);
          },
          rec,
        );
      },
    });
    self.client = this;
    owner.track(host, this);
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    const current = this.current;
    const link = (opts as { [kAttempt]?: AttemptLink })[kAttempt];
    if (link !== undefined) {
      link.client = this;
      link.reusedConnection =
        current !== undefined && current.phase === 'open' && current.socket?.destroyed === false
          ? current
          : undefined;
    }
    if (current !== undefined && current.phase === 'open' && current.retired) {
      // HTTP/2 (undici ignores `reset` on h2 and cannot send a GOAWAY) and an ejected address's
      // connection (which carries no further request): closed the first time a request finds it
      // idle, and the request goes out on a new connection, through DNS and the connector (which
      // skips an ejected address) — not a reuse. A busy h2 connection takes the request among its
      // streams, as cutting them off would fail requests that were fine.
      if (current.protocol === 'h2' || current.ejected) {
        if (this.stats.running === 0 && current.socket !== undefined && !current.socket.destroyed) {
          current.socket.destroy();
          if (link !== undefined) link.reusedConnection = undefined;
          return super.dispatch(opts, handler);
        }
        if (current.protocol === 'h2') return super.dispatch(opts, handler);
      }
      // Past its lifetime or retired (or ejected and busy: queued behind its response): this
      // request is the connection's last (`reset` closes it after the response) and the next one
      // on this client connects afresh, through DNS.
      return super.dispatch({ ...opts, reset: true }, handler);
    }
    return super.dispatch(opts, handler);
  }

  /**
   * Stops reuse of this connection: an idle one is closed now; a busy one finishes its response,
   * and the next request this client takes goes out with `reset` (its last on that connection)
   * unless the keep-alive idle timeout closes it first — or, for an `ejected` address, a request
   * that finds it idle closes it and connects afresh.
   */
  retire(ejected = false): void {
    const rec = this.current;
    if (rec === undefined) return;
    rec.retired = true;
    if (ejected) rec.ejected = true;
    if (this.stats.size === 0 && rec.socket !== undefined && !rec.socket.destroyed) rec.socket.destroy();
  }
}

function defaultPort(url: URL): number {
  return url.protocol === 'https:' ? 443 : 80;
}

/**
 * The agent: one undici `Pool` per origin, with Bulwark's connections and their tracking. It is
 * also the dispatcher `client.fetch` hands undici's fetch (see {@link BulwarkAgent.dispatch}).
 */
export class BulwarkAgent {
  readonly #options: AgentOptions;
  readonly #byHost = new Map<string, Set<TrackedClient>>();
  readonly #pools = new Map<string, Pool>();
  readonly #poolOptions: Pool.Options;
  #closed = false;

  constructor(options: AgentOptions) {
    this.#options = options;
    this.#poolOptions = {
      connect: options.connector as unknown as NonNullable<Pool.Options['connect']>,
      connections: options.connections,
      pipelining: 1,
      keepAliveTimeout: options.idleTimeout,
      // A server's keep-alive hint may shorten the idle timeout, never lengthen it.
      keepAliveMaxTimeout: options.idleTimeout,
      headersTimeout: options.headersTimeout,
      bodyTimeout: options.bodyTimeout,
      // Always said: undici's own connector would offer h2 when left unset.
      allowH2: options.allowH2,
      ...(options.allowH2 ? { maxConcurrentStreams: options.maxConcurrentStreams } : {}),
    };
  }

  /**
   * undici's `Dispatcher.dispatch`, for undici's fetch (whose redirects may change origin): each
   * request goes straight to its origin's pool, the one `client.request` uses too. In place of an
   * undici `Agent` in front of the pools, which added a layer to every dispatch and re-emitted
   * every pool's `drain` (with an array built for each) for listeners Bulwark does not have.
   */
  dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    try {
      if (this.#closed) throw new errors.ClientClosedError();
      const origin = opts.origin;
      if (typeof origin === 'string' && origin !== '') return this.pool(origin).dispatch(opts, handler);
      if (origin instanceof URL) return this.pool(origin.origin).dispatch(opts, handler);
      throw new errors.InvalidArgumentError('opts.origin must be a non-empty string or URL.');
    } catch (err) {
      // As undici's dispatchers: a handler that can take the error gets it.
      if (typeof handler.onResponseError !== 'function') throw err;
      handler.onResponseError(null as unknown as Dispatcher.DispatchController, err as Error);
      return false;
    }
  }

  /** The pool of one origin (`scheme://host:port`); `client.request` dispatches to it directly. */
  pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (pool === undefined || pool.closed || pool.destroyed) {
      pool = this.#createPool(origin);
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /** A new connection's lifetime: `maxLifetime` with its jitter (never past what a timer can hold). */
  lifetime(): number {
    const { maxLifetime, lifetimeJitter, random } = this.#options;
    return Math.min(MAX_DURATION, maxLifetime * (1 + lifetimeJitter * (2 * random() - 1)));
  }

  /** Registers a connection under its host name (for DNS-driven retirement). */
  track(host: string, client: TrackedClient): void {
    let set = this.#byHost.get(host);
    if (set === undefined) {
      set = new Set();
      this.#byHost.set(host, set);
    }
    set.add(client);
  }

  /**
   * Retires connections to `host` whose address is in `addresses` (they left the DNS answer, or
   * were ejected as outliers): idle ones are closed at once; a busy one finishes its response and
   * carries at most one more request, sent with `reset` so the connection closes after it (an
   * ejected address's: none, see {@link TrackedClient.retire}). `origin` limits it to that
   * origin's connections. Returns how many connections were retired.
   */
  retireAddresses(
    host: string,
    addresses: readonly string[],
    options: { readonly origin?: string; readonly ejected?: boolean } = {},
  ): number {
    const { origin, ejected = false } = options;
    const set = this.#byHost.get(host);
    if (set === undefined) return 0;
    let retired = 0;
    for (const client of set) {
      if (client.closed || client.destroyed) {
        set.delete(client);
        continue;
      }
      const address = client.current?.address;
      if (
        address !== undefined &&
        addresses.includes(address) &&
        client.current?.retired === false &&
        (origin === undefined || client.current.origin === origin)
      ) {
        client.retire(ejected);
        retired++;
      }
    }
    if (set.size === 0) this.#byHost.delete(host);
    return retired;
  }

  /** Closes gracefully: running requests finish, then every connection closes. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...this.#pools.values()].map((p) => (p.closed || p.destroyed ? undefined : p.close())),
    );
    this.#pools.clear();
    this.#byHost.clear();
  }

  /** Destroys every connection now. */
  async destroy(err?: Error): Promise<void> {
    this.#closed = true;
    await Promise.all(
      [...this.#pools.values()].map((p) => (p.destroyed ? undefined : p.destroy(err ?? null))),
    );
    this.#pools.clear();
    this.#byHost.clear();
  }

  #createPool(origin: string): Pool {
    const url = new URL(origin);
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    return new Pool(url, {
      ...this.#poolOptions,
      factory: (o, clientOpts) =>
        new TrackedClient(o, clientOpts as Client.Options & { connect: Connector }, this, host),
    });
  }
}
