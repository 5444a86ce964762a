/**
 * One validation of one connection, with a timeout on the injectable clock: `factory.validate`
 * may return, resolve, return `false`, throw synchronously, reject or never answer, and each case
 * becomes a plain verdict. A late rejection of an abandoned check is swallowed.
 */
import type { Clock } from '../clock/clock.ts';

/** Why a connection failed its check. */
export type CheckFailure = 'false' | 'error' | 'timeout';

/** The verdict of {@link checkConnection}. */
export type CheckResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: CheckFailure; readonly error?: unknown };

const OK: CheckResult = Object.freeze({ ok: true });

/** Runs `validate(conn)`, giving it `timeout` ms. Never rejects. */
export function checkConnection<T>(
  validate: (conn: T) => unknown,
  conn: T,
  timeout: number,
  clock: Clock,
): Promise<CheckResult> {
  let answer: unknown;
  try {
    answer = validate(conn);
  } catch (error) {
    return Promise.resolve({ ok: false, reason: 'error', error });
  }
  if (!isThenable(answer)) return Promise.resolve(answer === false ? { ok: false, reason: 'false' } : OK);
  return new Promise<CheckResult>((resolve) => {
    let done = false;
    const timer = clock.setTimeout(() => {
      if (done) return;
      done = true;
      resolve({ ok: false, reason: 'timeout' });
    }, timeout);
    const settle = (result: CheckResult): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      resolve(result);
    };
    Promise.resolve(answer).then(
      (value) => settle(value === false ? { ok: false, reason: 'false' } : OK),
      (error: unknown) => settle({ ok: false, reason: 'error', error }),
    );
  });
}

/** Whether `value` has a `then` method (a promise, or any thenable). */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
