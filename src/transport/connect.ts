/**
 * The connector undici calls for every new connection: DNS → TCP → TLS as three phases, each with
 * its own timeout, error layer and timing. undici's own connector folds all three into one
 * `ConnectTimeoutError`; this is where "it times out" becomes "DNS", "TCP" or "TLS".
 */
import net, { isIP, type Socket } from 'node:net';
import tls, { type ConnectionOptions, type TLSSocket } from 'node:tls';
import { BulwarkError, isBulwarkError, type Timings } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';
import { ERROR_CODES, type ErrorCode, TIMEOUT_CODE_OF_LAYER } from '../errors/codes.ts';
import { pathHintOf } from '../errors/path-hint.ts';
import { schemeHintOf } from '../errors/scheme-hint.ts';
import {
  type ConnectionObserver,
  type ConnectionRecord,
  newConnectionRecord,
  type PeerCertificateInfo,
} from './connection.ts';
import type { Address, HostResolver } from './system-resolver.ts';

/** The parameters undici passes to a connector. */
export interface ConnectParams {
  readonly hostname: string;
  readonly host: string;
  readonly protocol: string;
  readonly port: string;
  readonly servername?: string | null;
  readonly localAddress?: string | null;
  readonly httpSocket?: Socket;
}

/** undici's connector callback. */
export type ConnectCallback = (err: Error | null, socket: Socket | null) => void;

/** A connector: undici's signature plus the record the caller wants filled in. */
export type Connector = (params: ConnectParams, callback: ConnectCallback, record?: ConnectionRecord) => void;

/** What the connector needs, resolved from the client's options. */
export interface ConnectorOptions {
  readonly resolver: HostResolver;
  /** Phase timeouts in milliseconds. */
  readonly timeouts: { readonly dns: number; readonly connect: number; readonly tls: number };
  /** Idle time before the first TCP keepalive probe. */
  readonly tcpKeepAliveDelay: number;
  /** Options passed to `tls.connect` (ca, cert, key, rejectUnauthorized, ...). */
  readonly tls: Readonly<ConnectionOptions>;
  /** How long one address may take before happy eyeballs tries the next. @default 250 */
  readonly attemptTimeout?: number;
  /** Told of each completed TCP and TLS handshake (the client's per-origin statistics). */
  readonly observer?: ConnectionObserver;
  /** Offer HTTP/2 in the TLS handshake (ALPN `h2`, then `http/1.1`). @default false */
  readonly allowH2?: boolean;
  /** Orders and filters a name's addresses per connection (outlier ejection); hears of failed connects. */
  readonly selector?: AddressSelector;
}

/**
 * What the connector asks about a name's addresses before a new connection (the client's outlier
 * detection, transport/outlier-detection.ts): which to try, in which order, and it is told of
 * each address that refused or failed a TCP connect.
 */
export interface AddressSelector {
  /** The addresses to try for a connection to `origin`, in order (never empty when `addresses` is not). */
  select(origin: string, host: string, addresses: readonly Address[]): readonly Address[];
  /** A TCP connect to `address` for `origin` failed. */
  connectFailed(origin: string, address: string): void;
}

type ConnectPhase = 'dns' | 'tcp' | 'tls';
const PHASE_FALLBACK: Record<ConnectPhase, ErrorCode> = {
  dns: 'DNS_SERVER_FAILURE',
  tcp: 'TCP_CLOSED',
  tls: 'TLS_HANDSHAKE_FAILED',
};
const MAX_SESSIONS = 100;
const ALPN_H1 = ['http/1.1'];
// h2 first: the server picks, and a server that speaks both should pick h2 when it is offered.
const ALPN_H2 = ['h2', 'http/1.1'];

/** Builds the three-phase connector. */
export function createConnector(options: ConnectorOptions): Connector {
  const { resolver, timeouts, tcpKeepAliveDelay, attemptTimeout = 250, observer, selector } = options;
  const tlsOptions = options.tls;
  const alpn = options.allowH2 === true ? ALPN_H2 : ALPN_H1;
  const sessions = new Map<string, Buffer>();

  return function connect(params, callback, record) {
    const secure = params.protocol === 'https:';
    const port = Number(params.port) || (secure ? 443 : 80);
    const hostname = params.hostname;
    const rec = record ?? newConnectionRecord(`${params.protocol}//${params.host}`, hostname, port);
    let done = false;
    let timer: NodeJS.Timeout | undefined;
    let socket: Socket | undefined;
    let phaseStart = performance.now();

    const fail = (err: unknown, phase: ConnectPhase, timedOut = false): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Built before the socket is destroyed: a timeout's path hint reads the connection's state.
      const error = phaseError(err, phase, rec, timedOut);
      rec.phase = 'closed';
      socket?.destroy();
      callback(error, null);
    };
    const startTimer = (phase: ConnectPhase, ms: number): void => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(undefined, phase, true), ms);
    };

    const onTls = (tcpSocket: Socket): void => {
      rec.phase = 'tls';
      phaseStart = performance.now();
      startTimer('tls', timeouts.tls);
      const servername =
        params.servername || tlsOptions.servername || (isIP(hostname) ? undefined : hostname);
      const sessionKey = `${servername ?? hostname}:${port}`;
      const tlsSocket: TLSSocket = tls.connect({
        ...tlsOptions,
        socket: tcpSocket,
        host: hostname,
        ...(servername === undefined ? {} : { servername }),
        ALPNProtocols: alpn,
        ...(sessions.has(sessionKey) ? { session: sessions.get(sessionKey) } : {}),
      });
      socket = tlsSocket;
      tlsSocket.on('session', (session: Buffer) => {
        if (sessions.size >= MAX_SESSIONS && !sessions.has(sessionKey)) {
          sessions.delete(sessions.keys().next().value as string);
        }
        sessions.set(sessionKey, session);
      });
      const onError = (err: Error): void => fail(err, 'tls');
      tlsSocket.once('error', onError);
      tlsSocket.once('secureConnect', () => {
        tlsSocket.removeListener('error', onError);
        rec.tls = performance.now() - phaseStart;
        // undici speaks h2 on a socket whose ALPN says so, HTTP/1.1 on any other.
        rec.protocol = tlsSocket.alpnProtocol === 'h2' ? 'h2' : 'http/1.1';
        if (observer !== undefined) {
          // A resumed session shows no certificate: the statistics keep the last full handshake's.
          const certificate = certificateOf(tlsSocket);
          if (certificate !== undefined) observer.secured(rec, certificate);
        }
        open(tlsSocket);
      });
    };

    const open = (s: Socket): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      rec.phase = 'open';
      rec.openedAt = performance.now();
      rec.socket = s;
      if (rec.wire !== undefined) {
        rec.writtenAtOpen = rec.wire.bytesWritten;
        rec.readAtOpen = rec.wire.bytesRead;
      }
      s.once('close', () => {
        rec.phase = 'closed';
      });
      callback(null, s);
    };

    const onTcp = (answer: readonly Address[], literal = false): void => {
      if (done) return;
      rec.phase = 'tcp';
      phaseStart = performance.now();
      startTimer('tcp', timeouts.connect);
      const addresses =
        selector === undefined || literal ? answer : selector.select(rec.origin, hostname, answer);
      const first = addresses[0];
      if (first === undefined) {
        fail(new BulwarkError({ layer: 'dns', code: 'DNS_NO_DATA', target: targetOf(rec) }), 'dns');
        return;
      }
      const common = {
        port,
        noDelay: true,
        keepAlive: true,
        keepAliveInitialDelay: tcpKeepAliveDelay,
        highWaterMark: 64 * 1024,
        ...(params.localAddress ? { localAddress: params.localAddress } : {}),
      };
      const tcpSocket =
        addresses.length === 1
          ? net.connect({ ...common, host: first.address })
          : net.connect({
              ...common,
              host: hostname,
              autoSelectFamily: true,
              autoSelectFamilyAttemptTimeout: attemptTimeout,
              lookup: fixedLookup(addresses),
            });
      socket = tcpSocket;
      rec.address = first.address;
      const judged = selector !== undefined && !literal;
      if (judged && addresses.length > 1) {
        // Happy eyeballs tells of each address that failed (Node's documented socket events).
        tcpSocket.on('connectionAttemptFailed', (ip: string) => selector.connectFailed(rec.origin, ip));
      }
      const onError = (err: Error): void => {
        if (judged && addresses.length === 1) selector.connectFailed(rec.origin, first.address);
        fail(err, 'tcp');
      };
      tcpSocket.once('error', onError);
      tcpSocket.once('connect', () => {
        rec.connect = performance.now() - phaseStart;
        rec.address = tcpSocket.remoteAddress ?? first.address;
        rec.wire = tcpSocket;
        tcpSocket.removeListener('error', onError);
        observer?.connected(rec);
        if (secure) onTls(tcpSocket);
        else open(tcpSocket);
      });
    };

    const family = isIP(hostname);
    if (family !== 0) {
      onTcp([{ address: hostname, family: family as 4 | 6 }], true);
      return;
    }
    const hit = resolver.peek?.(hostname);
    if (hit !== undefined) {
      rec.dns = performance.now() - phaseStart;
      onTcp(hit.addresses);
      return;
    }
    resolver.resolve(hostname, { timeout: timeouts.dns, port }).then(
      (result) => {
        rec.dns = performance.now() - phaseStart;
        onTcp(result.addresses);
      },
      (err: unknown) => fail(err, 'dns'),
    );
  };
}

/** The leaf certificate of a full handshake, as the statistics keep it; `undefined` when resumed. */
function certificateOf(socket: TLSSocket): PeerCertificateInfo | undefined {
  const cert = socket.getPeerX509Certificate();
  if (cert === undefined) return undefined;
  const validTo = Date.parse(cert.validTo);
  if (Number.isNaN(validTo)) return undefined;
  return {
    subject: nameOf(cert.subject),
    issuer: nameOf(cert.issuer),
    validTo,
    fingerprint256: cert.fingerprint256,
  };
}

/** `CN=name` from an X.509 name (`C=US\nO=Acme\nCN=name`), or the whole name on one line. */
function nameOf(name: string): string {
  const cn = /^CN=(.*)$/m.exec(name);
  return cn === null ? name.replace(/\n/g, ', ') : `CN=${cn[1]}`;
}

/** A `lookup` that answers with addresses already resolved, for happy eyeballs across them. */
function fixedLookup(addresses: readonly Address[]): net.LookupFunction {
  return (_host, opts, cb) => {
    if ((opts as { all?: boolean }).all) {
      (cb as unknown as (err: null, list: Address[]) => void)(null, [...addresses]);
    } else {
      const a = addresses[0]!;
      cb(null, a.address, a.family);
    }
  };
}

function targetOf(rec: ConnectionRecord): { origin: string; host: string; port: number; address?: string } {
  return rec.address === undefined
    ? { origin: rec.origin, host: rec.host, port: rec.port }
    : { origin: rec.origin, host: rec.host, port: rec.port, address: rec.address };
}

function timingsOf(rec: ConnectionRecord, phase: ConnectPhase): Timings {
  const t: Timings = { reused: false, total: performance.now() - rec.startedAt };
  t.dns = rec.dns;
  if (phase !== 'dns') t.connect = rec.connect;
  if (phase === 'tls') t.tls = rec.tls;
  return t;
}

/** Any failure of a connect phase, as a `BulwarkError` of that phase's layer (never executed). */
function phaseError(
  err: unknown,
  phase: ConnectPhase,
  rec: ConnectionRecord,
  timedOut: boolean,
): BulwarkError {
  const target = targetOf(rec);
  const timings = timingsOf(rec, phase);
  if (timedOut) {
    const code = TIMEOUT_CODE_OF_LAYER[phase];
    return new BulwarkError({
      layer: phase,
      code,
      budget: 'phase',
      target,
      timings,
      // 'mtu' for a handshake too large to pass; 'loss' needs the origin's history (attempt stage).
      hint: pathHintOf(code, rec, undefined),
    });
  }
  if (isBulwarkError(err)) {
    return new BulwarkError({
      layer: err.layer,
      code: err.code,
      budget: err.budget,
      retryable: err.retryable,
      mayHaveExecuted: false,
      target,
      timings,
      hint: err.hint,
      cause: err.cause ?? err,
    });
  }
  const c = classify(err);
  const code = c.layer === 'dns' || c.layer === 'tcp' || c.layer === 'tls' ? c.code : PHASE_FALLBACK[phase];
  return new BulwarkError({
    layer: ERROR_CODES[code].layer,
    code,
    mayHaveExecuted: false,
    target,
    timings,
    // A handshake answered in plain text: the port speaks HTTP ('use-http').
    hint: phase === 'tls' ? schemeHintOf('https:', rec.port, code, err, true) : undefined,
    cause: err,
  });
}
