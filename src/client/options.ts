/**
 * The client's options: the public `ClientOptions` with the defaults of what only the client
 * owns (connections, keep-alive, TLS, DNS), and `resolveClientOptions`, which validates them all at
 * `createClient` (each policy validates its own part: timeouts, retry, breaker, bulkhead).
 */
import type { ConnectionOptions } from 'node:tls';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock/clock.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import type { CallConfig } from '../http/call-config.ts';
import type { FetchResponse } from '../http/fetch-types.ts';
import { type Hooks, resolveHooks } from '../http/hook-options.ts';
import type { RequestResult } from '../http/request.ts';
import {
  checkBoolean,
  checkClock,
  checkDispatcher,
  checkDuration,
  checkNumber,
  checkObject,
  checkString,
} from '../options/validate.ts';
import {
  BREAKER_OPTION_NAMES,
  type BreakerOptions,
  type ResolvedBreaker,
  resolveBreaker,
} from '../policy/breaker.ts';
import {
  BULKHEAD_OPTION_NAMES,
  type BulkheadOptions,
  type ResolvedBulkhead,
  resolveBulkhead,
} from '../policy/bulkhead.ts';
import { type HedgeOptions, resolveHedge } from '../policy/hedge.ts';
import { type RetryOptions, resolveRetry } from '../policy/retry-options.ts';
import { type ResolvedThrottle, resolveThrottle, type ThrottleOptions } from '../policy/throttle.ts';
import { resolveTimeouts, TIMEOUT_DEFAULTS, TIMEOUT_KEYS, type TimeoutOptions } from '../policy/timeouts.ts';
import { DnsCache, type DnsOptions } from '../transport/dns-cache.ts';
import {
  OUTLIER_DEFAULTS,
  type OutlierOptions,
  type ResolvedOutlier,
  resolveOutlier,
} from '../transport/outlier-options.ts';
import { type PolicyKeyOptions, type ResolvedPolicyKey, splitKeyOptions } from './keyed-policies.ts';
import { type ProxyOptions, type ResolvedProxy, resolveProxy } from './proxy-options.ts';

/**
 * Connection reuse options.
 *
 * @example
 * ```ts
 * createClient({ keepAlive: { idleTimeout: 2_000, maxLifetime: 60_000 } });
 * ```
 */
export interface KeepAliveOptions {
  /**
   * How long an idle keep-alive connection is kept; below the common 5 s server keep-alive, so
   * the client, not the server, closes it (a server close races the next request).
   * @default 4000
   */
  idleTimeout?: number;
  /**
   * Idle time before the first TCP keepalive probe; below common NAT/LB idle eviction (≥ 60 s).
   * @default 30000
   */
  tcpKeepAliveDelay?: number;
  /**
   * The oldest a connection may get before it is retired (then DNS is consulted again).
   * @default 300000
   */
  maxLifetime?: number;
  /**
   * Relative jitter of `maxLifetime` (0.1 = ±10 %), so connections made together do not all
   * reconnect together.
   * @default 0.1
   */
  lifetimeJitter?: number;
}

/** Keep-alive options after validation. */
export type ResolvedKeepAlive = Readonly<Required<KeepAliveOptions>>;

/**
 * Options passed to `tls.connect` for every HTTPS connection (`ca`, `cert`, `key`,
 * `rejectUnauthorized`, `servername`, `minVersion`, ...). Bulwark sets `socket`, `host` and
 * `ALPNProtocols` itself.
 */
export type TlsOptions = Omit<
  ConnectionOptions,
  'socket' | 'host' | 'port' | 'path' | 'lookup' | 'ALPNProtocols'
>;

/**
 * Options of {@link createClient}. Every option is optional and has a production default.
 *
 * @example
 * ```ts
 * const client = createClient({
 *   timeout: { total: 5_000, attempt: 2_000 },
 *   retry: { limit: 3, backoff: { jitter: 'full', base: 50, cap: 2_000 } },
 *   breaker: { threshold: 50, resetTimeout: 10_000 },
 * });
 * ```
 */
export interface ClientOptions {
  /** Timeout budgets; a number sets `total`. */
  timeout?: TimeoutOptions | number;
  /** Retry policy, or `false` for a single attempt. */
  retry?: RetryOptions | false;
  /** Circuit breaker per origin (or per `breaker.key`), or `false` for none. */
  breaker?: (BreakerOptions & PolicyKeyOptions) | false;
  /** In-flight limit and queue per origin (or per `bulkhead.key`), or `false` for none. */
  bulkhead?: (BulkheadOptions & PolicyKeyOptions) | false;
  /**
   * Per-origin client-side adaptive throttling (the SRE book's): attempts are refused locally with
   * `CIRCUIT_THROTTLED` while too few recent ones were accepted. `true` for the defaults.
   * @default false
   */
  throttle?: ThrottleOptions | boolean;
  /**
   * Outlier ejection per address across the addresses DNS returns for an origin (Envoy's outlier
   * detection): an address with 5 failures in a row, or a success rate far below its peers', gets
   * no new connection for 30 s (longer each time it recurs), its pooled connections retired; at
   * most half of an origin's addresses at once, never the last. New connections also take the
   * addresses in turn. `true` for the defaults, `false` for none. On by default: an origin with one
   * address is never affected, and one bad address among several should not keep its share.
   * @default true
   */
  outlier?: OutlierOptions | boolean;
  /**
   * DNS cache options, an existing {@link DnsCache} to share, or `false` to ask the system
   * resolver (`dns.lookup`) on every new connection.
   * @default {} (a cache with the documented defaults)
   */
  dns?: DnsOptions | DnsCache | false;
  /** Connection reuse. */
  keepAlive?: KeepAliveOptions;
  /**
   * Connections per origin.
   * @default 256
   */
  connections?: number;
  /** Options for `tls.connect`. */
  tls?: TlsOptions;
  /**
   * Offer HTTP/2 on HTTPS connections (ALPN `h2`, then `http/1.1`): a server that picks `h2` gets
   * every request to its origin multiplexed on one connection, one that does not gets HTTP/1.1 as
   * before. Plain `http:` stays HTTP/1.1 (no cleartext h2). Timeouts, retries, tags and timings
   * are the same on both; see the README's "HTTP/2" section for what differs.
   * @default false
   */
  allowH2?: boolean;
  /**
   * With {@link ClientOptions.allowH2}: the most requests in flight on one HTTP/2 connection (the
   * server's `SETTINGS_MAX_CONCURRENT_STREAMS` can lower it, never raise it). Past it, a request
   * opens another connection, up to {@link ClientOptions.connections}.
   * @default 100
   */
  maxConcurrentStreams?: number;
  /**
   * Make a final 5xx or 429 response reject with an `HTTP_STATUS` {@link BulwarkError} instead of
   * resolving (fetch's own behaviour is to resolve; this is off by default).
   * @default false
   */
  throwHttpErrors?: boolean;
  /**
   * Name of a request header carrying the remaining total budget in milliseconds, so the server
   * can give up when the client will have; `false` sends none.
   * @default false
   */
  deadlineHeader?: string | false;
  /**
   * Time, timers and randomness for the policies (tests, the fleet simulator).
   * @default systemClock
   */
  clock?: Clock;
  /**
   * An undici dispatcher to send every call on, in place of Bulwark's own agent: a `ProxyAgent`,
   * `EnvHttpProxyAgent`, `MockAgent`, an `Agent` with interceptors (`agent.compose(...)`). Every
   * policy (deadline, bulkhead, retry, budget, breaker, stats, error tagging) still applies; of the
   * transport, what applies is in docs/dispatchers.md; `tls`, `keepAlive`, `connections` and `dns`
   * (other than `false`) are for Bulwark's own agent and are refused beside it. The client never
   * closes it. A call may bring its own (`fetch`'s `init.dispatcher`, `request`'s
   * `options.dispatcher`). `'global'` reads undici's global dispatcher (`setGlobalDispatcher`) at
   * every call, so a test that installs a `MockAgent` after the client was made still reaches it.
   *
   * @example
   * ```ts
   * const mock = new MockAgent(); mock.disableNetConnect();
   * const client = createClient({ dispatcher: mock });
   * ```
   */
  dispatcher?: Dispatcher | 'global';
  /**
   * A forward proxy for every call: its URL, {@link ProxyOptions}, or `'env'` to follow
   * HTTP_PROXY, HTTPS_PROXY and NO_PROXY (read when the client is created). The client builds
   * undici's `ProxyAgent` (`EnvHttpProxyAgent`) with its own connector for the connections to the
   * proxy, and closes it on `close()`. Not together with `dispatcher`.
   *
   * @example
   * ```ts
   * createClient({ proxy: 'http://proxy.corp:3128' });
   * createClient({ proxy: 'env' });
   * ```
   */
  proxy?: string | URL | ProxyOptions | 'env';
  /**
   * Hooks run on every call (`beforeRequest`, `afterResponse`, `beforeRetry`): see {@link Hooks}.
   * Their `response` is a fetch `Response` or a {@link RequestResult}, by the front-end called.
   */
  hooks?: Hooks<FetchResponse | RequestResult>;
  /**
   * Hedged requests for idempotent calls: a second attempt after `delay` (fixed, or the origin's
   * recent p95), the first answer wins and the other is aborted; each hedge costs a retry-budget
   * token and none goes while the adaptive throttle refuses. See {@link HedgeOptions}; per call
   * too (`hedge` in fetch's init or request's options, `false` to turn it off).
   * @default false
   */
  hedge?: HedgeOptions | false;
}

/** The client's options after validation. */
export interface ResolvedClientOptions extends CallConfig {
  readonly breaker: ResolvedBreaker | false;
  /** `breaker.key` and its limits (`undefined`: one breaker per origin). */
  readonly breakerKey: ResolvedPolicyKey | undefined;
  readonly bulkhead: ResolvedBulkhead | false;
  /** `bulkhead.key` and its limits (`undefined`: one bulkhead per origin). */
  readonly bulkheadKey: ResolvedPolicyKey | undefined;
  readonly throttle: ResolvedThrottle | false;
  readonly outlier: ResolvedOutlier | false;
  readonly dns: DnsCache | false;
  readonly ownsDns: boolean;
  readonly keepAlive: ResolvedKeepAlive;
  readonly connections: number;
  readonly tls: Readonly<TlsOptions>;
  readonly allowH2: boolean;
  readonly maxConcurrentStreams: number;
  readonly deadlineHeader: string | false;
  readonly clock: Clock;
  readonly dispatcher: Dispatcher | 'global' | undefined;
  readonly proxy: ResolvedProxy | undefined;
}

/** Connections per origin by default: enough for the bulkhead's share of a busy upstream. */
export const CONNECTIONS_DEFAULT = 256;

/** Streams per HTTP/2 connection by default (undici's own default, and Node's server's limit). */
export const MAX_CONCURRENT_STREAMS_DEFAULT = 100;

/** The keep-alive defaults. */
export const KEEP_ALIVE_DEFAULTS: ResolvedKeepAlive = Object.freeze({
  idleTimeout: 4_000,
  tcpKeepAliveDelay: 30_000,
  maxLifetime: 300_000,
  lifetimeJitter: 0.1,
});

const CLIENT_KEYS = [
  'timeout',
  'retry',
  'breaker',
  'bulkhead',
  'throttle',
  'outlier',
  'dns',
  'keepAlive',
  'connections',
  'tls',
  'allowH2',
  'maxConcurrentStreams',
  'throwHttpErrors',
  'deadlineHeader',
  'clock',
  'dispatcher',
  'proxy',
  'hooks',
  'hedge',
] as const;
const TLS_FORBIDDEN = ['socket', 'host', 'port', 'path', 'lookup', 'ALPNProtocols'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Validates and resolves the client's options. Throws {@link InvalidOptionError}. */
export function resolveClientOptions(input: unknown): ResolvedClientOptions {
  const o = checkObject(input, '', CLIENT_KEYS);
  const clock = checkClock(o.clock, 'clock');
  const dispatcher =
    o.dispatcher === 'global'
      ? 'global'
      : checkDispatcher<Dispatcher>(o.dispatcher, 'dispatcher', "'global'");
  const proxy = resolveProxy(o.proxy);
  if (dispatcher !== undefined && proxy !== undefined) {
    // (The proxy is not shown: its URL may carry credentials.)
    throw new InvalidOptionError(
      'proxy',
      'left out when dispatcher is given (a dispatcher brings its own proxy)',
      'a proxy',
    );
  }
  if (dispatcher !== undefined) {
    // Every call goes out on that dispatcher: what only Bulwark's own agent reads would be ignored.
    for (const key of ['tls', 'keepAlive', 'connections'] as const) {
      if (o[key] !== undefined) {
        throw new InvalidOptionError(
          key,
          'left out when dispatcher is given (configure the dispatcher itself)',
          o[key],
        );
      }
    }
    if (o.outlier !== undefined && o.outlier !== false) {
      throw new InvalidOptionError(
        'outlier',
        'left out (or false) when dispatcher is given (it picks the addresses itself)',
        o.outlier,
      );
    }
    if (o.dns !== undefined && o.dns !== false) {
      throw new InvalidOptionError(
        'dns',
        'left out (or false) when dispatcher is given (it resolves names itself)',
        o.dns,
      );
    }
  }
  const timeout = resolveTimeouts(o.timeout, 'timeout', TIMEOUT_DEFAULTS, TIMEOUT_KEYS);
  const retry = o.retry === false ? false : resolveRetry(o.retry, 'retry', undefined);
  const breakerSplit =
    o.breaker === false ? undefined : splitKeyOptions(o.breaker, 'breaker', BREAKER_OPTION_NAMES);
  const breaker = breakerSplit === undefined ? false : resolveBreaker(breakerSplit.rest, 'breaker');
  const bulkheadSplit =
    o.bulkhead === false ? undefined : splitKeyOptions(o.bulkhead, 'bulkhead', BULKHEAD_OPTION_NAMES);
  const bulkhead = bulkheadSplit === undefined ? false : resolveBulkhead(bulkheadSplit.rest, 'bulkhead');
  const throttle =
    o.throttle === undefined || o.throttle === false
      ? false
      : resolveThrottle(o.throttle === true ? {} : o.throttle, 'throttle');
  const outlier =
    o.outlier === false || dispatcher !== undefined
      ? false
      : o.outlier === undefined || o.outlier === true
        ? OUTLIER_DEFAULTS
        : resolveOutlier(o.outlier, 'outlier');
  const keepAlive = resolveKeepAlive(o.keepAlive);
  const connections = checkNumber(o.connections, 'connections', CONNECTIONS_DEFAULT, {
    min: 1,
    integer: true,
  });
  const tls = resolveTls(o.tls);
  const allowH2 = checkBoolean(o.allowH2, 'allowH2', false);
  // 2^31-1: what an HTTP/2 SETTINGS value holds (and far past any server's limit).
  const maxConcurrentStreams = checkNumber(
    o.maxConcurrentStreams,
    'maxConcurrentStreams',
    MAX_CONCURRENT_STREAMS_DEFAULT,
    { min: 1, max: 2 ** 31 - 1, integer: true },
  );
  const throwHttpErrors = checkBoolean(o.throwHttpErrors, 'throwHttpErrors', false);
  const hooks = resolveHooks(o.hooks, 'hooks', undefined);
  const hedge = resolveHedge(o.hedge, 'hedge', false);
  const deadlineHeader =
    o.deadlineHeader === false || o.deadlineHeader === undefined
      ? false
      : checkString(o.deadlineHeader, 'deadlineHeader', '', HEADER_NAME).toLowerCase();
  let dns: DnsCache | false;
  let ownsDns = false;
  // With a dispatcher of the caller's, no call connects through Bulwark's agent: no cache to keep.
  if (o.dns === false || dispatcher !== undefined) dns = false;
  else if (o.dns instanceof DnsCache) dns = o.dns;
  else {
    if (o.dns !== undefined && (typeof o.dns !== 'object' || o.dns === null || Array.isArray(o.dns))) {
      throw new InvalidOptionError('dns', 'an object of DNS cache options, a DnsCache, or false', o.dns);
    }
    // The cache validates its own keys; the DNS phase timeout is its per-lookup deadline.
    dns = new DnsCache({ timeout: timeout.dns, ...(o.dns as DnsOptions | undefined) });
    ownsDns = true;
  }
  return Object.freeze({
    timeout,
    retry,
    throwHttpErrors,
    hooks,
    hedge,
    breaker,
    breakerKey: breakerSplit?.keyed,
    bulkhead,
    bulkheadKey: bulkheadSplit?.keyed,
    throttle,
    outlier,
    dns,
    ownsDns,
    keepAlive,
    connections,
    tls,
    allowH2,
    maxConcurrentStreams,
    deadlineHeader,
    clock,
    dispatcher,
    proxy,
  });
}

function resolveKeepAlive(input: unknown): ResolvedKeepAlive {
  const o = checkObject(input, 'keepAlive', [
    'idleTimeout',
    'tcpKeepAliveDelay',
    'maxLifetime',
    'lifetimeJitter',
  ]);
  const d = KEEP_ALIVE_DEFAULTS;
  return Object.freeze({
    idleTimeout: checkDuration(o.idleTimeout, 'keepAlive.idleTimeout', d.idleTimeout, 1),
    tcpKeepAliveDelay: checkDuration(o.tcpKeepAliveDelay, 'keepAlive.tcpKeepAliveDelay', d.tcpKeepAliveDelay),
    maxLifetime: checkDuration(o.maxLifetime, 'keepAlive.maxLifetime', d.maxLifetime, 1),
    lifetimeJitter: checkNumber(o.lifetimeJitter, 'keepAlive.lifetimeJitter', d.lifetimeJitter, {
      min: 0,
      max: 0.5,
    }),
  });
}

function resolveTls(input: unknown): Readonly<TlsOptions> {
  if (input === undefined) return Object.freeze({});
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidOptionError('tls', 'an object of tls.connect options', input);
  }
  for (const key of TLS_FORBIDDEN) {
    if (Object.hasOwn(input, key)) {
      throw new InvalidOptionError(
        `tls.${key}`,
        'left to Bulwark (it is set per connection)',
        (input as Record<string, unknown>)[key],
      );
    }
  }
  return Object.freeze({ ...(input as TlsOptions) });
}
