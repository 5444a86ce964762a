/**
 * The fleet: adaptive throttles and retry budgets of many processes that see one upstream as one.
 * Each process publishes what its throttles counted (attempts made, attempts accepted) and what its
 * retry budgets counted (calls that succeeded, retries asked for, retries that succeeded) into time
 * buckets of a shared store and reads the fleet's totals back, on a period and off every request's
 * path; each throttle then decides on its own counts plus the rest of the fleet's, each budget on
 * the fleet's totals. So a fleet of clients that each make a request every ten seconds sees an
 * outage within one sync, where each alone would see a single failure.
 *
 * A sync that fails, or takes longer than a period, puts every throttle back on its own counts at
 * once (one `'fallback'` event, `stats().throttle.fleet` false); the first sync that succeeds again
 * restores the fleet's counts (one `'restored'` event). The store's keys expire by themselves.
 */
import { EventEmitter } from 'node:events';
import type { Clock } from '../clock/clock.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import {
  checkClock,
  checkDuration,
  checkFunction,
  checkNumber,
  checkObject,
  checkString,
} from '../options/validate.ts';
import type { FleetBudgetShare, RetryBudget } from './retry-budget.ts';
import type { FleetShare, Throttle, ThrottleCounts } from './throttle.ts';

/**
 * One key's counts over some buckets: the throttles' (`requests`, `accepts`) and the retry
 * budgets' (`successes`, `retries` asked for, `paid`: retries that succeeded).
 */
export interface FleetCounts extends ThrottleCounts {
  readonly successes: number;
  readonly retries: number;
  readonly paid: number;
}

/** One key's counts added to one bucket. */
export interface FleetUpdate extends FleetCounts {
  readonly key: string;
}

/**
 * Where the fleet's counts meet (Redis: {@link redisFleetStore}). One call per sync: add the
 * updates to bucket `bucket`, and return each of `keys`' totals over buckets `from` to `to`
 * (inclusive).
 */
export interface FleetStore {
  exchange(
    updates: readonly FleetUpdate[],
    bucket: number,
    keys: readonly string[],
    from: number,
    to: number,
  ): Promise<ReadonlyMap<string, FleetCounts>>;
  /**
   * Optional: calls `listener` whenever the store becomes reachable again (Redis: its client's
   * `'ready'`), so a fleet that fell back syncs at once instead of on its next period. Returns
   * the unsubscribe function.
   */
  onAvailable?(listener: () => void): () => void;
}

/** Fleet options. */
export interface FleetOptions {
  /** The shared store ({@link redisFleetStore}). */
  store: FleetStore;
  /**
   * Milliseconds between syncs; a sync still running after one counts as failed.
   * @default 100
   */
  period?: number;
  /**
   * Milliseconds of buckets the fleet's totals are summed over (a whole number of buckets). Short,
   * so the fleet sees the upstream's return soon: 1 000 took 2.5 s to recover in the simulator,
   * 300 under 1 s.
   * @default 300
   */
  window?: number;
  /**
   * Width of a bucket in milliseconds.
   * @default 100
   */
  bucket?: number;
  /**
   * The fleet-wide name of an origin's counts: processes that give the same key share counts.
   * @default the origin itself
   */
  key?: (origin: string) => string;
  /**
   * Retries per second the whole fleet may make with no success at all (retry budgets with this
   * fleet): the floor that lets a few retries probe an upstream in a full outage. Finagle's
   * `minRetriesPerSec`, but fleet-wide, so it stays small.
   * @default 1
   */
  minRetriesPerSecond?: number;
  /** Time and timers (the fleet simulator's virtual clock); buckets follow `clock.now()`. */
  clock?: Clock;
}

/** The fleet's state, in `fleet.stats()`. */
export interface FleetStats {
  /** Whether the last sync succeeded and the fleet's counts are in use. */
  readonly active: boolean;
  /** Syncs that succeeded. */
  readonly syncs: number;
  /** Syncs that failed (an error from Redis, or longer than a period). */
  readonly failures: number;
  /** The last sync's error, while the fleet is inactive. */
  readonly lastError: unknown;
}

/** A throttle in the fleet's syncs. */
interface Member {
  readonly key: string;
  readonly throttle: Throttle;
  /**
   * What this throttle published in the last few buckets (to subtract from the totals): a ring
   * indexed by bucket number, with the bucket each slot holds.
   */
  readonly ownBucket: Float64Array;
  readonly ownRequests: Float64Array;
  readonly ownAccepts: Float64Array;
  /** The last bucket it published in. */
  lastPublished: number;
}

/** A retry budget in the fleet's syncs (it reads the fleet's totals, its own included). */
interface BudgetMember {
  readonly key: string;
  readonly budget: RetryBudget;
}

/** One key's totals, shared by its members (they read it on every decision). */
interface Share extends FleetShare, FleetBudgetShare {
  requests: number;
  accepts: number;
  successes: number;
  retries: number;
  paid: number;
  floor: number;
  span: number;
  until: number;
  pending: boolean;
  members: number;
}

/** Counts summed per key for one sync's updates. */
export type Sums = { -readonly [K in keyof FleetCounts]: number };

/** The counts' names, in the order of the Redis script's fields (`r a s t p`). */
export const FIELDS = ['requests', 'accepts', 'successes', 'retries', 'paid'] as const;

/** All five counts at zero. */
export const zeroCounts = (): Sums => ({ requests: 0, accepts: 0, successes: 0, retries: 0, paid: 0 });

/** Buckets on the system clock start at the Unix epoch, so every process agrees on them. */
const EPOCH_NOW = (): number => Date.now();

/**
 * Shares adaptive-throttling and retry-budget counts across processes; see the module's
 * description. A sync costs in proportion to the keys and to the throttles and budgets with
 * something new or recent to publish, not to every one in the fleet (a quiet process with thousands of origins syncs at once).
 */
export class Fleet extends EventEmitter {
  readonly #store: FleetStore;
  readonly #period: number;
  readonly #bucketMs: number;
  readonly #buckets: number;
  readonly #key: (origin: string) => string;
  readonly #clock: Clock;
  readonly #now: () => number;
  readonly #floor: number;
  readonly #members = new Set<Member>();
  readonly #budgets = new Set<BudgetMember>();
  readonly #shares = new Map<string, Share>();
  /** Members with events the next sync publishes. */
  #dirty: Member[] = [];
  #dirtyBudgets: BudgetMember[] = [];
  /** Members that published within the window: their own counts are left out of the totals. */
  readonly #recent = new Set<Member>();
  #timer: unknown;
  #soon: unknown;
  #running = false;
  #active = false;
  #syncs = 0;
  #failures = 0;
  #lastError: unknown;
  #closed = false;
  #unsubscribe: (() => void) | undefined;

  constructor(options: FleetOptions) {
    super();
    const o = checkObject(options, 'fleet', [
      'store',
      'period',
      'window',
      'bucket',
      'key',
      'minRetriesPerSecond',
      'clock',
    ]);
    const store = o.store as FleetStore | undefined;
    if (typeof store !== 'object' || store === null || typeof store.exchange !== 'function') {
      throw new InvalidOptionError('fleet.store', 'a FleetStore (redisFleetStore(redis))', store);
    }
    this.#store = store;
    this.#period = checkDuration(o.period, 'fleet.period', 100, 1);
    this.#bucketMs = checkDuration(o.bucket, 'fleet.bucket', 100, 1);
    const window = checkDuration(o.window, 'fleet.window', 300, 1);
    this.#buckets = Math.max(1, Math.round(window / this.#bucketMs));
    const perSecond = checkNumber(o.minRetriesPerSecond, 'fleet.minRetriesPerSecond', 1, { min: 0 });
    this.#floor = (perSecond * this.#buckets * this.#bucketMs) / 1000;
    this.#key = checkFunction(o.key, 'fleet.key', (origin: string) => origin);
    this.#clock = checkClock(o.clock, 'fleet.clock');
    this.#now = o.clock === undefined ? EPOCH_NOW : () => this.#clock.now();
    // Back from a fallback as soon as the store is: a sync now, not at the next period.
    this.#unsubscribe = store.onAvailable?.(() => {
      if (!this.#active && !this.#closed && this.#members.size + this.#budgets.size > 0) void this.sync();
    });
  }

  /** The fleet-wide key of `origin`. */
  keyOf(origin: string): string {
    const key = this.#key(origin);
    checkString(key, 'fleet.key(origin)', '');
    return key;
  }

  /** Adds a throttle to the fleet's syncs until the returned function is called. */
  attach(origin: string, throttle: Throttle): () => void {
    const key = this.keyOf(origin);
    if (this.#closed) return () => {};
    const ring = this.#buckets + 2;
    const member: Member = {
      key,
      throttle,
      ownBucket: new Float64Array(ring).fill(-1),
      ownRequests: new Float64Array(ring),
      ownAccepts: new Float64Array(ring),
      lastPublished: -1,
    };
    const share = this.#share(key);
    this.#members.add(member);
    throttle.join(share, () => this.#dirty.push(member));
    this.#schedule();
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.#members.delete(member);
      this.#recent.delete(member);
      throttle.leave();
      this.#unshare(key);
    };
  }

  /** Adds a retry budget to the fleet's syncs until the returned function is called. */
  attachBudget(origin: string, budget: RetryBudget): () => void {
    const key = this.keyOf(origin);
    if (this.#closed) return () => {};
    const member: BudgetMember = { key, budget };
    const share = this.#share(key);
    this.#budgets.add(member);
    budget.join(share, () => this.#dirtyBudgets.push(member));
    this.#schedule();
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      this.#budgets.delete(member);
      budget.leave();
      this.#unshare(key);
    };
  }

  /** The share of `key`, counting one more member. */
  #share(key: string): Share {
    let share = this.#shares.get(key);
    if (share === undefined) {
      share = {
        requests: 0,
        accepts: 0,
        successes: 0,
        retries: 0,
        paid: 0,
        floor: this.#floor,
        span: this.#buckets * this.#bucketMs,
        until: Number.NEGATIVE_INFINITY,
        pending: true,
        members: 0,
      };
      this.#shares.set(key, share);
      this.#syncSoon();
    }
    share.members++;
    return share;
  }

  #unshare(key: string): void {
    const s = this.#shares.get(key);
    if (s !== undefined && --s.members === 0) this.#shares.delete(key);
  }

  /** Whether the fleet's counts are in use, and how the syncs went. */
  stats(): FleetStats {
    return {
      active: this.#active,
      syncs: this.#syncs,
      failures: this.#failures,
      lastError: this.#active ? undefined : this.#lastError,
    };
  }

  /** Stops syncing (the store itself is the caller's to close). */
  close(): void {
    this.#closed = true;
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    if (this.#soon !== undefined) this.#clock.clearTimeout(this.#soon);
    this.#timer = undefined;
    this.#soon = undefined;
    for (const m of this.#members) m.throttle.leave();
    for (const m of this.#budgets) m.budget.leave();
    this.#members.clear();
    this.#budgets.clear();
    this.#recent.clear();
    this.#shares.clear();
    this.#dirty = [];
    this.#dirtyBudgets = [];
  }

  /** Runs one sync now (tests; the timer runs them on the period). */
  async sync(): Promise<void> {
    if (this.#running || this.#closed) return;
    this.#running = true;
    const now = this.#now();
    const bucket = Math.floor(now / this.#bucketMs);
    // The totals are read over the last complete buckets: the current one is still filling.
    const to = bucket - 1;
    const from = to - this.#buckets + 1;
    const byKey = new Map<string, Sums>();
    const sums = (key: string): Sums => {
      let sum = byKey.get(key);
      if (sum === undefined) {
        sum = zeroCounts();
        byKey.set(key, sum);
      }
      return sum;
    };
    const dirty = this.#dirty;
    this.#dirty = [];
    for (const m of dirty) {
      if (!this.#members.has(m)) continue;
      const t = m.throttle;
      const requests = t.newRequests;
      const accepts = t.newAccepts;
      t.clearNew();
      if (requests === 0 && accepts === 0) continue;
      const slot = bucket % m.ownBucket.length;
      if (m.ownBucket[slot] !== bucket) {
        m.ownBucket[slot] = bucket;
        m.ownRequests[slot] = 0;
        m.ownAccepts[slot] = 0;
      }
      m.ownRequests[slot]! += requests;
      m.ownAccepts[slot]! += accepts;
      m.lastPublished = bucket;
      this.#recent.add(m);
      const sum = sums(m.key);
      sum.requests += requests;
      sum.accepts += accepts;
    }
    const dirtyBudgets = this.#dirtyBudgets;
    this.#dirtyBudgets = [];
    for (const m of dirtyBudgets) {
      if (!this.#budgets.has(m)) continue;
      const b = m.budget;
      const successes = b.newSuccesses;
      const retries = b.newRetries;
      const paid = b.newPaid;
      b.clearNew();
      if (successes === 0 && retries === 0) continue;
      const sum = sums(m.key);
      sum.successes += successes;
      sum.retries += retries;
      sum.paid += paid;
    }
    const updates: FleetUpdate[] = [...byKey].map(([key, c]) => ({ key, ...c }));
    const keys = [...this.#shares.keys()];
    let timer: unknown;
    try {
      const totals = await Promise.race([
        this.#store.exchange(updates, bucket, keys, from, to),
        new Promise<never>((_, reject) => {
          timer = this.#clock.setTimeout(
            () => reject(new Error(`fleet sync took longer than its period (${this.#period} ms)`)),
            this.#period,
          );
        }),
      ]);
      this.#syncs++;
      const until = this.#clock.now() + 2 * this.#period + this.#bucketMs;
      for (const [key, share] of this.#shares) {
        const total = totals.get(key);
        share.requests = total?.requests ?? 0;
        share.accepts = total?.accepts ?? 0;
        share.successes = total?.successes ?? 0;
        share.retries = total?.retries ?? 0;
        share.paid = total?.paid ?? 0;
        share.until = until;
        share.pending = false;
      }
      for (const m of this.#recent) {
        let requests = 0;
        let accepts = 0;
        if (m.lastPublished >= from) {
          for (let i = 0; i < m.ownBucket.length; i++) {
            const b = m.ownBucket[i]!;
            if (b >= from && b <= to) {
              requests += m.ownRequests[i]!;
              accepts += m.ownAccepts[i]!;
            }
          }
        } else this.#recent.delete(m);
        m.throttle.setOwn(requests, accepts);
      }
      if (!this.#active) {
        this.#active = true;
        if (this.#syncs > 1 || this.#failures > 0) this.emit('restored');
      }
    } catch (err) {
      this.#failures++;
      this.#lastError = err;
      for (const share of this.#shares.values()) {
        share.until = Number.NEGATIVE_INFINITY;
        share.pending = false;
      }
      if (this.#active || this.#failures === 1) {
        this.#active = false;
        this.emit('fallback', err);
      }
    } finally {
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      this.#running = false;
    }
  }

  /**
   * A key new to a fleet that has synced already has its totals read at once, not a period later
   * (its retry budgets wait for them). The very first sync still waits a period: the store's
   * connection is often still opening when the first origin is attached.
   */
  #syncSoon(): void {
    if (this.#soon !== undefined || this.#closed || this.#syncs + this.#failures === 0) return;
    this.#soon = this.#clock.setTimeout(() => {
      this.#soon = undefined;
      void this.sync();
    }, 0);
    unref(this.#soon);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#closed) return;
    const tick = (): void => {
      this.#timer = undefined;
      if (this.#closed || this.#members.size + this.#budgets.size === 0) return;
      void this.sync();
      this.#timer = this.#clock.setTimeout(tick, this.#period);
      unref(this.#timer);
    };
    this.#timer = this.#clock.setTimeout(tick, this.#period);
    unref(this.#timer);
  }
}

/** A fleet's timer never keeps the process alive on its own. */
function unref(timer: unknown): void {
  (timer as { unref?: () => void } | undefined)?.unref?.();
}

/** Shares adaptive-throttling and retry-budget counts across processes through `options.store`. */
export function createFleet(options: FleetOptions): Fleet {
  return new Fleet(options);
}

/** The part of an ioredis client (or compatible) the Redis store uses. */
export interface FleetRedis {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  /** ioredis's events: `'ready'` tells the fleet Redis is back. */
  on?(event: 'ready', listener: () => void): unknown;
  off?(event: 'ready', listener: () => void): unknown;
}

// KEYS: the update keys, then the read keys. ARGV: bucket, from, to, ttl ms, then per update key
// its five counts. One round trip: increments (zeros skipped), expiry, and the window's sums per
// read key (five per key).
const EXCHANGE = `
local fields = { 'r', 'a', 's', 't', 'p' }
local n = #ARGV
local bucket, from, to, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4]
local updates = (n - 4) / 5
for i = 1, updates do
  local k = KEYS[i] .. ':' .. bucket
  for f = 1, 5 do
    local v = ARGV[4 + 5 * (i - 1) + f]
    if v ~= '0' then redis.call('HINCRBYFLOAT', k, fields[f], v) end
  end
  redis.call('PEXPIRE', k, ttl)
end
local out = {}
for i = updates + 1, #KEYS do
  local sum = { 0, 0, 0, 0, 0 }
  for b = from, to do
    local v = redis.call('HMGET', KEYS[i] .. ':' .. b, 'r', 'a', 's', 't', 'p')
    for f = 1, 5 do sum[f] = sum[f] + (tonumber(v[f]) or 0) end
  end
  for f = 1, 5 do out[#out + 1] = tostring(sum[f]) end
end
return out
`;

/** Redis store options. */
export interface RedisFleetStoreOptions {
  /**
   * Prefix of every key the store writes.
   * @default 'bulwark:fleet:'
   */
  prefix?: string;
  /**
   * Milliseconds a bucket lives after its last write: longer than the fleet's window.
   * @default 10000
   */
  ttl?: number;
}

/**
 * A {@link FleetStore} on Redis through an ioredis client (`new Redis(url)`): one `EVAL` per sync
 * that adds this process's counts to a bucket hash (`<prefix><key>:<bucket>`, fields `r` `a` of the
 * throttles and `s` `t` `p` of the retry budgets, expiring after `ttl`) and sums the window's
 * buckets of every key. Give the client a short `commandTimeout`
 * and `enableOfflineQueue: false`, so a Redis that is down fails the sync at once.
 */
export function redisFleetStore(redis: FleetRedis, options: RedisFleetStoreOptions = {}): FleetStore {
  if (typeof redis !== 'object' || redis === null || typeof redis.eval !== 'function') {
    throw new InvalidOptionError('redis', 'an ioredis client', redis);
  }
  const o = checkObject(options, 'store', ['prefix', 'ttl']);
  const prefix = checkString(o.prefix, 'store.prefix', 'bulwark:fleet:');
  const ttl = checkDuration(o.ttl, 'store.ttl', 10_000, 1);
  return {
    ...(typeof redis.on === 'function' &&
      typeof redis.off === 'function' && {
        onAvailable(listener: () => void): () => void {
          redis.on!('ready', listener);
          return () => redis.off!('ready', listener);
        },
      }),
    async exchange(updates, bucket, keys, from, to) {
      const args: (string | number)[] = [bucket, from, to, ttl];
      for (const u of updates) for (const f of FIELDS) args.push(u[f]);
      const reply = (await redis.eval(
        EXCHANGE,
        updates.length + keys.length,
        ...updates.map((u) => prefix + u.key),
        ...keys.map((k) => prefix + k),
        ...args,
      )) as string[];
      const out = new Map<string, FleetCounts>();
      keys.forEach((k, i) => {
        const sum = zeroCounts();
        FIELDS.forEach((f, j) => {
          sum[f] = Number(reply[FIELDS.length * i + j]);
        });
        out.set(k, sum);
      });
      return out;
    },
  };
}
