/**
 * The `client.request` front-end: the fast path over undici's request API. Its result is undici's
 * (`statusCode`, `headers`, `body`) plus the timings and attempt count. It hands undici no
 * `AbortSignal`: the agent gives the attempt its request's controller instead (transport/agent.ts),
 * which costs undici far less.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { Call } from '../client/call.ts';
import { type CallOptions, undiciHeadersTimeout } from '../client/options.ts';
import type { Done } from '../client/pipeline.ts';
import type { Timings } from '../errors/bulwark-error.ts';
import { kAttempt } from '../transport/agent.ts';
import type { ResultAdapter, Transport } from './attempt.ts';

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
export interface RequestOptions extends CallOptions {
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
}

/** What `client.request` resolves with. */
export interface RequestResult {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  /** undici's body: a `Readable` with `.text()`, `.json()`, `.arrayBuffer()`, `.dump()`. */
  readonly body: Dispatcher.ResponseData['body'];
  readonly trailers: Record<string, string>;
  /** Phase timings of the attempt that produced this response. */
  readonly timings: Timings;
  /** Attempts made (1 when no retry happened). */
  readonly attempts: number;
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
] as const;

/**
 * The transport: one undici request per attempt, straight to the origin's pool (`poolOf`). The
 * call is the request's link to the agent, which hands it the request's controller: the call's
 * deadline and its caller's signal abort the request through it.
 */
export function requestTransport(poolOf: (call: Call) => Dispatcher): Transport<RequestResult> {
  return (call, done) => {
    const dispatcher = poolOf(call);
    const opts = call.input as RequestOptions;
    const dispatchOptions = new AttemptOptions(
      call,
      call.deadlineHeader === false ? (opts.headers ?? null) : withDeadline(opts.headers, call),
      opts.body ?? null,
    );
    call.attemptOptions = dispatchOptions;
    if (opts.timeout !== undefined) {
      // A per-call override of the connection-level timeouts (the pool has the client's).
      dispatchOptions.headersTimeout = undiciHeadersTimeout(call.config.timeout);
      dispatchOptions.bodyTimeout = call.config.timeout.body;
    }
    const signal = call.signal;
    if (signal === undefined) {
      dispatcher.request(dispatchOptions as unknown as Dispatcher.RequestOptions, onOutcome);
      return;
    }
    if (signal.aborted) {
      done(call, signal.reason);
      return;
    }
    // The caller's abort reaches undici through the call (its request's controller).
    const onAbort = (): void => call.abortAttempt(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    dispatcher.request(dispatchOptions as unknown as Dispatcher.RequestOptions, (err, data) => {
      if (err) signal.removeEventListener('abort', onAbort);
      // The caller's signal governs the body too (as with fetch): keep listening until it ends.
      else data.body.once('close', () => signal.removeEventListener('abort', onAbort));
      onOutcome(err, data);
    });
  };
}

/**
 * One attempt's dispatch options; they come back from undici as the outcome's `opaque`.
 *
 * A class rather than an object literal, as are the result and the timings: V8 may "pretenure"
 * an object literal's allocation site (allocate every later object of it in the old generation)
 * once it sees most of them survive a young-generation GC, as a request's objects do while they
 * wait for a connection at start-up; the timings literal measured so, 100 % of its objects
 * surviving young GCs (heap sampling). A pretenured object is garbage for the full GC only, and
 * it keeps whatever young objects it holds alive until then. Objects made by a class are not
 * pretenured that way (the timings then survived at ~9 %, as a request's other objects do).
 */
class AttemptOptions {
  readonly origin: string;
  readonly path: string;
  readonly method: Dispatcher.HttpMethod;
  readonly headers: RequestOptions['headers'];
  readonly body: RequestOptions['body'];
  readonly opaque: AttemptOptions;
  readonly [kAttempt]: Call;
  headersTimeout: number | undefined = undefined;
  bodyTimeout: number | undefined = undefined;

  constructor(call: Call, headers: RequestOptions['headers'], body: RequestOptions['body']) {
    this.origin = call.origin;
    this.path = call.path;
    this.method = call.method as Dispatcher.HttpMethod;
    this.headers = headers;
    this.body = body;
    // undici hands `opaque` back with the outcome: the one callback below serves every request.
    this.opaque = this;
    this[kAttempt] = call;
  }
}

/** undici's callback for every request of the transport. */
function onOutcome(err: Error | null, data: Partial<Dispatcher.ResponseData> & { opaque: unknown }): void {
  const options = data.opaque as unknown as AttemptOptions;
  const call = options[kAttempt];
  const settle = call.settleAttempt as Done<RequestResult> | undefined;
  if (call.attemptOptions !== options || settle === undefined) {
    // The request of an attempt that is over (it was aborted before it started): let it go.
    if (err === null) data.body?.dump().catch(() => {});
    return;
  }
  if (err !== null) settle(call, err);
  else settle(call, null, new Result(data as Dispatcher.ResponseData));
}

/** What `client.request` resolves with (a class for the reason given at {@link AttemptOptions}). */
class Result implements RequestResult {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Dispatcher.ResponseData['body'];
  readonly trailers: Record<string, string>;
  timings: Timings = undefined as unknown as Timings; // set by the client once the call settles
  attempts = 0;

  constructor(data: Dispatcher.ResponseData) {
    this.statusCode = data.statusCode;
    this.headers = data.headers;
    this.body = data.body;
    this.trailers = data.trailers;
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
    const result = r as { timings: unknown; attempts: number };
    result.timings = call.timings;
    result.attempts = call.attempts;
    return r;
  },
};

/** Adds the deadline propagation header, when configured, without touching the caller's headers. */
function withDeadline(headers: RequestOptions['headers'], call: Call): RequestOptions['headers'] {
  const name = call.deadlineHeader as string;
  const remaining = String(Math.max(0, Math.floor(call.deadline - call.clock.now())));
  if (Array.isArray(headers)) return [...headers, name, remaining];
  return { ...(headers ?? {}), [name]: remaining };
}
