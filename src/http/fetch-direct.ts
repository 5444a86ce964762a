/**
 * `client.fetch`'s direct path: the requests that make up nearly all service-to-service traffic
 * (a method without a body or with a string, bytes or `URLSearchParams` body, plain headers, any
 * redirect mode) are sent on Bulwark's agent with a dispatch handler of their own, and their
 * `Response` is built from undici's own response internals, the ones its `fetch` builds: the same
 * class, headers, body stream, `url`, `redirected` and `type`, and the same request on the wire.
 * Everything else (a `Request` with a stream body, `FormData`, `Blob`, `Headers` objects,
 * conditional or range requests, credentials in the URL, `cache`, `mode`, `integrity`…) goes
 * through undici's `fetch` as before (http/fetch.ts decides).
 *
 * Written here rather than taken from undici because undici's fetch is the thing we improve on:
 * per request it builds a `Request` (web IDL conversions, an `AbortController`, abort listeners),
 * runs the fetch algorithm's async steps, and carries the body through a Node stream, an async
 * iterator and a web stream; the direct path dispatches once and feeds one web stream. In the
 * overhead bench it is ~2.5× undici's fetch on the same dispatcher (bench/README.md).
 *
 * What it reproduces, step for step, of undici's fetch (lib/web/fetch/index.js): the request's
 * header list (the caller's, then `content-type` for the body, `accept`, `accept-language`, and
 * per hop `content-length`, `sec-fetch-mode`, `user-agent`, `accept-encoding`, without `host`);
 * informational responses skipped; redirects (`follow` up to 20, with the method, body and
 * header rewrites of HTTP-redirect fetch; `manual`; `error`); content codings (gzip, deflate, br,
 * zstd, at most five); a null body for `HEAD` and the null-body statuses; and its errors
 * (`TypeError('fetch failed', { cause })`, a body that fails with `TypeError('terminated')`, or
 * with the caller's abort reason). What it leaves out: the resource-timing entries undici's fetch
 * adds to `performance` (Node's bundled fetch does; a dispatcher of one's own rarely wants them).
 */
import { AsyncResource } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { pipeline, Readable } from 'node:stream';
import type { UnderlyingByteSource } from 'node:stream/web';
import zlib from 'node:zlib';
import type { Dispatcher } from 'undici';
import type { Call } from '../client/call.ts';
import { undiciHeadersTimeout } from '../client/options.ts';
import { type Done, OK } from '../client/pipeline.ts';
import { kAttempt } from '../transport/agent.ts';
import type { FetchInit, FetchResponse } from './fetch.ts';
import { withDeadline } from './request.ts';

/** undici's header list (lib/web/fetch/headers.js): what its `Request` and `Response` keep headers in. */
interface HeadersList {
  contains(name: string, isLowerCase: boolean): boolean;
  get(name: string, isLowerCase: boolean): string | null;
  append(name: string, value: string, isLowerCase: boolean): void;
  set(name: string, value: string, isLowerCase: boolean): void;
  delete(name: string, isLowerCase: boolean): void;
  readonly entries: Record<string, string>;
}

/** undici's internal response (lib/web/fetch/response.js `makeResponse`). */
interface InnerResponse {
  status: number;
  headersList: HeadersList;
  urlList: URL[];
  body: { stream: ReadableStream<Uint8Array>; source: null; length: null } | null;
}

const requireUndici = createRequire(import.meta.url);
const { HeadersList } = requireUndici('undici/lib/web/fetch/headers.js') as {
  HeadersList: new (init?: HeadersList) => HeadersList;
};
const { makeResponse, filterResponse, fromInnerResponse } = requireUndici(
  'undici/lib/web/fetch/response.js',
) as {
  makeResponse(init: {
    status: number;
    statusText?: string;
    headersList: HeadersList;
    urlList: URL[];
  }): InnerResponse;
  filterResponse(response: InnerResponse, type: 'basic' | 'cors'): InnerResponse;
  fromInnerResponse(response: InnerResponse, guard: 'immutable'): FetchResponse;
};
const { responseLocationURL, isURLPotentiallyTrustworthy, sameOrigin, createInflate, isValidHTTPToken } =
  requireUndici('undici/lib/web/fetch/util.js') as {
    responseLocationURL(response: InnerResponse, requestFragment: string): URL | null;
    isURLPotentiallyTrustworthy(url: URL): boolean;
    sameOrigin(a: URL, b: URL): boolean;
    createInflate(options: zlib.ZlibOptions): NodeJS.ReadWriteStream;
    isValidHTTPToken(name: string): boolean;
  };

/** The `init` keys the direct path understands; any other key sends the call through undici's fetch. */
const DIRECT_KEYS = new Set([
  'method',
  'headers',
  'body',
  'signal',
  'redirect',
  'timeout',
  'retry',
  'throwHttpErrors',
]);
const DIRECT_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH']);
/** Headers that make undici's fetch change its cache mode or encoding: left to it. */
const UNDICI_ONLY_HEADERS = [
  'range',
  'if-modified-since',
  'if-none-match',
  'if-unmodified-since',
  'if-match',
  'if-range',
] as const;
const REQUEST_BODY_HEADERS = [
  'content-encoding',
  'content-language',
  'content-location',
  'content-type',
  'content-length',
] as const;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
const MAX_REDIRECTS = 20;
const MAX_CONTENT_ENCODINGS = 5;
const BODY_BUFFER = 64 * 1024;
/** undici's default `user-agent` when it runs as a package rather than bundled in Node. */
const USER_AGENT = 'undici';

/**
 * What a call sends, fixed when the call starts and shared by its attempts: the method, the
 * request's header list as undici's fetch has it before its network steps, the body's bytes
 * (copied when the call starts, as fetch does) and the redirect mode.
 */
export class DirectRequest {
  readonly method: string;
  readonly headersList: HeadersList;
  readonly body: string | Uint8Array | null;
  readonly bodyLength: number;
  readonly redirect: 'follow' | 'manual' | 'error';
  /** The wire headers of a first hop, when they depend on nothing but the URL (no caller headers, no body). */
  readonly shared: boolean;
  /** The call overrides the client's timeouts: its requests carry their own headers and body timeouts. */
  readonly ownTimeouts: boolean;

  constructor(
    method: string,
    headersList: HeadersList,
    body: string | Uint8Array | null,
    redirect: 'follow' | 'manual' | 'error',
    shared: boolean,
    ownTimeouts: boolean,
  ) {
    this.method = method;
    this.headersList = headersList;
    this.body = body;
    this.bodyLength =
      body === null ? 0 : typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    this.redirect = redirect;
    this.shared = shared;
    this.ownTimeouts = ownTimeouts;
  }
}

/**
 * The direct path's request for `fetch(href, init)` with `method` already normalised, or
 * `undefined` when undici's fetch must take the call (see the module comment). Never throws:
 * anything undici's fetch would reject is left to it, so the rejection is its own.
 */
export function directRequest(href: string, method: string, init: FetchInit): DirectRequest | undefined {
  for (const key in init) if (!DIRECT_KEYS.has(key)) return undefined;
  // Aborted already: undici's fetch rejects with the reason (and gives a reason object a stack).
  if (init.signal?.aborted) return undefined;
  if (!DIRECT_METHODS.has(method) || hasUserinfo(href)) return undefined;
  const redirect = init.redirect ?? 'follow';
  if (redirect !== 'follow' && redirect !== 'manual' && redirect !== 'error') return undefined;
  const list = new HeadersList();
  const given = init.headers;
  if (given !== undefined && given !== null && !fillHeaders(list, given)) return undefined;
  for (const name of UNDICI_ONLY_HEADERS) if (list.contains(name, true)) return undefined;
  let body: string | Uint8Array | null = null;
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
      body = new Uint8Array(raw.slice(0));
    } else if (ArrayBuffer.isView(raw) && raw.buffer instanceof ArrayBuffer) {
      body = new Uint8Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    } else {
      return undefined;
    }
  }
  if (contentType !== null && !list.contains('content-type', true)) {
    list.append('content-type', contentType, true);
  }
  const shared = given === undefined || given === null ? body === null : false;
  if (!list.contains('accept', true)) list.append('accept', '*/*', true);
  if (!list.contains('accept-language', true)) list.append('accept-language', '*', true);
  return new DirectRequest(method, list, body, redirect, shared, init.timeout !== undefined);
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
 * is plain (a record of strings, a sequence of string pairs); `false` for anything else or any
 * name or value fetch would reject, which undici's fetch then takes.
 */
function fillHeaders(list: HeadersList, given: NonNullable<FetchInit['headers']>): boolean {
  if (Array.isArray(given)) {
    for (const pair of given as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) return false;
      if (!appendHeader(list, pair[0], pair[1])) return false;
    }
    return true;
  }
  const proto = Object.getPrototypeOf(given);
  if (proto !== Object.prototype && proto !== null) return false;
  if (Object.getOwnPropertySymbols(given).length !== 0) return false;
  const record = given as Record<string, unknown>;
  for (const name of Object.keys(record)) if (!appendHeader(list, name, record[name])) return false;
  return true;
}

// HTTP whitespace at either end of a value, which fetch strips; bytes it refuses inside one.
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const BAD_VALUE = /[\0\r\n]|[^\0-\xff]/;

function appendHeader(list: HeadersList, name: unknown, value: unknown): boolean {
  if (typeof name !== 'string' || typeof value !== 'string') return false;
  if (!isValidHTTPToken(name)) return false;
  const normal = value.replace(EDGE_WHITESPACE, '');
  if (BAD_VALUE.test(normal)) return false;
  list.append(name, normal, false);
  return true;
}

/** First-hop wire headers of the requests with nothing of their own, by URL kind. */
const sharedWireHeaders = new Map<string, Record<string, string>>();

/**
 * The headers one hop sends: the request's list plus what undici's fetch adds in its network
 * steps (HTTP-network-or-cache fetch), for `url`.
 */
function wireHeaders(
  list: HeadersList,
  method: string,
  body: string | Uint8Array | null,
  bodyLength: number,
  url: URL,
): Record<string, string> {
  const h = new HeadersList(list);
  const contentLength =
    body !== null ? String(bodyLength) : method === 'POST' || method === 'PUT' ? '0' : null;
  if (contentLength !== null && !h.contains('content-length', true))
    h.append('content-length', contentLength, true);
  const https = url.protocol === 'https:';
  if (https || isURLPotentiallyTrustworthy(url)) h.set('sec-fetch-mode', 'cors', true);
  if (!h.contains('user-agent', true)) h.append('user-agent', USER_AGENT, true);
  if (!h.contains('accept-encoding', true)) {
    h.append('accept-encoding', https ? 'br, gzip, deflate, zstd' : 'gzip, deflate', true);
  }
  h.delete('host', true);
  return h.entries;
}

/**
 * The transport for a call whose input is a {@link DirectRequest}: dispatches its first hop on
 * `dispatcher` (the agent, which routes every hop by its origin).
 */
export function sendDirect(dispatcher: Pick<Dispatcher, 'dispatch'>, call: Call): void {
  const signal = call.signal;
  if (signal?.aborted) {
    (call.settleAttempt as Done<FetchResponse>)(call, signal.reason);
    return;
  }
  const request = call.input as DirectRequest;
  const url = new URL(call.url);
  let headers: Record<string, string>;
  if (request.shared) {
    const key = `${request.method} ${url.protocol} ${url.hostname}`;
    let cached = sharedWireHeaders.get(key);
    if (cached === undefined) {
      cached = wireHeaders(request.headersList, request.method, null, 0, url);
      if (sharedWireHeaders.size < 256) sharedWireHeaders.set(key, cached);
    }
    headers = cached;
  } else {
    headers = wireHeaders(request.headersList, request.method, request.body, request.bodyLength, url);
  }
  const hop = new DirectHop(
    call,
    request,
    dispatcher,
    url,
    [url],
    0,
    request.method,
    request.headersList,
    request.body,
  );
  hop.headers =
    call.deadlineHeader === false ? headers : (withDeadline(headers, call) as Record<string, string>);
  hop.listen();
  dispatcher.dispatch(hop as unknown as Dispatcher.DispatchOptions, hop);
}

/**
 * One hop of a direct fetch (one request: the first, or one a redirect led to): its dispatch
 * options and its dispatch handler in one object, as `AttemptRequest` is for `client.request`
 * (http/request.ts, which explains the class, the controller and the async context). It settles
 * the attempt with the `Response` at its headers, feeds the response's web stream, and on a
 * redirect to follow sends the next hop.
 */
class DirectHop extends AsyncResource implements Dispatcher.DispatchHandler {
  readonly origin: string;
  readonly path: string;
  readonly method: Dispatcher.HttpMethod;
  headers: Record<string, string> | undefined = undefined;
  readonly body: string | Uint8Array | null;
  readonly [kAttempt]: Call;
  headersTimeout: number | undefined = undefined;
  bodyTimeout: number | undefined = undefined;
  /** The caller's abort listener, while it is registered. */
  onAbort: (() => void) | undefined = undefined;
  readonly #request: DirectRequest;
  readonly #dispatcher: Pick<Dispatcher, 'dispatch'>;
  readonly #urlList: URL[];
  readonly #redirects: number;
  readonly #list: HeadersList;
  /** The response body's stream controller once the response is out, until it ends or fails. */
  #sink: ReadableByteStreamController | null = null;
  /** The decoding chain's entry, when the response has content codings. */
  #decoding: Readable | null = null;
  /** This hop's response is a redirect being followed, or has no body: what comes is dropped. */
  #dropping = false;
  #controller: Dispatcher.DispatchController | null = null;

  constructor(
    call: Call,
    request: DirectRequest,
    dispatcher: Pick<Dispatcher, 'dispatch'>,
    url: URL,
    urlList: URL[],
    redirects: number,
    method: string,
    list: HeadersList,
    body: string | Uint8Array | null,
  ) {
    super('BULWARK_FETCH');
    this.origin = url.origin;
    const path = url.pathname + url.search;
    // A bare `?` at the end is part of the request target (undici's fetch keeps it).
    this.path =
      url.search.length === 0 && url.href[url.href.length - url.hash.length - 1] === '?' ? `${path}?` : path;
    this.method = method as Dispatcher.HttpMethod;
    this.body = body;
    this[kAttempt] = call;
    this.#request = request;
    this.#dispatcher = dispatcher;
    this.#urlList = urlList;
    this.#redirects = redirects;
    this.#list = list;
    if (request.ownTimeouts) {
      // A per-call override of the connection-level timeouts (the pools have the client's).
      this.headersTimeout = undiciHeadersTimeout(call.config.timeout);
      this.bodyTimeout = call.config.timeout.body;
    }
  }

  /** Makes this hop the call's open request, and lets the caller's signal abort it. */
  listen(): void {
    const call = this[kAttempt];
    call.attemptOptions = this;
    const signal = call.signal;
    if (signal !== undefined) {
      this.onAbort = () => call.abortAttempt(signal.reason);
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
  }

  #settle(): Done<FetchResponse> | undefined {
    return this[kAttempt].settlerOf(this) as Done<FetchResponse> | undefined;
  }

  #stopListening(): void {
    if (this.onAbort !== undefined) {
      this[kAttempt].signal?.removeEventListener('abort', this.onAbort);
      this.onAbort = undefined;
    }
  }

  /** Fails the attempt before any response, with fetch's own error. */
  #fail(controller: Dispatcher.DispatchController, cause: Error): void {
    this.#dropping = true;
    controller.abort(cause);
    this.#reject(new TypeError('fetch failed', { cause }));
  }

  #reject(err: unknown): void {
    this.#stopListening();
    queueMicrotask(() => {
      const settle = this.#settle();
      if (settle !== undefined) this.runInAsyncScope(settle, null, this[kAttempt], err);
    });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this[kAttempt].requestStarted(this, controller);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    statusText: string,
  ): void {
    if (status < 200) return; // 1xx: informational, the response is still to come
    const list = responseHeaders(controller, headers);
    const inner = makeResponse({ status, statusText, headersList: list, urlList: this.#urlList });
    const redirect = this.#request.redirect;
    if (REDIRECT_STATUSES.has(status) && redirect !== 'manual') {
      if (redirect === 'error') {
        this.#fail(controller, new Error('unexpected redirect'));
        return;
      }
      const current = this.#urlList[this.#urlList.length - 1] as URL;
      let location: URL | null;
      try {
        location = responseLocationURL(inner, current.hash);
      } catch (err) {
        this.#fail(controller, err as Error);
        return;
      }
      if (location !== null) {
        this.#follow(controller, status, current, location);
        return;
      }
    }
    const settle = this.#settle();
    if (settle === undefined) {
      // An attempt that is over (aborted as the response arrived): let the response go.
      this.#dropping = true;
      controller.abort(new Error('the attempt this request was sent for is over'));
      return;
    }
    if (this.method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
      inner.body = null;
      this.#dropping = true;
      this.#stopListening();
    } else {
      const decoders = decodersFor(list);
      if (typeof decoders === 'number') {
        this.#fail(
          controller,
          new Error(
            `too many content-encodings in response: ${decoders}, maximum allowed is ${MAX_CONTENT_ENCODINGS}`,
          ),
        );
        return;
      }
      const stream = new ReadableStream(
        {
          start: (sink: ReadableByteStreamController) => {
            this.#sink = sink;
          },
          pull: () => {
            if (this.#decoding === null) controller.resume();
            else this.#decoded?.resume();
          },
          cancel: (reason: unknown) => {
            this.#sink = null;
            this.#stopListening();
            if (!controller.aborted) controller.abort(reason as Error);
          },
          type: 'bytes',
        } satisfies UnderlyingByteSource,
        // As much as undici's fetch buffers before it waits for a reader (its Node stream's 64 KiB),
        // so a small body nobody reads still ends, and its connection can serve again.
        { highWaterMark: BODY_BUFFER },
      ) as ReadableStream<Uint8Array>;
      if (decoders.length !== 0) this.#decode(controller, decoders);
      inner.body = { stream, source: null, length: null };
    }
    // 'cors' once a redirect led to another origin than the first URL's, as undici's fetch taints it.
    const type = this.#redirects !== 0 && leftOrigin(this.#urlList) ? 'cors' : 'basic';
    const response = fromInnerResponse(filterResponse(inner, type), 'immutable');
    this.runInAsyncScope(settle, null, this[kAttempt], OK, response);
  }

  /** The last stream of the decoding chain, which feeds the response body. */
  #decoded: Readable | null = null;

  #decode(controller: Dispatcher.DispatchController, decoders: NodeJS.ReadWriteStream[]): void {
    const source = new Readable({ read: () => controller.resume() });
    this.#decoding = source;
    const out = pipeline(source, ...(decoders as unknown as [NodeJS.ReadWriteStream]), (err) => {
      if (err) this.#error(err);
    }) as unknown as Readable;
    this.#decoded = out;
    out.on('data', (chunk: Buffer) => {
      if (!this.#enqueue(chunk)) out.pause();
    });
    out.on('end', () => this.#close());
    out.on('error', () => {}); // reported through pipeline's callback
  }

  /** Follows a redirect (HTTP-redirect fetch): checks, rewrites, and sends the next hop. */
  #follow(controller: Dispatcher.DispatchController, status: number, current: URL, location: URL): void {
    if (location.protocol !== 'http:' && location.protocol !== 'https:') {
      this.#fail(controller, new Error('URL scheme must be a HTTP(S) scheme'));
      return;
    }
    if (this.#redirects === MAX_REDIRECTS) {
      this.#fail(controller, new Error('redirect count exceeded'));
      return;
    }
    if ((location.username || location.password) && !sameOrigin(current, location)) {
      this.#fail(controller, new Error('cross origin not allowed for request mode "cors"'));
      return;
    }
    // The redirect's own body is read and dropped, so its connection can serve again.
    this.#dropping = true;
    const call = this[kAttempt];
    if (this.#settle() === undefined) {
      controller.abort(new Error('the attempt this request was sent for is over'));
      return;
    }
    let method: string = this.method;
    let body = this.body;
    const list = new HeadersList(this.#list);
    if (
      ((status === 301 || status === 302) && method === 'POST') ||
      (status === 303 && method !== 'GET' && method !== 'HEAD')
    ) {
      method = 'GET';
      body = null;
      for (const name of REQUEST_BODY_HEADERS) list.delete(name, true);
    }
    if (!sameOrigin(current, location)) {
      list.delete('authorization', true);
      list.delete('proxy-authorization', true);
      list.delete('cookie', true);
      list.delete('host', true);
    }
    this.#stopListening();
    // In the call's async context, which the next hop (an AsyncResource) takes as its own.
    this.runInAsyncScope(() => {
      const request = this.#request;
      const urlList = [...this.#urlList, location];
      const next = new DirectHop(
        call,
        request,
        this.#dispatcher,
        location,
        urlList,
        this.#redirects + 1,
        method,
        list,
        body,
      );
      const headers = wireHeaders(list, method, body, body === null ? 0 : request.bodyLength, location);
      next.headers =
        call.deadlineHeader === false ? headers : (withDeadline(headers, call) as Record<string, string>);
      next.listen();
      this.#dispatcher.dispatch(next as unknown as Dispatcher.DispatchOptions, next);
    });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#dropping) return;
    const decoding = this.#decoding;
    if (decoding !== null) {
      if (!decoding.push(chunk)) controller.pause();
      return;
    }
    if (!this.#enqueue(chunk)) controller.pause();
  }

  /** Passes a chunk (a copy: undici's chunks are views of its socket buffer) to the body; `false` when it is full. */
  #enqueue(chunk: Buffer): boolean {
    const sink = this.#sink;
    // (undici may pass an empty chunk as it resumes: nothing to enqueue, and no reason to pause.)
    if (sink === null || chunk.byteLength === 0) return true;
    sink.enqueue(new Uint8Array(chunk));
    return (sink.desiredSize ?? 0) > 0;
  }

  onResponseEnd(): void {
    if (this.#dropping) return;
    const decoding = this.#decoding;
    if (decoding !== null) {
      decoding.push(null);
      return;
    }
    this.#close();
  }

  #close(): void {
    this.#stopListening();
    const sink = this.#sink;
    this.#sink = null;
    if (sink === null) return;
    sink.close();
    // A BYOB reader still waiting is answered with the end.
    sink.byobRequest?.respond(0);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (this.#sink === null && this.#decoding === null && !this.#dropping) {
      // Before the response: the attempt fails, as undici's fetch does, with `fetch failed`
      // around the cause — or with the caller's abort reason itself.
      const call = this[kAttempt];
      const signal = call.signal;
      this.#reject(
        call.abortedWith(err)
          ? call.reason
          : signal?.aborted && err === signal.reason
            ? err
            : new TypeError('fetch failed', { cause: err }),
      );
      return;
    }
    this.#error(err);
  }

  /** The response body fails: with the caller's abort reason, or as undici's fetch terminates one. */
  #error(err: Error): void {
    this.#stopListening();
    const controller = this.#controller;
    if (controller !== null && !controller.aborted) controller.abort(err);
    const sink = this.#sink;
    this.#sink = null;
    this.#decoding?.destroy();
    this.#decoding = null;
    if (sink === null) return;
    const call = this[kAttempt];
    const signal = call.signal;
    sink.error(
      call.abortedWith(err)
        ? call.reason
        : signal?.aborted && err === signal.reason
          ? err
          : new TypeError('terminated', { cause: err }),
    );
  }
}

/** Whether a redirect chain went through another origin than its first URL's. */
function leftOrigin(urlList: URL[]): boolean {
  const first = urlList[0] as URL;
  for (const url of urlList) if (!sameOrigin(first, url)) return true;
  return false;
}

/** The response's header list, from the raw headers (names lower-cased, values as latin1), as undici's fetch builds it. */
function responseHeaders(
  controller: Dispatcher.DispatchController,
  headers: Record<string, string | string[] | undefined>,
): HeadersList {
  const list = new HeadersList();
  const raw = (controller as { rawHeaders?: Buffer[] }).rawHeaders;
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i += 2) {
      list.append(
        (raw[i] as Buffer).toString('latin1').toLowerCase(),
        (raw[i + 1] as Buffer).toString('latin1'),
        true,
      );
    }
    return list;
  }
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    if (Array.isArray(value)) for (const v of value) list.append(name, `${v}`, true);
    else list.append(name, `${value}`, true);
  }
  return list;
}

/**
 * The decoders for the response's content codings, last coding first, as undici's fetch makes
 * them; none when a coding is unknown (the body is passed on as it came); past five, their number.
 */
function decodersFor(list: HeadersList): NodeJS.ReadWriteStream[] | number {
  const header = list.get('content-encoding', true);
  if (header === null) return [];
  const codings = header.toLowerCase().split(',');
  if (codings.length > MAX_CONTENT_ENCODINGS) return codings.length;
  const decoders: NodeJS.ReadWriteStream[] = [];
  for (let i = codings.length - 1; i >= 0; --i) {
    const coding = (codings[i] as string).trim();
    if (coding === 'x-gzip' || coding === 'gzip') {
      decoders.push(
        zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
      );
    } else if (coding === 'deflate') {
      decoders.push(
        createInflate({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH }),
      );
    } else if (coding === 'br') {
      decoders.push(
        zlib.createBrotliDecompress({
          flush: zlib.constants.BROTLI_OPERATION_FLUSH,
          finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH,
        }),
      );
    } else if (coding === 'zstd' && typeof zlib.createZstdDecompress === 'function') {
      decoders.push(
        zlib.createZstdDecompress({
          flush: zlib.constants.ZSTD_e_continue,
          finishFlush: zlib.constants.ZSTD_e_end,
          params: { [zlib.constants.ZSTD_d_windowLogMax]: 23 },
        }),
      );
    } else {
      return [];
    }
  }
  return decoders;
}
