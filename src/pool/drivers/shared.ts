/**
 * What the pg, mysql2 and ioredis factories share: their options (a `lookup` such as Bulwark's DNS
 * cache, a connect timeout, the TCP keepalive delay, the statement timeout), the check of the
 * driver configuration they are given, sockets that resolve through that lookup, a bounded
 * graceful close, and the target (scheme://host:port, never credentials) for errors.
 */
import net from 'node:net';
import type { Target } from '../../errors/bulwark-error.ts';
import { InvalidOptionError } from '../../errors/invalid-option-error.ts';
import { checkDuration, checkFunction, checkObject } from '../../options/validate.ts';

/** A resolver with the `dns.lookup` signature, e.g. a Bulwark `DnsCache`'s `lookup`. */
export type LookupFunction = net.LookupFunction;

/**
 * Options every driver factory accepts (all optional).
 *
 * @example
 * ```ts
 * pgFactory(url, { lookup: dns.lookup, connectTimeout: 2_000, keepAliveDelay: 15_000 });
 * ```
 */
export interface DriverOptions {
  /**
   * Resolves the database host name instead of `dns.lookup` (pass Bulwark's DNS cache `lookup`).
   * @default dns.lookup
   */
  lookup?: LookupFunction;
  /**
   * The driver's own connect timeout (TCP + TLS + authentication), in milliseconds. Used unless the
   * driver configuration sets one.
   * @default 5000
   */
  connectTimeout?: number;
  /**
   * TCP keepalive on every socket, starting after this long idle, below the common 60 s NAT and
   * load-balancer eviction. Used unless the driver configuration sets one.
   * @default 30000
   */
  keepAliveDelay?: number;
  /**
   * The database's own limit for one statement or command, set on every connection unless the
   * driver configuration sets one: PostgreSQL `statement_timeout` (the server cancels the statement:
   * SQLSTATE 57014), MariaDB `max_statement_time` / MySQL `max_execution_time` (set per session
   * after connecting), ioredis `commandTimeout` (the client rejects `Command timed out`). A
   * statement it stops comes back as the driver's own error and the connection is kept. It is below
   * the pool's `useTimeout` (30 s) so that one slow statement on a live connection is stopped by
   * the database first; the pool's deadline bounds the whole use, and is the only one that fires
   * when the connection is dead (see docs/pool.md). `0` leaves the database's own setting.
   * @default 15000
   */
  statementTimeout?: number;
}

/** Driver options after validation. */
export interface ResolvedDriverOptions {
  readonly lookup: LookupFunction | undefined;
  readonly connectTimeout: number;
  readonly keepAliveDelay: number;
  /** 0: leave the database's own setting. */
  readonly statementTimeout: number;
}

/** The default of {@link DriverOptions.statementTimeout}. */
export const STATEMENT_TIMEOUT = 15_000;

/** Validates driver options; `path` names the factory in errors (`pgFactory.options`). */
export function resolveDriverOptions(
  input: unknown,
  path: string,
  extra: readonly string[] = [],
): ResolvedDriverOptions & { readonly raw: Record<string, unknown> } {
  const keys = ['lookup', 'connectTimeout', 'keepAliveDelay', 'statementTimeout', ...extra];
  const o = checkObject(input, path, keys);
  return {
    lookup: checkFunction<LookupFunction>(o.lookup, `${path}.lookup`),
    connectTimeout: checkDuration(o.connectTimeout, `${path}.connectTimeout`, 5_000, 1),
    keepAliveDelay: checkDuration(o.keepAliveDelay, `${path}.keepAliveDelay`, 30_000),
    statementTimeout: checkDuration(o.statementTimeout, `${path}.statementTimeout`, STATEMENT_TIMEOUT),
    raw: o,
  };
}

/** What a driver factory's `config` argument may hold, for {@link checkDriverConfig}. */
export interface ConfigShape {
  /** What the argument is, for the message: `a connection string (postgres://...) or a pg.ClientConfig`. */
  readonly expected: string;
  /** URL schemes a connection string may have (`postgres:`); a string starting with `/` is a socket path when `paths`. */
  readonly schemes: readonly string[];
  readonly paths?: boolean;
  /** Fields of the object form that must be non-empty strings when present. */
  readonly strings: readonly string[];
}

/**
 * Checks a driver factory's `config` argument — a connection string or a configuration object —
 * so that `pgFactory(42)` fails at once, naming the argument, instead of connecting later to the
 * driver's defaults. Returns the object form's fields, or the string.
 */
export function checkDriverConfig(
  config: unknown,
  path: string,
  shape: ConfigShape,
): string | Record<string, unknown> {
  if (typeof config === 'string') {
    const ok =
      (shape.paths === true && config.startsWith('/')) ||
      shape.schemes.some((scheme) => config.toLowerCase().startsWith(scheme) && URL.canParse(config));
    if (!ok) throw new InvalidOptionError(path, shape.expected, config);
    return config;
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw new InvalidOptionError(path, shape.expected, config);
  }
  const fields = config as Record<string, unknown>;
  for (const key of shape.strings) {
    const value = fields[key];
    if (value !== undefined && value !== null && (typeof value !== 'string' || value === '')) {
      throw new InvalidOptionError(`${path}.${key}`, 'a non-empty string', value);
    }
  }
  const port = fields.port;
  if (port !== undefined && port !== null && portOf(port) === undefined) {
    throw new InvalidOptionError(`${path}.port`, 'a port number (1–65535)', port);
  }
  return fields;
}

/**
 * An unconnected socket whose `connect(port, host)` resolves `host` with `lookup` (for drivers that
 * create the socket and then call `connect(port, host)` themselves, like pg).
 */
export function lookupSocket(lookup: LookupFunction): net.Socket {
  const socket = new net.Socket();
  const connect = socket.connect;
  Object.defineProperty(socket, 'connect', {
    configurable: true,
    writable: true,
    value(this: net.Socket, ...args: unknown[]): net.Socket {
      const [port, host] = args;
      if (typeof port === 'number' || (typeof port === 'string' && /^\d+$/.test(port))) {
        const options: net.TcpNetConnectOpts = {
          port: Number(port),
          host: typeof host === 'string' ? host : 'localhost',
          lookup,
        };
        return (connect as (o: net.TcpNetConnectOpts) => net.Socket).call(this, options);
      }
      return (connect as (...a: unknown[]) => net.Socket).apply(this, args); // a Unix socket path
    },
  });
  return socket;
}

/** A connecting TCP socket to `host:port` through `lookup`, no-delay, with keepalive once connected. */
export function connectSocket(
  host: string,
  port: number,
  lookup: LookupFunction,
  keepAliveDelay: number,
): net.Socket {
  const socket = net.connect({ host, port, lookup, noDelay: true });
  socket.once('connect', () => socket.setKeepAlive(true, keepAliveDelay));
  return socket;
}

/**
 * Closes gracefully but waits at most `ms` (a silently dropped connection never acknowledges a
 * goodbye), then forces the socket shut.
 */
export async function endWithin(graceful: () => unknown, force: () => void, ms = 1_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve()
        .then(graceful)
        .catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, ms);
        timer.unref();
      }),
    ]);
  } finally {
    clearTimeout(timer);
    try {
      force();
    } catch {
      // already closed
    }
  }
}

/** The target of a driver configuration: `scheme://host:port` without user-info, and the database. */
export function driverTarget(scheme: string, host: string, port: number, database?: string): Target {
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return Object.freeze({
    origin: `${scheme}://${shown}:${port}`,
    host,
    port,
    ...(database === undefined || database === '' ? {} : { database }),
  });
}

/** Host, port and database (the path) from a connection URL (`undefined` parts when absent or unparsable). */
export function urlParts(url: string): { host?: string; port?: number; database?: string } {
  try {
    const u = new URL(url);
    const host = decodeURIComponent(u.hostname.replace(/^\[(.*)\]$/, '$1'));
    // Only a URL with a host has a database path (not `socket:/var/run/postgresql`).
    const database = u.host === '' ? '' : decodeURIComponent(u.pathname.slice(1));
    return {
      ...(host === '' ? {} : { host }),
      ...(u.port === '' ? {} : { port: Number(u.port) }),
      ...(database === '' ? {} : { database }),
    };
  } catch {
    return {};
  }
}

/** `value` when it is a non-empty string, else `undefined`. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `value` as a port number when it is one, else `undefined`. */
export function portOf(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65_536 ? n : undefined;
}

/** `load` called once, on first use; a failed load is retried on the next use. */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (pending === undefined) {
      pending = load();
      pending.catch(() => {
        pending = undefined;
      });
    }
    return pending;
  };
}

/**
 * The exports of a driver imported with `import()`: the module itself when `key` is among its
 * named exports (ESM), otherwise its CommonJS `default`.
 */
export function driverExports<T extends object>(mod: unknown, key: keyof T): T {
  const m = mod as T & { default?: T };
  return typeof m[key] === 'function' ? m : m.default!;
}
