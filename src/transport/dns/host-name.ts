/**
 * Host-name rules of the DNS cache: IP literals (answered without a query), the cache key of a name,
 * and which strings are not DNS names at all (answered `DNS_NOT_FOUND` without a query).
 */
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';

/** An IP literal's address and family. */
export interface Literal {
  readonly address: string;
  readonly family: 4 | 6;
}

/** The address of an IP literal (`127.0.0.1`, `::1`, `[::1]`, `fe80::1%eth0`), or `undefined`. */
export function parseLiteral(host: string): Literal | undefined {
  const family = isIP(host);
  if (family !== 0) return { address: host, family: family as 4 | 6 };
  if (host.length > 2 && host.charCodeAt(0) === 0x5b && host.charCodeAt(host.length - 1) === 0x5d) {
    const inner = host.slice(1, -1);
    if (isIP(inner) === 6) return { address: inner, family: 6 };
  }
  return undefined;
}

// RFC 1123 labels (letters, digits, inner hyphens, 1–63 octets), plus the underscore that real zones
// use (`_service`, legacy Windows host names) and resolvers accept.
const NAME = /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
const ALL_DIGITS = /(?:^|\.)\d+$/;

/**
 * The cache key of a host name — lower case, A-labels (punycode), without the root dot — or
 * `undefined` when it cannot be a DNS name: empty, a label over 63 or a name over 253 octets, an
 * empty label, characters outside letters, digits, `-` and `_`, a label starting or ending with `-`,
 * or an all-numeric last label (a malformed IPv4 literal such as `1.2.3.256`, RFC 3696 §2).
 */
export function hostKey(host: string): string | undefined {
  if (typeof host !== 'string' || host.length === 0 || host.length > 1_000) return undefined;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
  let name = /[^\x00-\x7f]/.test(host) ? domainToASCII(host) : host.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0 || name.length > 253 || !NAME.test(name) || ALL_DIGITS.test(name)) return undefined;
  return name;
}

/** `localhost` and `*.localhost`: RFC 6761 §6.3 reserves them for the loopback interface. */
export function isLocalhostName(key: string): boolean {
  return key === 'localhost' || key.endsWith('.localhost');
}

/** How many dots a name has (compared with resolv.conf's `ndots`). */
export function dotCount(key: string): number {
  let n = 0;
  for (let i = key.indexOf('.'); i !== -1; i = key.indexOf('.', i + 1)) n++;
  return n;
}
