/**
 * A `dns.lookup`-compatible function over the DNS cache, for database drivers and
 * `net.connect({ lookup })`: `(hostname, options | family, callback)`, `{ all: true }`, `family`,
 * `order` / `verbatim`. Failures reach the callback as `BulwarkError`s of layer `dns`.
 */
import {
  getDefaultResultOrder,
  type LookupAddress,
  type LookupAllOptions,
  type LookupOneOptions,
  type LookupOptions,
} from 'node:dns';
import { BulwarkError } from '../../errors/bulwark-error.ts';
import type { DnsResolveOptions, DnsResult } from './types.ts';

/** The callback of a `lookup` for one address. */
export type OneCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;
/** The callback of a `lookup` with `{ all: true }`. */
export type AllCallback = (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void;
/** The callback of a `lookup` whose options decide between one address and all. */
export type AnyCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/** The overloads of `dns.lookup`, callback style (assignable to `net.LookupFunction`). */
export interface DnsLookupFunction {
  (hostname: string, callback: OneCallback): void;
  (hostname: string, family: number, callback: OneCallback): void;
  (hostname: string, options: LookupOneOptions, callback: OneCallback): void;
  (hostname: string, options: LookupAllOptions, callback: AllCallback): void;
  (hostname: string, options: LookupOptions, callback: AnyCallback): void;
}

/** What the lookup needs from the cache. */
export interface LookupSource {
  peek(host: string): DnsResult | undefined;
  resolve(host: string, options?: DnsResolveOptions): Promise<DnsResult>;
}

/** Builds the `lookup` of a cache. */
export function createLookup(cache: LookupSource): DnsLookupFunction {
  return function lookup(hostname: string, options: unknown, callback?: unknown): void {
    if (typeof options === 'function') [callback, options] = [options, undefined];
    if (typeof callback !== 'function')
      throw new TypeError('The "callback" argument must be of type function');
    const cb = callback as (err: unknown, address?: unknown, family?: number) => void;
    const o = (typeof options === 'number' ? { family: options } : (options ?? {})) as LookupOptions;
    const family = o.family === 'IPv4' ? 4 : o.family === 'IPv6' ? 6 : Number(o.family ?? 0);
    const order =
      o.order ?? (o.verbatim === undefined ? getDefaultResultOrder() : o.verbatim ? 'verbatim' : 'ipv4first');
    const deliver = (result: DnsResult): void => {
      let found: LookupAddress[] = [];
      for (const a of result.addresses) {
        if (family === 0 || a.family === family) found.push({ address: a.address, family: a.family });
      }
      if (order === 'ipv4first')
        found = found.filter((a) => a.family === 4).concat(found.filter((a) => a.family === 6));
      else if (order === 'ipv6first')
        found = found.filter((a) => a.family === 6).concat(found.filter((a) => a.family === 4));
      const first = found[0];
      if (first === undefined) {
        const target = { origin: hostname, host: hostname, port: 0 };
        cb(new BulwarkError({ layer: 'dns', code: 'DNS_NO_DATA', target }));
      } else if (o.all === true) cb(null, found);
      else cb(null, first.address, first.family);
    };
    const hit = cache.peek(hostname);
    // Callbacks are always asynchronous, like dns.lookup's: net attaches listeners after calling it.
    if (hit !== undefined) process.nextTick(deliver, hit);
    else cache.resolve(hostname).then(deliver, (err: unknown) => cb(err));
  } as DnsLookupFunction;
}
