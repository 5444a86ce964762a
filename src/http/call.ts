/**
 * The state of one call as it travels through the pipeline: what was asked, the resolved budgets,
 * the origin's shared state, and what happened so far. Every stage reads and writes this one
 * object, so the hot path allocates one object per call rather than one per stage. It is also the
 * attempt's deadline entry, the link the agent writes the request's connection into, and where
 * the request's handler leaves its controller.
 */

import type { Dispatcher } from 'undici';
import type { Clock } from '../clock/clock.ts';
import {
  BulwarkError,
  type NotRetriedReason,
  type RequestInfo,
  type Timings,
} from '../errors/bulwark-error.ts';
import { TIMEOUT_CODE_OF_LAYER } from '../errors/codes.ts';
import { pathHintOf } from '../errors/path-hint.ts';
import { pathOf } from '../errors/redact.ts';
import type { Breaker } from '../policy/breaker.ts';
import type { Bulkhead } from '../policy/bulkhead.ts';
import type { Deadlines, Expirable } from '../policy/deadline-scheduler.ts';
import type { Done, Handler } from '../policy/pipeline.ts';
import type { AttemptLink, TrackedClient } from '../transport/agent.ts';
import type { ConnectionRecord } from '../transport/connection.ts';
import type { CallConfig } from './call-config.ts';
import type { CallTrace } from './call-trace.ts';
import type { HookRun } from './hook-run.ts';
import type { OriginState } from './origin-state.ts';
import type { HedgeOutcome } from './response-info.ts';

/** The pipeline's completion callback for a {@link Call}. */
export type CallDone<R> = Done<Call, R>;

/** A pipeline handler of {@link Call}s. */
export type CallHandler<R> = Handler<Call, R>;

/** One call (of either front-end: `fetch` or `request`). */
export class Call implements AttemptLink, Expirable {
  readonly method: string;
  /** `scheme://host[:port]`. */
  readonly origin: string;
  /** The URL as given (for fetch), or as a `beforeRequest` hook changed it for this attempt. */
  url: string;
  /** Path and query (for undici's request API); a `beforeRequest` hook may change it. */
  path: string;
  /** Whether the request may be repeated after it could have reached the server. */
  readonly idempotent: boolean;
  /** Whether the body can be sent again (no body, or a buffered one). */
  readonly replayable: boolean;
  /** The caller's signal, if any. */
  readonly signal: AbortSignal | undefined;
  readonly config: CallConfig;
  readonly state: OriginState;
  /** The breaker the call samples: its origin's, or its key's (`breaker.key`, set by the client). */
  breaker: Breaker | undefined;
  /** The bulkhead that admits the call: its origin's, or its key's (`bulkhead.key`, set by the client). */
  bulkhead: Bulkhead | undefined;
  readonly clock: Clock;
  /** The deadline propagation header's name, or `false`. */
  readonly deadlineHeader: string | false;
  /**
   * The front-end's own input for an attempt (request options; fetch's init, or the request the
   * fetch front-end's direct path prepared from it when the call starts).
   */
  input: unknown;
  /**
   * The dispatcher the caller brought for this call (per call, or the client's `dispatcher` or
   * `proxy`); `undefined` sends it on the client's own agent.
   */
  dispatcher: Dispatcher | undefined = undefined;
  /** Clock time the call started. */
  readonly startedAt: number;
  /** Clock time the total budget runs out (the call's deadline, fixed when it starts). */
  readonly deadline: number;
  /** Attempts started so far. */
  attempts = 0;
  /** Clock time the response headers of the last attempt arrived (0 before). */
  endedAt = 0;
  /** The failure of the previous attempt (kept for response info). */
  lastFailure: unknown = undefined;
  /** The last failure the attempt stage counted in the origin's stats (the call's end counts any other). */
  counted: unknown = undefined;
  /** Why the retry stage let the last failure end the call (when a retry could have fixed it). */
  notRetried: NotRetriedReason | undefined = undefined;
  /** Whether the free retry on a stale keep-alive connection was used. */
  staleRetried = false;
  /** Set by the attempt stage when the failure was a reused connection closed before any response byte. */
  staleSocket = false;
  /** The connection the attempt went out on, when it was already open at dispatch (a reuse). */
  reusedConnection: ConnectionRecord | undefined = undefined;
  /** The client (connection) the current attempt was dispatched on; written by the agent. */
  client: TrackedClient | undefined = undefined;
  /** Timings of the last attempt. */
  timings: Timings | undefined = undefined;
  /** Which budget the current attempt's deadline is (`'phase'`: the headers timeout, once the request went out). */
  deadlineBudget: 'phase' | 'attempt' | 'total' = 'attempt';
  /** Clock time the current attempt's own deadline (attempt or total budget) falls due. */
  attemptDeadline = 0;
  /** The client's deadline scheduler (set by the attempt stage). */
  deadlines: Deadlines | undefined = undefined;
  /** The timeout error, once the current attempt's deadline fired. */
  expired: BulwarkError | undefined = undefined;
  /** `performance.now()` when the current attempt started. */
  attemptStartedAt = 0;
  /**
   * Settles the current attempt while it is open (set by the attempt stage, `undefined` once the
   * attempt has settled): the transport's outcome, or an abort at once (undici may hold an abort
   * back).
   */
  settleAttempt: CallDone<unknown> | undefined = undefined;
  /** Settles the call's promise (set when the call starts running, `undefined` once it has settled). */
  resolve: ((result: unknown) => void) | undefined = undefined;
  reject: ((err: unknown) => void) | undefined = undefined;
  /**
   * Whether the current attempt's request has started (its dispatcher handed it a controller): on
   * a dispatcher that is not Bulwark's agent, the one sign that a connection took it.
   */
  sent = false;
  /** Whether the current attempt was aborted (deadline, caller's signal, close). */
  aborted = false;
  /** Why the current attempt was aborted: any value a caller's signal carries, `null` included. */
  reason: unknown = undefined;
  /** {@link reason} as an `Error`, the form undici's controllers are given (see {@link AbortReason}). */
  abortError: Error | undefined = undefined;
  /**
   * The request front-end's current attempt (its dispatch options and handler, http/request.ts);
   * a request dispatched for any other attempt is over.
   */
  attemptOptions: object | undefined = undefined;
  /**
   * What aborts the current attempt's request: its undici controller once undici has started it
   * (client.request), or the fetch transport's attempt (client.fetch).
   */
  controller: { abort(reason: Error): void } | undefined = undefined;
  /** The hooks' state, when the call has hooks (http/hooks.ts). */
  hookRun: HookRun | undefined = undefined;
  /** Whether a hedge of this call went out, and whether this call's answer won (client/hedge.ts). */
  hedge: HedgeOutcome = 'not-sent';
  /** The hedge race this call runs in, when it is hedged (client/hedge.ts). */
  race: unknown = undefined;
  /** The call's trace, when `bulwark:call:start` had subscribers as it started (http/call-trace.ts). */
  trace: CallTrace | undefined = undefined;
  deadlineList: unknown = undefined;
  deadlinePrev: Expirable | undefined = undefined;
  deadlineNext: Expirable | undefined = undefined;
  deadlineAt = 0;
  #request: RequestInfo | undefined = undefined;

  constructor(
    method: string,
    origin: string,
    url: string,
    path: string,
    idempotent: boolean,
    replayable: boolean,
    signal: AbortSignal | undefined,
    config: CallConfig,
    state: OriginState,
    clock: Clock,
    deadlineHeader: string | false,
    input: unknown,
    startedAt: number,
  ) {
    this.method = method;
    this.origin = origin;
    this.url = url;
    this.path = path;
    this.idempotent = idempotent;
    this.replayable = replayable;
    this.signal = signal;
    this.config = config;
    this.state = state;
    this.breaker = state.breaker;
    this.bulkhead = state.bulkhead;
    this.clock = clock;
    this.deadlineHeader = deadlineHeader;
    this.input = input;
    this.startedAt = startedAt;
    this.deadline = startedAt + config.timeout.total;
  }

  /** The method and the path without its query, for errors and logs (built on first use). */
  get request(): RequestInfo {
    this.#request ??= { method: this.method, path: pathOf(this.path) };
    return this.#request;
  }

  /**
   * The attempt's settling function while `request` (a front-end's request object, set as
   * {@link attemptOptions}) is its open attempt; `undefined` once that attempt is over.
   */
  settlerOf(request: object): CallDone<unknown> | undefined {
    return this.attemptOptions === request ? this.settleAttempt : undefined;
  }

  /**
   * `request` has started with `controller`: it is aborted if its attempt is over or was aborted
   * while it waited for a connection; otherwise the call keeps the controller to abort it with.
   */
  requestStarted(request: object, controller: { abort(reason: Error): void }): void {
    if (this.attemptOptions !== request)
      controller.abort(new Error('the attempt this request was sent for is over'));
    else if (this.aborted) controller.abort(this.abortError as Error);
    else {
      this.controller = controller;
      this.sent = true;
      this.#armHeadersTimeout();
    }
  }

  /**
   * The request is going out: from now on `timeout.headers` runs, when it can end before the
   * attempt's own deadline. The call's one deadline moves up to it (budget `'phase'`), so a short
   * headers timeout fires on time; undici's own headers timer ticks at a one-second resolution.
   */
  #armHeadersTimeout(): void {
    const { headers, attempt } = this.config.timeout;
    if (headers >= attempt || this.deadlines === undefined) return; // the attempt's deadline comes first
    const now = this.clock.now();
    if (now + headers >= this.attemptDeadline) return;
    this.deadlineBudget = 'phase';
    this.deadlines.schedule(this, headers, now);
  }

  /**
   * Aborts the attempt in flight (deadline, caller abort, close). `reason` may be any value (a
   * caller's signal can carry `null`, a string, a plain object); the attempt settles with it as
   * it is, and undici's controller gets it as an `Error` ({@link AbortReason}).
   */
  abortAttempt(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    const error = reason instanceof Error ? reason : new AbortReason(reason);
    this.abortError = error;
    // A request that has not started yet is aborted as it starts (its handler checks `aborted`).
    this.controller?.abort(error);
    // Settles the attempt now, whether or not the transport has let go of the request yet.
    this.settleAttempt?.(this, reason);
  }

  /**
   * Whether `err`, a failure a transport saw, is what the current attempt was aborted with (the
   * reason or its {@link AbortReason} wrapper): the transport then reports {@link reason} itself.
   */
  abortedWith(err: unknown): boolean {
    return this.aborted && (err === this.abortError || err === this.reason);
  }

  /** Resets the per-attempt abort state (the same call object serves every attempt). */
  resetAbort(): void {
    this.aborted = false;
    this.reason = undefined;
    this.abortError = undefined;
    this.controller = undefined;
    this.settleAttempt = undefined;
    this.expired = undefined;
    this.sent = false;
  }

  /**
   * The error for a budget that ran out during the current attempt. Its layer is the phase the
   * attempt was in: still waiting for a connection (pool), resolving (dns), connecting (tcp),
   * handshaking (tls), or waiting for the response headers (http); with evidence about the path
   * (an MTU blackhole, SYN loss) as its hint when the timeout fits one. On a dispatcher that is
   * not Bulwark's agent no connection is seen: the request not started yet reads as `pool`, one
   * started as `http`.
   */
  timeoutError(budget: 'phase' | 'attempt' | 'total'): BulwarkError {
    const client = this.client;
    const rec = this.reusedConnection ?? client?.current;
    const target =
      rec?.address === undefined ? this.state.target : { ...this.state.target, address: rec.address };
    const layer =
      client === undefined || rec === undefined
        ? client === undefined && this.sent
          ? 'http'
          : 'pool'
        : rec.phase === 'dns' || rec.phase === 'tcp' || rec.phase === 'tls'
          ? rec.phase
          : 'http';
    const code = TIMEOUT_CODE_OF_LAYER[layer];
    const hint = pathHintOf(code, rec, this.state.stats);
    return new BulwarkError({
      layer,
      code,
      budget,
      target,
      request: this.request,
      attempts: this.attempts,
      hint,
    });
  }

  /** The attempt's deadline passed. */
  onDeadline(): void {
    this.expired = this.timeoutError(this.deadlineBudget);
    this.abortAttempt(this.expired);
  }
}

/**
 * An abort reason that is not an `Error` (`null`, a string, a plain object), wrapped for undici,
 * whose controllers and streams expect an `Error`. It never reaches a caller: the attempt settles
 * with the reason itself ({@link Call.abortedWith}).
 */
export class AbortReason extends Error {
  readonly reason: unknown;

  constructor(reason: unknown) {
    super('aborted');
    this.name = 'AbortError';
    this.reason = reason;
  }
}
