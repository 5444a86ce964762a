/**
 * The OCC contention model of the AWS "Exponential Backoff and Jitter" study (see aws-occ.ts for
 * the model and its sources), driven by Bulwark's `backoffDelay` on the `VirtualClock`.
 */
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { backoffDelay, type ResolvedBackoff } from '../../src/policy/backoff.ts';

/** One algorithm of the study: its name in the post and its Bulwark backoff (or none at all). */
export interface Algorithm {
  readonly id: string;
  readonly label: string;
  readonly backoff: ResolvedBackoff | undefined;
}

export const ALGORITHMS: readonly Algorithm[] = [
  { id: 'none', label: 'no backoff', backoff: undefined },
  { id: 'exponential', label: 'exponential, no jitter', backoff: { jitter: 'none', base: 10, cap: 2_000 } },
  { id: 'equal', label: 'equal jitter', backoff: { jitter: 'equal', base: 10, cap: 2_000 } },
  { id: 'full', label: 'full jitter (Bulwark default)', backoff: { jitter: 'full', base: 10, cap: 2_000 } },
  {
    id: 'decorrelated',
    label: 'decorrelated jitter',
    backoff: { jitter: 'decorrelated', base: 5, cap: 2_000 },
  },
];

/** The outcome of one run: writes (calls) and the completion time. */
export interface Run {
  readonly calls: number;
  readonly time: number;
}

/** One contention run: `n` clients, one row, the post's message flow, on a virtual clock. */
export function occRun(n: number, algorithm: Algorithm, seed: number): Run {
  const clock = new VirtualClock({ seed });
  const random = (): number => clock.random();
  // |Normal(10, 2)| by Box–Muller from the seeded stream.
  const delay = (): number => {
    const u = 1 - random();
    const v = random();
    return Math.abs(10 + 2 * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v));
  };
  let version = 0;
  let calls = 0;
  let done = 0;
  let finished = 0;
  const client = (): void => {
    let attempt = 0;
    let previous = 0;
    // Each step is a message arriving somewhere after one network delay.
    const serverRead = (): void => {
      const seen = version;
      clock.setTimeout(() => readReply(seen), delay());
    };
    const readReply = (seen: number): void => {
      clock.setTimeout(() => serverWrite(seen), delay());
    };
    const serverWrite = (seen: number): void => {
      calls++;
      const ok = seen === version;
      if (ok) version++;
      clock.setTimeout(() => writeReply(ok), delay());
    };
    const writeReply = (ok: boolean): void => {
      if (ok) {
        done++;
        finished = clock.now();
        return;
      }
      attempt++;
      let sleep = 0;
      if (algorithm.backoff !== undefined) {
        sleep = backoffDelay(algorithm.backoff, attempt, random, previous);
        previous = sleep;
      }
      clock.setTimeout(serverRead, delay() + sleep);
    };
    clock.setTimeout(serverRead, delay());
  };
  for (let i = 0; i < n; i++) client();
  while (clock.runNext()) {}
  if (done !== n) throw new Error(`OCC run ended with ${done} of ${n} writes done`);
  return { calls, time: finished };
}
