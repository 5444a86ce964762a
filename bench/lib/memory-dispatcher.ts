/**
 * A dispatcher that answers every request from memory, synchronously inside `dispatch`: for
 * measuring the client's own CPU without I/O (bench/overhead/policy-cpu.ts) and for tests of a
 * pipeline whose transport finishes before it returns. It drives the request's handler as undici
 * does — `onRequestStart` with a controller, then the response's start and end — with the status
 * `statusOf()` returns, no headers and an empty body; `statusOf` may throw, and `dispatch` throws
 * that.
 */
import type { Dispatcher } from 'undici';

/** A controller with nothing to pause, resume or abort. */
const CONTROLLER: Dispatcher.DispatchController = Object.freeze({
  aborted: false,
  paused: false,
  reason: null,
  abort() {},
  pause() {},
  resume() {},
});

const NO_HEADERS = Object.freeze({});
/** The (empty) context a fake hands `onRequestStart`. */
export const NO_CONTEXT = Object.freeze({});

/** Answers a request whose handler has started: `statusCode`, no headers, an empty body. */
export function respond(
  handler: Dispatcher.DispatchHandler,
  controller: Dispatcher.DispatchController,
  statusCode: number,
): void {
  handler.onResponseStart?.(controller, statusCode, NO_HEADERS, '');
  handler.onResponseEnd?.(controller, NO_HEADERS);
}

/** A dispatcher whose `dispatch` answers at once (see the file comment). */
export function memoryDispatcher(statusOf: () => number = () => 200): Dispatcher {
  return {
    dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
      const statusCode = statusOf();
      handler.onRequestStart?.(CONTROLLER, NO_CONTEXT);
      respond(handler, CONTROLLER, statusCode);
      return true;
    },
  } as unknown as Dispatcher;
}
