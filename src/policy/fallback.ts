/**
 * The fallback stage of the generic policies (`policy.fallback`): a failure that `when` accepts is
 * answered with a value, or with what a function of the failure returns. A caller's abort is never
 * replaced: it comes back as it is.
 */
import { continuation, type Done, OK, type Stage } from './pipeline.ts';
import type { PolicyCall } from './policy-call.ts';

/** The fallback: a value, or a function of the failure that returns one (or a promise of one). */
export type FallbackValue<T> = T | ((error: unknown) => PromiseLike<T> | T);

/** The fallback stage: `fallback` for the failures `when` accepts. */
export function fallbackStage(
  fallback: FallbackValue<unknown>,
  when: (err: unknown) => boolean,
): Stage<PolicyCall, unknown> {
  return (next) => {
    const caught = continuation<PolicyCall, unknown>((done) => (call, err, result) => {
      if (err === OK || call.callerSignal?.aborted === true || !when(err)) done(call, err, result);
      else answer(fallback, err, call, done);
    });
    return (call, done) => next(call, caught(done));
  };
}

function answer(
  fallback: FallbackValue<unknown>,
  err: unknown,
  call: PolicyCall,
  done: Done<PolicyCall, unknown>,
): void {
  if (typeof fallback !== 'function') {
    done(call, OK, fallback);
    return;
  }
  let value: unknown;
  try {
    value = (fallback as (error: unknown) => unknown)(err);
  } catch (failure) {
    done(call, failure);
    return;
  }
  if (value !== null && typeof (value as PromiseLike<unknown>)?.then === 'function') {
    (value as PromiseLike<unknown>).then(
      (result) => done(call, OK, result),
      (failure: unknown) => done(call, failure),
    );
  } else done(call, OK, value);
}
