/**
 * Ready-made health checks: `httpCheck` (one request through a Bulwark client) and `poolCheck`
 * (acquire, validate, release through a pool's `use`). Both give their own timeouts the check's
 * budget, so a check that runs out of time is reported with the layer where it did.
 */
import type { BulwarkClient } from '../client/client.ts';
import { BulwarkError } from '../errors/bulwark-error.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import type { RequestOptions } from '../http/request.ts';
import { checkObject, checkThat } from '../options/validate.ts';
import type { HealthCheckFn } from './options.ts';

/**
 * Options of {@link httpCheck}.
 *
 * @example
 * ```ts
 * const checks = { search: httpCheck(client, 'http://search.internal/health', { method: 'HEAD' }) };
 * ```
 */
export interface HttpCheckOptions {
  /**
   * The request method.
   * @default 'GET'
   */
  method?: string;
  /** Request headers (an `Authorization` for a protected endpoint, say). */
  headers?: Record<string, string>;
}

/** What {@link httpCheck} needs of a client: `request`, as a Bulwark client has it. */
export type HealthCheckClient = Pick<BulwarkClient, 'request'>;

/**
 * A check that sends one request through `client` and is up on a 2xx or 3xx. Another status is
 * down with `layer: 'http', code: 'HTTP_STATUS'`; a failure to get a response is down with the
 * client's layer and code (`DNS_NOT_FOUND`, `TCP_REFUSED`, `CIRCUIT_OPEN`, ...). The request gets
 * the check's budget as its total timeout and no retries: a health check reports the state of now
 * and must not add retry load to a dependency that is struggling.
 *
 * @throws InvalidOptionError (synchronously) for a URL that is not http(s) or a bad option.
 * @example
 * ```ts
 * const report = await healthCheck({ search: httpCheck(client, 'http://search.internal/health') });
 * ```
 */
export function httpCheck(
  client: HealthCheckClient,
  url: string | URL,
  options?: HttpCheckOptions,
): HealthCheckFn {
  checkThat(
    typeof client === 'object' && client !== null && typeof client.request === 'function',
    'client',
    'a Bulwark client (an object with request())',
    client,
  );
  const target = parseUrl(url);
  const o = checkObject(options, 'options', ['method', 'headers']);
  checkThat(o.method === undefined || typeof o.method === 'string', 'options.method', 'a string', o.method);
  checkThat(
    o.headers === undefined ||
      (typeof o.headers === 'object' && o.headers !== null && !Array.isArray(o.headers)),
    'options.headers',
    'an object of header values',
    o.headers,
  );
  const method = (o.method as string | undefined) ?? 'GET';
  const base: RequestOptions = {
    method,
    retry: false,
    throwHttpErrors: false,
    ...(o.headers === undefined ? {} : { headers: { ...(o.headers as Record<string, string>) } }),
  };
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  return async (_signal, { timeout }) => {
    // The client's own deadline (not the signal) ends the call, so its error names the layer.
    const res = await client.request(target, { ...base, timeout: { total: timeout } });
    await res.body.dump().catch(() => {});
    if (res.statusCode >= 400) {
      throw new BulwarkError({
        layer: 'http',
        code: 'HTTP_STATUS',
        status: res.statusCode,
        message: `HTTP_STATUS: ${method} ${target.origin}${target.pathname} answered ${res.statusCode}`,
        target: { origin: target.origin, host: target.hostname, port },
        request: { method, path: target.pathname },
        retryable: false,
      });
    }
  };
}

/**
 * What {@link poolCheck} needs of a pool: `use(fn, { timeout, useTimeout })`, which acquires a
 * connection, runs `fn` with it and releases it (or destroys it when the connection broke), as
 * Bulwark's pool does.
 */
export interface HealthCheckPool<C> {
  /**
   * Acquires a connection (within `options.timeout` ms), runs `fn` with it (for at most
   * `options.useTimeout` ms) and releases it.
   */
  use<R>(
    fn: (conn: C) => R | PromiseLike<R>,
    options?: { timeout?: number; useTimeout?: number },
  ): Promise<R>;
}

/**
 * A check that borrows a connection from `pool`, runs `validate` on it (when given) and gives it
 * back. Up when a connection could be acquired and `validate` neither failed nor returned `false`
 * (which is reported as `POOL_VALIDATION_FAILED`).
 * The acquire and the use each get the check's budget as their timeout, so an exhausted pool is
 * reported as `POOL_ACQUIRE_TIMEOUT` (layer `pool`), a database that cannot be reached by the
 * connect's own layer and code (`tcp`/`TCP_REFUSED`, with `via: { layer: 'pool', code:
 * 'POOL_CREATE_FAILED' }`), and a `validate` that hangs ends with its connection destroyed.
 *
 * @example
 * ```ts
 * const db = poolCheck(pool, (conn, signal) => conn.query({ text: 'SELECT 1', signal }));
 * http.createServer(readyHandler({ db })).listen(8080);
 * ```
 */
export function poolCheck<C>(
  pool: HealthCheckPool<C>,
  validate?: (conn: C, signal: AbortSignal) => unknown,
): HealthCheckFn {
  checkThat(
    typeof pool === 'object' && pool !== null && typeof pool.use === 'function',
    'pool',
    'a pool (an object with use())',
    pool,
  );
  checkThat(validate === undefined || typeof validate === 'function', 'validate', 'a function', validate);
  return (signal, { timeout }) =>
    pool.use(
      async (conn) => {
        if (validate !== undefined && (await validate(conn, signal)) === false) {
          throw new BulwarkError({
            layer: 'pool',
            code: 'POOL_VALIDATION_FAILED',
            message: "POOL_VALIDATION_FAILED: the health check's validate() returned false",
          });
        }
      },
      { timeout, useTimeout: timeout },
    );
}

function parseUrl(url: string | URL): URL {
  let parsed: URL;
  try {
    parsed = url instanceof URL ? url : new URL(String(url));
  } catch {
    throw new InvalidOptionError('url', 'an absolute http: or https: URL', url);
  }
  checkThat(
    parsed.protocol === 'http:' || parsed.protocol === 'https:',
    'url',
    'an http: or https: URL',
    url,
  );
  return parsed;
}
