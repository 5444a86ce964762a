/**
 * A promise whose resolving functions go onto the object that settles it, caught by one shared
 * executor instead of a closure per call (the executor runs synchronously inside `new Promise`,
 * so they are read back at once). Used by the client's calls and by `wrap`'s.
 */
export interface PromiseSlot {
  resolve: ((value: unknown) => void) | undefined;
  reject: ((reason: unknown) => void) | undefined;
}

const captured: { resolve: (value: unknown) => void; reject: (reason: unknown) => void } = {
  resolve: () => {},
  reject: () => {},
};
function capture(resolve: (value: never) => void, reject: (reason: unknown) => void): void {
  captured.resolve = resolve as (value: unknown) => void;
  captured.reject = reject;
}

/** A new pending promise, its `resolve` and `reject` written onto `slot`. */
export function promiseInto<T>(slot: PromiseSlot): Promise<T> {
  const promise = new Promise<T>(capture);
  slot.resolve = captured.resolve;
  slot.reject = captured.reject;
  return promise;
}
