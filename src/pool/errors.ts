/**
 * The pool's errors: `POOL_*` BulwarkErrors with the pool's name and target in the message;
 * `connectError` and `tagConnectionError`, which turn a driver's connection failure — on connect,
 * or on a borrowed connection during `use()` — into a dns/tcp/tls BulwarkError so the layer that
 * broke is named; and the `use()` deadline's `TCP_TIMEOUT`.
 */
import { BulwarkError, isBulwarkError, type Target } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.ts';

type PoolCode = 'POOL_ACQUIRE_TIMEOUT' | 'POOL_QUEUE_FULL' | 'POOL_CLOSED' | 'POOL_CREATE_FAILED';

/** Where a pool error comes from. */
export interface PoolErrorSource {
  readonly name: string;
  readonly target: Target | undefined;
}

/** A `POOL_*` error: `pool "<name>"` and the target in the message, the cause's code appended. */
export function poolError(
  source: PoolErrorSource,
  code: PoolCode,
  cause?: unknown,
  detail?: string,
): BulwarkError {
  let message = `${code}: ${ERROR_CODES[code].summary} — pool "${source.name}"`;
  if (source.target !== undefined) message += ` to ${source.target.origin}`;
  if (detail !== undefined) message += ` (${detail})`;
  const causeCode = codeOf(cause);
  if (causeCode !== undefined) message += `: ${causeCode}`;
  return new BulwarkError({
    layer: 'pool',
    code,
    message,
    target: source.target,
    budget: code === 'POOL_ACQUIRE_TIMEOUT' ? 'phase' : undefined,
    cause,
  });
}

/**
 * The error a failed create is reported with: a driver error that `classify` places in the dns,
 * tcp or tls layer becomes a BulwarkError of that layer (the driver's error is its `cause`);
 * anything else — wrong password, unknown database — stays the driver's own error.
 */
export function connectError(err: unknown, target: Target | undefined): unknown {
  return tagged(err, target, false, undefined);
}

/**
 * The error a `use()` rejects with when its connection broke: a driver error that `classify`
 * places in the dns, tcp or tls layer becomes a BulwarkError of that layer and code, with the
 * classification's `mayHaveExecuted` (true unless the statement surely never left), the pool's
 * target, and the driver's error as `cause`. Anything else — a BulwarkError already, an
 * application error — is returned as it is.
 */
export function tagConnectionError(err: unknown, source: PoolErrorSource): unknown {
  return tagged(err, source.target, undefined, source);
}

/** A `use()` that ran past its deadline (its connection has been destroyed). */
export function useTimeoutError(source: PoolErrorSource, ms: number): BulwarkError {
  return new BulwarkError({
    layer: 'tcp',
    code: 'TCP_TIMEOUT',
    message: `TCP_TIMEOUT: use() did not finish within useTimeout (${ms} ms) — pool "${source.name}"${source.target ? ` to ${source.target.origin}` : ''}; the connection was closed`,
    budget: 'phase',
    mayHaveExecuted: true,
    target: source.target,
  });
}

function tagged(
  err: unknown,
  target: Target | undefined,
  mayHaveExecuted: boolean | undefined,
  during: PoolErrorSource | undefined,
): unknown {
  if (isBulwarkError(err)) return err;
  const c = classify(err);
  if (c.layer !== 'dns' && c.layer !== 'tcp' && c.layer !== 'tls') return err;
  let message: string | undefined;
  if (during !== undefined) {
    message = `${c.code}: ${ERROR_CODES[c.code].summary} — pool "${during.name}"`;
    if (target !== undefined) message += ` to ${target.origin}`;
    message += `, during use(): ${describeCause(err)}`;
  }
  return new BulwarkError({
    layer: c.layer,
    code: c.code,
    ...(message === undefined ? {} : { message }),
    target,
    mayHaveExecuted: mayHaveExecuted ?? c.mayHaveExecuted,
    retryable: c.retryable,
    cause: err,
  });
}

function describeCause(err: unknown): string {
  try {
    return String((err as { message?: unknown }).message ?? err);
  } catch {
    return 'an unreadable error';
  }
}

/** A create that did not settle within `createTimeout`. */
export function createTimeoutError(target: Target | undefined, ms: number): BulwarkError {
  return new BulwarkError({
    layer: 'tcp',
    code: 'TCP_TIMEOUT',
    message: `TCP_TIMEOUT: the connection was not established within createTimeout (${ms} ms)${target ? ` to ${target.origin}` : ''}`,
    budget: 'phase',
    target,
  });
}

/**
 * Whether an error thrown inside `use()` looks like a connection-level failure (dns, tcp, tls):
 * reason enough to check the connection, never to destroy it — it may be another client's.
 */
export function isConnectionFailure(err: unknown): boolean {
  const { layer } = classify(err);
  return layer === 'dns' || layer === 'tcp' || layer === 'tls';
}

function codeOf(cause: unknown): ErrorCode | string | undefined {
  if (cause === undefined || cause === null) return undefined;
  if (isBulwarkError(cause)) return cause.code;
  const c = classify(cause);
  if (c.layer !== 'app') return c.code;
  try {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}
