/**
 * The types of health checks and their results, and `resolveChecks`, which validates the checks
 * and options once (naming the path of anything wrong) into a frozen list.
 */
import type { ErrorCode, Layer } from '../errors/codes.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkDuration, checkObject, checkThat } from '../options/validate.ts';

/** What a check gets besides its abort signal. */
export interface HealthCheckContext {
  /**
   * This check's budget in milliseconds. A check with timeouts of its own (a client call, a pool
   * acquire) should give them this budget: then a timeout is reported with the layer in which time
   * ran out (`TLS_TIMEOUT`, `POOL_ACQUIRE_TIMEOUT`) instead of as a bare `HEALTH_TIMEOUT`.
   */
  readonly timeout: number;
}

/**
 * One dependency check. It is up when it returns or resolves (with anything but `false`); down
 * when it throws, rejects, returns `false`, or misses its deadline. At the deadline `signal` is
 * aborted (reason: a `TimeoutError` `DOMException`).
 *
 * @example
 * ```ts
 * const db: HealthCheckFn = (signal) => pg.query({ text: 'SELECT 1', signal });
 * ```
 */
export type HealthCheckFn = (signal: AbortSignal, context: HealthCheckContext) => unknown;

/** A check with its own deadline. */
export interface HealthCheckSpec {
  /** The check. */
  readonly check: HealthCheckFn;
  /**
   * This check's deadline in milliseconds, instead of the `timeout` of {@link HealthCheckOptions}.
   * @default the `timeout` option
   */
  readonly timeout?: number;
}

/** Named checks: a function, or `{ check, timeout }` for a deadline of its own. */
export type HealthChecks = Readonly<Record<string, HealthCheckFn | HealthCheckSpec>>;

/**
 * Options of {@link healthCheck} and {@link readyHandler}.
 *
 * @example
 * ```ts
 * const report = await healthCheck({ db: poolCheck(pool) }, { timeout: 1_000 });
 * ```
 */
export interface HealthCheckOptions {
  /**
   * Each check's deadline in milliseconds. Keep it below the probe timeout of whoever asks (a
   * Kubernetes readiness probe gives up after `timeoutSeconds`, 1 s by default).
   * @default 2000
   */
  timeout?: number;
}

/** `up` or `down`. */
export type HealthStatus = 'up' | 'down';

/** The code of a check that missed its deadline without saying in which layer. */
export type HealthTimeoutCode = 'HEALTH_TIMEOUT';

/** The result of one check. */
export interface CheckResult {
  /** `up` or `down`. */
  readonly status: HealthStatus;
  /** How long the check took (or ran until it was given up on), in milliseconds. */
  readonly latency: number;
  /**
   * For a failure: the layer from `classify()` — `'app'` for errors that are not network errors. When
   * the error wraps a cause with a layer of its own (a pool's `POOL_CREATE_FAILED` around the
   * connect's `TCP_REFUSED`), the innermost such cause's layer, with the wrapper in {@link via}.
   */
  readonly layer?: Layer | 'app';
  /** For a failure: the code that goes with `layer`, or `HEALTH_TIMEOUT` for a deadline with no layer. */
  readonly code?: ErrorCode | HealthTimeoutCode;
  /**
   * The layer and code of the error the check failed with, when `layer` and `code` come from a
   * cause inside it: `{ layer: 'pool', code: 'POOL_CREATE_FAILED' }` beside `tcp`/`TCP_REFUSED`.
   */
  readonly via?: { readonly layer: Layer; readonly code: ErrorCode };
  /** For a failure: what went wrong, one line, secrets redacted. */
  readonly error?: string;
  /** `true` when the check missed its deadline. */
  readonly timedOut?: boolean;
}

/** What {@link healthCheck} resolves with (and {@link readyHandler} sends as JSON). */
export interface HealthReport {
  /** `up` when every check is up. */
  readonly status: HealthStatus;
  /** Each check's result, in the order the checks were given. */
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/** The defaults of {@link HealthCheckOptions}. */
export const HEALTH_DEFAULTS: Readonly<Required<HealthCheckOptions>> = Object.freeze({ timeout: 2_000 });

/** One check after validation. */
export interface ResolvedCheck {
  readonly name: string;
  readonly check: HealthCheckFn;
  readonly timeout: number;
}

const CHECKS_EXPECTED = 'an object of named checks (functions, or { check, timeout })';

/** Validates `checks` and `options`. Throws {@link InvalidOptionError} naming the path. */
export function resolveChecks(checks: unknown, options: unknown): readonly ResolvedCheck[] {
  const o = checkObject(options, 'options', ['timeout']);
  const timeout = checkTimeout(o.timeout, 'options.timeout', HEALTH_DEFAULTS.timeout);
  if (typeof checks !== 'object' || checks === null || Array.isArray(checks)) {
    throw new InvalidOptionError('checks', CHECKS_EXPECTED, checks);
  }
  const resolved = Object.entries(checks).map(([name, value]): ResolvedCheck => {
    const path = `checks.${name}`;
    if (typeof value === 'function') return { name, check: value as HealthCheckFn, timeout };
    if (typeof value !== 'object' || value === null) {
      throw new InvalidOptionError(path, 'a function, or { check, timeout }', value);
    }
    const spec = checkObject(value, path, ['check', 'timeout']);
    checkThat(typeof spec.check === 'function', `${path}.check`, 'a function', spec.check);
    return {
      name,
      check: spec.check as HealthCheckFn,
      timeout: checkTimeout(spec.timeout, `${path}.timeout`, timeout),
    };
  });
  return Object.freeze(resolved);
}

function checkTimeout(value: unknown, path: string, fallback: number): number {
  return checkDuration(value, path, fallback, 1);
}
