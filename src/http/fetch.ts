/**
 * The `client.fetch` front-end: its input handling (a `Request` taken apart, the global
 * `FormData`), and the path through undici's `fetch` on Bulwark's agent for the calls the direct
 * path (http/fetch-direct.ts) leaves to it — http/direct-request.ts decides, and lists them: an
 * already aborted signal, credentials in the URL, a global origin set with `setGlobalOrigin`,
 * `FormData` and async-iterable bodies, custom methods, non-default `mode`, `credentials`,
 * `referrer`, `referrerPolicy`, `integrity`, `keepalive`, `window`, `priority`, `cache:
 * 'only-if-cached'`, and input fetch refuses. Each such attempt goes through a small per-attempt
 * dispatcher that tags the request for the agent and can abort it when the call's timer fires, so
 * no `AbortSignal` is created unless the caller passed one. Their bodies fail as undici's fetch
 * fails them (`TypeError('terminated')` around the original), not with a `BulwarkError`: tagging
 * them would put a stream between undici's body and the caller.
 */
import {
  type Dispatcher,
  FormData as UndiciFormData,
  type Request as UndiciRequest,
  type RequestInit as UndiciRequestInit,
  fetch as undiciFetch,
} from 'undici';
import { redactError } from '../errors/redact.ts';
import { FailedResponse } from '../policy/failure.ts';
import { OK } from '../policy/pipeline.ts';
import { kAttempt } from '../transport/agent.ts';
import type { ResultAdapter, Transport } from './attempt.ts';
import type { Call } from './call.ts';
import { withTraceHeaders } from './call-trace.ts';
import { withDeadline } from './deadline-header.ts';
import { directRequest } from './direct-request.ts';
import { DirectRequest, sendDirect } from './fetch-direct.ts';
import type { FetchInit, FetchInput, FetchResponse } from './fetch-types.ts';
import type { HookFront } from './hooks.ts';
import { setResponseInfo } from './response-info.ts';

type FetchHandler = Dispatcher.DispatchHandler & {
  abort?: ((reason: unknown) => void) | null;
  onRequestStart?: (controller: Dispatcher.DispatchController, context: unknown) => void;
};

/**
 * Dispatches one attempt's requests (more than one when fetch follows redirects), tags each for
 * the agent, and aborts them for the attempt. It holds fetch's handler only while the attempt is
 * open ({@link AttemptDispatcher.release}), and patches nothing unless the attempt is aborted
 * before its request started: under load V8 may allocate some of undici's per-request objects in
 * the old generation (pretenuring, bench/README.md), and a dead one of those that still points at
 * a closure of the call, or the call at fetch's handler, keeps both request graphs alive through
 * every young-generation GC until the next full one.
 */
class AttemptDispatcher {
  readonly #inner: DispatchTarget;
  readonly #call: Call;
  #handler: FetchHandler | undefined;
  #pending: Error | undefined;

  constructor(inner: DispatchTarget, call: Call) {
    this.#inner = inner;
    this.#call = call;
  }

  dispatch(opts: Dispatcher.DispatchOptions, handler: FetchHandler): boolean {
    this.#handler = handler;
    (opts as { [kAttempt]?: unknown })[kAttempt] = this.#call;
    // Aborted before fetch got to dispatch (it does so a few microtasks after the call).
    if (this.#pending !== undefined) abortOnStart(handler, this.#pending);
    return this.#inner.dispatch(opts, handler);
  }

  abort(reason: Error): void {
    this.#pending = reason;
    const handler = this.#handler;
    // Not dispatched yet: dispatch() sees it. Started: fetch's own abort. Waiting for a
    // connection: aborted as it starts.
    if (handler === undefined) return;
    if (typeof handler.abort === 'function') handler.abort(reason);
    else abortOnStart(handler, reason);
  }

  /** The attempt has settled: fetch's handler is let go (see the class comment). */
  release(): void {
    this.#handler = undefined;
  }
}

/** A request that waits for its connection is aborted as it starts, as fetch does for its signal. */
function abortOnStart(handler: FetchHandler, reason: Error): void {
  handler.onRequestStart = (controller) => controller.abort(reason);
}

const EMPTY_INIT: FetchInit = Object.freeze({});

/** What the fetch transport dispatches to: the agent, or the dispatcher the caller brought. */
export type DispatchTarget = Pick<Dispatcher, 'dispatch'>;

/**
 * The transport: a call the direct path prepared goes out through it (http/fetch-direct.ts);
 * any other, one undici `fetch` per attempt.
 */
export function fetchTransport(agent: DispatchTarget): Transport<FetchResponse> {
  return (call, done) => {
    const dispatcher = call.dispatcher ?? agent;
    if (call.input instanceof DirectRequest) {
      sendDirect(dispatcher, call);
      return;
    }
    const attempt = new AttemptDispatcher(dispatcher, call);
    const init = call.input as FetchInit;
    const fetchInit = {
      ...init,
      headers: withTraceHeaders(withDeadline(init.headers, call), call.trace),
      dispatcher: attempt as unknown as Dispatcher,
      signal: call.signal ?? null,
    };
    call.controller = attempt;
    undiciFetch(call.url, fetchInit as UndiciRequestInit).then(
      (response) => {
        attempt.release();
        if (call.controller === attempt) done(call, OK, response);
        else fetchAdapter.dispose(response); // an attempt that is over (see Transport)
      },
      (err: unknown) => {
        attempt.release();
        if (call.controller === attempt) done(call, err);
      },
    );
  };
}

/**
 * How hooks read and rewrite a `client.fetch` call's init (http/hooks.ts): a rewritten request
 * takes the direct path again when it can (`direct`: the client's direct path is on).
 */
export function fetchHookFront(direct: boolean): HookFront {
  return {
    headersOf: (input) => (input as FetchInit).headers,
    rewrite(call, input, url, headers) {
      const init = { ...(input as FetchInit), headers } as unknown as FetchInit;
      const href = url.href;
      call.url = href;
      call.input = direct ? (directRequest(href, call.method, init) ?? init) : init;
    },
  };
}

/** Reads `Response`s for the policies. */
export const fetchAdapter: ResultAdapter<FetchResponse> = {
  status: (r) => r.status,
  header: (r, name) => r.headers.get(name) ?? undefined,
  dispose: (r) => {
    r.body?.cancel().catch(() => {});
  },
  // The fetch contract leaves no room on the Response: its info is kept beside it.
  finish: (r, call) => {
    setResponseInfo(
      r,
      call.origin,
      call.attempts,
      call.timings,
      call.lastFailure instanceof FailedResponse ? { status: call.lastFailure.status } : call.lastFailure,
      call.hedge,
    );
    return r;
  },
};

/**
 * The URL and `RequestInit` for a `fetch(input, init)` call, with a `Request` input (the global
 * one or undici's) taken apart so every attempt can build its own; `oneShot` when its body is a
 * stream that only one attempt can send.
 */
export function normaliseFetchInput(
  input: FetchInput,
  init: FetchInit | undefined,
): { url: string; init: FetchInit; oneShot: boolean } {
  const body = init?.body;
  // (The global FormData is a lazy getter: only a body that is an object is checked against it.)
  if (
    typeof body === 'object' &&
    body !== null &&
    body instanceof FormData &&
    !(body instanceof UndiciFormData)
  ) {
    init = { ...init, body: toUndiciFormData(body) };
  }
  if (typeof input === 'string') return { url: input, init: init ?? EMPTY_INIT, oneShot: false };
  if (input instanceof URL) return { url: input.href, init: init ?? EMPTY_INIT, oneShot: false };
  const req = input as UndiciRequest;
  if (typeof req !== 'object' || req === null || typeof req.url !== 'string') {
    return { url: String(input), init: init ?? {}, oneShot: false };
  }
  const fromRequest: FetchInit = {
    method: req.method,
    headers: req.headers,
    body: req.body,
    redirect: req.redirect,
    signal: req.signal,
    referrer: req.referrer,
    referrerPolicy: req.referrerPolicy,
    mode: req.mode,
    credentials: req.credentials,
    cache: req.cache,
    integrity: req.integrity,
    keepalive: req.keepalive,
  };
  if (req.body !== null) fromRequest.duplex = 'half';
  return {
    url: req.url,
    init: { ...fromRequest, ...init },
    oneShot: req.body !== null && init?.body === undefined,
  };
}

/**
 * The global `FormData` (Node's bundled undici) is another class than undici's own, which undici's
 * fetch would send as the string "[object FormData]"; its entries are copied into undici's.
 */
function toUndiciFormData(form: FormData): UndiciFormData {
  const copy = new UndiciFormData();
  for (const [name, value] of form) {
    if (typeof value === 'string') copy.append(name, value);
    else copy.append(name, value, (value as File).name);
  }
  return copy;
}

/**
 * Rethrows `err` as undici's `fetch` rethrows every rejection (undici's index.js wraps its fetch):
 * with the caller's frames appended to its stack, and an object without a stack (an abort reason
 * such as `{ why }`) given one. So `client.fetch` rejects with the same value, own keys included; a
 * frozen object, which cannot take a stack, turns into the engine's `TypeError`, as with undici.
 */
export function asFetchRejects(err: unknown): never {
  if (err && typeof err === 'object') {
    const stack =
      typeof (err as { stack?: unknown }).stack === 'string' ? (err as { stack: string }).stack : '';
    if (!stack.includes(import.meta.filename)) {
      const capture: { stack?: string } = {};
      Error.captureStackTrace(capture, asFetchRejects);
      if (capture.stack) {
        const lines = capture.stack.split('\n').slice(1).join('\n');
        (err as { stack: string }).stack = stack ? `${stack}\n${lines}` : capture.stack;
      }
    }
  }
  throw err;
}

/**
 * A call left wholly to undici's fetch (a scheme other than http(s), input it refuses): its
 * rejection as undici's, but without the URL's secrets (the caller's own abort reason as it is).
 */
export function undiciOnly(input: string | URL | Request, init: UndiciRequestInit): Promise<FetchResponse> {
  return undiciFetch(input as string, init).catch((err: unknown) => {
    const signal = (init as { signal?: unknown } | null | undefined)?.signal;
    throw signal instanceof AbortSignal && signal.aborted && err === signal.reason ? err : redactError(err);
  });
}
