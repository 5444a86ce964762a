/**
 * Response headers as undici gives them over HTTP/2 — Node's header object: no prototype, a
 * `Symbol(sensitiveHeaders)` key, pseudo-headers possible — as the plain object an HTTP/1.1
 * response has, so `client.request`'s result has one shape whichever protocol carried it.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** `headers` itself when it is already a plain object (HTTP/1.1); a plain copy otherwise. */
export function plainHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  if (Object.getPrototypeOf(headers) !== null) return headers;
  const plain: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    // Pseudo-headers (`:status` is removed by undici) are HTTP/2 framing, not fields.
    if (isPseudoHeader(name)) continue;
    // A `__proto__` field is an own property, not the object's prototype.
    Object.defineProperty(plain, name, {
      value: headers[name],
      enumerable: true,
      configurable: true,
      writable: true,
    });
  }
  return plain;
}

/** Whether a header name is an HTTP/2 pseudo-header (`:status`, ...). */
export function isPseudoHeader(name: string): boolean {
  return name.charCodeAt(0) === 58;
}
