// The TCP, TLS and HTTP faults the test bed can make happen for an HTTP client, each with what
// Node or undici may raise for it and what classify() must say: the table behind
// classify-real.test.ts (and the docs' table of real error codes).
import type net from 'node:net';
import type { TestContext } from 'node:test';
import type { Agent } from 'undici';
import type { Classification } from '../../src/errors/classify.ts';
import type { CodeOfLayer } from '../../src/errors/codes.ts';
import { getTestPki, type TlsPair } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { startHttpServer, startHttpsServer } from '../helpers/http-server.ts';
import { startRawServer, startSilentServer } from '../helpers/raw-server.ts';
import { startUnacceptingListener } from '../helpers/unaccepting-listener.ts';
import { closedPort } from './real-failure.ts';

/** Properties of the raised error (or of the `cause` of fetch's TypeError) that identify it. */
export type Raised = Record<string, string | RegExp>;

/** One thing Node or undici may raise for a fault, and what classify() must say about it. */
export interface Outcome {
  raised: Raised;
  classified: Classification;
}

export interface Fault {
  /** What happens on the wire. */
  title: string;
  /** Starts the faulty peer; the URL to ask and the agent options to ask with. */
  start(t: TestContext): Promise<{ url: string; options?: Agent.Options }>;
  /** The fault shows only while the body is read. */
  inBody?: boolean;
  /** Usually one; more where the kernel's ordering decides which error is raised. */
  outcomes: Outcome[];
}

export const tcp = (code: CodeOfLayer<'tcp'>, mayHaveExecuted: boolean): Classification => ({
  layer: 'tcp',
  code,
  retryable: true,
  mayHaveExecuted,
});
export const tlsFailure = (code: CodeOfLayer<'tls'>): Classification => ({
  layer: 'tls',
  code,
  retryable: false,
  mayHaveExecuted: false,
});
const HEADERS_TIMEOUT: Classification = {
  layer: 'http',
  code: 'HTTP_HEADERS_TIMEOUT',
  retryable: true,
  mayHaveExecuted: true,
};
const PROTOCOL: Classification = {
  layer: 'http',
  code: 'HTTP_PROTOCOL',
  retryable: false,
  mayHaveExecuted: true,
};

/**
 * A reset on an established connection: usually `read ECONNRESET`, but when the socket's end is
 * processed before its error, undici reports `other side closed` (seen on Node 22 under load).
 */
const RESET_LATER: Outcome[] = [
  { raised: { code: 'ECONNRESET', syscall: 'read' }, classified: tcp('TCP_RESET', true) },
  { raised: { code: 'UND_ERR_SOCKET', message: 'other side closed' }, classified: tcp('TCP_CLOSED', true) },
];

/** A reset right after accept: Node may see it while connecting or, a moment later, reading. */
const RESET_ON_CONNECT: Outcome[] = [
  { raised: { code: 'ECONNRESET', syscall: 'connect' }, classified: tcp('TCP_RESET', false) },
  ...RESET_LATER,
];

async function upstream(t: TestContext, body = 'x'.repeat(100_000)) {
  return cleanup(
    t,
    await startHttpServer({
      handler: (_req, res) => {
        res.writeHead(200, { 'content-length': String(Buffer.byteLength(body)) });
        res.end(body);
      },
    }),
  );
}

/** A raw HTTP peer that answers every request with `reply` and then does `then` to the socket. */
export async function rawPeer(t: TestContext, reply: string, then: (socket: net.Socket) => void = () => {}) {
  const server = cleanup(
    t,
    await startRawServer((socket) => {
      socket.once('data', () => {
        socket.write(reply);
        then(socket);
      });
    }),
  );
  return `http://127.0.0.1:${server.port}/`;
}

async function httpsWith(t: TestContext, pair: TlsPair, trustCa: boolean) {
  const pki = await getTestPki();
  const server = cleanup(t, await startHttpsServer(pair));
  return { url: `${server.url}/`, options: { connect: trustCa ? { ca: pki.ca.cert } : {} } };
}

export const FAULTS: Fault[] = [
  {
    title: 'a refused port',
    start: async () => ({ url: `http://127.0.0.1:${await closedPort()}/` }),
    outcomes: [
      { raised: { code: 'ECONNREFUSED', syscall: 'connect' }, classified: tcp('TCP_REFUSED', false) },
    ],
  },
  {
    title: 'a reset on connect (proxy)',
    async start(t) {
      const up = await upstream(t);
      const proxy = cleanup(t, await startFaultProxy(up, { fault: { kind: 'reset' } }));
      return { url: `${proxy.url}/` };
    },
    outcomes: RESET_ON_CONNECT,
  },
  {
    title: 'a reset after 10 bytes of the response (proxy)',
    async start(t) {
      const up = await upstream(t);
      const proxy = cleanup(t, await startFaultProxy(up, { fault: { kind: 'reset-after', bytes: 10 } }));
      return { url: `${proxy.url}/` };
    },
    outcomes: RESET_LATER,
  },
  {
    title: 'a reset after 500 bytes, mid-body (proxy)',
    async start(t) {
      const up = await upstream(t);
      const proxy = cleanup(t, await startFaultProxy(up, { fault: { kind: 'reset-after', bytes: 500 } }));
      return { url: `${proxy.url}/` };
    },
    inBody: true,
    outcomes: RESET_LATER,
  },
  {
    title: 'a connect that hangs, under connectTimeout',
    async start(t) {
      const listener = cleanup(t, await startUnacceptingListener());
      return { url: `http://127.0.0.1:${listener.port}/` };
    },
    outcomes: [{ raised: { code: 'UND_ERR_CONNECT_TIMEOUT' }, classified: tcp('TCP_TIMEOUT', false) }],
  },
  {
    title: 'the server closes the socket before answering',
    start: async (t) => ({ url: await rawPeer(t, '', (socket) => socket.end()) }),
    outcomes: [{ raised: { code: 'UND_ERR_SOCKET' }, classified: tcp('TCP_CLOSED', true) }],
  },
  {
    title: 'the server resets the socket before answering',
    start: async (t) => ({ url: await rawPeer(t, '', (socket) => socket.resetAndDestroy()) }),
    outcomes: RESET_LATER,
  },
  {
    title: 'the server closes the socket mid-response',
    start: async (t) => ({
      url: await rawPeer(t, 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc', (socket) =>
        setTimeout(() => socket.end(), 20),
      ),
    }),
    inBody: true,
    outcomes: [
      {
        raised: { code: 'UND_ERR_SOCKET', message: 'other side closed' },
        classified: tcp('TCP_CLOSED', true),
      },
    ],
  },
  {
    title: 'an expired certificate',
    start: async (t) => httpsWith(t, (await getTestPki()).expired, true),
    outcomes: [{ raised: { code: 'CERT_HAS_EXPIRED' }, classified: tlsFailure('TLS_CERT_EXPIRED') }],
  },
  {
    title: 'a certificate not yet valid',
    start: async (t) => httpsWith(t, (await getTestPki()).notYetValid, true),
    outcomes: [{ raised: { code: 'CERT_NOT_YET_VALID' }, classified: tlsFailure('TLS_CERT_NOT_YET_VALID') }],
  },
  {
    title: 'a certificate for another host',
    start: async (t) => httpsWith(t, (await getTestPki()).wrongHost, true),
    outcomes: [
      { raised: { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, classified: tlsFailure('TLS_HOSTNAME_MISMATCH') },
    ],
  },
  {
    title: 'a self-signed certificate',
    start: async (t) => httpsWith(t, (await getTestPki()).selfSigned, true),
    outcomes: [{ raised: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, classified: tlsFailure('TLS_UNTRUSTED') }],
  },
  {
    title: 'a certificate from a CA the client does not trust',
    start: async (t) => httpsWith(t, (await getTestPki()).valid, false),
    outcomes: [
      { raised: { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }, classified: tlsFailure('TLS_UNTRUSTED') },
    ],
  },
  {
    title: 'TLS to a plain-HTTP port',
    async start(t) {
      const server = cleanup(t, await startHttpServer());
      return { url: `https://127.0.0.1:${server.port}/` };
    },
    outcomes: [{ raised: { code: /^ERR_SSL_/ }, classified: tlsFailure('TLS_HANDSHAKE_FAILED') }],
  },
  {
    title: 'the peer closes during the TLS handshake',
    start: async (t) => ({
      url: (await rawPeer(t, '', (socket) => socket.end())).replace('http:', 'https:'),
    }),
    outcomes: [
      {
        raised: { code: 'ECONNRESET', message: /^Client network socket disconnected before secure TLS/ },
        classified: tcp('TCP_RESET', false),
      },
    ],
  },
  {
    title: 'a silent server, under headersTimeout',
    async start(t) {
      const server = cleanup(t, await startSilentServer());
      return { url: `http://127.0.0.1:${server.port}/` };
    },
    outcomes: [{ raised: { code: 'UND_ERR_HEADERS_TIMEOUT' }, classified: HEADERS_TIMEOUT }],
  },
  {
    title: 'a proxy that stalls before the headers, under headersTimeout',
    async start(t) {
      const up = await upstream(t);
      const proxy = cleanup(t, await startFaultProxy(up, { fault: { kind: 'stall-after', bytes: 0 } }));
      return { url: `${proxy.url}/` };
    },
    outcomes: [{ raised: { code: 'UND_ERR_HEADERS_TIMEOUT' }, classified: HEADERS_TIMEOUT }],
  },
  {
    title: 'a body that stalls after the headers, under bodyTimeout',
    start: async (t) => ({ url: await rawPeer(t, 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc') }),
    inBody: true,
    outcomes: [
      {
        raised: { code: 'UND_ERR_BODY_TIMEOUT' },
        classified: { layer: 'http', code: 'HTTP_BODY_TIMEOUT', retryable: true, mayHaveExecuted: true },
      },
    ],
  },
  {
    title: 'a malformed status line',
    start: async (t) => ({ url: await rawPeer(t, 'HTTP/1.1 abc\r\n\r\n', (socket) => socket.end()) }),
    // undici 8 leaves `code` undefined on parser errors; the name is what is left to go on.
    outcomes: [{ raised: { name: 'HTTPParserError', message: /Invalid status code/ }, classified: PROTOCOL }],
  },
  {
    title: 'a body shorter than its content-length, then FIN on a `connection: close` response',
    start: async (t) => ({
      url: await rawPeer(
        t,
        'HTTP/1.1 200 OK\r\ncontent-length: 10\r\nconnection: close\r\n\r\nabc',
        (socket) => socket.end(),
      ),
    }),
    inBody: true,
    outcomes: [{ raised: { code: 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' }, classified: PROTOCOL }],
  },
  {
    title: 'headers larger than maxHeaderSize',
    async start(t) {
      const url = await rawPeer(t, `HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(4096)}\r\n\r\n`, (s) => s.end());
      return { url, options: { maxHeaderSize: 1024 } };
    },
    outcomes: [{ raised: { code: 'UND_ERR_HEADERS_OVERFLOW' }, classified: PROTOCOL }],
  },
];
