// A real forward proxy on loopback (port 0), as corporate networks have: plain http requests
// with an absolute URI are forwarded, CONNECT opens a TCP tunnel (what https goes through). It can
// demand credentials (407 with Proxy-Authenticate), refuse (any status, for CONNECT and forwarded
// requests alike), leave CONNECTs unanswered, and speak TLS itself (an https: proxy); it records
// what it saw so tests can tell the proxy was used.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import { hostPort, listen } from './listen.ts';
import { SocketSet } from './socket-set.ts';

export interface ForwardProxyOptions {
  /** The `Proxy-Authorization` value every request must carry (else 407). @default none required */
  authorization?: string;
  /** Loopback address to bind. @default '127.0.0.1' */
  host?: string;
  /** Serve the proxy itself over TLS (an `https:` proxy) with this certificate and key. */
  tls?: { cert: string; key: string };
}

/** One request the proxy took: a CONNECT (`target` is `host:port`) or a forwarded one (an absolute URL). */
export interface ProxiedRequest {
  readonly method: string;
  readonly target: string;
  readonly proxyAuthorization: string | undefined;
  /** Headers the client sent to the proxy (for a forwarded request, also the ones to the server). */
  readonly headers: http.IncomingHttpHeaders;
  /** The status the proxy answered with (200 for a tunnel opened). */
  status: number;
}

/** A started forward proxy; see {@link startForwardProxy}. */
export class ForwardProxy implements AsyncDisposable {
  readonly server: http.Server | https.Server;
  readonly host: string;
  /** Every request taken, in order. */
  readonly seen: ProxiedRequest[] = [];
  #port = 0;
  #authorization: string | undefined;
  #refusal: number | undefined;
  #stalled = false;
  readonly #sockets = new SocketSet();
  readonly #upstreams = new SocketSet();
  #closing: Promise<void> | undefined;

  static async start(opts: ForwardProxyOptions = {}): Promise<ForwardProxy> {
    const proxy = new ForwardProxy(opts);
    proxy.#port = await listen(proxy.server, proxy.host);
    return proxy;
  }

  private constructor(opts: ForwardProxyOptions) {
    this.host = opts.host ?? '127.0.0.1';
    this.#authorization = opts.authorization;
    this.server = opts.tls === undefined ? http.createServer() : https.createServer(opts.tls);
    this.server.on('connection', (socket: Socket) => this.#sockets.add(socket));
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#forward(req, res));
    this.server.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.#tunnel(req, socket, head),
    );
  }

  /** `http://127.0.0.1:PORT` (`https:` for a TLS proxy). */
  get url(): string {
    return `${this.server instanceof https.Server ? 'https' : 'http'}://${hostPort(this.host, this.#port)}`;
  }

  get port(): number {
    return this.#port;
  }

  /** Connections the proxy accepted from clients. */
  get connections(): number {
    return this.#sockets.total;
  }

  /** Connections from clients open now. */
  get openSockets(): number {
    return this.#sockets.size;
  }

  /** Refuse every request from now on with `status` (`undefined`: serve again). */
  refuse(status: number | undefined): void {
    this.#refusal = status;
  }

  /** Leave every CONNECT unanswered from now on (a proxy that hangs), or answer again. */
  stall(on: boolean): void {
    this.#stalled = on;
  }

  /** Require this `Proxy-Authorization` from now on (`undefined`: none). */
  requireAuthorization(value: string | undefined): void {
    this.#authorization = value;
  }

  /** The status to answer `req` with instead of serving it, if any. */
  #gate(req: IncomingMessage): number | undefined {
    if (this.#authorization !== undefined && req.headers['proxy-authorization'] !== this.#authorization) {
      return 407;
    }
    return this.#refusal;
  }

  #record(req: IncomingMessage, status: number): ProxiedRequest {
    const seen: ProxiedRequest = {
      method: req.method ?? '',
      target: req.url ?? '',
      proxyAuthorization: req.headers['proxy-authorization'],
      headers: req.headers,
      status,
    };
    this.seen.push(seen);
    return seen;
  }

  #tunnel(req: IncomingMessage, client: Socket, head: Buffer): void {
    client.on('error', () => {});
    if (this.#stalled) {
      this.#record(req, 0);
      // The server's sockets allow half-open: a client that gives up is answered with our FIN.
      client.once('end', () => client.end());
      return;
    }
    const refused = this.#gate(req);
    if (refused !== undefined) {
      this.#record(req, refused);
      const challenge = refused === 407 ? 'Proxy-Authenticate: Basic realm="test"\r\n' : '';
      client.end(
        `HTTP/1.1 ${refused} ${http.STATUS_CODES[refused] ?? 'Refused'}\r\n${challenge}Content-Length: 0\r\n\r\n`,
      );
      return;
    }
    const seen = this.#record(req, 0);
    const [host, port] = splitHostPort(req.url ?? '');
    const upstream = net.connect({ host, port });
    this.#upstreams.add(upstream);
    upstream.on('error', () => {
      seen.status = 502;
      if (client.writable && !client.destroyed)
        client.end('HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n');
      client.destroy();
    });
    upstream.once('connect', () => {
      seen.status = 200;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  }

  #forward(req: IncomingMessage, res: ServerResponse): void {
    const refused = this.#gate(req);
    if (refused !== undefined) {
      this.#record(req, refused);
      res.writeHead(refused, refused === 407 ? { 'proxy-authenticate': 'Basic realm="test"' } : {});
      res.end();
      return;
    }
    const seen = this.#record(req, 0);
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      seen.status = 400;
      res.writeHead(400).end('a forward proxy wants an absolute URI');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const out = http.request(
      {
        host: target.hostname,
        port: target.port || 80,
        method: req.method,
        path: target.pathname + target.search,
        headers,
        agent: false,
      },
      (upstream) => {
        seen.status = upstream.statusCode ?? 0;
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        upstream.pipe(res);
      },
    );
    out.on('error', () => {
      seen.status = 502;
      if (!res.headersSent) res.writeHead(502).end();
      else res.destroy();
    });
    req.pipe(out);
  }

  /** Stops listening and destroys every connection (tunnels included). */
  close(): Promise<void> {
    this.#closing ??= Promise.all([
      new Promise((resolve) => this.server.close(resolve)),
      this.#sockets.destroyAll(),
      this.#upstreams.destroyAll(),
    ]).then(() => {});
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Starts a forward proxy on a loopback port. */
export function startForwardProxy(opts?: ForwardProxyOptions): Promise<ForwardProxy> {
  return ForwardProxy.start(opts);
}

function splitHostPort(target: string): [string, number] {
  const i = target.lastIndexOf(':');
  const host = target.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return [host, Number(target.slice(i + 1))];
}
