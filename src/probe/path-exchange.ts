/**
 * The path layer's small-vs-large exchange: the probe's request, unpadded and padded with a header
 * to 1.4, 4 and 16 KB, each on a connection of its own, all in parallel. On a path with a smaller
 * MTU whose ICMP "fragmentation needed" is filtered, full-size packets vanish: the small request
 * is answered, the large ones get nothing back — an MTU blackhole. Any answer counts (a 431 for a
 * 16 KB header proves the path as well as a 200); the request is written on the raw connection so
 * its size on the wire is exact.
 */
import net, { type Socket } from 'node:net';
import tls from 'node:tls';
import { classify } from '../errors/classify.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { redactText } from '../errors/redact.ts';
import { withCallerHeaders } from './options.ts';
import { ms, oneLine, type PathExchangeReport } from './report.ts';

/** The padded sizes of the request, in bytes: past typical tunnel MTUs, past 1 500, past the initial window. */
export const EXCHANGE_SIZES: readonly number[] = Object.freeze([1_400, 4_000, 16_000]);

/**
 * Key-share groups for the exchanges' TLS handshakes: one small key share, so the ClientHello fits
 * one packet whatever the defaults (OpenSSL 3.5's post-quantum share makes it ~1.6 KB) and the
 * padded request is the only large thing sent.
 */
export const SMALL_HELLO_GROUPS = 'X25519:P-256:P-384';

/** Methods the exchanges repeat as they are; any other is sent as HEAD. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Where the exchanges go and what they ask. */
export interface ExchangeTarget {
  readonly address: string;
  readonly family: 4 | 6;
  readonly port: number;
  /** For https: the name the certificate must cover, the SNI (`null` for an IP address), the CAs. */
  readonly tls:
    | {
        readonly host: string;
        readonly servername: string | null;
        readonly ca: readonly string[] | undefined;
        readonly insecure: boolean;
      }
    | undefined;
  /** The Host header (`host[:port]`). */
  readonly host: string;
  /** Path and query. */
  readonly path: string;
  readonly method: string;
  /** The caller's headers (`--header`), sent on every exchange; they replace the probe's own. */
  readonly headers: readonly (readonly [string, string])[];
}

/** The probe's request as text, padded with a header to `size` bytes (`0`: unpadded). */
export function exchangeRequest(target: ExchangeTarget, size: number): string {
  const method = SAFE_METHODS.has(target.method) ? target.method : 'HEAD';
  const own: [string, string][] = [
    ['Host', target.host],
    ['User-Agent', 'bulwark-probe'],
    ['Accept', '*/*'],
  ];
  const fields = withCallerHeaders(own, target.headers);
  const head = `${method} ${target.path} HTTP/1.1\r\n${fields.map(([n, v]) => `${n}: ${v}\r\n`).join('')}Connection: close\r\n`;
  const line = 'X-Bulwark-Padding: \r\n';
  const fill = size - head.length - line.length - 2;
  return size === 0 ? `${head}\r\n` : `${head}X-Bulwark-Padding: ${'x'.repeat(Math.max(1, fill))}\r\n\r\n`;
}

/** Sends the unpadded request and each padded one, in parallel, all ended at `deadline`. */
export function exchanges(target: ExchangeTarget, deadline: number): Promise<PathExchangeReport[]> {
  return Promise.all(
    [0, ...EXCHANGE_SIZES].map((size) => exchangeOnce(target, exchangeRequest(target, size), deadline)),
  );
}

/** One exchange: connect, handshake (https), write, wait for the first byte back. Never rejects. */
function exchangeOnce(
  target: ExchangeTarget,
  request: string,
  deadline: number,
): Promise<PathExchangeReport> {
  const bytes = Buffer.byteLength(request);
  return new Promise((resolve) => {
    let stage: 'connect' | 'handshake' | 'request' = 'connect';
    let sentAt = 0;
    let socket: Socket = net.connect({ host: target.address, port: target.port, family: target.family });
    const finish = (
      outcome: PathExchangeReport['outcome'],
      code: ErrorCode | null,
      error: string | null,
      status: number | null = null,
    ): void => {
      clearTimeout(timer);
      socket.removeAllListeners();
      socket.on('error', ignore);
      socket.destroy();
      const duration = outcome === 'answered' || outcome === 'closed' ? ms(performance.now() - sentAt) : null;
      resolve({ bytes, outcome, duration, status, code, error });
    };
    const onError = (err: Error): void => {
      const c = classify(err);
      const code = c.layer === 'app' || c.layer === 'pool' || c.layer === 'circuit' ? null : c.code;
      // A reset after the request went out: the server got it (or part of it) and gave up.
      if (stage === 'request') finish('closed', code, `closed without a response: ${describe(err)}`);
      else if (stage === 'handshake' && c.layer === 'tls' && code !== 'TLS_HANDSHAKE_FAILED') {
        // The certificate failed verification: the request is not sent (the tls layer says why).
        finish('failed', code, `not sent: ${describe(err)}`);
      } else finish('failed', code, `${stage} failed: ${describe(err)}`);
    };
    const send = (): void => {
      stage = 'request';
      sentAt = performance.now();
      socket.once('data', (chunk: Buffer) => {
        const status = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(chunk.toString('latin1', 0, 16));
        finish('answered', null, null, status === null ? null : Number(status[1]));
      });
      socket.once('end', () => finish('closed', null, 'closed without a response'));
      socket.write(request);
    };
    const timer = setTimeout(() => {
      if (stage === 'connect') finish('failed', 'TCP_TIMEOUT', 'no TCP handshake within the window');
      else if (stage === 'handshake') finish('silent', 'TLS_TIMEOUT', 'no TLS handshake within the window');
      else finish('silent', 'HTTP_HEADERS_TIMEOUT', `no answer within ${Math.round(deadline - sentAt)} ms`);
    }, deadline - performance.now());
    socket.on('error', onError);
    socket.once('connect', () => {
      const t = target.tls;
      if (t === undefined) return send();
      stage = 'handshake';
      const secure = tls.connect({
        socket,
        host: t.host,
        ...(t.servername === null ? {} : { servername: t.servername }),
        ...(t.ca === undefined ? {} : { ca: [...t.ca] }),
        // The request goes only where the http layer's would: to a verified server, or --insecure.
        rejectUnauthorized: !t.insecure,
        ecdhCurve: SMALL_HELLO_GROUPS,
        ALPNProtocols: ['http/1.1'],
      });
      // The TLS socket reports the connection's errors from here on.
      socket.removeListener('error', onError);
      socket.on('error', ignore);
      socket = secure;
      secure.on('error', onError);
      secure.once('secureConnect', send);
    });
  });
}

function describe(err: Error): string {
  return oneLine(redactText(err.message));
}

function ignore(): void {}
