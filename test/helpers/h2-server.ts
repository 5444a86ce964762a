// A real HTTP/2 server on loopback (node:http2 createSecureServer, port 0, the test PKI's
// certificate) whose behaviour each test sets per stream with handle(): answer, refuse the stream
// (RST_STREAM REFUSED_STREAM), reset it, send a GOAWAY, or stall. It counts sessions, streams and
// the requests that reached the handler, so tests can see what reached the server.
import http2, {
  type Http2SecureServer,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { Socket } from 'node:net';
import { hostPort, listen } from './listen.ts';

/** Handles one stream; `server` gives access to the session (GOAWAY) and the counters. */
export type H2Handler = (
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  server: TestH2Server,
) => void;

export interface H2ServerOptions {
  cert: string;
  key: string;
  /** Loopback address to bind. @default '127.0.0.1' */
  host?: string;
  /** Port to bind (e.g. another server's, on another loopback address). @default 0 */
  port?: number;
  /** Also answer HTTP/1.1 clients (ALPN http/1.1) on the same port. @default false */
  allowHTTP1?: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS the server advertises. @default Node's (2^32-1) */
  maxConcurrentStreams?: number;
  /** The first handler; replace it later with handle(). @default 200 'ok' */
  handler?: H2Handler;
}

const ok: H2Handler = (stream) => {
  stream.respond({ ':status': 200, 'content-type': 'text/plain' });
  stream.end('ok');
};

/** A started HTTP/2 server; see {@link startH2Server}. */
export class TestH2Server implements AsyncDisposable {
  readonly server: Http2SecureServer;
  /** Sessions opened (HTTP/2 connections). */
  sessions = 0;
  /** Streams that reached the handler, with their method and path. */
  readonly streams: { method: string; path: string; id: number }[] = [];
  /** HTTP/1.1 requests answered (with `allowHTTP1`). */
  http1 = 0;
  readonly #live = new Set<ServerHttp2Session>();
  readonly #sockets = new Set<Socket>();
  readonly host: string;
  #handler: H2Handler;
  #port = 0;

  static async start(opts: H2ServerOptions): Promise<TestH2Server> {
    const s = new TestH2Server(opts);
    s.#port = await listen(s.server, s.host, opts.port ?? 0);
    return s;
  }

  private constructor(opts: H2ServerOptions) {
    this.#handler = opts.handler ?? ok;
    this.host = opts.host ?? '127.0.0.1';
    this.server = http2.createSecureServer({
      cert: opts.cert,
      key: opts.key,
      allowHTTP1: opts.allowHTTP1 ?? false,
      ...(opts.maxConcurrentStreams === undefined
        ? {}
        : { settings: { maxConcurrentStreams: opts.maxConcurrentStreams } }),
    });
    this.server.on('secureConnection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.server.on('session', (session) => {
      this.sessions++;
      this.#live.add(session);
      session.once('close', () => this.#live.delete(session));
      session.on('error', () => {});
    });
    this.server.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      this.streams.push({
        method: String(headers[':method']),
        path: String(headers[':path']),
        id: stream.id ?? 0,
      });
      this.#handler(stream, headers, this);
    });
    this.server.on('request', (req, res) => {
      if (req.httpVersion === '2.0') return; // answered on 'stream'
      this.http1++;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('http/1.1');
    });
  }

  get port(): number {
    return this.#port;
  }

  /** `https://127.0.0.1:PORT` (the bound host). */
  get url(): string {
    return `https://${hostPort(this.host, this.#port)}`;
  }

  /** Replaces the handler; streams already running keep the one they started with. */
  handle(handler: H2Handler): void {
    this.#handler = handler;
  }

  /** Sessions open now. */
  get openSessions(): number {
    return this.#live.size;
  }

  async close(): Promise<void> {
    for (const session of this.#live) session.destroy();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** Starts an HTTP/2 server on loopback (127.0.0.1, port 0 unless told otherwise). */
export function startH2Server(opts: H2ServerOptions): Promise<TestH2Server> {
  return TestH2Server.start(opts);
}

/** RST_STREAM with REFUSED_STREAM: the server did not process the request (RFC 9113 §8.7). */
export function refuse(stream: ServerHttp2Stream): void {
  stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
}
