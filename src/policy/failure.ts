/**
 * What counts as a failure: pure predicates shared by retry, breaker and stats. A response with a
 * failing status travels through the policy stack as a `FailedResponse` so that the same retry
 * loop and breaker handle statuses and errors alike; the outermost stage unwraps it again.
 */
import { isBulwarkError } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';
import { OK } from './pipeline.ts';

/** A response whose status asked for a retry or counts against the breaker; carries the response. */
export class FailedResponse<R = unknown> extends Error {
  readonly status: number;
  readonly result: R;
  /** The `Retry-After` header, when the response had one. */
  readonly retryAfter: string | undefined;
  /** Discards the response (its body) when it is not going to be returned. */
  readonly dispose: () => void;

  constructor(status: number, result: R, retryAfter: string | undefined, dispose: (result: R) => void) {
    // Never shown to anyone, so no stack: capturing one costs more than the rest of a retry decision.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`HTTP ${status}`);
    Error.stackTraceLimit = limit;
    this.status = status;
    this.result = result;
    this.retryAfter = retryAfter;
    this.dispose = () => dispose(result);
  }
}

/**
 * A response a caller's hook asked to retry (an `afterResponse` hook, e.g. after refreshing a
 * token on a 401): a failing response to the policies whatever its status. The retry stage
 * retries it at once, under the same rules as any other (idempotency, limit, budget, deadline).
 */
export class RequestedRetry<R = unknown> extends FailedResponse<R> {}

/**
 * A failure of the caller's own code run inside a call (a hook, a `shouldRetry` rule): carried
 * through the policies wrapped, so that no retry, breaker or budget counts it as the upstream's
 * failure, and unwrapped at the call's end, which rejects with `error` exactly as it was thrown.
 */
export class CallerFailure extends Error {
  readonly error: unknown;

  constructor(error: unknown) {
    super('a caller-supplied function failed');
    this.name = 'CallerFailure';
    this.error = error;
  }
}

/**
 * Whether an outcome counts against an origin's breaker: 5xx responses and failures of the dns,
 * tcp, tls and http layers do; 4xx (including 429), caller aborts, application errors, local
 * capacity (`pool`) and the breaker's own rejections do not.
 */
export function isBreakerFailure(err: unknown): boolean {
  if (err instanceof FailedResponse) return err.status >= 500;
  if (isBulwarkError(err) && err.code === 'HTTP_STATUS') return (err.status ?? 500) >= 500;
  const { layer } = classify(err);
  return layer === 'dns' || layer === 'tcp' || layer === 'tls' || layer === 'http';
}

/**
 * Whether the upstream accepted an attempt, for adaptive throttling: it answered, with neither a
 * 5xx nor a 429 (an overload's refusals). Aborts and failures before an answer are not accepts.
 */
export function isAccepted(err: unknown): boolean {
  if (err === OK) return true;
  if (err instanceof FailedResponse) return err.status < 500 && err.status !== 429;
  return false;
}

/** Methods that are safe to repeat after the request may have reached the server (RFC 9110 §9.2.2). */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set([
  'GET',
  'HEAD',
  'OPTIONS',
  'PUT',
  'DELETE',
  'TRACE',
]);

/** The methods fetch upper-cases whatever their case (Fetch standard, "normalize a method"). */
const NORMALISED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

/**
 * A request method as fetch sends it: the standard names upper-cased, any other token as given;
 * `undefined` is `GET`.
 */
export function normaliseMethod(method: string | undefined): string {
  if (method === undefined) return 'GET';
  if (NORMALISED_METHODS.has(method)) return method;
  const upper = method.toUpperCase();
  return NORMALISED_METHODS.has(upper) ? upper : method;
}

/**
 * Whether a request may be repeated after it could have reached the server by its method alone;
 * one with an `Idempotency-Key` header may be too (the caller checks the header, only when this
 * says no).
 */
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT_METHODS.has(method);
}

/**
 * Parses a `Retry-After` header (delta-seconds or an HTTP date) into milliseconds from `nowMs`
 * (wall-clock epoch ms). Returns `undefined` for a missing or malformed value; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
