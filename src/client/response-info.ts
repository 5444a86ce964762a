/**
 * Layer information for a `Response` from `client.fetch`, kept beside it rather than on it so the
 * fetch contract is unchanged: `responseInfo(res)` gives the attempts, timings and the failure of
 * the attempt before, if there was one.
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

const infos = new WeakMap<object, ResponseInfo>();

/** Records the info of a response (internal). */
export function setResponseInfo(response: object, info: ResponseInfo): void {
  infos.set(response, info);
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
  return infos.get(response);
}
