/**
 * Composition: a stage is `(next) => handler`, and `compose` folds stages around a transport.
 * The order itself is fixed in one place only, `src/client.ts`.
 */
import type { Call } from './call.ts';

/** Runs a call (or what is left of it) and resolves with the front-end's result. */
export type Handler<R> = (call: Call) => Promise<R>;

/** One policy of the pipeline, wrapped around the rest. */
export type Stage<R> = (next: Handler<R>) => Handler<R>;

/** Folds `stages` (outermost first) around `innermost`. */
export function compose<R>(stages: readonly Stage<R>[], innermost: Handler<R>): Handler<R> {
  let handler = innermost;
  for (let i = stages.length - 1; i >= 0; i--) handler = stages[i]!(handler);
  return handler;
}
