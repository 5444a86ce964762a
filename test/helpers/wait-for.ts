// Polls a condition until it holds, for state that changes without an event to wait on
// (counters that drop once a socket has finished closing, for example).
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long (ms). @default 2000 */
  timeout?: number;
  /** Time between checks (ms). @default 5 */
  interval?: number;
}

/** Resolves once `condition()` is true; rejects with `what` in the message after the timeout. */
export async function waitFor(
  condition: () => boolean,
  what: string,
  opts: WaitForOptions = {},
): Promise<void> {
  const { timeout = 2000, interval = 5 } = opts;
  const deadline = performance.now() + timeout;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(interval);
  }
}
