/**
 * The `client.request` front-end: the fast path over undici's dispatcher. Its result is what
 * undici's request API gives (`statusCode`, `headers`, `body`, `trailers`) plus the timings and
 * attempt count, but each attempt is its own dispatch handler ({@link AttemptRequest}) rather
 * than undici's `request()`: it hands undici no `AbortSignal` (the handler takes its request's
 * controller instead, which costs undici far less) and makes one object per attempt.
 */
import { AsyncResource } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { type Dispatcher, errors } from 'undici';
import type { Timings } from '../errors/bulwark-error.ts';
import { OK } from '../policy/pipeline.ts';
import { kAttempt } from '../transport/agent.ts';
import { bodyFailure, type ResultAdapter, type Transport } from './attempt.ts';
import { BodyReadable } from './body-readable.ts';
import { AbortReason, type Call, type CallDone } from './call.ts';
import type { CallOptions } from './call-config.ts';
import { withTraceHeaders } from './call-trace.ts';
import { withDeadline } from './deadline-header.ts';
import { plainHeaders } from './h2-headers.ts';
import type { Hooks } from './hook-options.ts';
import type { HookFront } from './hooks.ts';
import type { HedgeOutcome } from './response-info.ts';
import { undiciHeadersTimeout } from './undici-timeouts.ts';

/**
 * Options of `client.request(url, options)`: undici's request options that make sense per call,
 * plus Bulwark's per-call overrides.
 *
 * @example
 * ```ts
 * const res = await client.request(url, {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json', 'idempotency-key': id },
 *   body: JSON.stringify(order),
 *   signal: AbortSignal.timeout(5_000),
 * });
 * ```
 */
export interface RequestOptions extends Omit<CallOptions, 'hooks'> {
  /** Hooks for this call, run after the client's; `response` is the {@link RequestResult}. */
  hooks?: Hooks<RequestResult>;
  /**
   * The HTTP method.
   * @default 'GET'
   */
  method?: string;
  /** Request headers, as an object or a flat `[name, value, ...]` array. */
  headers?: Record<string, string | string[] | undefined> | string[] | null;
  /** The request body; a stream or async iterable makes the call one-shot (never retried). */
  body?: string | Uint8Array | Readable | AsyncIterable<Uint8Array> | null;
  /** Aborts the call; it rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The undici dispatcher for this call (every policy still applies), in place of the client's
   * agent or its `dispatcher` (`null`: the client's, as undici's fetch reads it). See
   * docs/dispatchers.md for what of the transport applies then.
   */
  dispatcher?: Dispatcher | null;
}

/** What `client.request` resolves with. */
export interface RequestResult {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  /**
   * The body: a `Readable` with the body mixin of undici's request API (`.text()`, `.json()`,
   * `.arrayBuffer()`, `.bytes()`, `.blob()`, `.body`, `.bodyUsed`, `.dump()`). A failure after the
   * headers fails it with a `BulwarkError` (a stall past `timeout.body`, a connection lost, a
   * malformed body); the caller's abort, with the signal's reason. (Typed as undici's request-API
   * body, which it implements: http/body-readable.ts.)
   */
  readonly body: Dispatcher.ResponseData['body'];
  readonly trailers: Record<string, string>;
  /** Phase timings of the attempt that produced this response. */
  readonly timings: Timings;
  /** Attempts made (1 when no retry happened). */
  readonly attempts: number;
  /** Whether a hedge went out (the `hedge` option), and which attempt's answer this is. */
  readonly hedge: HedgeOutcome;
}

/** The keys `client.request` accepts. */
export const REQUEST_OPTION_KEYS = [
  'method',
  'headers',
  'body',
  'signal',
  'timeout',
  'retry',
  'throwHttpErrors',
  'dispatcher',
  'hooks',
  'hedge',
] as const;

/** How hooks read and rewrite a `client.request` call's options (http/hooks.ts). */
export const requestHookFront: HookFront = {
  headersOf: (input) => (input as RequestOptions).headers,
  rewrite(call, input, url, headers) {
    call.url = url.href;
    call.path = url.pathname + url.search;
    const flat: string[] = [];
    headers.forEach((value, name) => {
      flat.push(name, value);
    });
    call.input = { ...(input as RequestOptions), headers: flat };
  },
};

/**
 * The transport: one undici dispatch per attempt, straight to the origin's pool (`poolOf`) or to
 * the dispatcher the caller brought (`call.dispatcher`), with
 * the attempt itself as the request's dispatch handler ({@link AttemptRequest}). The call's
 * deadline and its caller's signal abort the request through the controller undici hands the
 * handler.
 */
export function requestTransport(poolOf: (call: Call) => Dispatcher): Transport<RequestResult> {
  return (call, done) => {
    const signal = call.signal;
    if (signal?.aborted) {
      done(call, signal.reason);
      return;
    }
    const dispatcher = call.dispatcher ?? poolOf(call);
    const opts = call.input as RequestOptions;
    const attempt = new AttemptRequest(
      call,
      withTraceHeaders(withDeadline(opts.headers ?? null, call), call.trace),
      opts.body ?? null,
    );
    call.attemptOptions = attempt;
    if (opts.timeout !== undefined || call.dispatcher !== undefined) {
      // A per-call override of the connection-level timeouts (the pool has the client's), or a
      // dispatcher that is not the client's agent, which knows nothing of them.
      attempt.headersTimeout = undiciHeadersTimeout(call.config.timeout);
      attempt.bodyTimeout = call.config.timeout.body;
    }
    if (attempt.method === 'CONNECT') {
      // As undici's request API: CONNECT is a tunnel, not a request with a response body.
      attempt.onResponseError(null, new errors.InvalidArgumentError('invalid method'));
      return;
    }
    if (signal !== undefined) {
      // The caller's abort reaches undici through the call (its request's controller) and,
      // once the response is out, fails its body.
      attempt.onAbort = () => attempt.aborted(signal.reason);
      signal.addEventListener('abort', attempt.onAbort, { once: true });
    }
    dispatcher.dispatch(attempt as unknown as Dispatcher.DispatchOptions, attempt);
  };
}

/**
 * One attempt's request: its dispatch options and its dispatch handler in one object. It does
 * what undici's request API does for `Dispatcher.request` — the response body with its body
 * mixin (http/body-readable.ts), the trailers — and what Bulwark needs besides: the call gets the request's controller
 * as the request starts (so the call's deadline and its caller's signal abort it without an
 * `AbortSignal`, which undici's request API pays for with an abort listener, a remover and a
 * `close` listener on every body), and a request that starts after its attempt was aborted, or
 * is over, is aborted as it starts.
 *
 * Hand-written rather than undici's `request()` with a second handler around it: one object per
 * attempt where that took undici's handler, three closures and Bulwark's wrapper, and one call
 * per event instead of two (its throughput and GC against raw undici: bench/README.md).
 *
 * It is an `AsyncResource`, as undici's handler is: the attempt settles in the async context of
 * the call that dispatched it, so the stages after it, Bulwark's diagnostics events and the next
 * attempt see the caller's `AsyncLocalStorage` stores, not the socket's.
 *
 * A class rather than an object literal, as are the result and the timings: V8 may "pretenure"
 * an object literal's allocation site (allocate every later object of it in the old generation)
 * once it sees most of them survive a young-generation GC, as a request's objects do while they
 * wait for a connection at start-up (heap sampling showed it for the timings literal). A
 * pretenured object is garbage for the full GC only, and it keeps whatever young objects it holds
 * alive until then. Objects made by a class are not pretenured that way.
 */
class AttemptRequest extends AsyncResource implements Dispatcher.DispatchHandler {
  readonly origin: string;
  readonly path: string;
  readonly method: Dispatcher.HttpMethod;
  readonly headers: RequestOptions['headers'];
  body: RequestOptions['body'];
  readonly [kAttempt]: Call;
  headersTimeout: number | undefined = undefined;
  bodyTimeout: number | undefined = undefined;
  /** The caller's abort listener, while it is registered. */
  onAbort: (() => void) | undefined = undefined;
  /** The response body once the headers are in, until it ends or fails. */
  #res: BodyReadable | null = null;
  /** The response body once the headers are in (what the caller's abort fails, until it closes). */
  #body: BodyReadable | null = null;
  #controller: Dispatcher.DispatchController | null = null;
  readonly #trailers: Record<string, string> = {};

  constructor(call: Call, headers: RequestOptions['headers'], body: RequestOptions['body']) {
    super('BULWARK_REQUEST');
    this.origin = call.origin;
    this.path = call.path;
    this.method = call.method as Dispatcher.HttpMethod;
    this.headers = headers;
    this.body = body;
    this[kAttempt] = call;
  }

  /** The call's settling function while this is its open attempt; `undefined` once it is over. */
  #settle(): CallDone<RequestResult> | undefined {
    return this[kAttempt].settlerOf(this) as CallDone<RequestResult> | undefined;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    this[kAttempt].requestStarted(this, controller);
  }

  /**
   * The caller's signal fired: before the response the attempt fails with the reason (the call
   * aborts the request); after it the body fails with the reason — whether or not it has all
   * come in, as long as it has not been read to its end — and the request, if still receiving,
   * is aborted.
   */
  aborted(reason: unknown): void {
    this.onAbort = undefined; // (a `once` listener)
    const body = this.#body;
    if (body === null) {
      this[kAttempt].abortAttempt(reason);
      return;
    }
    this.#res = null;
    const controller = this.#controller;
    if (controller !== null && !controller.aborted) {
      controller.abort(reason instanceof Error ? reason : new AbortReason(reason));
    }
    body.fail(reason);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
  ): void {
    if (statusCode < 200) return; // 1xx: informational, the response is still to come
    const contentLength = headers['content-length'];
    const res = new BodyReadable({
      resume: resumeBody,
      abort: abortBody,
      contentType: headers['content-type'] as string | undefined,
      contentLength: this.method !== 'HEAD' && contentLength ? Number(contentLength) : null,
    });
    (res as BodyReadable & Controlled)[kController] = controller;
    this.#res = res;
    this.#body = res;
    const onAbort = this.onAbort;
    if (onAbort !== undefined) {
      // The caller's signal governs the body too (as with fetch): keep listening until it ends.
      const signal = this[kAttempt].signal as AbortSignal;
      res.once('close', () => signal.removeEventListener('abort', onAbort));
      this.onAbort = undefined;
    }
    const settle = this.#settle();
    if (settle === undefined) {
      // An attempt that is over (aborted as the response arrived): let the response go.
      res.dump().catch(() => {});
      return;
    }
    this.runInAsyncScope(
      settle,
      null,
      this[kAttempt],
      OK,
      new Result(statusCode, plainHeaders(headers), res, this.#trailers),
    );
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#res?.push(chunk) === false) controller.pause();
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHttpHeaders): void {
    if (trailers !== null && typeof trailers === 'object') {
      for (const key of Object.keys(trailers)) {
        // A `__proto__` trailer is an own property, not the object's prototype.
        Object.defineProperty(this.#trailers, key, {
          value: trailers[key],
          enumerable: true,
          configurable: true,
          writable: true,
        });
      }
    }
    this.#res?.push(null);
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, err: Error): void {
    const call = this[kAttempt];
    const res = this.#res;
    if (this.#body === null) {
      // Before the response: the attempt fails (on a microtask, as undici's request API does:
      // undici may call this synchronously, inside `dispatch`).
      queueMicrotask(() => {
        const settle = this.#settle();
        if (settle !== undefined) this.runInAsyncScope(settle, null, call, err);
      });
    } else if (res !== null) {
      this.#res = null;
      // A body its reader destroyed (or a limit of dump()'s) has nothing left to report. Otherwise
      // the failure is tagged and counted (a stall, a lost connection, a malformed body), or is
      // the caller's abort reason; every listener of the body queued so far runs first.
      if (!res.destroyed) {
        const failure = bodyFailure(call, err);
        queueMicrotask(() => res.fail(failure));
      }
    }
    const body = this.body;
    if (body !== null && body !== undefined && typeof (body as Readable).destroy === 'function') {
      this.body = null;
      (body as Readable).on('error', noop).destroy(err);
    }
    if (this.onAbort !== undefined) {
      call.signal?.removeEventListener('abort', this.onAbort);
      this.onAbort = undefined;
    }
  }
}

/** Where a response body keeps its request's controller (one function pair for every body). */
const kController = Symbol('bulwark.controller');
type Controlled = { [kController]: Dispatcher.DispatchController };

function resumeBody(this: Readable): void {
  (this as Readable & Controlled)[kController].resume();
}

function abortBody(this: Readable, reason?: Error): void {
  (this as Readable & Controlled)[kController].abort(reason ?? new errors.RequestAbortedError());
}

function noop(): void {}

/** What `client.request` resolves with (a class for the reason given at {@link AttemptRequest}). */
class Result implements RequestResult {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Dispatcher.ResponseData['body'];
  readonly trailers: Record<string, string>;
  timings: Timings = undefined as unknown as Timings; // set by the client once the call settles
  attempts = 0;
  hedge: HedgeOutcome = 'not-sent';

  constructor(
    statusCode: number,
    headers: IncomingHttpHeaders,
    body: BodyReadable,
    trailers: Record<string, string>,
  ) {
    this.statusCode = statusCode;
    this.headers = headers;
    this.body = body as unknown as Dispatcher.ResponseData['body'];
    this.trailers = trailers;
  }
}

/** Reads results of the request front-end for the policies. */
export const requestAdapter: ResultAdapter<RequestResult> = {
  status: (r) => r.statusCode,
  header: (r, name) => {
    const v = r.headers[name];
    return Array.isArray(v) ? v[0] : v;
  },
  dispose: (r) => {
    r.body.dump().catch(() => {});
  },
  finish: (r, call) => {
    const result = r as { timings: unknown; attempts: number; hedge: HedgeOutcome };
    result.timings = call.timings;
    result.attempts = call.attempts;
    result.hedge = call.hedge;
    return r;
  },
};
