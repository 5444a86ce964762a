// A `dns.lookup`-shaped resolver for tests: it answers every name with one loopback address and
// records what it was asked, so a test can prove a driver resolved through it.
import type { LookupFunction } from 'node:net';

export interface LookupSpy {
  readonly lookup: LookupFunction;
  readonly names: string[];
}

export function lookupSpy(address = '127.0.0.1'): LookupSpy {
  const names: string[] = [];
  const lookup = ((hostname: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    names.push(hostname);
    if (options?.all) callback(null, [{ address, family: 4 }]);
    else callback(null, address, 4);
  }) as unknown as LookupFunction;
  return { lookup, names };
}
