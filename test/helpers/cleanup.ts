// Ties a helper's lifetime to a test: the resource is disposed after the test, pass or fail.
// The portable spelling of `await using`, which Node 22 (still supported) cannot parse.
import type { TestContext } from 'node:test';

/** Returns `resource`, disposing it (close()) once the test `t` has finished. */
export function cleanup<T extends AsyncDisposable>(t: TestContext, resource: T): T {
  t.after(() => resource[Symbol.asyncDispose]());
  return resource;
}
