// Every kind of value an AbortSignal can be aborted with, for the tests that check a call rejects
// with that very value: `undefined` stands for `abort()` with no reason (the signal then carries
// its own AbortError).

/** A reason of the caller's own class. */
export class Reason extends Error {}

/** [label, make the reason] for every kind of value. */
export const ABORT_REASONS: ReadonlyArray<readonly [string, () => unknown]> = Object.freeze([
  ['no reason (the default AbortError)', () => undefined],
  ['null', () => null],
  ['false', () => false],
  ['0', () => 0],
  ["''", () => ''],
  ['a string', () => 'gave up'],
  ['a plain object', () => ({ why: 'custom' })],
  ['a frozen object', () => Object.freeze({ why: 'frozen' })],
  ['an Error subclass', () => new Reason('mine')],
  ['a DOMException', () => new DOMException('took too long', 'TimeoutError')],
]);

/** Aborts `controller` with `reason`, or with no reason at all for `undefined`. */
export function abortWith(controller: AbortController, reason: unknown): void {
  if (reason === undefined) controller.abort();
  else controller.abort(reason);
}
