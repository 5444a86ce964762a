/**
 * Layer information for a `Response` from `client.fetch`, kept under a symbol so the fetch
 * contract is unchanged (no new key: nothing in `Object.keys`, JSON, `for…in` or the Response's
 * own inspection): `responseInfo(res)` gives the attempts, timings and the failure of the attempt
 * before, if there was one. A plain symbol property costs nothing measurable; a `WeakMap` entry
 * (~0.45 µs, and an ephemeron for the garbage collector) or a non-enumerable `defineProperty`
 * (~0.3 µs, a runtime call) each cost more under load than the rest of the fetch front-end.
 */
import type { Timings } from '../errors/bulwark-error.ts';

/**
 * Whether a call was hedged (the `hedge` option) and which of its two attempts answered:
 * `'not-sent'` (no hedge went out), `'first-won'`, `'hedge-won'`.
 */
export type HedgeOutcome = 'not-sent' | 'first-won' | 'hedge-won';

/** What Bulwark knows about a response `client.fetch` returned. */
export interface ResponseInfo {
  /** The origin the response came from. */
  readonly origin: string;
  /** Attempts made for the call (1 when no retry happened). */
  readonly attempts: number;
  /** Phase timings of the attempt that produced the response; `total` covers the whole call. */
  readonly timings: Timings | undefined;
  /** The failure of the previous attempt (a `BulwarkError`, or the failing response's status), if any. */
  readonly lastFailure: unknown;
  /** Whether a hedge went out, and which attempt's answer this is. */
  readonly hedge: HedgeOutcome;
}

const kInfo: unique symbol = Symbol('bulwark.responseInfo');

/**
 * The info of one response: a class rather than an object literal, so V8 does not pretenure it
 * while it lives as long as its response (see `AttemptRequest` in http/request.ts).
 */
class Info implements ResponseInfo {
  readonly origin: string;
  readonly attempts: number;
  readonly timings: Timings | undefined;
  readonly lastFailure: unknown;
  readonly hedge: HedgeOutcome;

  constructor(
    origin: string,
    attempts: number,
    timings: Timings | undefined,
    lastFailure: unknown,
    hedge: HedgeOutcome,
  ) {
    this.origin = origin;
    this.attempts = attempts;
    this.timings = timings;
    this.lastFailure = lastFailure;
    this.hedge = hedge;
  }
}

/** Records the info of a response (internal). */
export function setResponseInfo(
  response: object,
  origin: string,
  attempts: number,
  timings: Timings | undefined,
  lastFailure: unknown,
  hedge: HedgeOutcome,
): void {
  (response as { [kInfo]?: ResponseInfo })[kInfo] = new Info(origin, attempts, timings, lastFailure, hedge);
}

/**
 * The layer information of a `Response` returned by `client.fetch`, or `undefined` for any other.
 *
 * @example
 * ```ts
 * const res = await client.fetch(url);
 * const { attempts, timings } = responseInfo(res)!;
 * log.info({ status: res.status, attempts, ttfb: timings?.ttfb });
 * ```
 */
export function responseInfo(response: object): ResponseInfo | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  return (response as { [kInfo]?: ResponseInfo })[kInfo];
}
