/**
 * One resolution of one name, as data: A and AAAA through the c-ares resolver (real TTLs, both
 * families in parallel), or getaddrinfo for the system fallback. Never rejects; every failure is an
 * {@link Outcome} the cache decides about (negative caching, serve-stale, errors).
 */
import { type RecordWithTtl, lookup as systemLookup } from 'node:dns';
import type { Resolver } from 'node:dns/promises';
import { classify } from '../../errors/classify.ts';
import type { ResolvedDnsOptions } from './options.ts';
import type { ResolvedAddress } from './types.ts';

/** A definitive "no address": the name does not exist, or has no A/AAAA records (RFC 2308). */
export type NegativeCode = 'DNS_NOT_FOUND' | 'DNS_NO_DATA';
/** A failed resolution: the answer is unknown. */
export type FailureCode = 'DNS_SERVER_FAILURE' | 'DNS_TIMEOUT';

/** A failed query of one family, or of the whole name. */
export interface Failure {
  readonly kind: 'failure';
  readonly code: FailureCode;
  readonly cause: unknown;
}

/** What one resolution produced. */
export type Outcome =
  | {
      readonly kind: 'answer';
      readonly addresses: readonly ResolvedAddress[];
      /** How long to cache it, in ms, already clamped. */
      readonly ttl: number;
      readonly source: 'resolver' | 'system';
      /** Set when one family's query failed transiently: its previous addresses should be kept. */
      readonly missing?: { readonly family: 4 | 6; readonly failure: Failure };
    }
  | { readonly kind: 'negative'; readonly code: NegativeCode; readonly cause: unknown }
  | Failure
  | { readonly kind: 'closed' };

type Settled =
  | { readonly ok: true; readonly records: readonly RecordWithTtl[] }
  | { readonly ok: false; readonly outcome: Extract<Outcome, { kind: 'negative' | 'failure' }> };

/** Resolves `name` through `resolver` for the cache's families. */
export async function queryResolver(
  resolver: Resolver,
  name: string,
  o: ResolvedDnsOptions,
): Promise<Outcome> {
  if (o.family !== 0) {
    const only = await settle(
      o.family === 4 ? resolver.resolve4(name, { ttl: true }) : resolver.resolve6(name, { ttl: true }),
    );
    return only.ok ? answer([[o.family, only.records]], o) : only.outcome;
  }
  const [a, aaaa] = await Promise.all([
    settle(resolver.resolve4(name, { ttl: true })),
    settle(resolver.resolve6(name, { ttl: true })),
  ]);
  if (a.ok && aaaa.ok) {
    return answer(
      [
        [4, a.records],
        [6, aaaa.records],
      ],
      o,
    );
  }
  if (a.ok) return partial(4, a.records, aaaa, o);
  if (aaaa.ok) return partial(6, aaaa.records, a, o);
  // Both failed: "unknown" beats "no data"; NXDOMAIN (the name is gone) beats NODATA.
  const [x, y] = [a.outcome, aaaa.outcome];
  if (x.kind === 'failure') return x;
  if (y.kind === 'failure') return y;
  return x.code === 'DNS_NOT_FOUND' ? x : y;
}

/** Resolves `name` with getaddrinfo (hosts file, search list, nsswitch), cached for `systemTtl`. */
export function querySystem(name: string, o: ResolvedDnsOptions): Promise<Outcome> {
  return new Promise((resolve) => {
    systemLookup(name, { all: true, family: o.family, order: 'verbatim' }, (err, found) => {
      if (err !== null) return resolve(fromError(err));
      const ttl = Math.floor(o.systemTtl / 1000);
      const addresses = found
        .filter((a) => a.family === 4 || a.family === 6)
        .map((a) => Object.freeze({ address: a.address, family: a.family as 4 | 6, ttl }));
      if (addresses.length === 0) return resolve({ kind: 'negative', code: 'DNS_NO_DATA', cause: undefined });
      resolve({ kind: 'answer', addresses: Object.freeze(addresses), ttl: o.systemTtl, source: 'system' });
    });
  });
}

/**
 * One family answered. The other's NXDOMAIN/NODATA just means "none of that family"; a transient
 * failure means "unknown", so the answer is cached briefly and the cache keeps that family's
 * previous addresses (dropping them would retire healthy connections).
 */
function partial(
  family: 4 | 6,
  records: readonly RecordWithTtl[],
  other: Settled,
  o: ResolvedDnsOptions,
): Outcome {
  const out = answer([[family, records]], o);
  if (other.ok || other.outcome.kind === 'negative' || out.kind !== 'answer') return out;
  return {
    ...out,
    ttl: Math.min(out.ttl, Math.max(o.minTtl, o.negativeTtl)),
    missing: { family: family === 4 ? 6 : 4, failure: other.outcome },
  };
}

function answer(
  groups: ReadonlyArray<readonly [4 | 6, readonly RecordWithTtl[]]>,
  o: ResolvedDnsOptions,
): Outcome {
  const addresses: ResolvedAddress[] = [];
  let ttl = Number.POSITIVE_INFINITY;
  for (const [family, records] of groups) {
    for (const r of records) {
      addresses.push(Object.freeze({ address: r.address, family, ttl: r.ttl }));
      ttl = Math.min(ttl, r.ttl);
    }
  }
  if (addresses.length === 0) return { kind: 'negative', code: 'DNS_NO_DATA', cause: undefined };
  return {
    kind: 'answer',
    addresses: Object.freeze(addresses),
    ttl: Math.min(o.maxTtl, Math.max(o.minTtl, ttl * 1000)),
    source: 'resolver',
  };
}

function settle(query: Promise<RecordWithTtl[]>): Promise<Settled> {
  return query.then(
    (records) => ({ ok: true, records }),
    (err: unknown) => ({ ok: false, outcome: fromError(err) }),
  );
}

/** Maps a resolver or getaddrinfo error to an outcome with the taxonomy's code. */
export function fromError(err: unknown): Extract<Outcome, { kind: 'negative' | 'failure' }> {
  const c = classify(err);
  const code = c.layer === 'dns' ? c.code : 'DNS_SERVER_FAILURE';
  if (code === 'DNS_NOT_FOUND' || code === 'DNS_NO_DATA') return { kind: 'negative', code, cause: err };
  return { kind: 'failure', code: code as FailureCode, cause: err };
}
