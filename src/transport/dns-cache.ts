/**
 * The DNS cache: A/AAAA answers with their real TTLs (clamped), shared queries, negative caching
 * (RFC 2308), serve-stale (RFC 8767), LRU bounds and background refresh of hot names, with a
 * `dns.lookup`-compatible `lookup` for other clients. The connector calls `peek` (a synchronous fresh
 * hit) and falls back to `resolve`; the agent retires connections on `change` events.
 */
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { DNS_CHANNELS } from './dns/channels.ts';
import {
  addressChange,
  CLOSED,
  createEntry,
  dnsError,
  type Entry,
  type ErrorInfo,
  failureInfo,
  invalidNameError,
  keepMissing,
  literalResult,
  staleResult,
  writeAnswer,
  writeNegative,
} from './dns/entry.ts';
import { hostKey, parseLiteral } from './dns/host-name.ts';
import { createLookup, type DnsLookupFunction } from './dns/lookup.ts';
import { type DnsOptions, type ResolvedDnsOptions, resolveDnsOptions } from './dns/options.ts';
import type { Failure, Outcome } from './dns/query.ts';
import { RefreshTimer } from './dns/refresh-timer.ts';
import { Resolutions, unref } from './dns/resolutions.ts';
import type {
  DnsCacheEvents,
  DnsCacheStats,
  DnsEntry,
  DnsResolveOptions,
  DnsResult,
  ResolvedAddress,
} from './dns/types.ts';

export { DNS_CHANNELS } from './dns/channels.ts';
export type { DnsLookupFunction } from './dns/lookup.ts';
export type { DnsOptions, ResolvedDnsOptions } from './dns/options.ts';
export { DNS_DEFAULTS, resolveDnsOptions } from './dns/options.ts';
export type {
  DnsCacheEvents,
  DnsCacheStats,
  DnsChangeEvent,
  DnsEntry,
  DnsFailureEvent,
  DnsRefreshEvent,
  DnsResolveOptions,
  DnsResult,
  DnsSource,
  DnsStaleEvent,
  ResolvedAddress,
} from './dns/types.ts';

/** What the waiters of a query get: an answer, or what to build their own error from. */
type Delivery = { readonly result: DnsResult } | { readonly error: ErrorInfo };

interface Query {
  readonly promise: Promise<Delivery>;
  /** `false` once `delete`/`clear` forgot the name: the answer is delivered but not cached. */
  store: boolean;
}

/** A failed refresh is not retried sooner than this, whatever `negativeTtl` says. */
const MIN_RECHECK = 100;

/**
 * A DNS cache that honours the records' real TTLs.
 *
 * Events (also published on `node:diagnostics_channel` as `bulwark:dns:<name>`): `refresh` (a
 * query answered), `change` (addresses joined or left a name's answer), `stale` (a refresh failed and
 * the expired answer is served instead, once per failure), `failure` (a query failed: callers got the
 * error, or a still-fresh or partial answer).
 *
 * @example
 * ```ts
 * const dns = new DnsCache({ servers: ['10.0.0.2'], staleTtl: 30_000 });
 * dns.on('change', ({ host, removed }) => agent.retire(host, removed));
 * const { addresses } = await dns.resolve('db.internal');
 * net.connect({ host: 'db.internal', port: 5432, lookup: dns.lookup });
 * await dns.close();
 * ```
 */
export class DnsCache extends EventEmitter<DnsCacheEvents> {
  /** The options after validation and defaults. */
  readonly options: ResolvedDnsOptions;
  /**
   * `dns.lookup`'s signature over this cache, for `net.connect({ lookup })`, `tls.connect` and
   * database drivers; supports `family`, `all`, `order` and `verbatim`. Errors are `BulwarkError`s.
   */
  readonly lookup: DnsLookupFunction;

  readonly #clock: Clock;
  readonly #resolutions: Resolutions;
  readonly #timer: RefreshTimer;
  readonly #ahead: boolean;
  readonly #recheck: number;
  /** Insertion order is recency: the first entry is the least recently used. */
  readonly #entries = new Map<string, Entry>();
  // What stats() reports: answers served from the cache and the lookups that had to wait for a query.
  #hits = 0;
  #staleHits = 0;
  #negativeHits = 0;
  #misses = 0;
  readonly #inflight = new Map<string, Query>();
  #mru: Entry | undefined;
  /** Counts moves to the most recent end; an entry's `lru` says how far from it the entry is. */
  #lru = 0;
  #closed = false;

  /** @throws InvalidOptionError for a bad option, naming its path (`dns.minTtl`). */
  constructor(options?: DnsOptions) {
    super();
    const o = resolveDnsOptions(options);
    this.options = o;
    this.#clock = o.clock;
    this.#ahead = o.refreshAhead < 1;
    this.#recheck = Math.max(MIN_RECHECK, o.negativeTtl);
    this.#resolutions = new Resolutions(o);
    this.#timer = new RefreshTimer(
      o.clock,
      (e) => this.#start(e.host),
      (e) => this.#inflight.has(e.host),
    );
    this.lookup = createLookup(this);
  }

  /**
   * Resolves `host` (a name or an IP literal). Answers from the cache while fresh; otherwise joins
   * or starts one shared query. When the refresh of an expired name fails within `staleTtl`, it
   * resolves with the last good answer (`source: 'stale'`).
   *
   * @throws BulwarkError (layer `dns`): `DNS_NOT_FOUND` (NXDOMAIN, or not a valid name: no query
   * sent), `DNS_NO_DATA`, `DNS_SERVER_FAILURE`, `DNS_TIMEOUT` (`budget: 'phase'`); `POOL_CLOSED`
   * (layer `pool`) after `close()`. Aborting `signal` rejects with its reason.
   */
  resolve(host: string, options?: DnsResolveOptions): Promise<DnsResult> {
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(signal.reason);
    const hit = this.peek(host);
    if (hit !== undefined) return Promise.resolve(hit);
    if (this.#closed) return Promise.reject(dnsError(CLOSED, host, options));
    const key = hostKey(host);
    if (key === undefined) return Promise.reject(invalidNameError(host, options));
    const now = this.#clock.now();
    const e = this.#entries.get(key);
    if (e?.negative !== undefined && now < e.expiresAt) {
      this.#bump(e);
      this.#negativeHits++;
      return Promise.reject(dnsError({ layer: 'dns', ...e.negative }, host, options));
    }
    // RFC 8767: while a failed refresh is remembered, serve stale at once instead of asking again.
    if (e?.hit !== undefined && e.failure !== undefined && now < e.staleUntil && now < e.refreshAt) {
      this.#bump(e);
      this.#staleHits++;
      return Promise.resolve(this.#stale(e));
    }
    this.#misses++;
    return this.#wait(this.#inflight.get(key) ?? this.#start(key), host, options);
  }

  /**
   * A fresh cached answer (or an IP literal's) without waiting, or `undefined`. Counts as a use: it
   * keeps the name hot for refresh-ahead.
   */
  peek(host: string): DnsResult | undefined {
    let e = this.#entries.get(host);
    if (e === undefined) {
      const literal = parseLiteral(host);
      if (literal !== undefined) return literalResult(host, literal);
      const key = hostKey(host);
      if (key === undefined || key === host) return undefined;
      e = this.#entries.get(key);
      if (e === undefined) return undefined;
    }
    const now = this.#clock.now();
    if (e.hit === undefined || now >= e.expiresAt) return undefined;
    this.#bump(e);
    this.#hits++;
    if (this.#ahead) this.#timer.markHot(e);
    // The timer may be late (a busy loop, a virtual clock): a use past the refresh point starts it.
    if (now >= e.refreshAt && !this.#inflight.has(e.host)) this.#start(e.host);
    return e.hit;
  }

  /**
   * Lookups since the cache was made: `hits` answered fresh from the cache (by `resolve`, `peek`,
   * `lookup` or a client's connects; IP literals not counted), `stale` answered at once with a
   * stale answer while a failed refresh is remembered, `negative` answered with a cached
   * NXDOMAIN/NODATA, and `misses` that waited for a query (a new one, or one already in flight).
   */
  stats(): DnsCacheStats {
    return { hits: this.#hits, stale: this.#staleHits, negative: this.#negativeHits, misses: this.#misses };
  }

  /** Snapshots of the cached names, least recently used first. */
  entries(): DnsEntry[] {
    return Array.from(this.#entries.values(), (e) => ({
      host: e.host,
      addresses: e.addresses,
      source: e.source,
      expiresAt: e.expiresAt,
      staleUntil: e.staleUntil,
      negative: e.negative !== undefined,
      code: e.negative?.code ?? e.failure?.code,
      hot: e.hot,
      refreshing: this.#inflight.has(e.host),
    }));
  }

  /** Forgets `host`; a query in flight still answers its callers but is not cached. */
  delete(host: string): boolean {
    const key = hostKey(host) ?? host;
    const query = this.#inflight.get(key);
    if (query !== undefined) {
      query.store = false;
      this.#inflight.delete(key);
    }
    const e = this.#entries.get(key);
    if (e !== undefined) this.#forget(e);
    return e !== undefined;
  }

  /** Forgets every name (queries in flight still answer their callers). */
  clear(): void {
    for (const query of this.#inflight.values()) query.store = false;
    this.#inflight.clear();
    this.#entries.clear();
    this.#timer.clear();
    this.#mru = undefined;
  }

  /**
   * Cancels the refresh timer, background refreshes and queries in flight (their callers get
   * `POOL_CLOSED`) and forgets every name. Nothing of the cache keeps the process alive afterwards,
   * except a system-fallback `dns.lookup` already running in libuv's threadpool, which cannot be
   * cancelled (its answer is ignored).
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.clear();
      this.#timer.clear(true);
      this.#resolutions.close();
    }
    return Promise.resolve();
  }

  /** `await using dns = new DnsCache()` closes it. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /**
   * Moves `e` to the most recent end. An entry already in the newer half is far from eviction and
   * stays put (approximate LRU): a Map delete + set on every hit would double the cost of `peek`.
   */
  #bump(e: Entry): void {
    if (this.#mru === e || this.#lru - e.lru < this.#entries.size >> 1) return;
    this.#entries.delete(e.host);
    this.#entries.set(e.host, e);
    this.#mru = e;
    e.lru = ++this.#lru;
  }

  #forget(e: Entry): void {
    this.#entries.delete(e.host);
    this.#timer.markCold(e);
    if (this.#mru === e) this.#mru = undefined;
  }

  /** Starts the one shared query of `key`; uses from now on count towards the next refresh. */
  #start(key: string): Query {
    const e = this.#entries.get(key);
    if (e !== undefined) this.#timer.markCold(e);
    const query: Query = {
      store: true,
      promise: this.#resolutions.run(key).then((outcome) => this.#apply(key, query, outcome)),
    };
    this.#inflight.set(key, query);
    return query;
  }

  /** Caches what a query produced and says what its waiters get. */
  #apply(key: string, query: Query, outcome: Outcome): Delivery {
    if (this.#inflight.get(key) === query) this.#inflight.delete(key);
    if (outcome.kind === 'closed' || this.#closed) return { error: CLOSED };
    const now = this.#clock.now();
    if (outcome.kind === 'answer') return this.#storeAnswer(key, query, outcome, now);
    if (outcome.kind === 'failure') return this.#storeFailure(key, query, outcome, now);
    const error: ErrorInfo = { layer: 'dns', code: outcome.code, cause: outcome.cause };
    this.#emitFailure(key, error);
    if (!query.store) return { error };
    // RFC 2308: NXDOMAIN and NODATA are answers, not failures: they replace a positive entry.
    const prev = this.#entries.get(key);
    const before = prev?.addresses;
    const e = prev ?? this.#insert(key);
    writeNegative(e, outcome.code, outcome.cause, now + this.options.negativeTtl);
    this.#timer.markCold(e);
    this.#bump(e);
    if (before !== undefined) this.#emitChange(key, before, e.addresses);
    return { error };
  }

  #storeAnswer(key: string, query: Query, out: Extract<Outcome, { kind: 'answer' }>, now: number): Delivery {
    const expiresAt = now + out.ttl;
    const prev = this.#entries.get(key);
    const before = prev?.addresses;
    const addresses = keepMissing(prev, out.addresses, out.missing?.family);
    const result: DnsResult = Object.freeze({ host: key, addresses, source: out.source, expiresAt });
    if (!query.store) return { result };
    const e = prev ?? this.#insert(key);
    writeAnswer(e, addresses, out.source, {
      expiresAt,
      staleUntil: expiresAt + this.options.staleTtl,
      refreshAt: this.#ahead ? now + out.ttl * this.options.refreshAhead : Number.POSITIVE_INFINITY,
    });
    this.#bump(e);
    if (e.hot) this.#timer.schedule(e.refreshAt); // used while the query was in flight
    this.#emit('refresh', () => ({ host: key, addresses, source: out.source, expiresAt }));
    if (out.missing !== undefined) this.#emitFailure(key, failureInfo(out.missing.failure));
    if (before !== undefined) this.#emitChange(key, before, addresses);
    return { result };
  }

  #storeFailure(key: string, query: Query, out: Failure, now: number): Delivery {
    const error = failureInfo(out);
    const e = this.#entries.get(key);
    if (!query.store || e?.hit === undefined || now >= e.staleUntil) {
      this.#emitFailure(key, error);
      return { error };
    }
    // RFC 8767: keep the last good answer; remember the failure so callers get it without waiting.
    e.failure = out;
    e.refreshAt = now + this.#recheck;
    e.staleNotified = false;
    if (e.hot) this.#timer.schedule(e.refreshAt);
    if (now >= e.expiresAt) return { result: this.#stale(e) };
    this.#emitFailure(key, error); // a refresh ahead of expiry failed; the answer is still fresh
    return { result: e.hit };
  }

  #insert(key: string): Entry {
    if (this.#entries.size >= this.options.maxEntries) {
      const oldest = this.#entries.values().next().value;
      if (oldest !== undefined) this.#forget(oldest);
    }
    const e = createEntry(key);
    e.lru = ++this.#lru;
    this.#entries.set(key, e);
    this.#mru = e;
    return e;
  }

  /** The stale answer of `e`; the first one served after a failure emits `stale`. */
  #stale(e: Entry): DnsResult {
    const failure = e.failure;
    if (!e.staleNotified && failure !== undefined) {
      e.staleNotified = true;
      this.#emit('stale', () => ({
        host: e.host,
        error: dnsError(failureInfo(failure), e.host),
        addresses: e.addresses,
        staleUntil: e.staleUntil,
      }));
    }
    return staleResult(e);
  }

  /** Waits for a query as one caller: its own timeout and abort signal, its own error object. */
  #wait(query: Query, host: string, options: DnsResolveOptions | undefined): Promise<DnsResult> {
    const deliver = (d: Delivery): DnsResult => {
      if ('result' in d) return d.result;
      throw dnsError(d.error, host, options);
    };
    const signal = options?.signal;
    const timeout = options?.timeout;
    if (signal === undefined && timeout === undefined) return query.promise.then(deliver);
    return new Promise((resolve, reject) => {
      let timer: TimerHandle;
      const done = (): void => {
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = (): void => {
        done();
        reject(signal?.reason);
      };
      const onTimeout = (): void => {
        done();
        reject(dnsError({ layer: 'dns', code: 'DNS_TIMEOUT', budget: 'phase' }, host, options));
      };
      if (timeout !== undefined) timer = unref(this.#clock.setTimeout(onTimeout, timeout));
      signal?.addEventListener('abort', onAbort, { once: true });
      query.promise.then((d) => {
        done();
        try {
          resolve(deliver(d));
        } catch (err) {
          reject(err);
        }
      });
    });
  }

  #emitFailure(host: string, error: ErrorInfo): void {
    this.#emit('failure', () => ({ host, error: dnsError(error, host) }));
  }

  #emitChange(host: string, before: readonly ResolvedAddress[], after: readonly ResolvedAddress[]): void {
    const change = addressChange(before, after);
    if (change !== undefined) this.#emit('change', () => ({ host, ...change }));
  }

  /** Emits an event and publishes it on its diagnostics channel, building it only when observed. */
  #emit<K extends keyof DnsCacheEvents>(name: K, build: () => DnsCacheEvents[K][0]): void {
    const ch = DNS_CHANNELS[name];
    if (!ch.hasSubscribers && this.listenerCount(name) === 0) return;
    const message = build();
    if (ch.hasSubscribers) ch.publish(message);
    try {
      (this.emit as (event: string, payload: unknown) => boolean)(name, message);
    } catch (err) {
      // A throwing listener must not leave the cache half-updated; report it like diagnostics_channel.
      process.nextTick(() => {
        throw err;
      });
    }
  }
}
