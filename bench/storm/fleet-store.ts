/**
 * The fleet's shared store in the simulator: Redis's buckets in a map, answering after `delay`
 * simulated milliseconds (the round trip to Redis), and failing while `down` says so (Redis killed
 * mid-storm). The processes of a simulated fleet each run a real `Fleet` on the virtual clock.
 */
import type { Clock } from '../../src/clock/clock.ts';
import {
  FIELDS,
  type FleetCounts,
  type FleetStore,
  type FleetUpdate,
  type Sums,
  zeroCounts,
} from '../../src/policy/fleet.ts';

export class MemoryFleetStore implements FleetStore {
  readonly #clock: Clock;
  readonly #delay: number;
  readonly #down: (now: number) => boolean;
  readonly #buckets = new Map<string, Sums>();
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
  ): Promise<ReadonlyMap<string, FleetCounts>> {
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
          const b = this.#buckets.get(k) ?? zeroCounts();
          for (const f of FIELDS) b[f] += u[f];
          this.#buckets.set(k, b);
        }
        this.#expire(from);
        const out = new Map<string, FleetCounts>();
        for (const key of keys) {
          const sum = zeroCounts();
          for (let b = from; b <= to; b++) {
            const c = this.#buckets.get(`${key}:${b}`);
            if (c !== undefined) for (const f of FIELDS) sum[f] += c[f];
          }
          out.set(key, sum);
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
