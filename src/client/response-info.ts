/**
 * Layer information for a `Response` from `client.fetch`, kept under a non-enumerable symbol so
 * the fetch contract is unchanged (no new key, nothing in JSON or a spread): `responseInfo(res)`
 * gives the attempts, timings and the failure of the attempt before, if there was one. A symbol
 * rather than a `WeakMap`: every `WeakMap` entry is an ephemeron the garbage collector must trace
 * specially, which at thousands of responses a second cost more than the rest of the front-end.
 */
import type { Timings } from '../errors/bulwark-error.ts';

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
}

const kInfo: unique symbol = Symbol('bulwark.responseInfo');

/** Records the info of a response (internal). */
export function setResponseInfo(response: object, info: ResponseInfo): void {
  Object.defineProperty(response, kInfo, { value: info, configurable: true });
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
  return Object.hasOwn(response, kInfo) ? (response as { [kInfo]: ResponseInfo })[kInfo] : undefined;
}
