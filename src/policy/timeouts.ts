/**
 * The timeout budgets' options: the total budget of a call, each attempt's, and each phase's
 * (DNS, TCP connect, TLS, response headers, the pause between body chunks), with their defaults
 * and their validation. The deadline scheduler (deadline-scheduler.ts) and the transports apply
 * them.
 */
import { checkDuration, checkObject, checkThat } from '../options/validate.ts';

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

/** Keys of the client's `timeout` option. */
export const TIMEOUT_KEYS = ['total', 'attempt', 'dns', 'connect', 'tls', 'headers', 'body'] as const;
/** Keys a call may override (the connect phases are the client's: they belong to its connections). */
export const CALL_TIMEOUT_KEYS = ['total', 'attempt', 'headers', 'body'] as const;

/**
 * Validates timeouts given as an object of `keys` (or a number: the total) over `base`. Throws
 * `InvalidOptionError` naming the option's path.
 */
export function resolveTimeouts(
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
