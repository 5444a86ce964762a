/**
 * Composition: a stage is `(next) => handler`, and `compose` folds stages around a transport.
 * Generic over the call `C` a pipeline carries: each policy declares the slice of a call it reads,
 * and the HTTP client's `Call` (http/call.ts) satisfies them all. The HTTP pipeline's order is
 * fixed in one place only, `src/client/client.ts`.
 *
 * Handlers pass the outcome on through a callback rather than a promise: a call that succeeds
 * goes through every stage with one promise in all (the one its caller awaits), where a promise
 * per stage cost an allocation and a microtask hop each (measured in bench/overhead). The paths
 * off the success path (p-retry's loop, opossum's `fire` while a breaker is open or half-open)
 * turn a handler back into a promise with {@link promised}.
 *
 * The callbacks take the call as their first argument and keep whatever they need to remember
 * on it, so a stage's continuation is made once ({@link continuation}) rather than as a closure
 * per call: on the success path a call allocates no function at all.
 */

/**
 * The `err` a {@link Done} is called with when the call (or stage) succeeded. Any other value is
 * a failure, `null` and `undefined` included: a caller may abort with any value as the reason
 * (`controller.abort(null)`), and that value must travel back to them as the rejection.
 */
export const OK: unique symbol = Symbol('bulwark.ok');

/**
 * Called exactly once with the call and its outcome: {@link OK} and the result, or the failure
 * (any other value). It may be called synchronously, before the handler returns.
 */
export type Done<C, R> = (call: C, err: unknown, result?: R) => void;

/** Runs a call (or what is left of it) and calls `done` once with its outcome. */
export type Handler<C, R> = (call: C, done: Done<C, R>) => void;

/** One policy of the pipeline, wrapped around the rest. */
export type Stage<C, R> = (next: Handler<C, R>) => Handler<C, R>;

/** Folds `stages` (outermost first) around `innermost`. */
export function compose<C, R>(stages: readonly Stage<C, R>[], innermost: Handler<C, R>): Handler<C, R> {
  let handler = innermost;
  for (let i = stages.length - 1; i >= 0; i--) handler = stages[i]!(handler);
  return handler;
}

/**
 * A stage's continuation for each outer `done`, made by `make` once per `done` rather than once
 * per call. Along the success path every `done` is the same function for every call (the
 * client's own, then each stage's continuation of it), so the one it made last is the one it
 * needs; a `done` made per call ({@link promised}, off the success path) costs one continuation
 * each, as a closure would.
 */
export function continuation<C, R>(make: (done: Done<C, R>) => Done<C, R>): (done: Done<C, R>) => Done<C, R> {
  let last: Done<C, R> | undefined;
  let made: Done<C, R> | undefined;
  return (done) => {
    if (done !== last) {
      made = make(done);
      last = done;
    }
    return made as Done<C, R>;
  };
}

/** Passes a promise's outcome on to `done` (the way back from {@link promised}). */
export function settleFrom<C, R>(promise: Promise<R>, call: C, done: Done<C, R>): void {
  promise.then(
    (result) => done(call, OK, result),
    (err: unknown) => done(call, err),
  );
}

/** `handler` as a function returning a promise (for the libraries that drive promises). */
export function promised<C, R>(handler: Handler<C, R>): (call: C) => Promise<R> {
  return (call) =>
    new Promise<R>((resolve, reject) =>
      handler(call, (_call, err, result) => (err === OK ? resolve(result as R) : reject(err))),
    );
}
