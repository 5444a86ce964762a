/**
 * The public data types of the DNS cache: resolved addresses, results, cache entries and the
 * payloads of its events.
 */
import type { BulwarkError } from '../../errors/bulwark-error.ts';
import type { ErrorCode } from '../../errors/codes.ts';

/** One address of a name. */
export interface ResolvedAddress {
  /** The IP address (IPv6 without brackets). */
  readonly address: string;
  /** `4` or `6`. */
  readonly family: 4 | 6;
  /**
   * The record's TTL in seconds as received (before clamping); for answers of the system fallback,
   * which reports none, `systemTtl` in seconds; `0` for IP literals.
   */
  readonly ttl: number;
}

/** Where an answer came from. */
export type DnsSource = 'literal' | 'cache' | 'resolver' | 'system' | 'stale';

/** The answer to `DnsCache#resolve` and `DnsCache#peek`. Frozen; may be shared between callers. */
export interface DnsResult {
  /** The host name as cached (lower case, no root dot), or the IP literal as given. */
  readonly host: string;
  /** The addresses: A records first, then AAAA, each in the order the server sent them. */
  readonly addresses: readonly ResolvedAddress[];
  /**
   * `literal`: an IP address, no query; `cache`: a fresh cached answer; `resolver` / `system`: a query
   * just answered (DNS, or the `dns.lookup` fallback); `stale`: an expired answer served because its
   * refresh failed (RFC 8767).
   */
  readonly source: DnsSource;
  /** When the answer expires, in clock milliseconds (in the past for `stale`; `Infinity` for literals). */
  readonly expiresAt: number;
}

/** Options of one `DnsCache#resolve` call. */
export interface DnsResolveOptions {
  /** Aborting rejects the call with the signal's reason (a shared query goes on for other callers). */
  signal?: AbortSignal | undefined;
  /**
   * How long this caller waits, in milliseconds, before rejecting with `DNS_TIMEOUT`. A query never
   * runs longer than the cache's own `timeout`, so only a shorter value has an effect.
   */
  timeout?: number | undefined;
  /** The port the caller will connect to, for the `target` of errors. @default 0 */
  port?: number | undefined;
  /** The origin the caller is resolving for, for the `target` of errors. @default the host */
  origin?: string | undefined;
}

/** Lookup counts since the cache was made, from `DnsCache#stats`. */
export interface DnsCacheStats {
  /** Answered fresh from the cache. */
  readonly hits: number;
  /**
   * Answered at once with a stale answer while a failed refresh is remembered (RFC 8767); a lookup
   * that waited for the refresh that failed counts as a miss.
   */
  readonly stale: number;
  /** Answered with a cached NXDOMAIN / NODATA (RFC 2308). */
  readonly negative: number;
  /** Waited for a query (a new one, or one already in flight). */
  readonly misses: number;
}

/** A snapshot of one cached name, from `DnsCache#entries`. */
export interface DnsEntry {
  readonly host: string;
  /** The cached addresses (empty for a negative entry). */
  readonly addresses: readonly ResolvedAddress[];
  /** `resolver` or `system` for answers; `undefined` for negative entries. */
  readonly source: 'resolver' | 'system' | undefined;
  /** When the entry expires (clock ms). */
  readonly expiresAt: number;
  /** Until when the answer may still be served stale if a refresh fails (clock ms). */
  readonly staleUntil: number;
  /** `true` for a cached NXDOMAIN / NODATA. */
  readonly negative: boolean;
  /** The cached error code of a negative entry, or of the last failed refresh. */
  readonly code: ErrorCode | undefined;
  /** Used since its last refresh, so it will be refreshed ahead of expiry. */
  readonly hot: boolean;
  /** A query for this name is in flight. */
  readonly refreshing: boolean;
}

/** Payload of the `refresh` event: a query answered and the cache stored the answer. */
export interface DnsRefreshEvent {
  readonly host: string;
  readonly addresses: readonly ResolvedAddress[];
  readonly source: 'resolver' | 'system';
  readonly expiresAt: number;
}

/** Payload of the `change` event: addresses that joined or left a name's answer. */
export interface DnsChangeEvent {
  readonly host: string;
  /** Addresses in the new answer that were not in the previous one. */
  readonly added: readonly string[];
  /** Addresses of the previous answer that left it: connections to them should be retired. */
  readonly removed: readonly string[];
}

/** Payload of the `stale` event: a refresh failed and the expired answer is served instead. */
export interface DnsStaleEvent {
  readonly host: string;
  /** Why the refresh failed (`DNS_SERVER_FAILURE` or `DNS_TIMEOUT`). */
  readonly error: BulwarkError;
  readonly addresses: readonly ResolvedAddress[];
  /** The answer is served stale until then (clock ms) at the latest. */
  readonly staleUntil: number;
}

/** Payload of the `failure` event: a query failed, and callers got `error` or a still-fresh answer. */
export interface DnsFailureEvent {
  readonly host: string;
  readonly error: BulwarkError;
}

/** The events of `DnsCache`, as a typed `EventEmitter` map. */
export interface DnsCacheEvents {
  refresh: [DnsRefreshEvent];
  change: [DnsChangeEvent];
  stale: [DnsStaleEvent];
  failure: [DnsFailureEvent];
}
