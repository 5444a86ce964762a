/**
 * One cached name and how answers, negative answers and failures are written into it, plus the
 * errors the cache hands to callers (each caller gets its own `BulwarkError`).
 */
import { type Budget, BulwarkError, type BulwarkErrorInit } from '../../errors/bulwark-error.ts';
import type { ErrorCode, Layer } from '../../errors/codes.ts';
import type { Literal } from './host-name.ts';
import type { Failure, NegativeCode } from './query.ts';
import type { DnsResolveOptions, DnsResult, ResolvedAddress } from './types.ts';

/** One cached name. `hit` is the frozen answer handed out on every fresh hit (no allocation). */
export interface Entry {
  readonly host: string;
  addresses: readonly ResolvedAddress[];
  source: 'resolver' | 'system' | undefined;
  expiresAt: number;
  staleUntil: number;
  /** When a refresh may start: the refresh-ahead point, or after a failure the next recheck. */
  refreshAt: number;
  negative: { readonly code: NegativeCode; readonly cause: unknown } | undefined;
  /** The last failed refresh, until an answer replaces it. */
  failure: Failure | undefined;
  /** A `stale` event was emitted for `failure`. */
  staleNotified: boolean;
  hit: DnsResult | undefined;
  staleHit: DnsResult | undefined;
  /** Used since its last refresh started. */
  hot: boolean;
  /** The cache's recency counter when the entry last moved to the most recent end. */
  lru: number;
}

const NONE: readonly ResolvedAddress[] = Object.freeze([]);

/** An empty entry for `host`. */
export function createEntry(host: string): Entry {
  return {
    host,
    addresses: NONE,
    source: undefined,
    expiresAt: 0,
    staleUntil: 0,
    refreshAt: Number.POSITIVE_INFINITY,
    negative: undefined,
    failure: undefined,
    staleNotified: false,
    hit: undefined,
    staleHit: undefined,
    hot: false,
    lru: 0,
  };
}

/** Stores an answer valid until `expiresAt`, servable stale until `staleUntil`. */
export function writeAnswer(
  e: Entry,
  addresses: readonly ResolvedAddress[],
  source: 'resolver' | 'system',
  times: { expiresAt: number; staleUntil: number; refreshAt: number },
): void {
  e.addresses = addresses;
  e.source = source;
  e.expiresAt = times.expiresAt;
  e.staleUntil = times.staleUntil;
  e.refreshAt = times.refreshAt;
  e.negative = undefined;
  e.failure = undefined;
  e.staleNotified = false;
  e.hit = Object.freeze({ host: e.host, addresses, source: 'cache', expiresAt: times.expiresAt });
  e.staleHit = undefined;
}

/** Stores NXDOMAIN / NODATA until `expiresAt` (RFC 2308); nothing of it is served stale. */
export function writeNegative(e: Entry, code: NegativeCode, cause: unknown, expiresAt: number): void {
  e.addresses = NONE;
  e.source = undefined;
  e.expiresAt = expiresAt;
  e.staleUntil = expiresAt;
  e.refreshAt = Number.POSITIVE_INFINITY;
  e.negative = { code, cause };
  e.failure = undefined;
  e.hit = undefined;
  e.staleHit = undefined;
}

/** The expired answer of `e`, marked `stale`. */
export function staleResult(e: Entry): DnsResult {
  e.staleHit ??= Object.freeze({
    host: e.host,
    addresses: e.addresses,
    source: 'stale',
    expiresAt: e.expiresAt,
  });
  return e.staleHit;
}

/** The answer for an IP literal. */
export function literalResult(host: string, literal: Literal): DnsResult {
  return {
    host,
    addresses: [{ address: literal.address, family: literal.family, ttl: 0 }],
    source: 'literal',
    expiresAt: Number.POSITIVE_INFINITY,
  };
}

/** A partial answer (one family failed) keeps that family's previous addresses, in family order. */
export function keepMissing(
  prev: Entry | undefined,
  addresses: readonly ResolvedAddress[],
  family: 4 | 6 | undefined,
): readonly ResolvedAddress[] {
  if (family === undefined || prev?.hit === undefined) return addresses;
  const kept = prev.addresses.filter((a) => a.family === family);
  if (kept.length === 0) return addresses;
  return Object.freeze(family === 4 ? [...kept, ...addresses] : [...addresses, ...kept]);
}

/** Addresses that joined and left, or `undefined` when the set is the same. */
export function addressChange(
  before: readonly ResolvedAddress[],
  after: readonly ResolvedAddress[],
): { added: string[]; removed: string[] } | undefined {
  const was = new Set(before.map((a) => a.address));
  const now = new Set(after.map((a) => a.address));
  const added = [...now].filter((a) => !was.has(a));
  const removed = [...was].filter((a) => !now.has(a));
  return added.length > 0 || removed.length > 0 ? { added, removed } : undefined;
}

/** What a caller's error is built from. */
export interface ErrorInfo {
  readonly layer: Layer;
  readonly code: ErrorCode;
  readonly cause?: unknown;
  readonly budget?: Budget;
  readonly message?: string;
}

/**
 * After `close()`. Not a DNS code on purpose: the cache is gone, not the resolver, and `POOL_CLOSED`
 * is not retryable, so retry loops stop.
 */
export const CLOSED: ErrorInfo = Object.freeze({
  layer: 'pool',
  code: 'POOL_CLOSED',
  message: 'POOL_CLOSED: the DNS cache is closed',
});

/** The error of a failed resolution (`budget: 'phase'` on timeouts). */
export function failureInfo(f: Failure): ErrorInfo {
  return f.code === 'DNS_TIMEOUT'
    ? { layer: 'dns', code: f.code, cause: f.cause, budget: 'phase' }
    : { layer: 'dns', code: f.code, cause: f.cause };
}

/** A fresh `BulwarkError` for one caller (retry loops mutate `attempts`, so errors are never shared). */
export function dnsError(info: ErrorInfo, host: string, options?: DnsResolveOptions): BulwarkError {
  const init: BulwarkErrorInit = {
    layer: info.layer,
    code: info.code,
    budget: info.budget,
    target: { origin: options?.origin ?? host, host, port: options?.port ?? 0 },
    cause: info.cause,
  };
  if (info.message !== undefined) init.message = info.message;
  return new BulwarkError(init);
}

/** `DNS_NOT_FOUND` for a string that is not a DNS name (no query was sent). */
export function invalidNameError(host: unknown, options?: DnsResolveOptions): BulwarkError {
  const text = typeof host === 'string' ? host : String(host);
  const shown = text.length > 253 ? `${text.slice(0, 253)}…` : text;
  const message = `DNS_NOT_FOUND: ${JSON.stringify(shown)} is not a valid host name (no query sent)`;
  const cause = new TypeError(`${JSON.stringify(shown)} is not a valid DNS host name`);
  return dnsError({ layer: 'dns', code: 'DNS_NOT_FOUND', cause, message }, shown, options);
}
