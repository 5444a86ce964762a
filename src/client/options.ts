/**
 * The client's options: public types with their defaults, and the one place that validates and
 * resolves them (at `createClient`, and per call when a call overrides `timeout` or `retry`).
 */
import type { ConnectionOptions } from 'node:tls';
import type { Clock } from '../clock/clock.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import {
  checkBoolean,
  checkClock,
  checkDuration,
  checkNumber,
  checkObject,
  checkString,
  checkThat,
} from '../options/validate.ts';
import { type BackoffOptions, type ResolvedBackoff, resolveBackoff } from '../policy/backoff.ts';
import { type BreakerOptions, type ResolvedBreaker, resolveBreaker } from '../policy/breaker.ts';
import { type BulkheadOptions, type ResolvedBulkhead, resolveBulkhead } from '../policy/bulkhead.ts';
import {
  type ResolvedRetryBudget,
  type RetryBudgetOptions,
  resolveRetryBudget,
} from '../policy/retry-budget.ts';
import { DnsCache, type DnsOptions } from '../transport/dns-cache.ts';

/**
 * Timeout budgets in milliseconds, nested: the total budget covers every attempt and backoff
 * sleep; each attempt has its own budget; inside an attempt each phase has one. A timeout error
 * names the layer of the phase in which time ran out and which budget (`phase`, `attempt`,
 * `total`) it was. The call's budgets end when the response headers arrive; the body is then
 * guarded by `body` (the longest pause between two chunks).
 *
 * @example
 * ```ts
 * const client = createClient({ timeout: { total: 5_000, attempt: 2_000, connect: 1_000 } });
 * await client.fetch(url, { timeout: { total: 1_500 } }); // per call: total, attempt, headers, body
 * ```
 */
export interface TimeoutOptions {
  /**
   * The whole call: all attempts and the sleeps between them, until the response headers.
   * @default 30000
   */
  total?: number;
  /**
   * One attempt, from dispatch to the response headers. Must be ≤ `total`.
   * @default 10000
   */
  attempt?: number;
  /**
   * DNS resolution of a new connection (client-wide only).
   * @default 2000
   */
  dns?: number;
  /**
   * The TCP handshake of a new connection (client-wide only).
   * @default 3000
   */
  connect?: number;
  /**
   * The TLS handshake of a new connection (client-wide only).
   * @default 3000
   */
  tls?: number;
  /**
   * From the request being sent to the response headers (undici's is 300 s, which hides stalls).
   * It fires on its own (`HTTP_HEADERS_TIMEOUT`, budget `'phase'`) when it is shorter than
   * `attempt`; otherwise the attempt's deadline, which started earlier, always comes first
   * (budget `'attempt'`), and undici is not given a second timer for it.
   * @default 10000
   */
  headers?: number;
  /**
   * The longest pause between two chunks of the response body.
   * @default 30000
   */
  body?: number;
}

/** Timeouts after validation. */
export type ResolvedTimeouts = Readonly<Required<TimeoutOptions>>;

/**
 * Retry options. `retry: false` turns retries off.
 *
 * @example
 * ```ts
 * createClient({ retry: { limit: 3, statusCodes: [502, 503, 504], maxRetryAfter: 5_000 } });
 * await client.fetch(url, { retry: false }); // one attempt for this call
 * ```
 */
export interface RetryOptions {
  /**
   * Retries after the first attempt (2 means up to 3 attempts: SRE book).
   * @default 2
   */
  limit?: number;
  /**
   * Backoff between attempts: full jitter, base 100 ms, cap 10 s.
   * @default { jitter: 'full', base: 100, cap: 10000 }
   */
  backoff?: BackoffOptions;
  /**
   * The per-origin retry budget (a retry costs a token and gets it back if it succeeds; every
   * successful call deposits `ratio`), or `false` for none.
   * @default { ratio: 0.4, reserve: 3, window: 200, memory: 10000 }
   */
  budget?: RetryBudgetOptions | false;
  /**
   * Response statuses that are retried.
   * @default [408, 429, 500, 502, 503, 504]
   */
  statusCodes?: readonly number[];
  /**
   * The longest `Retry-After` honoured, in milliseconds; a longer one ends the retries and the
   * response is returned.
   * @default 30000
   */
  maxRetryAfter?: number;
}

/** Retry options after validation. */
export interface ResolvedRetry {
  readonly limit: number;
  readonly backoff: ResolvedBackoff;
  readonly budget: ResolvedRetryBudget | false;
  readonly statusCodes: ReadonlySet<number>;
  readonly maxRetryAfter: number;
}

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
  /** Per-origin circuit breaker, or `false` for none. */
  breaker?: BreakerOptions | false;
  /** Per-origin in-flight limit and queue, or `false` for none. */
  bulkhead?: BulkheadOptions | false;
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
}

/**
 * Per-call options accepted by `client.fetch(input, init)` and `client.request(url, options)`.
 *
 * @example
 * ```ts
 * await client.fetch(url, { timeout: 2_000, retry: { limit: 1 }, throwHttpErrors: true });
 * ```
 */
export interface CallOptions {
  /** Overrides for this call's budgets (`total`, `attempt`, `headers`, `body`); a number sets `total`. */
  timeout?: Pick<TimeoutOptions, 'total' | 'attempt' | 'headers' | 'body'> | number;
  /** Overrides for this call's retries, or `false` for a single attempt. */
  retry?: Omit<RetryOptions, 'budget'> | false;
  /** Overrides the client's `throwHttpErrors`. */
  throwHttpErrors?: boolean;
}

/** Everything a call needs from the options, resolved. */
export interface CallConfig {
  readonly timeout: ResolvedTimeouts;
  readonly retry: ResolvedRetry | false;
  readonly throwHttpErrors: boolean;
}

/** The client's options after validation. */
export interface ResolvedClientOptions extends CallConfig {
  readonly breaker: ResolvedBreaker | false;
  readonly bulkhead: ResolvedBulkhead | false;
  readonly dns: DnsCache | false;
  readonly ownsDns: boolean;
  readonly keepAlive: ResolvedKeepAlive;
  readonly connections: number;
  readonly tls: Readonly<TlsOptions>;
  readonly deadlineHeader: string | false;
  readonly clock: Clock;
}

/**
 * The headers timeout to hand undici. undici's headers timer starts when the request is sent, so
 * it can fire before the attempt's own deadline only when `headers` is shorter than the attempt
 * budget: then undici gets `headers`. Otherwise the attempt's deadline always comes first and
 * undici needs no headers timer of its own; it then gets the body timeout when that is at least
 * the attempt budget (so it can never fire first either), because undici re-arms one timer per
 * response when its headers and body timeouts are equal and makes a new one twice per response
 * when they differ; or 0 (no headers timer) when the body timeout is shorter. Each timeout governs
 * its own phase: a short `body` never cuts the wait for the headers.
 */
export function undiciHeadersTimeout(timeout: ResolvedTimeouts): number {
  if (timeout.headers < timeout.attempt) return timeout.headers;
  return timeout.body >= timeout.attempt ? timeout.body : 0;
}

/** The timeout defaults (Microsoft.Extensions.Http.Resilience's standard pipeline; phases below). */
export const TIMEOUT_DEFAULTS: ResolvedTimeouts = Object.freeze({
  total: 30_000,
  attempt: 10_000,
  dns: 2_000,
  connect: 3_000,
  tls: 3_000,
  headers: 10_000,
  body: 30_000,
});

/** The retry defaults. */
export const RETRY_DEFAULTS: Readonly<{
  limit: number;
  statusCodes: readonly number[];
  maxRetryAfter: number;
}> = Object.freeze({
  limit: 2,
  statusCodes: Object.freeze([408, 429, 500, 502, 503, 504]),
  maxRetryAfter: 30_000,
});

/** Connections per origin by default: enough for the bulkhead's share of a busy upstream. */
export const CONNECTIONS_DEFAULT = 256;

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
  'dns',
  'keepAlive',
  'connections',
  'tls',
  'throwHttpErrors',
  'deadlineHeader',
  'clock',
] as const;
const TIMEOUT_KEYS = ['total', 'attempt', 'dns', 'connect', 'tls', 'headers', 'body'] as const;
const CALL_TIMEOUT_KEYS = ['total', 'attempt', 'headers', 'body'] as const;
const RETRY_KEYS = ['limit', 'backoff', 'budget', 'statusCodes', 'maxRetryAfter'] as const;
const TLS_FORBIDDEN = ['socket', 'host', 'port', 'path', 'lookup', 'ALPNProtocols'];
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Validates and resolves the client's options. Throws {@link InvalidOptionError}. */
export function resolveClientOptions(input: unknown): ResolvedClientOptions {
  const o = checkObject(input, '', CLIENT_KEYS);
  const clock = checkClock(o.clock, 'clock');
  const timeout = resolveTimeouts(o.timeout, 'timeout', TIMEOUT_DEFAULTS, TIMEOUT_KEYS);
  const retry = o.retry === false ? false : resolveRetry(o.retry, 'retry', undefined);
  const breaker = o.breaker === false ? false : resolveBreaker(o.breaker, 'breaker');
  const bulkhead = o.bulkhead === false ? false : resolveBulkhead(o.bulkhead, 'bulkhead');
  const keepAlive = resolveKeepAlive(o.keepAlive);
  const connections = checkNumber(o.connections, 'connections', CONNECTIONS_DEFAULT, {
    min: 1,
    integer: true,
  });
  const tls = resolveTls(o.tls);
  const throwHttpErrors = checkBoolean(o.throwHttpErrors, 'throwHttpErrors', false);
  const deadlineHeader =
    o.deadlineHeader === false || o.deadlineHeader === undefined
      ? false
      : checkString(o.deadlineHeader, 'deadlineHeader', '', HEADER_NAME).toLowerCase();
  let dns: DnsCache | false;
  let ownsDns = false;
  if (o.dns === false) dns = false;
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
    breaker,
    bulkhead,
    dns,
    ownsDns,
    keepAlive,
    connections,
    tls,
    deadlineHeader,
    clock,
  });
}

/**
 * Resolves a call's overrides over the client's config. Returns `base` itself when the call
 * overrides nothing (the hot path allocates nothing).
 */
export function resolveCallConfig(init: CallOptions | undefined, base: CallConfig): CallConfig {
  if (init === undefined) return base;
  const { timeout, retry, throwHttpErrors } = init;
  if (timeout === undefined && retry === undefined && throwHttpErrors === undefined) return base;
  return {
    timeout:
      timeout === undefined
        ? base.timeout
        : resolveTimeouts(timeout, 'timeout', base.timeout, CALL_TIMEOUT_KEYS),
    retry:
      retry === undefined
        ? base.retry
        : retry === false
          ? false
          : resolveRetry(retry, 'retry', base.retry === false ? undefined : base.retry),
    throwHttpErrors: checkBoolean(throwHttpErrors, 'throwHttpErrors', base.throwHttpErrors),
  };
}

function resolveTimeouts(
  input: unknown,
  path: string,
  base: ResolvedTimeouts,
  keys: readonly string[],
): ResolvedTimeouts {
  if (typeof input === 'number') {
    const total = checkDuration(input, path, base.total, 1);
    return Object.freeze({ ...base, total, attempt: Math.min(base.attempt, total) });
  }
  const o = checkObject(input, path, keys);
  const total = checkDuration(o.total, `${path}.total`, base.total, 1);
  const attempt = checkDuration(o.attempt, `${path}.attempt`, Math.min(base.attempt, total), 1);
  checkThat(attempt <= total, `${path}.attempt`, `≤ ${path}.total (${total})`, attempt);
  return Object.freeze({
    total,
    attempt,
    dns: checkDuration(o.dns, `${path}.dns`, base.dns, 1),
    connect: checkDuration(o.connect, `${path}.connect`, base.connect, 1),
    tls: checkDuration(o.tls, `${path}.tls`, base.tls, 1),
    headers: checkDuration(o.headers, `${path}.headers`, base.headers, 1),
    body: checkDuration(o.body, `${path}.body`, base.body, 1),
  });
}

function resolveRetry(input: unknown, path: string, base: ResolvedRetry | undefined): ResolvedRetry {
  const o = checkObject(input, path, RETRY_KEYS);
  const limit = checkNumber(o.limit, `${path}.limit`, base?.limit ?? RETRY_DEFAULTS.limit, {
    min: 0,
    max: 100,
    integer: true,
  });
  const backoff =
    o.backoff === undefined && base ? base.backoff : resolveBackoff(o.backoff, `${path}.backoff`);
  const budget =
    o.budget === false
      ? false
      : o.budget === undefined && base
        ? base.budget
        : resolveRetryBudget(o.budget, `${path}.budget`);
  let statusCodes = base?.statusCodes ?? new Set(RETRY_DEFAULTS.statusCodes);
  if (o.statusCodes !== undefined) {
    const codes = o.statusCodes;
    if (!Array.isArray(codes))
      throw new InvalidOptionError(`${path}.statusCodes`, 'an array of HTTP statuses', codes);
    codes.forEach((c, i) => {
      checkNumber(c, `${path}.statusCodes[${i}]`, 0, { min: 100, max: 599, integer: true });
    });
    statusCodes = new Set(codes as number[]);
  }
  const maxRetryAfter = checkDuration(
    o.maxRetryAfter,
    `${path}.maxRetryAfter`,
    base?.maxRetryAfter ?? RETRY_DEFAULTS.maxRetryAfter,
  );
  return Object.freeze({ limit, backoff, budget, statusCodes, maxRetryAfter });
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
