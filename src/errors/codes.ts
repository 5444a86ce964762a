/**
 * The error taxonomy as data: every code Bulwark raises, the layer it belongs to, and what it means
 * for a retry. One table feeds `BulwarkError`, `classify()`, the docs and the README's error table.
 */

/**
 * The layer of the stack in which a failure happened, outermost last. `call` is the generic
 * policies' own (`wrap(...)` around any async function): a timeout there has no network phase.
 */
export type Layer = 'dns' | 'tcp' | 'tls' | 'http' | 'pool' | 'circuit' | 'call';

/** Every layer, in the order a request crosses them. */
export const LAYERS: readonly Layer[] = Object.freeze([
  'dns',
  'tcp',
  'tls',
  'http',
  'pool',
  'circuit',
  'call',
]);

/** What Bulwark knows about one error code. */
export interface CodeInfo {
  /** The layer the code belongs to. */
  readonly layer: Layer;
  /** Whether a new attempt of the same request could sensibly succeed. */
  readonly retryable: boolean;
  /** `false` when the request surely never reached the server. */
  readonly mayHaveExecuted: boolean;
  /** One line for humans: what happened. */
  readonly summary: string;
  /** What typically causes it, as seen in the original error. */
  readonly examples: string;
}

/**
 * The table of error codes. `mayHaveExecuted` is the conservative answer for the code alone; the
 * transport knows more (a reset before the request was written) and may say `false` where the table
 * says `true`, never the other way round.
 */
export const ERROR_CODES = Object.freeze({
  DNS_NOT_FOUND: {
    layer: 'dns',
    retryable: false,
    mayHaveExecuted: false,
    summary: 'the name does not exist (NXDOMAIN) or is not a valid host name',
    examples: 'ENOTFOUND, EBADNAME, ENONAME',
  },
  DNS_NO_DATA: {
    layer: 'dns',
    retryable: false,
    mayHaveExecuted: false,
    summary: 'the name exists but has no address records',
    examples: 'ENODATA',
  },
  DNS_SERVER_FAILURE: {
    layer: 'dns',
    retryable: true,
    mayHaveExecuted: false,
    summary: 'the resolver could not answer (SERVFAIL, REFUSED, bad response)',
    examples: 'ESERVFAIL, EAI_AGAIN, EREFUSED, EBADRESP',
  },
  DNS_TIMEOUT: {
    layer: 'dns',
    retryable: true,
    mayHaveExecuted: false,
    summary: 'the resolver did not answer in time',
    examples: 'ETIMEOUT, DNS budget exhausted',
  },
  TCP_REFUSED: {
    layer: 'tcp',
    retryable: true,
    mayHaveExecuted: false,
    summary: 'nothing listens on the port (connection refused)',
    examples: 'ECONNREFUSED',
  },
  TCP_RESET: {
    layer: 'tcp',
    retryable: true,
    mayHaveExecuted: true,
    summary: 'the peer or a middlebox reset the connection',
    examples: 'ECONNRESET',
  },
  TCP_TIMEOUT: {
    layer: 'tcp',
    retryable: true,
    mayHaveExecuted: false,
    summary: 'the TCP handshake did not complete in time',
    examples: 'UND_ERR_CONNECT_TIMEOUT, ETIMEDOUT (connect)',
  },
  TCP_UNREACHABLE: {
    layer: 'tcp',
    retryable: true,
    mayHaveExecuted: false,
    summary: 'no route to the host or network',
    examples: 'EHOSTUNREACH, ENETUNREACH, EADDRNOTAVAIL',
  },
  TCP_CLOSED: {
    layer: 'tcp',
    retryable: true,
    mayHaveExecuted: true,
    summary: 'the connection closed before the exchange finished',
    examples: 'UND_ERR_SOCKET, EPIPE, ECONNABORTED, "Connection terminated unexpectedly"',
  },
  TLS_CERT_EXPIRED: {
    layer: 'tls',
    retryable: false,
    mayHaveExecuted: false,
    summary: "the server's certificate has expired",
    examples: 'CERT_HAS_EXPIRED',
  },
  TLS_CERT_NOT_YET_VALID: {
    layer: 'tls',
    retryable: false,
    mayHaveExecuted: false,
    summary: "the server's certificate is not valid yet (check both clocks)",
    examples: 'CERT_NOT_YET_VALID',
  },
  TLS_HOSTNAME_MISMATCH: {
    layer: 'tls',
    retryable: false,
    mayHaveExecuted: false,
    summary: 'the certificate does not cover the host name',
    examples: 'ERR_TLS_CERT_ALTNAME_INVALID',
  },
  TLS_UNTRUSTED: {
    layer: 'tls',
    retryable: false,
    mayHaveExecuted: false,
    summary: 'the certificate chain does not lead to a trusted CA',
    examples: 'DEPTH_ZERO_SELF_SIGNED_CERT, SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  },
  TLS_HANDSHAKE_FAILED: {
    layer: 'tls',
    retryable: false,
    mayHaveExecuted: false,
    summary: 'the TLS handshake failed (protocol, cipher or alert)',
    examples: 'ERR_SSL_WRONG_VERSION_NUMBER, ERR_SSL_*, EPROTO',
  },
  TLS_TIMEOUT: {
    layer: 'tls',
    retryable: true,
    mayHaveExecuted: false,
    summary: 'the TLS handshake did not complete in time',
    examples: 'ERR_TLS_HANDSHAKE_TIMEOUT, TLS budget exhausted',
  },
  HTTP_STATUS: {
    layer: 'http',
    retryable: true,
    mayHaveExecuted: true,
    summary: 'the server answered with an error status (when asked to throw)',
    examples: '429, 5xx with throwHttpErrors',
  },
  HTTP_HEADERS_TIMEOUT: {
    layer: 'http',
    retryable: true,
    mayHaveExecuted: true,
    summary: 'the response headers did not arrive in time',
    examples: 'UND_ERR_HEADERS_TIMEOUT',
  },
  HTTP_BODY_TIMEOUT: {
    layer: 'http',
    retryable: true,
    mayHaveExecuted: true,
    summary: 'the response body stalled for longer than the idle timeout',
    examples: 'UND_ERR_BODY_TIMEOUT',
  },
  HTTP_PROTOCOL: {
    layer: 'http',
    retryable: false,
    mayHaveExecuted: true,
    summary: 'the server sent something that is not valid HTTP',
    examples: 'HPE_*, UND_ERR_RES_CONTENT_LENGTH_MISMATCH, UND_ERR_HEADERS_OVERFLOW',
  },
  HTTP_STREAM_REFUSED: {
    layer: 'http',
    retryable: true,
    mayHaveExecuted: false,
    summary:
      'the HTTP/2 server refused the stream before processing it (REFUSED_STREAM, or a GOAWAY whose last stream id is below it); safe to retry for any method',
    examples: 'NGHTTP2_REFUSED_STREAM, HTTP/2 "GOAWAY" frame received',
  },
  HTTP_STREAM_RESET: {
    layer: 'http',
    retryable: true,
    mayHaveExecuted: true,
    summary: 'the HTTP/2 stream was reset, or its connection went away, after the request was sent',
    examples: 'NGHTTP2_INTERNAL_ERROR, NGHTTP2_CANCEL, ERR_HTTP2_SESSION_ERROR',
  },
  HTTP_REDIRECT: {
    layer: 'http',
    retryable: false,
    mayHaveExecuted: true,
    summary:
      "a redirect could not be followed (too many, a scheme other than http(s), an invalid Location, or redirect: 'error')",
    examples: "redirect count exceeded, Location 'mailto:…', redirect: 'error'",
  },
  HTTP_PROXY: {
    layer: 'http',
    retryable: true,
    mayHaveExecuted: false,
    summary:
      'the forward proxy refused or failed the request before it reached the server (CONNECT answered with a status other than 200 or not within timeout.connect, 407 Proxy Authentication Required, or the proxy closed the tunnel being set up)',
    examples: 'Proxy response (407) !== 200 when HTTP Tunneling, UND_ERR_PRX_CONN',
  },
  HTTP_HOOK_TIMEOUT: {
    layer: 'http',
    retryable: false,
    mayHaveExecuted: true,
    summary: "one of the caller's hooks was still running when the call's total deadline passed",
    examples: 'a beforeRequest, afterResponse or beforeRetry hook that outlived timeout.total',
  },
  POOL_ACQUIRE_TIMEOUT: {
    layer: 'pool',
    retryable: true,
    mayHaveExecuted: false,
    summary: 'no connection became free before the acquire deadline',
    examples: 'pool exhausted',
  },
  POOL_QUEUE_FULL: {
    layer: 'pool',
    retryable: false,
    mayHaveExecuted: false,
    summary: 'the waiting queue is full; the call was shed at once',
    examples: 'bulkhead or pool maxWaiting reached',
  },
  POOL_CLOSED: {
    layer: 'pool',
    retryable: false,
    mayHaveExecuted: false,
    summary: 'the pool or client is closed',
    examples: 'call after close()',
  },
  POOL_CREATE_FAILED: {
    layer: 'pool',
    retryable: true,
    mayHaveExecuted: false,
    summary: 'new connections cannot be created (the cause says which layer failed)',
    examples: 'database down, wrong credentials',
  },
  POOL_VALIDATION_FAILED: {
    layer: 'pool',
    retryable: true,
    mayHaveExecuted: false,
    summary: 'a pooled connection failed its validation check',
    examples: 'silently dropped idle connection',
  },
  CIRCUIT_OPEN: {
    layer: 'circuit',
    retryable: false,
    mayHaveExecuted: false,
    summary: 'the circuit breaker for this origin is open; no request was sent',
    examples: 'the cause is the failure that opened it',
  },
  CIRCUIT_THROTTLED: {
    layer: 'circuit',
    retryable: false,
    mayHaveExecuted: false,
    summary:
      'adaptive throttling refused the attempt locally: too few recent attempts to this origin were accepted',
    examples: 'an outage seen by this process or its fleet; traffic returns as accepts do',
  },
  CALL_TIMEOUT: {
    layer: 'call',
    retryable: true,
    mayHaveExecuted: true,
    summary: 'a function wrapped in policy.timeout did not settle in time',
    examples: 'policy.timeout around an SDK or gRPC call',
  },
} as const satisfies Record<string, CodeInfo>);

/** One literal union of every error code Bulwark raises. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The codes of each layer, from the table. */
export type CodesByLayer = {
  readonly [K in Layer]: {
    [C in ErrorCode]: (typeof ERROR_CODES)[C]['layer'] extends K ? C : never;
  }[ErrorCode];
};

/**
 * The codes of one layer (or of a union of layers): `CodeOfLayer<'tls'>` is `'TLS_CERT_EXPIRED' |
 * 'TLS_CERT_NOT_YET_VALID' | ...`. An indexed access rather than a conditional type, so that
 * `BulwarkError<'tls'>` is assignable to `BulwarkError` (a conditional would make it invariant).
 */
export type CodeOfLayer<L extends Layer> = CodesByLayer[L];

/** Every error code, in table order. */
export const ERROR_CODE_LIST: readonly ErrorCode[] = Object.freeze(Object.keys(ERROR_CODES) as ErrorCode[]);

/** The timeout code of each layer that has one: a deadline that expires in a phase takes its code. */
export const TIMEOUT_CODE_OF_LAYER = Object.freeze({
  dns: 'DNS_TIMEOUT',
  tcp: 'TCP_TIMEOUT',
  tls: 'TLS_TIMEOUT',
  http: 'HTTP_HEADERS_TIMEOUT',
  pool: 'POOL_ACQUIRE_TIMEOUT',
  call: 'CALL_TIMEOUT',
} as const satisfies Partial<Record<Layer, ErrorCode>>);

/** `true` when `code` is one of Bulwark's error codes. */
export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}
