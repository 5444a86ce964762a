// Real HTTP and HTTPS servers on loopback (port 0) whose behaviour each test sets with handle(),
// counting requests and connections so tests can see retries and connection reuse.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { hostPort, listen } from './listen.ts';
import { SocketSet } from './socket-set.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

export interface HttpServerOptions {
  /** Loopback address to bind, e.g. '127.0.0.2' or '::1'. @default '127.0.0.1' */
  host?: string;
  /** Port to bind (e.g. another server's, on another loopback address). @default 0 (any free port) */
  port?: number;
  /** Idle keep-alive timeout of the server (ms). @default Node's 5000 */
  keepAliveTimeout?: number;
  /** The first handler; replace it later with handle(). @default 200 'ok' */
  handler?: Handler;
}

export interface HttpsServerOptions extends HttpServerOptions {
  /** PEM certificate (chain) the server presents. */
  cert: string;
  /** PEM private key of `cert`. */
  key: string;
  /** PEM CA used to verify client certificates (only with `requestCert`). */
  ca?: string;
  /** Ask clients for a certificate (mTLS). @default false */
  requestCert?: boolean;
}

const ok: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok');
};

/** A started server; see {@link startHttpServer}. */
export class TestHttpServer implements AsyncDisposable {
  readonly server: http.Server | https.Server;
  readonly host: string;
  /** Errors thrown by handlers; the client got a 500 (or a destroyed socket if headers were sent). */
  readonly errors: unknown[] = [];
  #port = 0;
  #handler: Handler;
  #requests = 0;
  #sockets = new SocketSet();
  #closing: Promise<void> | undefined;

  /** Binds `server` (created without a request listener) to a loopback port. */
  static async start(server: http.Server | https.Server, opts: HttpServerOptions): Promise<TestHttpServer> {
    const test = new TestHttpServer(server, opts);
    test.#port = await listen(server, test.host, opts.port ?? 0);
    return test;
  }

  private constructor(server: http.Server | https.Server, opts: HttpServerOptions) {
    this.server = server;
    this.host = opts.host ?? '127.0.0.1';
    this.#handler = opts.handler ?? ok;
    if (opts.keepAliveTimeout !== undefined) server.keepAliveTimeout = opts.keepAliveTimeout;
    server.on('connection', (socket) => this.#sockets.add(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.#dispatch(req, res));
  }

  get port(): number {
    return this.#port;
  }

  /** `http://127.0.0.1:PORT` or `https://[::1]:PORT`, no trailing slash. */
  get origin(): string {
    return `${this.server instanceof https.Server ? 'https' : 'http'}://${hostPort(this.host, this.#port)}`;
  }

  /** The same as {@link origin}; append a path with `new URL('/x', server.url)`. */
  get url(): string {
    return this.origin;
  }

  /** Replaces the handler; requests already running keep the one they started with. */
  handle(handler: Handler): void {
    this.#handler = handler;
  }

  /** Requests received (counted before the handler runs). */
  get requests(): number {
    return this.#requests;
  }

  /** TCP connections accepted so far. */
  get connections(): number {
    return this.#sockets.total;
  }

  /** TCP connections open now. */
  get openSockets(): number {
    return this.#sockets.size;
  }

  #dispatch(req: IncomingMessage, res: ServerResponse): void {
    this.#requests++;
    const handler = this.#handler;
    // A throwing handler must not crash the test process; the test sees a 500 and `errors`.
    Promise.resolve()
      .then(() => handler(req, res))
      .catch((err: unknown) => {
        this.errors.push(err);
        if (res.headersSent) res.destroy();
        else res.writeHead(500, { 'content-type': 'text/plain' }).end(String(err));
      });
  }

  /** Stops listening and destroys every connection, idle or busy; resolves once closed. */
  close(): Promise<void> {
    this.#closing ??= Promise.all([
      new Promise((resolve) => this.server.close(resolve)),
      // Rather than closeAllConnections(): that misses sockets mid-TLS-handshake or upgraded.
      this.#sockets.destroyAll(),
    ]).then(() => {});
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Starts an HTTP/1.1 server with keep-alive on, answering 200 'ok' until told otherwise. */
export function startHttpServer(opts: HttpServerOptions = {}): Promise<TestHttpServer> {
  return TestHttpServer.start(http.createServer(), opts);
}

/** Starts an HTTPS server presenting `cert`; see {@link startHttpServer}. */
export function startHttpsServer(opts: HttpsServerOptions): Promise<TestHttpServer> {
  const { cert, key, ca, requestCert = false } = opts;
  const server = https.createServer({ cert, key, requestCert, ...(ca === undefined ? {} : { ca }) });
  return TestHttpServer.start(server, opts);
}
