/**
 * `classify(err)`: the one table that maps what Node, undici, OpenSSL and the database drivers
 * actually throw to Bulwark's taxonomy. It is pure and never throws; retry, breaker, pool and stats
 * all ask it "what kind of failure is this" and decide for themselves what to do about it.
 */
import { isBulwarkError } from './bulwark-error.ts';
import { type CodeOfLayer, ERROR_CODES, type ErrorCode, isErrorCode, type Layer } from './codes.ts';

/** What `classify()` says about a Bulwark-layer failure. */
export interface LayerClassification<L extends Layer = Layer> {
  readonly layer: L;
  readonly code: CodeOfLayer<L>;
  readonly retryable: boolean;
  readonly mayHaveExecuted: boolean;
}

/** What `classify()` says about everything else: the caller's aborts, SQL errors, bugs. */
export interface AppClassification {
  readonly layer: 'app';
  readonly code: null;
  readonly retryable: false;
  readonly mayHaveExecuted: true;
  /** `true` when the error is a cancellation (an `AbortError` or an abort signal's reason). */
  readonly aborted: boolean;
}

/**
 * The result of {@link classify}: a union with one member per layer (and `'app'`), so that testing
 * `layer` narrows `code`.
 */
export type Classification = LayerClassificationOf<Layer> | AppClassification;

/** A {@link LayerClassification} of one of the layers `L`, as a union with one member per layer. */
export type LayerClassificationOf<L extends Layer = Layer> = { [K in L]: LayerClassification<K> }[L];

interface Rule {
  readonly code: ErrorCode;
  readonly mayHaveExecuted?: boolean;
  readonly retryable?: boolean;
}

/** Codes only DNS resolution produces (c-ares and getaddrinfo); they mean DNS whatever the syscall. */
const DNS_CODES: Readonly<Record<string, Rule>> = Object.freeze({
  ENOTFOUND: { code: 'DNS_NOT_FOUND' },
  EAI_NONAME: { code: 'DNS_NOT_FOUND' },
  EBADNAME: { code: 'DNS_NOT_FOUND' },
  ENONAME: { code: 'DNS_NOT_FOUND' },
  EBADQUERY: { code: 'DNS_NOT_FOUND' },
  EBADFAMILY: { code: 'DNS_NOT_FOUND' },
  ENODATA: { code: 'DNS_NO_DATA' },
  EAI_NODATA: { code: 'DNS_NO_DATA' },
  EAI_ADDRFAMILY: { code: 'DNS_NO_DATA' },
  ESERVFAIL: { code: 'DNS_SERVER_FAILURE' },
  EAI_AGAIN: { code: 'DNS_SERVER_FAILURE' },
  EAI_FAIL: { code: 'DNS_SERVER_FAILURE' },
  EREFUSED: { code: 'DNS_SERVER_FAILURE' },
  EBADRESP: { code: 'DNS_SERVER_FAILURE' },
  EFORMERR: { code: 'DNS_SERVER_FAILURE' },
  ENOTIMP: { code: 'DNS_SERVER_FAILURE' },
  EOF: { code: 'DNS_SERVER_FAILURE' },
  ECONNREFUSED: { code: 'DNS_SERVER_FAILURE' },
  ETIMEOUT: { code: 'DNS_TIMEOUT' },
});

/** Error codes by their `code` property: Node errnos, undici, OpenSSL/TLS and driver codes. */
const CODES: Readonly<Record<string, Rule>> = Object.freeze({
  // TCP (Node errnos)
  ECONNREFUSED: { code: 'TCP_REFUSED' },
  ECONNRESET: { code: 'TCP_RESET' },
  ETIMEDOUT: { code: 'TCP_TIMEOUT' },
  EHOSTUNREACH: { code: 'TCP_UNREACHABLE' },
  ENETUNREACH: { code: 'TCP_UNREACHABLE' },
  EHOSTDOWN: { code: 'TCP_UNREACHABLE' },
  ENETDOWN: { code: 'TCP_UNREACHABLE' },
  EADDRNOTAVAIL: { code: 'TCP_UNREACHABLE' },
  EPIPE: { code: 'TCP_CLOSED' },
  ECONNABORTED: { code: 'TCP_CLOSED' },
  ERR_SOCKET_CLOSED: { code: 'TCP_CLOSED' },
  ERR_STREAM_DESTROYED: { code: 'TCP_CLOSED' },
  ERR_STREAM_WRITE_AFTER_END: { code: 'TCP_CLOSED' },
  ERR_STREAM_PREMATURE_CLOSE: { code: 'TCP_CLOSED' },
  // undici
  UND_ERR_CONNECT_TIMEOUT: { code: 'TCP_TIMEOUT' },
  UND_ERR_SOCKET: { code: 'TCP_CLOSED' },
  UND_ERR_HEADERS_TIMEOUT: { code: 'HTTP_HEADERS_TIMEOUT' },
  UND_ERR_BODY_TIMEOUT: { code: 'HTTP_BODY_TIMEOUT' },
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: { code: 'HTTP_PROTOCOL' },
  UND_ERR_HEADERS_OVERFLOW: { code: 'HTTP_PROTOCOL' },
  UND_ERR_CLOSED: { code: 'POOL_CLOSED' },
  UND_ERR_DESTROYED: { code: 'POOL_CLOSED' },
  // TLS: certificate verification (OpenSSL X509_V_ERR_* names) and handshake
  CERT_HAS_EXPIRED: { code: 'TLS_CERT_EXPIRED' },
  CERT_NOT_YET_VALID: { code: 'TLS_CERT_NOT_YET_VALID' },
  ERR_TLS_CERT_ALTNAME_INVALID: { code: 'TLS_HOSTNAME_MISMATCH' },
  HOSTNAME_MISMATCH: { code: 'TLS_HOSTNAME_MISMATCH' },
  DEPTH_ZERO_SELF_SIGNED_CERT: { code: 'TLS_UNTRUSTED' },
  SELF_SIGNED_CERT_IN_CHAIN: { code: 'TLS_UNTRUSTED' },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: { code: 'TLS_UNTRUSTED' },
  UNABLE_TO_GET_ISSUER_CERT: { code: 'TLS_UNTRUSTED' },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: { code: 'TLS_UNTRUSTED' },
  UNABLE_TO_DECRYPT_CERT_SIGNATURE: { code: 'TLS_UNTRUSTED' },
  UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY: { code: 'TLS_UNTRUSTED' },
  CERT_SIGNATURE_FAILURE: { code: 'TLS_UNTRUSTED' },
  CERT_UNTRUSTED: { code: 'TLS_UNTRUSTED' },
  CERT_REJECTED: { code: 'TLS_UNTRUSTED' },
  CERT_REVOKED: { code: 'TLS_UNTRUSTED' },
  CERT_CHAIN_TOO_LONG: { code: 'TLS_UNTRUSTED' },
  INVALID_CA: { code: 'TLS_UNTRUSTED' },
  INVALID_PURPOSE: { code: 'TLS_UNTRUSTED' },
  PATH_LENGTH_EXCEEDED: { code: 'TLS_UNTRUSTED' },
  ERR_TLS_HANDSHAKE_TIMEOUT: { code: 'TLS_TIMEOUT' },
  EPROTO: { code: 'TLS_HANDSHAKE_FAILED' },
  // mysql2
  PROTOCOL_CONNECTION_LOST: { code: 'TCP_CLOSED' },
  PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR: { code: 'TCP_CLOSED', mayHaveExecuted: false },
  PROTOCOL_ENQUEUE_AFTER_QUIT: { code: 'TCP_CLOSED', mayHaveExecuted: false },
  PROTOCOL_SEQUENCE_TIMEOUT: { code: 'TCP_TIMEOUT', mayHaveExecuted: true },
  ER_CON_COUNT_ERROR: { code: 'TCP_REFUSED' },
  ER_SERVER_SHUTDOWN: { code: 'TCP_CLOSED' },
  ER_CONNECTION_KILLED: { code: 'TCP_CLOSED' },
  ER_NET_READ_INTERRUPTED: { code: 'TCP_CLOSED' },
  ER_NET_ERROR_ON_WRITE: { code: 'TCP_CLOSED' },
});

/** PostgreSQL SQLSTATEs (on errors that carry a `severity`) that mean the connection, not the SQL. */
const SQLSTATES: Readonly<Record<string, Rule>> = Object.freeze({
  '08000': { code: 'TCP_CLOSED' },
  '08003': { code: 'TCP_CLOSED' },
  '08006': { code: 'TCP_CLOSED' },
  '08001': { code: 'TCP_REFUSED' },
  '08004': { code: 'TCP_REFUSED' },
  '57P01': { code: 'TCP_CLOSED' }, // admin_shutdown, e.g. pg_terminate_backend
  '57P02': { code: 'TCP_CLOSED' }, // crash_shutdown
  '57P03': { code: 'TCP_REFUSED' }, // cannot_connect_now (starting up, in recovery)
  '53300': { code: 'TCP_REFUSED' }, // too_many_connections
});

/** Drivers that throw plain `Error`s for connection failures: matched on the message, anchored. */
const MESSAGES: ReadonlyArray<readonly [RegExp, Rule]> = Object.freeze([
  // pg
  [/^Connection terminated due to connection timeout/, { code: 'TCP_TIMEOUT' }],
  [/^Connection terminated unexpectedly/, { code: 'TCP_CLOSED' }],
  [/^Connection terminated$/, { code: 'TCP_CLOSED' }],
  [
    /^Client has encountered a connection error and is not queryable/,
    { code: 'TCP_CLOSED', mayHaveExecuted: false },
  ],
  [/^Client was closed and is not queryable/, { code: 'TCP_CLOSED', mayHaveExecuted: false }],
  [/^Query read timeout/, { code: 'TCP_TIMEOUT', mayHaveExecuted: true }],
  // pg.Client's own connectionTimeoutMillis (without pg.Pool, which rewords it as above)
  [/^timeout expired$/, { code: 'TCP_TIMEOUT' }],
  [/^timeout exceeded when trying to connect/, { code: 'POOL_ACQUIRE_TIMEOUT' }],
  // mysql2
  [
    /^Can't add new command when connection is in closed state/,
    { code: 'TCP_CLOSED', mayHaveExecuted: false },
  ],
  // MariaDB's ER_CONNECTION_KILLED (1927), for which mysql2 has no code name
  [/^Connection was killed$/, { code: 'TCP_CLOSED' }],
  // ioredis
  [/^Connection is closed\.?$/, { code: 'TCP_CLOSED' }],
  [/^Reached the max retries per request limit/, { code: 'TCP_CLOSED' }],
  [
    /^Stream isn't writeable and enableOfflineQueue options is false/,
    { code: 'TCP_CLOSED', mayHaveExecuted: false },
  ],
]);

/** RST_STREAM / GOAWAY error code REFUSED_STREAM (RFC 9113 §7): the stream was not processed. */
const REFUSED_STREAM = 7;
/**
 * undici's errors for a stream of an HTTP/2 connection (lib/dispatcher/client-h2.js, pinned by
 * test/client/h2.test.ts): it gives the GOAWAY error only to requests whose stream is above the
 * GOAWAY's last stream id (the server never processed them), after its own one replay.
 */
const H2_GOAWAY = /^HTTP\/2: "GOAWAY" frame received with code \d+$/;
const H2_STREAM_ENDED = /^HTTP\/2: stream (closed before the response was complete|half-closed \(remote\))$/;

/** Node's ECONNRESET when the peer went away during the TLS handshake: no request byte was sent. */
const TLS_DISCONNECT = /^Client network socket disconnected before secure TLS connection was established/;

const APP: AppClassification = Object.freeze({
  layer: 'app',
  code: null,
  retryable: false,
  mayHaveExecuted: true,
  aborted: false,
});
const ABORTED: AppClassification = Object.freeze({ ...APP, aborted: true });

const MAX_DEPTH = 6;

/**
 * Tells which layer an error belongs to and what a retry would mean, for any thrown value: a
 * `BulwarkError`, a Node socket/DNS/TLS error, an undici error, a `fetch failed` wrapper (the
 * cause is inspected), or a pg / mysql2 / ioredis connection error. Everything else, including a
 * caller's abort and an SQL error, is `{ layer: 'app' }`. Never throws.
 *
 * @example
 * ```ts
 * const { layer, code } = classify(err); // { layer: 'tcp', code: 'TCP_REFUSED', ... }
 * ```
 */
export function classify(err: unknown): Classification {
  try {
    return classifyAt(err, 0);
  } catch {
    return APP;
  }
}

function classifyAt(err: unknown, depth: number): Classification {
  if (typeof err !== 'object' || err === null || depth > MAX_DEPTH) return APP;
  const e = err as Record<string, unknown>;
  if (isBulwarkError(err)) {
    const branded = fromBrand(e);
    if (branded !== undefined) return branded;
  }
  const name = read(e, 'name');
  const code = read(e, 'code');
  // Before the abort rule: undici's ProxyAgent reports a refused CONNECT as a RequestAbortedError.
  const proxy = proxyFailure(e, code);
  if (proxy !== undefined) return proxy;
  if (
    name === 'AbortError' ||
    code === 'ABORT_ERR' ||
    code === 'UND_ERR_ABORTED' ||
    code === 'UND_ERR_ABORT' ||
    // AbortSignal.timeout()'s reason is the caller's own deadline, not a network timeout.
    (name === 'TimeoutError' && err instanceof DOMException) ||
    // c-ares after resolver.cancel(): the caller gave up; the DNS server did not fail.
    code === 'ECANCELLED'
  ) {
    return ABORTED;
  }
  const own = classifyOwn(e, code, name);
  if (own !== undefined) return own;

  // Happy eyeballs reports every address's failure in an AggregateError: the first one that is ours.
  const errors = read(e, 'errors');
  if (Array.isArray(errors)) {
    for (const inner of errors.slice(0, 8)) {
      const c = classifyAt(inner, depth + 1);
      if (c.layer !== 'app') return c;
    }
  }
  // `fetch failed` and driver wrappers keep the original on `cause`.
  const cause = read(e, 'cause');
  if (cause !== undefined && cause !== err) return classifyAt(cause, depth + 1);
  return APP;
}

function classifyOwn(
  e: Record<string, unknown>,
  code: unknown,
  name: unknown,
): LayerClassificationOf | undefined {
  if (typeof code === 'string') {
    const syscall = read(e, 'syscall');
    const isDnsCall =
      typeof syscall === 'string' &&
      (syscall === 'getaddrinfo' || syscall.startsWith('query') || syscall.startsWith('resolve'));
    const dnsRule = DNS_CODES[code];
    // ECONNREFUSED and ETIMEOUT-like codes are DNS only when a resolver call raised them.
    if (dnsRule !== undefined && (code !== 'ECONNREFUSED' || isDnsCall)) return fromRule(dnsRule);
    // libuv refuses to ask about a name that cannot be valid (too long, bad IDNA) with EINVAL.
    if (isDnsCall && code === 'EINVAL') return fromRule({ code: 'DNS_NOT_FOUND' });
    if (isDnsCall) return fromRule({ code: 'DNS_SERVER_FAILURE' });

    if (typeof read(e, 'severity') === 'string' && /^[0-9A-Z]{5}$/.test(code)) {
      const sql = SQLSTATES[code];
      return sql === undefined ? undefined : fromRule(sql);
    }
    const h2 = h2Rule(e, code);
    if (h2 !== undefined) return fromRule(h2);
    const rule = CODES[code];
    if (rule !== undefined) return fromRule(refine(rule, code, syscall, e));
    if (code.startsWith('HPE_')) return fromRule({ code: 'HTTP_PROTOCOL' });
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_'))
      return fromRule({ code: 'TLS_HANDSHAKE_FAILED' });
  }
  if (name === 'MaxRetriesPerRequestError') return fromRule({ code: 'TCP_CLOSED' });
  // undici 8's parser errors carry no HPE_* code (it looks the number up in a name → number map).
  if (name === 'HTTPParserError') return fromRule({ code: 'HTTP_PROTOCOL' });
  const message = read(e, 'message');
  if (typeof message === 'string' && code === undefined) {
    for (const [pattern, rule] of MESSAGES) if (pattern.test(message)) return fromRule(rule);
  }
  return undefined;
}

/** undici's ProxyAgent: a CONNECT answered with another status than 200, or a 407 to a forwarded request. */
const PROXY_STATUS = /^Proxy response \((\d{3})\) !== 200 when HTTP Tunneling/;
const PROXY_AUTH = /^Proxy Authentication Required \(407\)/;

/**
 * A forward proxy's refusal (`HTTP_PROXY`): never reached the server; worth a retry when the proxy
 * itself failed (5xx, or it closed the tunnel being set up), not when it wants credentials (407)
 * or refuses the target (403 and other 4xx).
 */
function proxyFailure(e: Record<string, unknown>, code: unknown): LayerClassificationOf | undefined {
  if (code === 'UND_ERR_PRX_CONN') return fromRule({ code: 'HTTP_PROXY' });
  if (code !== 'UND_ERR_ABORTED' && code !== 'UND_ERR_INVALID_ARG') return undefined;
  const message = read(e, 'message');
  if (typeof message !== 'string') return undefined;
  if (PROXY_AUTH.test(message)) return fromRule({ code: 'HTTP_PROXY', retryable: false });
  const status = PROXY_STATUS.exec(message)?.[1];
  if (status === undefined) return undefined;
  return fromRule({ code: 'HTTP_PROXY', retryable: Number(status) >= 500 || status === '429' });
}

/** An HTTP/2 stream's failure: refused (never processed) or reset after the request was sent. */
function h2Rule(e: Record<string, unknown>, code: string): Rule | undefined {
  if (code === 'ERR_HTTP2_STREAM_ERROR') {
    // undici copies the stream's RST_STREAM code to http2ErrorCode; Node's message names it too.
    const refused =
      read(e, 'http2ErrorCode') === REFUSED_STREAM ||
      String(read(e, 'message')).endsWith('NGHTTP2_REFUSED_STREAM');
    return { code: refused ? 'HTTP_STREAM_REFUSED' : 'HTTP_STREAM_RESET' };
  }
  if (code === 'ERR_HTTP2_SESSION_ERROR' || code === 'ERR_HTTP2_STREAM_CANCEL') {
    return { code: 'HTTP_STREAM_RESET' };
  }
  if (code === 'UND_ERR_INFO' || code === 'UND_ERR_SOCKET') {
    const message = String(read(e, 'message'));
    if (H2_GOAWAY.test(message)) return { code: 'HTTP_STREAM_REFUSED' };
    if (H2_STREAM_ENDED.test(message)) return { code: 'HTTP_STREAM_RESET' };
  }
  return undefined;
}

/** Where the code alone is ambiguous, the syscall or undici's socket info settles it. */
function refine(rule: Rule, code: string, syscall: unknown, e: Record<string, unknown>): Rule {
  // A connect that failed never carried a request.
  if (syscall === 'connect' && (code === 'ECONNRESET' || code === 'ETIMEDOUT')) {
    return { ...rule, mayHaveExecuted: false };
  }
  if (code === 'ECONNRESET' && TLS_DISCONNECT.test(String(read(e, 'message')))) {
    return { ...rule, mayHaveExecuted: false };
  }
  // A timeout on an established socket (keepalive probes unanswered) may follow a sent request.
  if (code === 'ETIMEDOUT' && syscall !== 'connect') return { ...rule, mayHaveExecuted: true };
  if (code === 'UND_ERR_SOCKET' && read(e, 'message') === 'bad response') return { code: 'HTTP_PROTOCOL' };
  return rule;
}

/**
 * A `BulwarkError`'s own answer, from this or another installed copy — unless the other copy is a
 * version whose code this one does not know: then it is classified like any error (by its cause).
 */
function fromBrand(e: Record<string, unknown>): LayerClassificationOf | undefined {
  const code = read(e, 'code');
  if (!isErrorCode(code) || ERROR_CODES[code].layer !== read(e, 'layer')) return undefined;
  const info = ERROR_CODES[code];
  const retryable = read(e, 'retryable');
  const mayHaveExecuted = read(e, 'mayHaveExecuted');
  return {
    layer: info.layer,
    code,
    retryable: typeof retryable === 'boolean' ? retryable : info.retryable,
    mayHaveExecuted: typeof mayHaveExecuted === 'boolean' ? mayHaveExecuted : info.mayHaveExecuted,
  } as LayerClassificationOf; // the code's layer is info.layer: the table pairs them
}

function fromRule(rule: Rule): LayerClassificationOf {
  const info = ERROR_CODES[rule.code];
  return {
    layer: info.layer,
    code: rule.code,
    retryable: rule.retryable ?? info.retryable,
    mayHaveExecuted: rule.mayHaveExecuted ?? info.mayHaveExecuted,
  } as LayerClassificationOf; // the code's layer is info.layer: the table pairs them
}

/** Property read that survives throwing getters and proxies. */
function read(obj: Record<string, unknown>, key: string): unknown {
  try {
    return obj[key];
  } catch {
    return undefined;
  }
}
