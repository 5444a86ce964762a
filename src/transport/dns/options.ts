/**
 * The DNS cache's options: the public type with its defaults, and `resolveDnsOptions`, which
 * validates them once (naming the option path in every error) and returns a frozen copy.
 */
import { isIP } from 'node:net';
import type { Clock } from '../../clock/clock.ts';
import { InvalidOptionError } from '../../errors/invalid-option-error.ts';
import { checkClock, checkDuration, checkNumber, checkObject, checkThat } from '../../options/validate.ts';

/**
 * Options of the DNS cache (`createClient({ dns })`). All durations are milliseconds.
 *
 * @example
 * ```ts
 * createClient({ dns: { servers: ['10.0.0.2', '10.0.0.3:5353'], maxTtl: 60_000, staleTtl: 120_000 } });
 * const dns = new DnsCache({ minTtl: 5_000 }); // on its own, e.g. for a database driver's lookup
 * ```
 */
export interface DnsOptions {
  /**
   * Resolver addresses: `'127.0.0.1'`, `'127.0.0.1:5353'`, `'::1'`, `'[::1]:53'`.
   * @default the system's resolvers, as `dns.getServers()` reports them when the cache is created
   */
  servers?: readonly string[];
  /**
   * Records are cached for at least this long, whatever their TTL (TTL 0 included).
   * @default 1000
   */
  minTtl?: number;
  /**
   * Records are cached for at most this long, whatever their TTL.
   * @default 300000
   */
  maxTtl?: number;
  /**
   * Serve-stale window (RFC 8767): when a refresh fails (SERVFAIL, REFUSED, timeout), the last good
   * answer is served for up to this long after it expired, and a `stale` event is emitted instead of
   * failing the caller. While the failure is remembered (`negativeTtl`, RFC 2308 §7.1) callers get the
   * stale answer at once, without waiting for another query. `0` turns serve-stale off.
   * @default 60000
   * @see https://www.rfc-editor.org/rfc/rfc8767
   */
  staleTtl?: number;
  /**
   * Negative caching (RFC 2308): how long NXDOMAIN (`DNS_NOT_FOUND`) and NODATA (`DNS_NO_DATA`) are
   * remembered, so that a second lookup sends no query; also how long a failed refresh is remembered
   * before the next one is tried. `0` turns negative caching off.
   * @default 5000
   * @see https://www.rfc-editor.org/rfc/rfc2308
   */
  negativeTtl?: number;
  /**
   * How long answers of the system fallback (`dns.lookup`: `localhost`, hosts-file names, search-list
   * names) are cached; getaddrinfo does not report a TTL.
   * @default 5000
   */
  systemTtl?: number;
  /**
   * The most names kept; the least recently used is evicted first.
   * @default 1000
   */
  maxEntries?: number;
  /**
   * Deadline of one resolution (all its queries and retransmissions), after which waiting callers get
   * `DNS_TIMEOUT` (`budget: 'phase'`).
   * @default 2000
   */
  timeout?: number;
  /**
   * Fraction of a record's TTL after which a name that was used since its last refresh is refreshed
   * in the background, so callers never wait for it. Must be in (0, 1]; `1` turns refresh-ahead off
   * (names are then refreshed by the first use after they expire).
   * @default 0.8
   */
  refreshAhead?: number;
  /**
   * Address families to resolve: `4` (A), `6` (AAAA), or `0` for both, queried in parallel.
   * @default 0
   */
  family?: 0 | 4 | 6;
  /**
   * Time source for expiry, refresh-ahead and deadlines (tests pass a `VirtualClock`). Network I/O
   * is real either way: the resolver's own retransmission timers always run in real time.
   * @default systemClock
   */
  clock?: Clock;
}

/** {@link DnsOptions} after validation and defaults. */
export interface ResolvedDnsOptions {
  /** `undefined`: the system's resolvers (and the search-list fallback is allowed). */
  readonly servers: readonly string[] | undefined;
  readonly minTtl: number;
  readonly maxTtl: number;
  readonly staleTtl: number;
  readonly negativeTtl: number;
  readonly systemTtl: number;
  readonly maxEntries: number;
  readonly timeout: number;
  readonly refreshAhead: number;
  readonly family: 0 | 4 | 6;
  readonly clock: Clock;
}

/** The defaults; see {@link DnsOptions} for what each means. */
export const DNS_DEFAULTS = Object.freeze({
  minTtl: 1_000,
  maxTtl: 300_000,
  staleTtl: 60_000, // RFC 8767 suggests 1–3 days for recursive resolvers; a client should notice sooner
  negativeTtl: 5_000,
  // getaddrinfo hides the real TTL: short, so a hosts-file edit or a search-list record that moved is
  // followed within seconds (undici's DNS interceptor uses 10 s), long enough to keep the libuv
  // threadpool off the connect path.
  systemTtl: 5_000,
  maxEntries: 1_000,
  timeout: 2_000,
  // Leaves 20 % of the TTL (≥ 200 ms at minTtl) for the refresh to land before expiry; Unbound's
  // prefetch uses 90 %, which leaves too little at a 1 s TTL.
  refreshAhead: 0.8,
  family: 0 as 0 | 4 | 6,
});

const KEYS = [
  'servers',
  'minTtl',
  'maxTtl',
  'staleTtl',
  'negativeTtl',
  'systemTtl',
  'maxEntries',
  'timeout',
  'refreshAhead',
  'family',
  'clock',
] as const;

/** Validates DNS options; `path` prefixes option names in errors (`dns.minTtl`). */
export function resolveDnsOptions(input: unknown, path = 'dns'): ResolvedDnsOptions {
  const o = checkObject(input, path, KEYS);
  const d = DNS_DEFAULTS;
  const minTtl = checkDuration(o.minTtl, `${path}.minTtl`, d.minTtl);
  const maxTtl = checkDuration(o.maxTtl, `${path}.maxTtl`, d.maxTtl);
  checkThat(minTtl <= maxTtl, `${path}.minTtl`, `≤ maxTtl (${maxTtl})`, minTtl);
  const refreshAhead = checkNumber(o.refreshAhead, `${path}.refreshAhead`, d.refreshAhead, {
    min: 0,
    max: 1,
  });
  checkThat(refreshAhead > 0, `${path}.refreshAhead`, 'a number > 0 and ≤ 1', refreshAhead);
  const family = o.family ?? d.family;
  checkThat(family === 0 || family === 4 || family === 6, `${path}.family`, '0, 4 or 6', family);
  return Object.freeze({
    servers: checkServers(o.servers, `${path}.servers`),
    minTtl,
    maxTtl,
    staleTtl: checkDuration(o.staleTtl, `${path}.staleTtl`, d.staleTtl),
    negativeTtl: checkDuration(o.negativeTtl, `${path}.negativeTtl`, d.negativeTtl),
    systemTtl: checkDuration(o.systemTtl, `${path}.systemTtl`, d.systemTtl),
    maxEntries: checkNumber(o.maxEntries, `${path}.maxEntries`, d.maxEntries, { min: 1, integer: true }),
    timeout: checkDuration(o.timeout, `${path}.timeout`, d.timeout, 1),
    refreshAhead,
    family: family as 0 | 4 | 6,
    clock: checkClock(o.clock, `${path}.clock`),
  });
}

const SERVER_EXPECTED =
  "a non-empty array of resolver addresses ('1.2.3.4', '1.2.3.4:53', '::1', '[::1]:53')";

function checkServers(value: unknown, path: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.length === 0) throw new InvalidOptionError(path, SERVER_EXPECTED, value);
  return Object.freeze(
    value.map((server: unknown, i) => {
      checkThat(
        isResolverAddress(server),
        `${path}[${i}]`,
        'an IP address with an optional port (1–65535)',
        server,
      );
      return server as string;
    }),
  );
}

/** `true` for the resolver forms `Resolver#setServers` takes: an IP, `v4:port` or `[v6]:port`. */
export function isResolverAddress(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  if (isIP(value) !== 0) return true;
  const v6 = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(value);
  if (v6 !== null) return isIP(v6[1]!) === 6 && isPort(v6[2]);
  const v4 = /^([\d.]+):(\d{1,5})$/.exec(value);
  return v4 !== null && isIP(v4[1]!) === 4 && isPort(v4[2]);
}

function isPort(text: string | undefined): boolean {
  if (text === undefined) return true;
  const port = Number(text);
  return port >= 1 && port <= 65_535;
}
