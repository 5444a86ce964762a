// The BulwarkError a promise rejects with; the assertion fails when it resolves or rejects with
// anything else.
import assert from 'node:assert/strict';
import { type BulwarkError, isBulwarkError } from '../../src/errors/bulwark-error.ts';

export async function bulwarkFailure(p: Promise<unknown>): Promise<BulwarkError> {
  const err = await p.then(
    () => assert.fail('expected a rejection'),
    (e: unknown) => e,
  );
  assert.ok(isBulwarkError(err), `not a BulwarkError: ${String(err)}`);
  return err;
}
