/**
 * The attempt stage: one try at the transport under the call's single deadline (the earlier of the
 * attempt budget and the total budget), with phase timings, the failing-status signal for the
 * policies above, and every error turned into a `BulwarkError` that names its layer.
 */
import { channel } from 'node:diagnostics_channel';
import { type Clock, systemClock } from '../clock/clock.ts';
import { BulwarkError, isBulwarkError, type Timings } from '../errors/bulwark-error.ts';
import { type Classification, classify } from '../errors/classify.ts';
import type { ErrorCode } from '../errors/codes.ts';
import { pathHintOf } from '../errors/path-hint.ts';
import { redactError } from '../errors/redact.ts';
import { type SchemeHint, schemeHintOf } from '../errors/scheme-hint.ts';
import type { Deadlines } from '../policy/deadline-scheduler.ts';
import { FailedResponse } from '../policy/failure.ts';
import { continuation, OK } from '../policy/pipeline.ts';
import type { Call, CallDone, CallHandler } from './call.ts';

/** How the attempt stage reads a front-end's result. */
export interface ResultAdapter<R> {
  status(result: R): number;
  header(result: R, name: string): string | undefined;
  /** Releases a result that will not be returned (its body is discarded). */
  dispose(result: R): void;
  /** Gives the result the call's attempts and timings, once the call has settled. */
  finish(result: R, call: Call): R;
}

const attemptChannel = channel('bulwark:attempt:end');

/**
 * Sends one attempt on the wire and calls `done` exactly once for it: with the error, or with
 * `null` and the result (at the response headers). `done` is also `call.settleAttempt` for as long
 * as the attempt is the call's current one, so a transport may settle through the call instead
 * of a closure of its own; it must never settle an attempt that is over (a later attempt of the
 * same call has its own). Callback style, as the whole pipeline (client/pipeline.ts).
 */
export type Transport<R> = (call: Call, done: CallDone<R>) => void;

/**
 * The attempt: the innermost handler, one try at `transport`. It settles when the transport calls
 * back or, earlier, when the call is aborted (its deadline, the caller's signal) — undici may hold
 * an abort back while a request waits for its connection.
 */
export function attemptHandler<R>(
  adapter: ResultAdapter<R>,
  clock: Clock,
  deadlines: Deadlines,
  transport: Transport<R>,
): CallHandler<R> {
  // With the system clock, clock time is performance.now(): timings reuse it instead of asking twice.
  const realTime = clock === systemClock;
  const settling = continuation<Call, R>((next) => (call, err, result) => {
    if (call.settleAttempt === undefined) {
      // Already settled (aborted first): a response that still arrives is let go.
      if (err === OK) adapter.dispose(result as R);
      return;
    }
    call.settleAttempt = undefined;
    deadlines.cancel(call);
    if (err !== OK) {
      if (call.signal?.aborted && err === call.signal.reason) {
        call.trace?.attemptEnded(call.attempts, undefined, err);
        next(call, err);
        return;
      }
      const failure = call.expired ?? toBulwarkError(err, call, call.attemptStartedAt);
      if (call.state.outliers !== undefined) recordAddressFailure(call, failure);
      call.state.stats.recordFailure(failure);
      call.counted = failure;
      if (attemptChannel.hasSubscribers) publish(call, undefined, failure);
      call.trace?.attemptEnded(call.attempts, undefined, failure);
      next(call, failure);
      return;
    }
    const end = performance.now();
    call.endedAt = realTime ? end : clock.now();
    call.timings = timingsOf(call, call.attemptStartedAt, end);
    const status = adapter.status(result as R);
    if (call.state.outliers !== undefined) {
      const address = (call.reusedConnection ?? call.client?.current)?.address;
      if (address !== undefined) call.state.outliers.record(address, status < 500);
    }
    if (attemptChannel.hasSubscribers) publish(call, status, undefined);
    call.trace?.attemptEnded(call.attempts, status, undefined, call.timings.protocol);
    if (
      status >= 500 ||
      status === 429 ||
      (call.config.retry !== false && call.config.retry.statusCodes.has(status))
    ) {
      next(
        call,
        new FailedResponse(status, result as R, adapter.header(result as R, 'retry-after'), adapter.dispose),
      );
      return;
    }
    next(call, OK, result as R);
  });
  return (call, next) => {
    // (Hooks may have run since the call started: then the clock is read.)
    const first = call.attempts === 0 && call.hookRun === undefined;
    const now = first ? call.startedAt : clock.now();
    // On the first attempt the remaining budget is the total itself (no floating-point residue).
    const remaining = first ? call.config.timeout.total : call.deadline - now;
    if (remaining <= 0) {
      next(call, call.timeoutError('total'));
      return;
    }
    const attemptBudget = call.config.timeout.attempt;
    const budget = attemptBudget < remaining ? 'attempt' : 'total';
    call.deadlineBudget = budget;
    call.attempts++;
    call.client = undefined;
    call.reusedConnection = undefined;
    call.staleSocket = false;
    call.resetAbort();
    call.attemptStartedAt = realTime ? now : performance.now();
    call.trace?.attemptStarted();
    const done = settling(next);
    call.settleAttempt = done as CallDone<unknown>;
    const due = budget === 'attempt' ? attemptBudget : remaining;
    call.attemptDeadline = now + due;
    call.deadlines = deadlines;
    deadlines.schedule(call, due, now);
    try {
      transport(call, done);
    } catch (err) {
      done(call, err);
    }
  };
}

/**
 * A failure of the exchange on an open connection counts against the connection's address for
 * outlier ejection (a failed connect is counted by the connector, per address it tried).
 */
function recordAddressFailure(call: Call, failure: unknown): void {
  const rec = call.reusedConnection ?? call.client?.current;
  if (rec === undefined || rec.address === undefined || rec.openedAt === 0) return;
  if (!isBulwarkError(failure)) return;
  const layer = failure.layer;
  if (layer === 'tcp' || layer === 'tls' || layer === 'http') call.state.outliers!.record(rec.address, false);
}

function publish(call: Call, status: number | undefined, error: unknown): void {
  attemptChannel.publish({
    origin: call.origin,
    request: call.request,
    attempt: call.attempts,
    status,
    error,
    timings: call.timings,
  });
}

/** Phase timings of the attempt that just got its response headers. */
function timingsOf(call: Call, started: number, end: number): Timings {
  const ttfb = end - started;
  const reused = call.reusedConnection;
  if (reused !== undefined) {
    reused.served++;
    return new AttemptTimings(0, 0, 0, ttfb, true, reused.protocol);
  }
  const rec = call.client?.current;
  // No connection of Bulwark's agent (a dispatcher the caller brought): whether one was reused is unknown.
  if (rec === undefined) return { ttfb, total: ttfb };
  rec.served++;
  return new AttemptTimings(rec.dns, rec.connect, rec.tls, ttfb, false, rec.protocol);
}

/**
 * The timings of an attempt with a response: a class rather than an object literal, so V8 does
 * not pretenure them (see `AttemptRequest` in http/request.ts).
 */
class AttemptTimings implements Timings {
  readonly dns: number;
  readonly connect: number;
  readonly tls: number;
  readonly ttfb: number;
  total: number;
  readonly reused: boolean;
  readonly protocol: 'http/1.1' | 'h2';

  constructor(
    dns: number,
    connect: number,
    tls: number,
    ttfb: number,
    reused: boolean,
    protocol: 'http/1.1' | 'h2',
  ) {
    this.dns = dns;
    this.connect = connect;
    this.tls = tls;
    this.ttfb = ttfb;
    this.total = ttfb;
    this.reused = reused;
    this.protocol = protocol;
  }
}

/**
 * Any failure of the transport as a `BulwarkError` carrying the target, request, attempt count and
 * timings; application errors (a bad header, a caller's own abort reason) pass through untouched.
 */
function toBulwarkError(err: unknown, call: Call, started: number): unknown {
  const original = unwrapFetchFailed(err);
  const rec = call.reusedConnection ?? call.client?.current;
  const target =
    rec?.address === undefined ? call.state.target : { ...call.state.target, address: rec.address };
  const elapsed = performance.now() - started;
  const reused = call.reusedConnection !== undefined;
  if (isBulwarkError(original)) {
    if (original.request !== undefined) return original;
    // A connect-phase error: already tagged with its layer and target; add the request and attempt.
    return new BulwarkError({
      layer: original.layer,
      code: original.code,
      budget: original.budget,
      retryable: original.retryable,
      mayHaveExecuted: original.mayHaveExecuted,
      target: original.target ?? target,
      request: call.request,
      attempts: call.attempts,
      timings: original.timings ?? { total: elapsed, reused },
      status: original.status,
      hint: original.hint ?? pathHintOf(original.code, rec, call.state.stats),
      cause: original.cause ?? original,
    });
  }
  const c = fetchFailure(err, original) ?? classify(original);
  // Not a network failure (fetch's own TypeErrors: a bad header, credentials in the URL): passed
  // on as it is, but for the secrets of the URL (fetch puts the URL in some of its messages).
  if (c.layer === 'app') return redactError(err);
  if (reused && (c.code === 'TCP_RESET' || c.code === 'TCP_CLOSED')) {
    // Closed before any response byte on a connection that had served before: the stale
    // keep-alive race. Retried at once for idempotent requests (policy/retry.ts).
    call.staleSocket = true;
  }
  return new BulwarkError({
    layer: c.layer,
    code: c.code,
    // undici's own headers timeout is a phase timeout, as the connect phases' are.
    budget: c.code === 'HTTP_HEADERS_TIMEOUT' ? 'phase' : undefined,
    retryable: c.retryable,
    mayHaveExecuted: c.layer === 'pool' ? false : c.mayHaveExecuted,
    target,
    request: call.request,
    attempts: call.attempts,
    timings: reused ? { dns: 0, connect: 0, tls: 0, total: elapsed, reused } : { total: elapsed, reused },
    hint: pathHintOf(c.code, rec, undefined) ?? schemeHint(call, c.code, original, !reused),
    cause: original,
  });
}

/** 'use-https' when a plain-HTTP request met a port that speaks TLS (errors/scheme-hint.ts). */
function schemeHint(call: Call, code: ErrorCode, cause: unknown, fresh: boolean): SchemeHint | undefined {
  const { origin, port } = call.state.target;
  return schemeHintOf(origin.slice(0, origin.indexOf(':') + 1), port, code, cause, fresh);
}

/** undici's fetch rejects with `TypeError('fetch failed', { cause })`; the cause is the failure. */
function unwrapFetchFailed(err: unknown): unknown {
  if (err instanceof TypeError && err.message === 'fetch failed' && err.cause !== undefined) return err.cause;
  return err;
}

/**
 * The messages of the errors undici's fetch gives as the cause of `fetch failed` when it cannot
 * follow a redirect (lib/web/fetch/index.js, HTTP-redirect fetch), pinned by the differential fetch
 * test; an invalid `Location` fails with the URL parser's `ERR_INVALID_URL`.
 */
const REDIRECT_FAILURES = new Set([
  'redirect count exceeded',
  'URL scheme must be a HTTP(S) scheme',
  'unexpected redirect',
  'cross origin not allowed for request mode "cors"',
]);

/** What undici's fetch failed with, where `classify` cannot tell from the cause alone. */
function fetchFailure(err: unknown, cause: unknown): Classification | undefined {
  if (cause === err || !(cause instanceof Error)) return undefined;
  let code: 'HTTP_REDIRECT' | 'HTTP_PROTOCOL' | undefined;
  if (REDIRECT_FAILURES.has(cause.message) || (cause as { code?: unknown }).code === 'ERR_INVALID_URL') {
    code = 'HTTP_REDIRECT';
  } else if (cause.message.startsWith('too many content-encodings in response')) code = 'HTTP_PROTOCOL';
  if (code === undefined) return undefined;
  return { layer: 'http', code, retryable: false, mayHaveExecuted: true };
}

const bodyChannel = channel('bulwark:body:error');

/**
 * A failure of a response body after its call resolved with the response: what the body fails
 * with. The caller's abort reason passes through as it is; anything else becomes a `BulwarkError`
 * (a stall past `timeout.body`: `HTTP_BODY_TIMEOUT` with budget `'phase'`; a connection lost
 * mid-body: `TCP_RESET` / `TCP_CLOSED`; a malformed body — wrong length, bad chunking, or, with
 * `malformed`, a corrupt content coding — `HTTP_PROTOCOL`) with the original as its `cause`,
 * counted in the origin's stats (`bodyFailures`, by layer and code) and published on
 * `bulwark:body:error`.
 */
export function bodyFailure(call: Call, err: unknown, malformed = false): unknown {
  if (call.abortedWith(err)) return call.reason;
  if (call.signal?.aborted && err === call.signal.reason) return err;
  if (isBulwarkError(err)) return err; // already one (a transport's own)
  const c: Classification = malformed
    ? { layer: 'http', code: 'HTTP_PROTOCOL', retryable: false, mayHaveExecuted: true }
    : classify(err);
  const rec = call.reusedConnection ?? call.client?.current;
  const failure =
    c.layer === 'app'
      ? err
      : new BulwarkError({
          layer: c.layer,
          code: c.code,
          budget: c.code === 'HTTP_BODY_TIMEOUT' ? 'phase' : undefined,
          retryable: c.retryable,
          // The request was answered: whatever it asked for was done.
          mayHaveExecuted: true,
          target:
            rec?.address === undefined ? call.state.target : { ...call.state.target, address: rec.address },
          request: call.request,
          attempts: call.attempts,
          timings: call.timings,
          cause: err,
        });
  const stats = call.state.stats;
  stats.bodyFailures++;
  stats.recordFailure(failure);
  if (bodyChannel.hasSubscribers) {
    bodyChannel.publish({
      origin: call.origin,
      request: call.request,
      attempt: call.attempts,
      error: failure,
    });
  }
  return failure;
}
