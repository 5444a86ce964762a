/**
 * The call-level diagnostics channels a tracer hangs on: `bulwark:call:start`, `bulwark:call:attempt`
 * (each attempt's end) and `bulwark:call:end`. A call gets its {@link CallTrace} only when
 * `bulwark:call:start` has subscribers as it starts, so with nobody subscribed a call pays one
 * boolean read as it starts and one `undefined` check per attempt and at its end.
 */
import { channel } from 'node:diagnostics_channel';
import type { Target } from '../errors/bulwark-error.ts';
import { withHeaderValues } from './deadline-header.ts';

/** `bulwark:call:start`: a call began (published in the caller's async context, before any attempt). */
export const callStartChannel = channel('bulwark:call:start');
/** `bulwark:call:attempt`: one attempt of a traced call ended (a response's headers, or a failure). */
export const callAttemptChannel = channel('bulwark:call:attempt');
/** `bulwark:call:end`: a traced call settled (its promise is resolved or rejected right after). */
export const callEndChannel = channel('bulwark:call:end');

/**
 * One traced call: the same object is the message of its `bulwark:call:start`, of each
 * `bulwark:call:attempt` and of its `bulwark:call:end`, updated in between; read it while the
 * message is being published (later it may have moved on to the next attempt).
 */
export class CallTrace {
  /** The client that made the call (a tracer instruments clients one by one). */
  readonly client: object;
  /** The method, upper-case (`GET`). */
  readonly method: string;
  /** `scheme://host[:port]`. */
  readonly origin: string;
  /** `http` or `https`. */
  readonly scheme: string;
  /** The host as written in the URL. */
  readonly host: string;
  readonly port: number;
  /** The path, without its query (never in traces: it may carry secrets). */
  readonly path: string;
  /** `performance.now()` when the call started. */
  readonly startedAt: number;
  /**
   * Headers to send with every attempt of the call (a tracer's `traceparent`), set by a
   * `bulwark:call:start` subscriber: lower-case names, string values. They replace a header of the
   * same name the caller set.
   */
  headers: Record<string, string> | undefined = undefined;
  /** A subscriber's own slot (a tracer keeps its span here). */
  context: unknown = undefined;
  /** The attempt that ended last (1 for the first); 0 before any. */
  attempt = 0;
  /** Milliseconds between the end of the previous attempt and the start of the last one (0 for the first). */
  delay = 0;
  /** The last attempt's response status, if it had a response. */
  status: number | undefined = undefined;
  /** The protocol the last attempt's response came over, if it had a response. */
  protocol: 'http/1.1' | 'h2' | undefined = undefined;
  /**
   * The last attempt's failure (a `BulwarkError`, or the caller's abort reason); at the end, what
   * the call rejects with (`undefined` when it resolves).
   */
  error: unknown = undefined;
  /** At the end: whether the call rejected (`error` may be any value, `undefined` included). */
  failed = false;
  /** At the end: the call's duration in milliseconds. */
  duration = 0;
  #attemptEndedAt = 0;

  constructor(client: object, method: string, target: Target, scheme: string, path: string) {
    this.client = client;
    this.method = method;
    this.path = path;
    this.origin = target.origin;
    this.host = target.host;
    this.port = target.port;
    this.scheme = scheme;
    this.startedAt = performance.now();
  }

  /** An attempt starts: its delay after the previous one is noted. */
  attemptStarted(): void {
    if (this.#attemptEndedAt !== 0) this.delay = performance.now() - this.#attemptEndedAt;
  }

  /** An attempt ended with a response status or a failure. */
  attemptEnded(
    attempt: number,
    status: number | undefined,
    error: unknown,
    protocol: 'http/1.1' | 'h2' | undefined = undefined,
  ): void {
    this.#attemptEndedAt = performance.now();
    this.attempt = attempt;
    this.status = status;
    this.protocol = protocol;
    this.error = error;
    if (callAttemptChannel.hasSubscribers) callAttemptChannel.publish(this);
  }

  /** The call settled: with a result (`failed` false) or with `error`. */
  ended(failed: boolean, error: unknown): void {
    this.duration = performance.now() - this.startedAt;
    this.failed = failed;
    this.error = error;
    if (callEndChannel.hasSubscribers) callEndChannel.publish(this);
  }
}

/** What {@link startTrace} reads of a call. */
export interface TracedCall {
  readonly method: string;
  readonly origin: string;
  readonly request: { readonly path: string };
  readonly state: { readonly target: Target };
  trace: CallTrace | undefined;
}

/**
 * Gives `call` its trace and publishes `bulwark:call:start`; call it only when
 * `callStartChannel.hasSubscribers`.
 */
export function startTrace(call: TracedCall, client: object): void {
  const trace = new CallTrace(
    client,
    call.method,
    call.state.target,
    call.origin.charCodeAt(4) === 115 /* https: */ ? 'https' : 'http',
    call.request.path,
  );
  call.trace = trace;
  callStartChannel.publish(trace);
}

/** `headers` with the trace's headers added (or `headers` itself when the call has none). */
export function withTraceHeaders<H>(headers: H, trace: CallTrace | undefined): H {
  const extra = trace?.headers;
  return extra === undefined ? headers : withHeaderValues(headers, extra);
}
