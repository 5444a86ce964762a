/**
 * Which `client.fetch` calls take the direct path (http/fetch-direct.ts), and what such a call
 * sends: the one place that decides. A call takes it when its `init` holds nothing but what the
 * direct path reproduces of undici's fetch:
 *
 * - a method among GET, HEAD, POST, PUT, DELETE, OPTIONS, PATCH (any case fetch normalises);
 * - headers as a record of strings, a sequence of string pairs, or a `Headers` object (undici's or
 *   the global one), with names and values fetch accepts;
 * - no body, or a string, `URLSearchParams`, `ArrayBuffer` or view, `Blob`, or an unused
 *   `ReadableStream` (with `duplex: 'half'`);
 * - any redirect mode; the cache modes undici's fetch only turns into request headers (`default`,
 *   `no-store`, `reload`, `no-cache`, `force-cache`), conditional and range requests included;
 * - the other `RequestInit` fields only at their default values (`mode: 'cors'`, `credentials:
 *   'same-origin'`, `integrity: ''`, `keepalive: false`, `referrer: 'about:client'` or `''`,
 *   `referrerPolicy: ''`), as a `Request` input carries them; Bulwark's own `timeout`, `retry`,
 *   `throwHttpErrors`.
 *
 * Everything else goes through undici's fetch, which then gives its own result or rejection: a
 * signal already aborted, credentials in the URL, a global origin set with undici's
 * `setGlobalOrigin` (it changes `Origin`, `Referer` and URL resolution), `FormData`, async
 * iterables and other body kinds, a body fetch refuses (a GET with a body, a locked stream, a
 * detached buffer), any other method, mode, credentials, cache mode (`only-if-cached`), integrity,
 * keepalive, referrer or referrer policy, `window`, `priority`, and any header fetch would refuse.
 */

import { getGlobalOrigin, Headers as UndiciHeaders } from 'undici';
import type { FetchInit } from './fetch-types.ts';
import { HeaderList, headerValue, isHttpToken } from './header-list.ts';
import { isPotentiallyTrustworthy } from './origin-checks.ts';
import { isDisturbed } from './stream-state.ts';

/** A request body the direct path sends: bytes in memory, a `Blob`, or a one-shot stream. */
export type DirectBody = string | Uint8Array | Blob | ReadableStream<Uint8Array> | null;

/** The cache modes undici's fetch turns into request headers (it has no HTTP cache). */
export type DirectCacheMode = 'default' | 'no-store' | 'reload' | 'no-cache' | 'force-cache';

/**
 * What a call sends, fixed when the call starts and shared by its attempts: the method, the
 * request's header list as undici's fetch has it before its network steps, the body (bytes copied
 * when the call starts, as fetch does), the redirect and cache modes.
 */
export class DirectRequest {
  readonly method: string;
  readonly headerList: HeaderList;
  readonly body: DirectBody;
  /** The body's length in bytes; `null` for a stream (sent chunked). */
  readonly bodyLength: number | null;
  readonly redirect: 'follow' | 'manual' | 'error';
  readonly cache: DirectCacheMode;
  /** The wire headers of a first hop, when they depend on nothing but the URL (no caller headers, no body). */
  readonly shared: boolean;
  /** The call overrides the client's timeouts: its requests carry their own headers and body timeouts. */
  readonly ownTimeouts: boolean;

  constructor(
    method: string,
    headerList: HeaderList,
    body: DirectBody,
    redirect: 'follow' | 'manual' | 'error',
    cache: DirectCacheMode,
    shared: boolean,
    ownTimeouts: boolean,
  ) {
    this.method = method;
    this.headerList = headerList;
    this.body = body;
    this.bodyLength =
      body === null
        ? 0
        : typeof body === 'string'
          ? Buffer.byteLength(body)
          : body instanceof Uint8Array
            ? body.byteLength
            : body instanceof Blob
              ? body.size
              : null;
    this.redirect = redirect;
    this.cache = cache;
    this.shared = shared;
    this.ownTimeouts = ownTimeouts;
  }
}

/** Keys of `init` the direct path may see, each with the values it takes (`true`: any). */
const DIRECT_INIT: Readonly<Record<string, true | readonly unknown[]>> = Object.assign(Object.create(null), {
  method: true,
  headers: true,
  body: true,
  signal: true,
  redirect: [undefined, 'follow', 'manual', 'error'],
  cache: [undefined, 'default', 'no-store', 'reload', 'no-cache', 'force-cache'],
  mode: [undefined, 'cors'],
  credentials: [undefined, 'same-origin'],
  integrity: [undefined, ''],
  keepalive: [undefined, false],
  referrer: [undefined, 'about:client', ''],
  referrerPolicy: [undefined, ''],
  duplex: [undefined, 'half'],
  timeout: true,
  retry: true,
  throwHttpErrors: true,
  hooks: true,
});

const DIRECT_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
const CONDITIONAL_HEADERS = [
  'if-modified-since',
  'if-none-match',
  'if-unmodified-since',
  'if-match',
  'if-range',
];

/**
 * The direct path's request for `fetch(href, init)` with `method` already normalised, or
 * `undefined` when undici's fetch must take the call (see the module comment). Never throws:
 * anything undici's fetch would reject is left to it, so the rejection is its own.
 */
export function directRequest(href: string, method: string, init: FetchInit): DirectRequest | undefined {
  try {
    return prepare(href, method, init);
  } catch {
    // A getter or proxy of the caller's that throws: undici's fetch reads it again and rejects.
    return undefined;
  }
}

function prepare(href: string, method: string, init: FetchInit): DirectRequest | undefined {
  for (const key in init) {
    const allowed = DIRECT_INIT[key];
    if (allowed === undefined) return undefined;
    if (allowed !== true && !allowed.includes((init as Record<string, unknown>)[key])) return undefined;
  }
  // Aborted already: undici's fetch rejects with the reason (and gives a reason object a stack).
  if (init.signal?.aborted) return undefined;
  if (!DIRECT_METHODS.has(method) || hasUserinfo(href) || getGlobalOrigin() !== undefined) return undefined;
  const list = new HeaderList();
  const given = init.headers;
  if (given !== undefined && given !== null && !fillHeaders(list, given)) return undefined;
  let body: DirectBody = null;
  let contentType: string | null = null;
  const raw = init.body;
  if (raw !== undefined && raw !== null) {
    if (method === 'GET' || method === 'HEAD') return undefined; // a TypeError of fetch's own
    if (typeof raw === 'string') {
      body = raw;
      contentType = 'text/plain;charset=UTF-8';
    } else if (raw instanceof URLSearchParams) {
      body = raw.toString();
      contentType = 'application/x-www-form-urlencoded;charset=UTF-8';
    } else if (raw instanceof ArrayBuffer) {
      if (isDetached(raw)) return undefined;
      body = new Uint8Array(raw.slice(0));
    } else if (ArrayBuffer.isView(raw)) {
      const buffer = raw.buffer;
      if (!(buffer instanceof ArrayBuffer) || isDetached(buffer)) return undefined;
      body = new Uint8Array(buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    } else if (raw instanceof Blob) {
      body = raw;
      if (raw.type !== '') contentType = raw.type;
    } else if (raw instanceof ReadableStream) {
      // fetch's own TypeErrors: a stream needs `duplex: 'half'`, and must be unused.
      if (init.duplex !== 'half' || raw.locked || isDisturbed(raw)) return undefined;
      body = raw as ReadableStream<Uint8Array>;
    } else {
      return undefined;
    }
  }
  if (contentType !== null && !list.contains('content-type')) list.append('content-type', contentType);
  let cache = (init.cache ?? 'default') as DirectCacheMode;
  if (cache === 'default' && CONDITIONAL_HEADERS.some((name) => list.contains(name))) cache = 'no-store';
  const shared = (given === undefined || given === null) && body === null && cache === 'default';
  if (!list.contains('accept')) list.append('accept', '*/*');
  if (!list.contains('accept-language')) list.append('accept-language', '*');
  const redirect = init.redirect ?? 'follow';
  return new DirectRequest(method, list, body, redirect, cache, shared, init.timeout !== undefined);
}

/** Whether `buffer` was transferred (its bytes are gone; fetch rejects it). */
function isDetached(buffer: ArrayBuffer): boolean {
  return (buffer as { detached?: boolean }).detached === true;
}

/** Whether an http(s) URL string carries credentials (`user:pass@`), which fetch turns into a header. */
function hasUserinfo(href: string): boolean {
  const start = href.indexOf('//') + 2;
  for (let i = start; i < href.length; i++) {
    const c = href.charCodeAt(i);
    if (c === 64 /* @ */) return true;
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) return false;
  }
  return false;
}

/**
 * Appends the caller's headers to `list` as `new Request()` does, for the shapes whose conversion
 * is plain (a record of strings, a sequence of string pairs, a `Headers` object); `false` for
 * anything else or any name or value fetch would reject, which undici's fetch then takes.
 *
 * A `Headers` object is read through its public iterator: names lower-cased and sorted, values
 * combined. That is exactly what undici's fetch sends for the global `Headers`; for undici's own
 * `Headers` undici's fetch reads its private list and keeps each name's first spelling and the
 * insertion order, which no public API shows — the one wire difference (README, "client.fetch").
 */
function fillHeaders(list: HeaderList, given: NonNullable<FetchInit['headers']>): boolean {
  if (Array.isArray(given)) {
    for (const pair of given as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) return false;
      if (!appendHeader(list, pair[0], pair[1])) return false;
    }
    return true;
  }
  if (given instanceof UndiciHeaders || given instanceof Headers) {
    for (const [name, value] of given as Iterable<[string, string]>)
      if (!appendHeader(list, name, value)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(given);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(given).length !== 0) return false;
  const record = given as Record<string, unknown>;
  for (const name of Object.keys(record)) if (!appendHeader(list, name, record[name])) return false;
  return true;
}

function appendHeader(list: HeaderList, name: unknown, value: unknown): boolean {
  if (typeof name !== 'string' || typeof value !== 'string' || !isHttpToken(name)) return false;
  const normal = headerValue(value);
  if (normal === undefined) return false;
  list.append(name, normal);
  return true;
}

/** First-hop wire headers of the requests with nothing of their own, by method and URL kind. */
const sharedWireHeaders = new Map<string, Record<string, string>>();

/** The wire headers of `request`'s first hop to `url`. */
export function firstHopHeaders(request: DirectRequest, url: URL): Record<string, string> {
  if (!request.shared) {
    return hopHeaders(
      request.headerList,
      request.method,
      request.body,
      request.bodyLength,
      request.cache,
      url,
    );
  }
  // What they depend on: the method, the scheme and whether the host is potentially trustworthy.
  const key = `${request.method} ${url.protocol} ${url.hostname}`;
  let cached = sharedWireHeaders.get(key);
  if (cached === undefined) {
    cached = hopHeaders(request.headerList, request.method, null, 0, 'default', url);
    if (sharedWireHeaders.size < 256) sharedWireHeaders.set(key, cached);
  }
  return cached;
}

/**
 * The headers one hop sends: the request's list plus what undici's fetch adds in its network
 * steps (HTTP-network-or-cache fetch) for `url`: `content-length`, `sec-fetch-mode`, `user-agent`,
 * the cache mode's `pragma` / `cache-control`, `accept-encoding` (`identity` for a range
 * request), and no `host`.
 */
export function hopHeaders(
  list: HeaderList,
  method: string,
  body: DirectBody,
  bodyLength: number | null,
  cache: DirectCacheMode,
  url: URL,
): Record<string, string> {
  const h = new HeaderList(list);
  const contentLength =
    body !== null
      ? bodyLength === null
        ? null
        : String(bodyLength)
      : method === 'POST' || method === 'PUT'
        ? '0'
        : null;
  if (contentLength !== null && !h.contains('content-length')) h.append('content-length', contentLength);
  if (isPotentiallyTrustworthy(url)) h.set('sec-fetch-mode', 'cors');
  // undici's default `user-agent` when it runs as a package rather than bundled in Node.
  if (!h.contains('user-agent')) h.append('user-agent', 'undici');
  if (cache === 'no-cache' && !h.contains('cache-control')) h.append('cache-control', 'max-age=0');
  if (cache === 'no-store' || cache === 'reload') {
    if (!h.contains('pragma')) h.append('pragma', 'no-cache');
    if (!h.contains('cache-control')) h.append('cache-control', 'no-cache');
  }
  if (h.contains('range')) h.append('accept-encoding', 'identity');
  if (!h.contains('accept-encoding')) {
    h.append('accept-encoding', url.protocol === 'https:' ? 'br, gzip, deflate, zstd' : 'gzip, deflate');
  }
  h.delete('host');
  return h.toRecord();
}
