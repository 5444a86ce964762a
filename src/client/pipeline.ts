/**
 * Composition: a stage is `(next) => handler`, and `compose` folds stages around a transport.
 * The order itself is fixed in one place only, `src/client.ts`.
 *
 * Handlers pass the outcome on through a callback rather than a promise: a call that succeeds
 * goes through every stage with one promise in all (the one its caller awaits), where a promise
 * per stage cost an allocation and a microtask hop each (measured in bench/overhead). The paths
 * off the success path (p-retry's loop, opossum's `fire` while a breaker is open or half-open)
 * turn a handler back into a promise with {@link promised}.
 */
import type { Call } from './call.ts';

/**
 * Called exactly once with the outcome: `null` and the result, or the failure (never `null`).
 * It may be called synchronously, before the handler returns.
 */
export type Done<R> = (err: unknown, result?: R) => void;

/** Runs a call (or what is left of it) and calls `done` once with its outcome. */
export type Handler<R> = (call: Call, done: Done<R>) => void;

/** One policy of the pipeline, wrapped around the rest. */
export type Stage<R> = (next: Handler<R>) => Handler<R>;

/** Folds `stages` (outermost first) around `innermost`. */
export function compose<R>(stages: readonly Stage<R>[], innermost: Handler<R>): Handler<R> {
  let handler = innermost;
  for (let i = stages.length - 1; i >= 0; i--) handler = stages[i]!(handler);
  return handler;
}

/** `handler` as a function returning a promise (for the libraries that drive promises). */
export function promised<R>(handler: Handler<R>): (call: Call) => Promise<R> {
  return (call) =>
    new Promise<R>((resolve, reject) =>
      handler(call, (err, result) => (err === null ? resolve(result as R) : reject(err))),
    );
}
