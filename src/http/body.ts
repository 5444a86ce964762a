/**
 * Request bodies: whether a body can be sent again on a retry. Buffered bodies (strings, bytes,
 * blobs, form data, URLSearchParams) can; streams and async iterables are consumed by the first
 * attempt and make the call one-shot.
 */

/** `true` when `body` can be sent again as it is. */
export function isReplayableBody(body: unknown): boolean {
  if (body === undefined || body === null) return true;
  if (typeof body === 'string') return true;
  if (body instanceof Uint8Array || body instanceof ArrayBuffer || ArrayBuffer.isView(body)) return true;
  if (body instanceof URLSearchParams || body instanceof Blob || body instanceof FormData) return true;
  if (typeof body === 'object') {
    // Foreign Blob/FormData implementations (undici's own classes): recognised by shape.
    const tag = (body as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag];
    if (tag === 'Blob' || tag === 'File' || tag === 'FormData' || tag === 'URLSearchParams') return true;
  }
  return false;
}

/** Case-insensitive lookup of one header in any header shape `fetch` or undici accepts. */
export function hasHeader(headers: unknown, name: string): boolean {
  if (headers === undefined || headers === null) return false;
  if (typeof (headers as Headers).has === 'function') return (headers as Headers).has(name);
  if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      return (headers as [string, string][]).some(([k]) => k.toLowerCase() === name);
    }
    for (let i = 0; i < headers.length; i += 2) if (String(headers[i]).toLowerCase() === name) return true;
    return false;
  }
  if (typeof headers === 'object') {
    for (const key of Object.keys(headers)) if (key.toLowerCase() === name) return true;
  }
  return false;
}
