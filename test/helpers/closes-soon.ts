// Asserts that a client's close() resolves, and within a bound: after a call that was aborted or
// failed, nothing Bulwark started may keep the client from closing.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';

/** `client.close()` resolves within `ms` (a connect abandoned by an abort ends at its connect timeout). */
export async function closesSoon(client: { close(): Promise<void> }, ms = 5_000): Promise<void> {
  const closed = await Promise.race([client.close().then(() => 'closed'), sleep(ms).then(() => 'pending')]);
  assert.equal(closed, 'closed', 'client.close() resolved');
}
