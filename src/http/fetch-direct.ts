/**
 * `client.fetch`'s direct path: the calls http/direct-request.ts accepts — nearly all
 * service-to-service traffic — are sent on Bulwark's agent with a dispatch handler of their own,
 * and answered with a `Response` built with undici's public `Response` constructor
 * (http/fetch-response.ts): the class undici's fetch returns, with the same headers, body, `url`,
 * `redirected` and `type`, after the same request on the wire.
 *
 * Written here rather than taken from undici because undici's fetch is the thing we improve on:
 * per request it builds a `Request` (web IDL conversions, an `AbortController`, abort listeners),
 * runs the fetch algorithm's async steps, and carries the body through a Node stream, an async
 * iterator and a web stream; the direct path dispatches once and feeds one web stream
 * (bench/README.md has the measurements).
 *
 * What it reproduces of undici's fetch (lib/web/fetch/index.js), step for step: the request's
 * header list and what each hop adds (http/direct-request.ts); informational responses skipped;
 * redirects (`follow` up to 20, with the method, body and header rewrites of HTTP-redirect fetch,
 * a stream body refused on any but a 303; `manual`; `error`); content codings
 * (http/content-decoding.ts); a null body for `HEAD` and the null-body statuses; its errors before
 * the response (`TypeError('fetch failed', { cause })`, turned into a `BulwarkError` by the
 * attempt stage); and its abort semantics: the caller's signal rejects the call with its reason
 * before the response, and after it errors the body with the reason until the body has been read
 * to its end — the listener stays on the signal until then, and no longer. What it does
 * differently, on purpose: a body that fails on the network fails with a `BulwarkError`
 * (http/attempt.ts `bodyFailure`) where undici's fetch gives `TypeError('terminated')`, both with
 * the original error as `cause`; a redirect's connection is drained for reuse rather than closed;
 * and no resource-timing entries are added to `performance`.
 */
import { AsyncResource } from 'node:async_hooks';
import { finished, pipeline, Readable, type Transform } from 'node:stream';
import type { UnderlyingByteSource } from 'node:stream/web';
import type { Dispatcher } from 'undici';
import { BulwarkError } from '../errors/bulwark-error.ts';
import { OK } from '../policy/pipeline.ts';
import { kAttempt } from '../transport/agent.ts';
import { bodyFailure } from './attempt.ts';
import { AbortReason, type Call, type CallDone } from './call.ts';
import { withTraceHeaders } from './call-trace.ts';
import { decodersFor, MAX_CONTENT_ENCODINGS } from './content-decoding.ts';
import { withDeadline } from './deadline-header.ts';
import { type DirectBody, DirectRequest, firstHopHeaders, hopHeaders } from './direct-request.ts';
import { DirectResponse } from './fetch-response.ts';
import type { FetchResponse } from './fetch-types.ts';
import { isPseudoHeader } from './h2-headers.ts';
import { HeaderList } from './header-list.ts';
import { leftOrigin, sameOrigin } from './origin-checks.ts';
import { locationUrl } from './redirect-location.ts';
import { fieldValue } from './response-headers.ts';
import { probeUndiciFetch, undiciFetchBehaviour } from './undici-fetch-behaviour.ts';
import { undiciHeadersTimeout } from './undici-timeouts.ts';

export { DirectRequest };

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);
const REQUEST_BODY_HEADERS = [
  'content-encoding',
  'content-language',
  'content-location',
  'content-type',
  'content-length',
] as const;
const MAX_REDIRECTS = 20;
const BODY_BUFFER = 64 * 1024;

/**
 * The transport for a call whose input is a {@link DirectRequest}: dispatches its first hop on
 * `dispatcher` (the agent, which routes every hop by its origin).
 */
export function sendDirect(dispatcher: Pick<Dispatcher, 'dispatch'>, call: Call): void {
  probeUndiciFetch();
  const signal = call.signal;
  if (signal?.aborted) {
    (call.settleAttempt as CallDone<FetchResponse>)(call, signal.reason);
    return;
  }
  const request = call.input as DirectRequest;
  const url = new URL(call.url);
  const hop = new DirectHop(
    call,
    request,
    dispatcher,
    url,
    [url],
    request.method,
    request.headerList,
    request.body,
  );
  hop.send(firstHopHeaders(request, url));
}

/** What a hop dispatches as its body: the bytes, a fresh stream of a `Blob`, or the caller's stream. */
function dispatchBody(body: DirectBody): string | Uint8Array | AsyncIterable<Uint8Array> | null {
  if (body instanceof Blob) return body.stream() as unknown as AsyncIterable<Uint8Array>;
  return body as string | Uint8Array | AsyncIterable<Uint8Array> | null;
}

/** What the body of a response fails with when the caller aborts after the response (see undici-fetch-behaviour.ts). */
function bodyAbortReason(reason: unknown): unknown {
  if (reason || undiciFetchBehaviour.keepsFalsyAbortReason) return reason;
  return new DOMException('The operation was aborted.', 'AbortError');
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
  readonly body: string | Uint8Array | AsyncIterable<Uint8Array> | null;
  readonly [kAttempt]: Call;
  headersTimeout: number | undefined = undefined;
  bodyTimeout: number | undefined = undefined;
  /** The caller's abort listener, while it is registered. */
  onAbort: (() => void) | undefined = undefined;
  readonly #request: DirectRequest;
  readonly #dispatcher: Pick<Dispatcher, 'dispatch'>;
  readonly #urlList: URL[];
  readonly #list: HeaderList;
  /** The hop's body as the request holds it (what a redirect sends again). */
  readonly #body: DirectBody;
  /** The response has been handed out (the attempt settled with it). */
  #responded = false;
  /** The response body's stream controller, from the response until the body errors or is cancelled. */
  #sink: ReadableByteStreamController | null = null;
  /** The network side of the body is still coming (until its end or failure). */
  #open = false;
  /** The decoding chain's entry and exit, when the response has content codings. */
  #decoding: Readable | null = null;
  #decoded: Readable | null = null;
  /** This hop's response is a redirect being followed, or has no body: what comes is dropped. */
  #dropping = false;
  /** The response has a null-body status (content sent with it is not read: see onResponseData). */
  #nullBody = false;
  #controller: Dispatcher.DispatchController | null = null;

  constructor(
    call: Call,
    request: DirectRequest,
    dispatcher: Pick<Dispatcher, 'dispatch'>,
    url: URL,
    urlList: URL[],
    method: string,
    list: HeaderList,
    body: DirectBody,
  ) {
    super('BULWARK_FETCH');
    this.origin = url.origin;
    const path = url.pathname + url.search;
    // A bare `?` at the end is part of the request target (undici's fetch keeps it).
    this.path =
      url.search.length === 0 && url.href[url.href.length - url.hash.length - 1] === '?' ? `${path}?` : path;
    this.method = method as Dispatcher.HttpMethod;
    this.body = dispatchBody(body);
    this[kAttempt] = call;
    this.#request = request;
    this.#dispatcher = dispatcher;
    this.#urlList = urlList;
    this.#list = list;
    this.#body = body;
    if (request.ownTimeouts || call.dispatcher !== undefined) {
      // A per-call override of the connection-level timeouts (the pools have the client's), or a
      // dispatcher that is not the client's agent, which knows nothing of them.
      this.headersTimeout = undiciHeadersTimeout(call.config.timeout);
      this.bodyTimeout = call.config.timeout.body;
    }
  }

  /** Sends this hop with `headers` (plus the deadline and trace headers), as the call's open request. */
  send(headers: Record<string, string>): void {
    const call = this[kAttempt];
    this.headers = withTraceHeaders(withDeadline(headers, call), call.trace);
    call.attemptOptions = this;
    const signal = call.signal;
    if (signal !== undefined) {
      this.onAbort = () => this.#aborted(signal.reason);
      signal.addEventListener('abort', this.onAbort, { once: true });
    }
    this.#dispatcher.dispatch(this as unknown as Dispatcher.DispatchOptions, this);
  }

  #settle(): CallDone<FetchResponse> | undefined {
    return this[kAttempt].settlerOf(this) as CallDone<FetchResponse> | undefined;
  }

  #stopListening(): void {
    if (this.onAbort !== undefined) {
      this[kAttempt].signal?.removeEventListener('abort', this.onAbort);
      this.onAbort = undefined;
    }
  }

  /**
   * The caller's signal fired. Before the response the attempt fails with the reason (the call
   * aborts the request); after it the body errors with the reason and the request, if still
   * receiving, is aborted. A stream the request was to send is cancelled, as fetch cancels it.
   */
  #aborted(reason: unknown): void {
    this.onAbort = undefined; // (a `once` listener)
    const body = this.#body;
    if (body instanceof ReadableStream && !body.locked) body.cancel(reason).catch(() => {});
    if (!this.#responded) {
      this[kAttempt].abortAttempt(reason);
      return;
    }
    const sink = this.#sink;
    this.#sink = null;
    sink?.error(bodyAbortReason(reason));
    this.#decoding?.destroy();
    this.#decoding = null;
    const controller = this.#controller;
    if (this.#open && controller !== null && !controller.aborted) {
      this.#open = false;
      controller.abort(reason instanceof Error ? reason : new AbortReason(reason));
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
    const names: string[] = [];
    const values: string[] = [];
    responseFields(controller, headers, names, values);
    const redirect = this.#request.redirect;
    if (REDIRECT_STATUSES.has(status) && redirect !== 'manual') {
      if (redirect === 'error') {
        this.#fail(controller, new Error('unexpected redirect'));
        return;
      }
      const current = this.#urlList[this.#urlList.length - 1] as URL;
      let location: URL | null;
      try {
        location = locationUrl(fieldValue(names, values, 'location'), current, current.hash);
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
    let stream: ReadableStream<Uint8Array> | null = null;
    if (this.method === 'HEAD' || NULL_BODY_STATUSES.has(status)) {
      this.#dropping = true;
      this.#nullBody = NULL_BODY_STATUSES.has(status);
      this.#stopListening(); // nothing left for an abort to reach
    } else {
      const decoders = decodersFor(fieldValue(names, values, 'content-encoding'));
      if (typeof decoders === 'number') {
        this.#fail(
          controller,
          new Error(
            `too many content-encodings in response: ${decoders}, maximum allowed is ${MAX_CONTENT_ENCODINGS}`,
          ),
        );
        return;
      }
      stream = this.#bodyStream(controller);
      this.#open = true;
      if (decoders.length !== 0) this.#decode(controller, decoders);
      if (this.onAbort !== undefined) {
        // The caller's signal governs the body until it has been read to its end, as with fetch.
        finished(stream as never, () => this.#stopListening());
      }
    }
    this.#responded = true;
    // 'cors' once a redirect led to another origin than the first URL's, as undici's fetch taints it.
    const type = leftOrigin(this.#urlList) ? 'cors' : 'basic';
    let response: DirectResponse;
    try {
      response = new DirectResponse(stream, status, statusText, names, values, this.#urlList, type);
    } catch (err) {
      // (Not expected: the constructor is given only what it accepts.) The attempt fails, loudly.
      this.#responded = false;
      this.#sink = null;
      this.#fail(controller, err as Error);
      return;
    }
    this.runInAsyncScope(settle, null, this[kAttempt], OK, response as unknown as FetchResponse);
  }

  /** The response body: a byte stream fed from the connection (or the decoding chain). */
  #bodyStream(controller: Dispatcher.DispatchController): ReadableStream<Uint8Array> {
    return new ReadableStream(
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
          if (this.#open && !controller.aborted) {
            this.#open = false;
            controller.abort(reason instanceof Error ? reason : new AbortReason(reason));
          }
          this.#decoding?.destroy();
          this.#decoding = null;
        },
        type: 'bytes',
      } satisfies UnderlyingByteSource,
      // As much as undici's fetch buffers before it waits for a reader (its Node stream's 64 KiB),
      // so a small body nobody reads still ends, and its connection can serve again.
      { highWaterMark: BODY_BUFFER },
    ) as ReadableStream<Uint8Array>;
  }

  #decode(controller: Dispatcher.DispatchController, decoders: Transform[]): void {
    const source = new Readable({ read: () => controller.resume() });
    this.#decoding = source;
    const out = pipeline(source, ...(decoders as unknown as [Transform]), (err) => {
      if (err) this.#error(err, true);
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
    if (this.#urlList.length - 1 === MAX_REDIRECTS) {
      this.#fail(controller, new Error('redirect count exceeded'));
      return;
    }
    if (location.username || location.password) {
      // Mode 'cors': undici's fetch refuses a Location with credentials (its origin check compares
      // the request itself, which never matches, so even a same-origin one is refused).
      this.#fail(controller, new Error('cross origin not allowed for request mode "cors"'));
      return;
    }
    let method: string = this.method;
    let body = this.#body;
    if (status !== 303 && body instanceof ReadableStream) {
      // A stream cannot be sent twice: fetch's network error without a message.
      this.#dropping = true;
      controller.abort(new Error('a stream body cannot follow a redirect'));
      this.#reject(
        new BulwarkError({
          layer: 'http',
          code: 'HTTP_REDIRECT',
          retryable: false,
          mayHaveExecuted: true,
          cause: new Error(undefined),
        }),
      );
      return;
    }
    // The redirect's own body is read and dropped, so its connection can serve again.
    this.#dropping = true;
    const call = this[kAttempt];
    if (this.#settle() === undefined) {
      controller.abort(new Error('the attempt this request was sent for is over'));
      return;
    }
    const list = new HeaderList(this.#list);
    if (
      ((status === 301 || status === 302) && method === 'POST') ||
      (status === 303 && method !== 'GET' && method !== 'HEAD')
    ) {
      method = 'GET';
      body = null;
      for (const name of REQUEST_BODY_HEADERS) list.delete(name);
    }
    if (!sameOrigin(current, location)) {
      list.delete('authorization');
      list.delete('proxy-authorization');
      list.delete('cookie');
      list.delete('host');
    }
    this.#stopListening();
    // In the call's async context, which the next hop (an AsyncResource) takes as its own.
    this.runInAsyncScope(() => {
      const request = this.#request;
      const next = new DirectHop(
        call,
        request,
        this.#dispatcher,
        location,
        [...this.#urlList, location],
        method,
        list,
        body,
      );
      const length = body === null ? 0 : request.bodyLength;
      next.send(hopHeaders(list, method, body, length, request.cache, location));
    });
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#dropping) {
      if (this.#nullBody && undiciFetchBehaviour.closesOnNullBodyContent && !controller.aborted) {
        // Content no one can read (undici's fetch from 8.14 closes the connection rather than wait for it).
        controller.abort(new Error('response with null body status has content'));
      }
      return;
    }
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

  /** The body has come in whole: the stream closes (once read to its end). */
  #close(): void {
    this.#open = false;
    const sink = this.#sink;
    if (sink === null) return;
    sink.close();
    // A BYOB reader still waiting is answered with the end.
    sink.byobRequest?.respond(0);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    if (!this.#responded && !this.#dropping) {
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
    this.#error(err, false);
  }

  /**
   * The response body fails on the network (or, `malformed`, in its content coding): with a
   * `BulwarkError` naming the layer (http/attempt.ts `bodyFailure`), counted in the stats.
   */
  #error(err: Error, malformed: boolean): void {
    this.#open = false;
    this.#stopListening();
    const controller = this.#controller;
    if (controller !== null && !controller.aborted) controller.abort(err);
    const sink = this.#sink;
    this.#sink = null;
    this.#decoding?.destroy();
    this.#decoding = null;
    if (sink === null) return;
    sink.error(bodyFailure(this[kAttempt], err, malformed));
  }
}

/**
 * The response's header fields, from the raw headers (names lower-cased, values as latin1), as
 * undici's fetch reads them; from the parsed headers where a dispatcher gives no raw ones.
 */
function responseFields(
  controller: Dispatcher.DispatchController,
  headers: Record<string, string | string[] | undefined>,
  names: string[],
  values: string[],
): void {
  const raw = (controller as { rawHeaders?: unknown }).rawHeaders;
  if (Array.isArray(raw)) {
    for (let i = 0; i < raw.length; i += 2) {
      const name = latin1(raw[i]).toLowerCase();
      const value = raw[i + 1] as unknown;
      if (Array.isArray(value)) {
        for (const v of value) {
          names.push(name);
          values.push(latin1(v));
        }
      } else {
        names.push(name);
        values.push(latin1(value));
      }
    }
    return;
  }
  for (const name of Object.keys(headers)) {
    if (isPseudoHeader(name)) continue; // HTTP/2's framing (undici removes `:status` itself)
    const value = headers[name];
    for (const v of Array.isArray(value) ? value : [value]) {
      names.push(name);
      values.push(`${v}`);
    }
  }
}

function latin1(field: unknown): string {
  return Buffer.isBuffer(field) ? field.toString('latin1') : String(field);
}
