/**
 * Small statistics for the benches: median and spread of repeated rounds, and a log-linear
 * latency histogram (1 % relative precision, constant memory) for millions of simulated calls.
 */

/** The median of `xs` (NaN for none). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Median with its spread: min, max and the half-range relative to the median (±%). */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** (max − min) / 2 / median, in percent. */
  readonly spreadPct: number;
  readonly samples: readonly number[];
}

/** The median and spread of `samples`. */
export function spread(samples: readonly number[]): Spread {
  const m = median(samples);
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  return { median: m, min, max, spreadPct: m === 0 ? 0 : ((max - min) / 2 / m) * 100, samples };
}

/**
 * A distribution-free 95 % confidence interval for the median of `xs`: the order statistics a
 * binomial(n, ½) count puts around it (normal approximation; n ≥ 6). Wide on purpose when the
 * rounds disagree, which is what a noisy machine should show.
 */
export function medianInterval(xs: readonly number[]): { lo: number; hi: number } {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n < 6) return { lo: s[0] ?? Number.NaN, hi: s[n - 1] ?? Number.NaN };
  const half = (1.96 * Math.sqrt(n)) / 2;
  const lo = Math.max(0, Math.floor(n / 2 - half));
  const hi = Math.min(n - 1, Math.ceil(n / 2 + half) - 1);
  return { lo: s[lo]!, hi: s[hi]! };
}

const GROWTH = Math.log(1.01);
const SUB_MS = 100; // values below 1 ms are kept linearly, in 10 µs steps

/** A histogram of non-negative values (milliseconds) with ~1 % relative error. */
export class Histogram {
  #counts = new Float64Array(2048);
  #n = 0;
  #max = 0;
  #sum = 0;

  get count(): number {
    return this.#n;
  }

  get mean(): number {
    return this.#n === 0 ? 0 : this.#sum / this.#n;
  }

  get max(): number {
    return this.#max;
  }

  add(ms: number): void {
    const v = ms < 0 ? 0 : ms;
    const i = v < 1 ? Math.floor(v * SUB_MS) : SUB_MS + Math.floor(Math.log(v) / GROWTH);
    if (i >= this.#counts.length) {
      const grown = new Float64Array(Math.max(i + 1, this.#counts.length * 2));
      grown.set(this.#counts);
      this.#counts = grown;
    }
    this.#counts[i]!++;
    this.#n++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
  }

  /** The value at quantile `q` (0..1): the midpoint of its bucket. */
  quantile(q: number): number {
    if (this.#n === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#n));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i]!;
      if (seen >= rank) {
        const v = i < SUB_MS ? (i + 0.5) / SUB_MS : Math.exp((i - SUB_MS + 0.5) * GROWTH);
        return Math.min(v, this.#max);
      }
    }
    return this.#max;
  }
}
