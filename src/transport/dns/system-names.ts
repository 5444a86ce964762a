/**
 * Which names the DNS cache hands to the operating system (`dns.lookup`) instead of its resolver,
 * read lazily from the hosts file and resolv.conf. The rule, in order:
 *
 * 1. Names listed in the hosts file go to the system without a query: the default nsswitch order is
 *    `files dns`, so the hosts file wins over DNS for every other program on the machine.
 * 2. `localhost` and `*.localhost` go to the system without a query, as `localhost` (RFC 6761 §6.3:
 *    they all mean the loopback interface and resolvers must not be asked; glibc would forward
 *    `app.localhost` to DNS, so the system is asked for `localhost` itself).
 * 3. Only when the cache uses the system's resolvers (no `servers` option): a name with fewer dots
 *    than resolv.conf's `ndots` that the resolver answers NXDOMAIN goes to the system, which applies
 *    the search list (Kubernetes: `db` → `db.ns.svc.cluster.local`) and nsswitch modules. c-ares
 *    queries never apply the search list. With explicit `servers` the system would ask other servers
 *    (and, offline, may hang for seconds), so it is never asked.
 *
 * Everything else the resolver cannot answer is an error.
 */
import { readFile } from 'node:fs/promises';
import { dotCount, isLocalhostName } from './host-name.ts';

// Both files change rarely; reading them again at most every 30 s follows an edit without a watcher.
const RELOAD_MS = 30_000;
const HOSTS_FILE =
  process.platform === 'win32'
    ? `${process.env.SystemRoot ?? 'C:\\Windows'}\\System32\\drivers\\etc\\hosts`
    : '/etc/hosts';
const RESOLV_CONF = '/etc/resolv.conf';

interface Cached<T> {
  value: Promise<T>;
  at: number;
}

let hostsCache: Cached<ReadonlySet<string>> | undefined;
let ndotsCache: Cached<number> | undefined;

/** The name to ask the system for instead of querying the resolver (rules 1 and 2), if any. */
export async function systemNameFor(key: string): Promise<string | undefined> {
  if ((await hostsFileNames()).has(key)) return key;
  return isLocalhostName(key) ? 'localhost' : undefined;
}

/** `true` when an NXDOMAIN for `key` from the system's resolvers is worth asking the system (rule 3). */
export async function isSearchListName(key: string): Promise<boolean> {
  return dotCount(key) < (await ndots());
}

/** The names in the hosts file, lower case (empty when it cannot be read). */
export function hostsFileNames(): Promise<ReadonlySet<string>> {
  hostsCache = reloaded(hostsCache, () =>
    readFile(HOSTS_FILE, 'utf8').then(parseHosts, () => new Set<string>()),
  );
  return hostsCache.value;
}

/** resolv.conf's `ndots` (default 1, capped at 15 like glibc); `RES_OPTIONS` overrides the file. */
export function ndots(): Promise<number> {
  ndotsCache = reloaded(ndotsCache, () =>
    readFile(RESOLV_CONF, 'utf8').then(
      (text) => parseNdots(`${text}\noptions ${process.env.RES_OPTIONS ?? ''}`),
      () => parseNdots(`options ${process.env.RES_OPTIONS ?? ''}`),
    ),
  );
  return ndotsCache.value;
}

/** Parses a hosts file: `address name [aliases...]`, `#` comments. */
export function parseHosts(text: string): ReadonlySet<string> {
  const names = new Set<string>();
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const [, ...aliases] = line.split(/\s+/);
    for (const alias of aliases) names.add(alias.toLowerCase().replace(/\.$/, ''));
  }
  return names;
}

/** The last `options ndots:N` in resolv.conf text. */
export function parseNdots(text: string): number {
  let value = 1;
  for (const match of text.matchAll(/^\s*options\s+(.*)$/gm)) {
    const n = /(?:^|\s)ndots:(\d+)/.exec(match[1]!);
    if (n !== null) value = Math.min(15, Number(n[1]));
  }
  return value;
}

function reloaded<T>(cached: Cached<T> | undefined, load: () => Promise<T>): Cached<T> {
  const now = performance.now();
  if (cached !== undefined && now - cached.at < RELOAD_MS) return cached;
  return { value: load(), at: now };
}
