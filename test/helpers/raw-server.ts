// Bare TCP servers on loopback for peers that misbehave below or inside HTTP: one that accepts
// and then says nothing (TLS handshake and headers timeouts), and one whose every socket is
// handed to the test (malformed responses such as 'HTTP/1.1 abc\r\n\r\n').
import net, { type Socket } from 'node:net';
import { listen } from './listen.ts';
import { SocketSet } from './socket-set.ts';

export interface RawServerOptions {
  /** Loopback address to bind. @default '127.0.0.1' */
  host?: string;
}

export interface RawServer extends AsyncDisposable {
  readonly host: string;
  readonly port: number;
  /** Connections accepted so far. */
  readonly connections: number;
  /** Connections open now. */
  readonly openSockets: number;
  readonly server: net.Server;
  /** Destroys every socket and stops listening. */
  close(): Promise<void>;
}

/** Hands every accepted socket to `onSocket`; socket errors are ignored (tests provoke them). */
export async function startRawServer(
  onSocket: (socket: Socket) => void,
  opts: RawServerOptions = {},
): Promise<RawServer> {
  const host = opts.host ?? '127.0.0.1';
  const sockets = new SocketSet();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  const port = await listen(server, host);
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= Promise.all([new Promise((resolve) => server.close(resolve)), sockets.destroyAll()]).then(
      () => {},
    );
    return closing;
  };
  return {
    host,
    port,
    server,
    get connections() {
      return sockets.total;
    },
    get openSockets() {
      return sockets.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Accepts connections, reads and discards what arrives, never writes and never closes. */
export function startSilentServer(opts: RawServerOptions = {}): Promise<RawServer> {
  // Reading keeps the client's writes from blocking, so only the missing answer is tested.
  return startRawServer((socket) => socket.resume(), opts);
}
