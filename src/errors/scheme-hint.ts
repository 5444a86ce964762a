/**
 * The scheme hints: a plain-language "use http://" or "use https://" when a failure shows that the
 * URL's scheme does not match what the port speaks. Pure functions over the evidence (the original
 * error, the response's first bytes or body), shared by the client's errors and `bulwark probe`.
 */
import type { ErrorCode } from './codes.ts';

/**
 * A scheme that does not match the port, as evidence beside a failure's code (never instead of it):
 * - `'use-http'`: TLS was spoken to a port that answered in plain text (OpenSSL's "wrong version
 *   number" or "packet length too long": the first bytes back were not a TLS record);
 * - `'use-https'`: plain HTTP was spoken to a port that answered in TLS (an alert record), with
 *   an HTTPS server's "plain HTTP request was sent to HTTPS port" 400, or closed the connection
 *   without a word on a port that is conventionally TLS (443, 8443).
 */
export type SchemeHint = 'use-http' | 'use-https';

/** What each {@link SchemeHint} says, in plain language (also appended to an error's message). */
export const SCHEME_HINTS: Readonly<Record<SchemeHint, string>> = Object.freeze({
  'use-http': 'this port speaks plain HTTP, not TLS; use http://',
  'use-https': 'this port speaks TLS (HTTPS); use https://',
});

/** Ports where a silent close of a plain-HTTP request is taken as a TLS server's. */
export const TLS_PORTS: readonly number[] = Object.freeze([443, 8443]);

// OpenSSL's record layer, when the first bytes back are not a TLS record ("HTTP/1.1 400" read as a
// record header): ERR_SSL_WRONG_VERSION_NUMBER, or ..._PACKET_LENGTH_TOO_LONG for some lengths.
const NOT_TLS_CODES = new Set([
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'ERR_SSL_PACKET_LENGTH_TOO_LONG',
  'ERR_SSL_HTTP_REQUEST',
]);
const NOT_TLS_MESSAGE = /wrong version number|packet length too long|\bhttp request\b/i;
// What HTTPS servers answer a plain request with: nginx's 400 page, Go's net/http, others alike.
const HTTPS_PORT_ANSWER =
  /plain HTTP request was sent to HTTPS port|HTTP request to an HTTPS server|speaks? (only )?HTTPS|use the HTTPS scheme/i;

/** `true` when a TLS handshake's error says the peer answered with something that is not TLS. */
export function answeredInPlainText(err: unknown): boolean {
  const { code, message } = fields(err);
  return (
    (typeof code === 'string' && NOT_TLS_CODES.has(code)) ||
    (typeof message === 'string' && NOT_TLS_MESSAGE.test(message))
  );
}

/**
 * `true` when what came back to a plain-HTTP request starts with a TLS record (an alert): `bytes`
 * is the response's first bytes, as a latin-1 string or a Buffer.
 */
export function isTlsRecord(bytes: string | Uint8Array | undefined): boolean {
  if (bytes === undefined || bytes.length < 3) return false;
  const at = (i: number): number => (typeof bytes === 'string' ? bytes.charCodeAt(i) : bytes[i]!);
  // A TLS record header: content type 20–23 (change cipher spec, alert, handshake, data), version 3.0–3.4.
  return at(0) >= 0x14 && at(0) <= 0x17 && at(1) === 0x03 && at(2) <= 0x04;
}

/** `true` for an HTTPS server's answer to a plain-HTTP request: a 400 whose body says so. */
export function isHttpsPortAnswer(status: number, body: string): boolean {
  return status === 400 && HTTPS_PORT_ANSWER.test(body);
}

/**
 * The scheme hint a failure carries, if any. `protocol` and `port` are the URL's; `fresh` says
 * whether the request went out on a new connection (a reused one that closes is the keep-alive
 * race, not a TLS server); `cause` is the original error.
 * - `https:` and a TLS handshake failure whose error says the peer answered in plain text → `'use-http'`;
 * - `http:` and a response that is not HTTP but a TLS record (undici's parser error carries the
 *   bytes it could not parse as `data`) → `'use-https'`;
 * - `http:` and a fresh connection closed or reset before any response on a port in
 *   {@link TLS_PORTS} → `'use-https'`.
 */
export function schemeHintOf(
  protocol: string,
  port: number,
  code: ErrorCode,
  cause: unknown,
  fresh: boolean,
): SchemeHint | undefined {
  if (protocol === 'https:') {
    return code === 'TLS_HANDSHAKE_FAILED' && answeredInPlainText(cause) ? 'use-http' : undefined;
  }
  if (protocol !== 'http:') return undefined;
  if (code === 'HTTP_PROTOCOL') {
    const data = fields(cause).data;
    return typeof data === 'string' && isTlsRecord(data) ? 'use-https' : undefined;
  }
  if ((code === 'TCP_CLOSED' || code === 'TCP_RESET') && fresh && TLS_PORTS.includes(port))
    return 'use-https';
  return undefined;
}

/** `code`, `message` and `data` of an error, read so that a hostile getter cannot throw. */
function fields(err: unknown): { code?: unknown; message?: unknown; data?: unknown } {
  if (typeof err !== 'object' || err === null) return {};
  try {
    const e = err as { code?: unknown; message?: unknown; data?: unknown };
    return { code: e.code, message: e.message, data: e.data };
  } catch {
    return {};
  }
}
