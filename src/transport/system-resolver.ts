/**
 * The resolver used with `dns: false`: the operating system's `dns.lookup` on every connect, under
 * the DNS phase timeout, reporting failures in the taxonomy. No caching at all, by request.
 */
import { lookup } from 'node:dns';
import { isIP } from 'node:net';
import { BulwarkError } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';

/** One resolved address. */
export interface Address {
  readonly address: string;
  readonly family: 4 | 6;
}

/** What the connector needs from a resolver: an async resolve, and optionally a synchronous cache hit. */
export interface HostResolver {
  /** A fresh cached answer without waiting, when there is one. */
  peek?(host: string): { readonly addresses: readonly Address[] } | undefined;
  /** Resolves `host`, rejecting with a `BulwarkError` of layer `dns`. */
  resolve(
    host: string,
    options: { timeout: number; port?: number },
  ): Promise<{ readonly addresses: readonly Address[] }>;
}

/** `dns.lookup` (getaddrinfo: hosts file, then the system's resolvers) under a timeout. */
export const systemResolver: HostResolver = {
  resolve(host, { timeout, port = 0 }) {
    const target = { origin: host, host, port };
    const family = isIP(host);
    if (family !== 0) return Promise.resolve({ addresses: [{ address: host, family: family as 4 | 6 }] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new BulwarkError({ layer: 'dns', code: 'DNS_TIMEOUT', budget: 'phase', target }));
      }, timeout);
      lookup(host, { all: true }, (err, addresses) => {
        clearTimeout(timer);
        if (err) {
          const c = classify(err);
          const code = c.layer === 'dns' ? c.code : 'DNS_SERVER_FAILURE';
          reject(new BulwarkError({ layer: 'dns', code, target, cause: err }));
        } else {
          resolve({
            addresses: addresses.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 })),
          });
        }
      });
    });
  },
};
