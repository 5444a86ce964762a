/**
 * `healthCheck(checks)`: runs named dependency checks in parallel, each under its own deadline, and
 * says for each whether it is up, how long it took and — when it is down — the layer and code of
 * the failure, so a readiness endpoint that fails also says which dependency and which layer.
 */
import { isBulwarkError } from '../errors/bulwark-error.ts';
import { type Classification, classify, type LayerClassificationOf } from '../errors/classify.ts';
import { redactText } from '../errors/redact.ts';
import {
  type CheckResult,
  type HealthCheckOptions,
  type HealthChecks,
  type HealthReport,
  type ResolvedCheck,
  resolveChecks,
} from './options.ts';

/**
 * After the deadline, how long a check may still take to settle with an error of its own. A check
 * that gave its own timeouts the same budget (see `HealthCheckContext`) fails at the same instant,
 * and its error — which names the layer — needs a few event-loop turns to arrive.
 */
export const HEALTH_GRACE = 50;

const MAX_ERROR = 500;

/**
 * Runs every check in parallel, each under its deadline, and reports each one's status, latency
 * and, for a failure, its layer and code (via `classify()`). Never rejects, whatever the checks do;
 * leaves no timer behind. The report is complete at most `timeout` + {@link HEALTH_GRACE} ms after
 * the call.
 *
 * A check that misses its deadline is `down` with `timedOut: true`: if it then fails with an error
 * that names a layer (the client's `TLS_TIMEOUT`, the pool's `POOL_ACQUIRE_TIMEOUT`), that layer and
 * code are reported; otherwise `code: 'HEALTH_TIMEOUT'` and no layer.
 *
 * A failure that wraps a cause with a layer of its own is reported by its innermost one — a pool
 * that cannot connect is `tcp`/`TCP_REFUSED` — with the wrapper's layer and code in `via`
 * (`pool`/`POOL_CREATE_FAILED`), so the report names the layer that broke.
 *
 * @throws InvalidOptionError (synchronously) when `checks` is not an object of functions or
 *   `{ check, timeout }`, or a timeout is not a finite number > 0.
 * @example
 * ```ts
 * const report = await healthCheck(
 *   {
 *     db: poolCheck(pool, (conn) => conn.query('SELECT 1')),
 *     search: httpCheck(client, 'http://search.internal:9200/_cluster/health'),
 *     cache: { check: () => redis.ping(), timeout: 500 },
 *   },
 *   { timeout: 1_000 },
 * );
 * // { status: 'down', checks: { db: { status: 'up', latency: 2.1 },
 * //   search: { status: 'down', latency: 0.9, layer: 'tcp', code: 'TCP_REFUSED', error: '...' }, ... } }
 * ```
 */
export function healthCheck(checks: HealthChecks, options?: HealthCheckOptions): Promise<HealthReport> {
  return runChecks(resolveChecks(checks, options));
}

/** Runs already validated checks (the ready handler validates once, at creation). */
export async function runChecks(checks: readonly ResolvedCheck[]): Promise<HealthReport> {
  const results = await Promise.all(checks.map(runOne));
  const out: Record<string, CheckResult> = {};
  checks.forEach((c, i) => {
    out[c.name] = results[i]!;
  });
  return { status: results.every((r) => r.status === 'up') ? 'up' : 'down', checks: out };
}

function runOne(c: ResolvedCheck): Promise<CheckResult> {
  const started = performance.now();
  const controller = new AbortController();
  const latency = (): number => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    let deadline: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    let expired = false;
    let done = false;
    const finish = (result: CheckResult): void => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      clearTimeout(grace);
      resolve(result);
    };
    const timedOut = (): CheckResult => ({
      status: 'down',
      latency: latency(),
      code: 'HEALTH_TIMEOUT',
      error: `no answer within ${c.timeout} ms`,
      timedOut: true,
    });
    const onValue = (value: unknown): void => {
      if (expired) finish(timedOut());
      else if (value === false) {
        finish({ status: 'down', latency: latency(), layer: 'app', error: 'the check returned false' });
      } else finish({ status: 'up', latency: latency() });
    };
    const onError = (err: unknown): void => {
      const k = classify(err);
      // After the deadline only an error that names a layer says more than "timed out".
      if (expired && k.layer === 'app') {
        finish(timedOut());
        return;
      }
      const inner = k.layer === 'app' ? k : innermost(err, k);
      finish({
        status: 'down',
        latency: latency(),
        layer: inner.layer,
        ...(inner.code === null ? {} : { code: inner.code }),
        ...(inner !== k && k.layer !== 'app' ? { via: { layer: k.layer, code: k.code } } : {}),
        error: describe(err),
        ...(expired ? { timedOut: true } : {}),
      });
    };
    deadline = setTimeout(() => {
      expired = true;
      controller.abort(new DOMException(`health check timed out after ${c.timeout} ms`, 'TimeoutError'));
      grace = setTimeout(() => finish(timedOut()), HEALTH_GRACE);
    }, c.timeout);

    let outcome: unknown;
    try {
      outcome = c.check(controller.signal, { timeout: c.timeout });
    } catch (err) {
      onError(err);
      return;
    }
    if (isThenable(outcome)) Promise.resolve(outcome).then(onValue, onError);
    else onValue(outcome);
  });
}

/**
 * The innermost classified cause along a chain of BulwarkErrors (`outer` when its cause says
 * nothing more): a pool's `POOL_CREATE_FAILED` → the connect's `TCP_REFUSED`. Stops at a cause of
 * the same layer and code, or one `classify` places in no layer.
 */
function innermost(err: unknown, outer: LayerClassificationOf): Classification {
  let found: LayerClassificationOf = outer;
  let current = err;
  for (let depth = 0; depth < 6 && isBulwarkError(current); depth++) {
    let cause: unknown;
    try {
      cause = current.cause;
    } catch {
      break;
    }
    const c = classify(cause);
    if (c.layer === 'app') break;
    if (c.layer !== found.layer || c.code !== found.code) found = c;
    current = cause;
  }
  return found;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  try {
    return (
      (typeof value === 'object' || typeof value === 'function') &&
      value !== null &&
      typeof (value as { then?: unknown }).then === 'function'
    );
  } catch {
    return false;
  }
}

/** One line for the report: a BulwarkError's own (redacted) message, anything else redacted. */
function describe(err: unknown): string {
  let text: string;
  try {
    if (isBulwarkError(err)) text = err.message;
    else if (err instanceof Error) text = `${err.name}: ${err.message}`;
    else text = String(err);
  } catch {
    text = 'an unreadable error';
  }
  const line = redactText(text).replace(/\s+/g, ' ').trim();
  return line.length > MAX_ERROR ? `${line.slice(0, MAX_ERROR - 3)}...` : line;
}
