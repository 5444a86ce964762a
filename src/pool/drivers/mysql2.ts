/**
 * `bulwark/mysql2`: a pool factory for mysql2 (MySQL, MariaDB). It takes the `ConnectionOptions`
 * (or URI) you already have and opens promise connections with TCP keepalive on, a connect timeout,
 * host names resolved through an optional `lookup` (mysql2's `stream` option), `ping()` validation,
 * a bounded close, and death reported to the pool. `mysql2` stays an optional peer dependency.
 *
 * @module bulwark/mysql2
 */
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import { InvalidOptionError } from '../../errors/invalid-option-error.ts';
import type { PoolFactory } from '../factory.ts';
import {
  checkDriverConfig,
  connectSocket,
  type DriverOptions,
  driverExports,
  driverTarget,
  endWithin,
  once,
  portOf,
  resolveDriverOptions,
  text,
  urlParts,
} from './shared.ts';

/** The part of `mysql2/promise` the factory uses. */
export interface Mysql2Module {
  /** `mysql2/promise`'s `createConnection`. */
  createConnection(config: ConnectionOptions): Promise<Connection>;
}

/** Options of {@link mysql2Factory}. */
export interface Mysql2FactoryOptions extends DriverOptions {
  /**
   * The `mysql2/promise` module to use, when it should not be imported by name.
   * @default await import('mysql2/promise')
   */
  module?: Mysql2Module;
}

/**
 * A {@link PoolFactory} of `mysql2/promise` connections for `createPool`.
 *
 * Where the configuration leaves them unset, `enableKeepAlive: true`, `keepAliveInitialDelay`
 * (`keepAliveDelay`, 30 s — mysql2's 0 would keep the OS default of two hours) and
 * `connectTimeout` (5 s) are added. Each new connection gets the session's statement limit
 * (`statementTimeout`, 15 s: MariaDB `max_statement_time`, else MySQL `max_execution_time`, which
 * covers SELECTs only), one extra round trip per connect. With `lookup`, the connection runs over a
 * socket that resolves the host with it, unless the configuration brings its own `stream` or a
 * `socketPath`.
 *
 * @throws InvalidOptionError naming `mysql2Factory.config` (or the field) when `config` is neither
 *   a connection URI nor a configuration object, or `mysql2Factory.options.*` for a bad option.
 *
 * @example
 * ```ts
 * import { createPool } from 'bulwark';
 * import { mysql2Factory } from 'bulwark/mysql2';
 *
 * const pool = createPool(mysql2Factory('mysql://app@db:3306/shop'), { max: 20 });
 * const [rows] = await pool.use((db) => db.query('SELECT id FROM orders WHERE id = ?', [id]));
 * ```
 */
export function mysql2Factory(
  config: ConnectionOptions | string,
  options?: Mysql2FactoryOptions,
): PoolFactory<Connection> {
  const checked = checkDriverConfig(config, 'mysql2Factory.config', CONFIG);
  if (typeof checked !== 'string' && typeof checked.uri === 'string') {
    checkDriverConfig(checked.uri, 'mysql2Factory.config.uri', CONFIG);
  }
  const o = resolveDriverOptions(options, 'mysql2Factory.options', ['module']);
  const module = o.raw.module as Mysql2Module | undefined;
  if (module !== undefined && typeof module?.createConnection !== 'function') {
    throw new InvalidOptionError('mysql2Factory.options.module', 'the mysql2/promise module', module);
  }
  const base: ConnectionOptions = typeof config === 'string' ? { uri: config } : { ...config };
  const target = mysqlTarget(base);
  const settings: ConnectionOptions = { ...base };
  settings.enableKeepAlive ??= true;
  settings.keepAliveInitialDelay ??= o.keepAliveDelay;
  settings.connectTimeout ??= o.connectTimeout;
  const lookup = o.lookup;
  if (lookup !== undefined && settings.stream === undefined && settings.socketPath === undefined) {
    // mysql2 calls it with its parsed config (the URI already applied).
    settings.stream = ({ config: c }: { config: { host?: string; port?: number } }) =>
      connectSocket(c.host ?? target.host, c.port ?? target.port, lookup, o.keepAliveDelay);
  }

  const load = once(loadMysql2);
  const limit = statementLimit(o.statementTimeout);
  return {
    target,
    async create(context) {
      const mysql = module ?? (await load());
      const conn = await mysql.createConnection(settings);
      conn.on('error', (err: unknown) => context.lost(err));
      conn.on('end', () => context.lost());
      try {
        await limit?.(conn);
      } catch (err) {
        conn.destroy();
        throw err;
      }
      return conn;
    },
    validate: (conn) => conn.ping(),
    destroy: (conn) =>
      endWithin(
        () => conn.end(),
        () => conn.destroy(),
      ),
  };
}

const CONFIG = Object.freeze({
  expected: 'a connection URI (mysql://user@host:3306/db) or a mysql2 ConnectionOptions object',
  schemes: ['mysql:', 'mariadb:'],
  strings: ['host', 'database', 'user', 'uri', 'socketPath'],
});

/** ER_UNKNOWN_SYSTEM_VARIABLE: the server has no such setting. */
const UNKNOWN_VARIABLE = 1193;

/**
 * Sets the session's statement limit on a new connection: MariaDB's `max_statement_time`
 * (seconds, any statement), else MySQL's `max_execution_time` (milliseconds, SELECT only); a server
 * with neither is left alone. Which one the server knows is remembered after the first connection.
 */
function statementLimit(ms: number): ((conn: Connection) => Promise<void>) | undefined {
  if (ms <= 0) return undefined;
  const variants = [
    `SET SESSION max_statement_time = ${ms / 1_000}`,
    `SET SESSION max_execution_time = ${Math.round(ms)}`,
  ];
  let known = 0; // the first variant the server may know
  return async (conn) => {
    for (let i = known; i < variants.length; i++) {
      try {
        await conn.query(variants[i]!);
        return;
      } catch (err) {
        if ((err as { errno?: unknown }).errno !== UNKNOWN_VARIABLE) throw err;
        known = Math.max(known, i + 1);
      }
    }
  };
}

async function loadMysql2(): Promise<Mysql2Module> {
  return driverExports<Mysql2Module>(await import('mysql2/promise'), 'createConnection');
}

function mysqlTarget(config: ConnectionOptions) {
  const fromUrl = text(config.uri) === undefined ? {} : urlParts(config.uri!);
  const host = fromUrl.host ?? text(config.host) ?? 'localhost';
  const port = fromUrl.port ?? portOf(config.port) ?? 3306;
  return driverTarget('mysql', host, port, fromUrl.database ?? text(config.database));
}
