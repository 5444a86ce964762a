/**
 * The fleet's shared store in the simulator: Redis's buckets in a map, answering after `delay`
 * simulated milliseconds (the round trip to Redis), and failing while `down` says so (Redis killed
 * mid-storm). The processes of a simulated fleet each run a real `Fleet` on the virtual clock.
 */
import type { Clock } from '../../src/clock/clock.ts';
import type { FleetStore, FleetUpdate } from '../../src/policy/fleet.ts';
import type { ThrottleCounts } from '../../src/policy/throttle.ts';

export class MemoryFleetStore implements FleetStore {
  readonly #clock: Clock;
  readonly #delay: number;
  readonly #down: (now: number) => boolean;
  readonly #buckets = new Map<string, { requests: number; accepts: number }>();
  #oldest = Number.POSITIVE_INFINITY;
  exchanges = 0;

  constructor(clock: Clock, delay: number, down: (now: number) => boolean = () => false) {
    this.#clock = clock;
    this.#delay = delay;
    this.#down = down;
  }

  exchange(
    updates: readonly FleetUpdate[],
    bucket: number,
    keys: readonly string[],
    from: number,
    to: number,
  ): Promise<ReadonlyMap<string, ThrottleCounts>> {
    this.exchanges++;
    return new Promise((resolve, reject) => {
      // Half the round trip there (the writes land), half back (the reply).
      this.#clock.setTimeout(() => {
        if (this.#down(this.#clock.now())) {
          reject(new Error('store down'));
          return;
        }
        for (const u of updates) {
          const k = `${u.key}:${bucket}`;
          const b = this.#buckets.get(k) ?? { requests: 0, accepts: 0 };
          b.requests += u.requests;
          b.accepts += u.accepts;
          this.#buckets.set(k, b);
        }
        this.#expire(from);
        const out = new Map<string, ThrottleCounts>();
        for (const key of keys) {
          let requests = 0;
          let accepts = 0;
          for (let b = from; b <= to; b++) {
            const c = this.#buckets.get(`${key}:${b}`);
            if (c !== undefined) {
              requests += c.requests;
              accepts += c.accepts;
            }
          }
          out.set(key, { requests, accepts });
        }
        this.#clock.setTimeout(() => resolve(out), this.#delay / 2);
      }, this.#delay / 2);
    });
  }

  /** Buckets older than any window still read go (Redis's expiry). */
  #expire(from: number): void {
    if (from - 10 <= this.#oldest) return;
    for (const k of this.#buckets.keys()) {
      const b = Number(k.slice(k.lastIndexOf(':') + 1));
      if (b < from - 10) this.#buckets.delete(k);
    }
    this.#oldest = from - 10;
  }
}
