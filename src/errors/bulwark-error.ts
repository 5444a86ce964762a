/**
 * `BulwarkError`: the one error type Bulwark raises. It names the layer where the failure happened,
 * a literal code, the target and request, attempts and phase timings, and logs without secrets.
 */
import { type CodeOfLayer, ERROR_CODES, type ErrorCode, isErrorCode, LAYERS, type Layer } from './codes.ts';
import { describeValue } from './invalid-option-error.ts';
import { pathOf, redactError, redactText } from './redact.ts';
import { SCHEME_HINTS, type SchemeHint } from './scheme-hint.ts';

/** The brand two installed copies of Bulwark both recognise (`instanceof` would not). */
export const BULWARK_ERROR_BRAND: unique symbol = Symbol.for('bulwark.error');

/** Which budget ran out, on timeouts. */
export type Budget = 'phase' | 'attempt' | 'total';

/**
 * Why a failure that a retry could have fixed (`retryable`) was not retried:
 * - `'disabled'`: retries are off for the call (`retry: false` or `limit: 0`);
 * - `'limit'`: every retry `retry.limit` allows was used;
 * - `'budget-exhausted'`: the origin's retry budget was spent (too many recent failures);
 * - `'deadline'`: the next attempt (after its backoff) could not finish within `timeout.total`;
 * - `'not-idempotent'`: the request may have reached the server and its method is not idempotent
 *   (and it carries no `Idempotency-Key`);
 * - `'one-shot-body'`: the body was a stream that only one attempt could send;
 * - `'retry-after-too-long'`: the server's `Retry-After` asked for more than `retry.maxRetryAfter`;
 * - `'should-retry'`: the caller's `retry.shouldRetry` said no;
 * - `'cancelled'`: a `beforeRetry` hook cancelled the retry.
 */
export type NotRetriedReason =
  | 'disabled'
  | 'limit'
  | 'budget-exhausted'
  | 'deadline'
  | 'not-idempotent'
  | 'one-shot-body'
  | 'retry-after-too-long'
  | 'should-retry'
  | 'cancelled';

/**
 * Evidence about the network path that a failure carries besides its code (never instead of it:
 * the code and layer stay what they are):
 * - `'mtu'`: a `TLS_TIMEOUT` or `HTTP_HEADERS_TIMEOUT` after the TCP connect completed, once more
 *   than {@link MTU_HINT_BYTES} had been written on the connection (the handshake so far, or the
 *   request on a connection that had not served a response yet) and nothing had come back.
 *   Packets that large are what a path with a smaller MTU drops when the ICMP "fragmentation
 *   needed" that would shrink them is filtered: an MTU blackhole. A slow server looks the same
 *   from here; `bulwark probe` tells them apart (its `path` layer).
 * - `'loss'`: a `TCP_TIMEOUT` to an origin whose recent TCP connects show the SYN-retransmit
 *   signature (they completed only after a SYN retransmission, about 1 s or 3 s late): SYNs to it
 *   are being lost, so the timeout is more likely loss on the path than a host that is down.
 */
export type PathHint = 'mtu' | 'loss';

/** What each {@link PathHint} means, in one line (also appended to the error's message). */
export const PATH_HINTS: Readonly<Record<PathHint, string>> = Object.freeze({
  mtu: 'more than one packet went out after the TCP connect and nothing came back: an MTU blackhole on the path?',
  loss: 'recent connects to this origin needed SYN retransmissions: packets are being lost on the path',
});

/**
 * What a failure's `hint` may be: evidence about the network path ({@link PathHint}) or a scheme
 * that does not match the port ({@link SchemeHint}).
 */
export type ErrorHint = PathHint | SchemeHint;

/** What each {@link ErrorHint} says, in one line (also appended to the error's message). */
const HINTS: Readonly<Record<ErrorHint, string>> = Object.freeze({ ...PATH_HINTS, ...SCHEME_HINTS });

/**
 * More bytes than this written after the TCP connect, with no answer, make a timeout carry the
 * `'mtu'` hint: past what fits in one packet on a path with an MTU below Ethernet's 1 500.
 */
export const MTU_HINT_BYTES = 1_400;

/** Where a request was going: the origin, the host name, the address it resolved to, the port. */
export interface Target {
  /** `scheme://host:port`, never with user-info. */
  readonly origin: string;
  /** The host name as written in the URL (or the pool's host). */
  readonly host: string;
  /** The IP address actually connected to, once DNS resolved it. */
  readonly address?: string;
  /** The TCP port. */
  readonly port: number;
  /** For a database pool: the database connected to (name, or index for Redis), when known. */
  readonly database?: string;
}

/** The request a failure belongs to; the path never carries the query string. */
export interface RequestInfo {
  readonly method: string;
  readonly path: string;
}

/**
 * Phase timings of one attempt in milliseconds. A phase that was never reached is absent; on a
 * reused keep-alive connection `dns`, `connect` and `tls` are 0 and `reused` is true.
 */
export interface Timings {
  /** Time to resolve the host name (0 when the connection was reused or the host is an IP). */
  dns?: number;
  /** Time to complete the TCP handshake. */
  connect?: number;
  /** Time to complete the TLS handshake (0 for plain HTTP). */
  tls?: number;
  /** Time from the start of the attempt to the first byte of the response headers. */
  ttfb?: number;
  /** Time of the whole attempt (or call) until the error or the end of the response. */
  total?: number;
  /** Whether the attempt ran on a reused keep-alive connection. */
  reused?: boolean;
  /**
   * The protocol the response came over: `'h2'` when the TLS handshake chose HTTP/2 (with the
   * client's `allowH2`), `'http/1.1'` otherwise; absent where the connection is not Bulwark's.
   */
  protocol?: 'http/1.1' | 'h2';
}

/**
 * What a `BulwarkError` is built from. Only `layer` and `code` are required, and the code must be
 * one of the layer's ({@link CodeOfLayer}).
 */
export interface BulwarkErrorInit<L extends Layer = Layer> {
  layer: L;
  code: CodeOfLayer<L>;
  /** Defaults to the code's summary, with the target and request appended. */
  message?: string;
  budget?: Budget | undefined;
  /** Defaults to the code's entry in {@link ERROR_CODES}. */
  retryable?: boolean | undefined;
  /** Defaults to the code's entry in {@link ERROR_CODES}. */
  mayHaveExecuted?: boolean | undefined;
  target?: Target | undefined;
  request?: RequestInfo | undefined;
  attempts?: number | undefined;
  timings?: Timings | undefined;
  /** HTTP status, for `HTTP_STATUS`. */
  status?: number | undefined;
  /** Evidence about the network path or the scheme (see {@link ErrorHint}). */
  hint?: ErrorHint | undefined;
  cause?: unknown;
}

/**
 * The error every Bulwark failure is reported as. `L` is its layer; `code` is one of that layer's
 * codes. {@link isBulwarkError} narrows to {@link BulwarkErrorOf}, a union over the layers, so a
 * test of `layer` narrows `code`.
 *
 * @example
 * ```ts
 * try {
 *   await client.fetch('https://api.example.com/v1/users');
 * } catch (err) {
 *   if (isBulwarkError(err) && err.layer === 'tls') {
 *     err.code; // 'TLS_CERT_EXPIRED' | 'TLS_CERT_NOT_YET_VALID' | ... (the TLS codes only)
 *   }
 * }
 * ```
 */
export class BulwarkError<L extends Layer = Layer> extends Error {
  /** The layer the failure happened in. */
  readonly layer: L;
  /** The code, one of the layer's {@link ErrorCode}s. */
  readonly code: CodeOfLayer<L>;
  /** On timeouts: which budget ran out (the phase's own, the attempt's or the call's total). */
  declare readonly budget?: Budget;
  /** Whether a retry of this attempt would be sensible. */
  readonly retryable: boolean;
  /** `false` when the request surely never reached the server. */
  readonly mayHaveExecuted: boolean;
  /** Where the request was going. */
  declare readonly target?: Target;
  /** The method and path (no query string). */
  declare readonly request?: RequestInfo;
  /** Attempts made for the whole call (1 when no retry happened). */
  attempts: number;
  /**
   * On a `retryable` failure that ended a call: why the call did not try again (see
   * {@link NotRetriedReason}). Absent on failures that are not retryable.
   */
  declare notRetried?: NotRetriedReason;
  /** Phase timings of the last attempt. */
  declare readonly timings?: Timings;
  /** The HTTP status, for `HTTP_STATUS`. */
  declare readonly status?: number;
  /**
   * Evidence beside the code, when the failure fits a known cause: a path fault (`'mtu'`,
   * `'loss'`, see {@link PathHint}) or a scheme that does not match the port (`'use-http'`,
   * `'use-https'`, see {@link SchemeHint}). Never changes `code` or `layer`.
   */
  declare readonly hint?: ErrorHint;

  declare readonly [BULWARK_ERROR_BRAND]: true;

  constructor(init: BulwarkErrorInit<L>) {
    const { layer, code } = init;
    if (!LAYERS.includes(layer)) throw new TypeError(`BulwarkError: unknown layer ${describeValue(layer)}`);
    if (!isErrorCode(code)) throw new TypeError(`BulwarkError: unknown code ${describeValue(code)}`);
    const info = ERROR_CODES[code as ErrorCode];
    if (info.layer !== layer) {
      throw new TypeError(`BulwarkError: code ${code} belongs to layer ${info.layer}, not ${layer}`);
    }
    if (init.hint !== undefined && !Object.hasOwn(HINTS, init.hint)) {
      throw new TypeError(`BulwarkError: unknown hint ${describeValue(init.hint)}`);
    }
    super(
      redactText(init.message ?? describe(init)),
      init.cause === undefined ? undefined : { cause: redactError(init.cause) },
    );
    this.layer = layer;
    this.code = code;
    if (init.budget !== undefined) this.budget = init.budget;
    this.retryable = init.retryable ?? info.retryable;
    this.mayHaveExecuted = init.mayHaveExecuted ?? info.mayHaveExecuted;
    if (init.target !== undefined) this.target = withoutUserinfo(init.target);
    if (init.request !== undefined)
      this.request = { method: init.request.method, path: redactText(pathOf(init.request.path)) };
    this.attempts = init.attempts ?? 1;
    if (init.timings !== undefined) this.timings = init.timings;
    if (init.status !== undefined) this.status = init.status;
    if (init.hint !== undefined) this.hint = init.hint;
  }

  override get name(): string {
    return 'BulwarkError';
  }

  /** One structured log line: every field, the cause summarised, secrets redacted. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = {
      name: this.name,
      message: this.message,
      layer: this.layer,
      code: this.code,
      retryable: this.retryable,
      mayHaveExecuted: this.mayHaveExecuted,
      attempts: this.attempts,
    };
    if (this.budget !== undefined) json.budget = this.budget;
    if (this.notRetried !== undefined) json.notRetried = this.notRetried;
    if (this.status !== undefined) json.status = this.status;
    if (this.hint !== undefined) json.hint = this.hint;
    if (this.target !== undefined) json.target = { ...this.target };
    if (this.request !== undefined) json.request = { ...this.request };
    if (this.timings !== undefined) json.timings = { ...this.timings };
    if (this.cause !== undefined) json.cause = summariseCause(this.cause);
    return json;
  }
}

Object.defineProperty(BulwarkError.prototype, BULWARK_ERROR_BRAND, { value: true, enumerable: false });

/**
 * A `BulwarkError` of one of the layers `L`, as a union with one member per layer, so that testing
 * `layer` narrows `code`: `BulwarkErrorOf<'tls' | 'tcp'>` is `BulwarkError<'tls'> | BulwarkError<'tcp'>`.
 */
export type BulwarkErrorOf<L extends Layer = Layer> = L extends Layer ? BulwarkError<L> : never;

/**
 * `true` for a `BulwarkError` from any installed copy of Bulwark (brand check, not `instanceof`).
 * Never throws, whatever it is given. Narrows to {@link BulwarkErrorOf}, so `err.layer === 'tls'`
 * then narrows `err.code` to the TLS codes.
 */
export function isBulwarkError(value: unknown): value is BulwarkErrorOf {
  try {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[BULWARK_ERROR_BRAND] === true
    );
  } catch {
    return false;
  }
}

/** The target as given, unless its origin carries user-info (it should not): then redacted. */
function withoutUserinfo(target: Target): Target {
  const origin = redactText(target.origin);
  return origin === target.origin ? target : { ...target, origin };
}

function describe(init: BulwarkErrorInit): string {
  let text = ERROR_CODES[init.code].summary;
  if (init.status !== undefined) text += ` (status ${init.status})`;
  if (init.budget !== undefined && init.budget !== 'phase') text += ` (${init.budget} budget exhausted)`;
  if (init.request !== undefined) text += ` — ${init.request.method} ${pathOf(init.request.path)}`;
  if (init.target !== undefined) {
    const { origin, address, port } = init.target;
    text += ` to ${origin}`;
    if (address !== undefined) text += ` (${address.includes(':') ? `[${address}]` : address}:${port})`;
  }
  if (init.hint !== undefined) text += ` [hint: ${init.hint} — ${HINTS[init.hint]}]`;
  return `${init.code}: ${text}`;
}

/** A cause for `toJSON()`: name, message (redacted) and code; a nested BulwarkError keeps its layer. */
function summariseCause(cause: unknown, depth = 0): unknown {
  if (typeof cause !== 'object' || cause === null) return redactText(String(cause));
  try {
    const err = cause as { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };
    const out: Record<string, unknown> = {};
    if (typeof err.name === 'string') out.name = err.name;
    if (typeof err.message === 'string') out.message = redactText(err.message);
    if (isBulwarkError(cause)) out.layer = cause.layer;
    if (typeof err.code === 'string' || typeof err.code === 'number') out.code = err.code;
    if (err.cause !== undefined && depth < 3) out.cause = summariseCause(err.cause, depth + 1);
    return out;
  } catch {
    return '[unreadable cause]';
  }
}
