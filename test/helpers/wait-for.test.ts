// Proves waitFor resolves as soon as its condition holds and names what it waited for on timeout.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitFor } from './wait-for.ts';

test('resolves once the condition holds', async () => {
  let ready = false;
  setTimeout(() => {
    ready = true;
  }, 20);
  await waitFor(() => ready, 'ready');
  assert.equal(ready, true);
});

test('rejects after the timeout, naming what it waited for', async () => {
  await assert.rejects(
    waitFor(() => false, 'the impossible', { timeout: 30 }),
    /30 ms waiting for the impossible/,
  );
});
