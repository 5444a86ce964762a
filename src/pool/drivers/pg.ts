/**
 * `bulwark/pg`: a pool factory for node-postgres. It takes the `pg.ClientConfig` (or connection
 * string) you already have and opens `pg.Client`s with TCP keepalive on, a connect timeout, host
 * names resolved through an optional `lookup`, `SELECT 1` validation, a bounded close, and death
 * reported to the pool. `pg` stays an optional peer dependency: it is loaded on first connect.
 *
 * @module bulwark/pg
 */
import type { Client, ClientConfig } from 'pg';
import { InvalidOptionError } from '../../errors/invalid-option-error.ts';
import type { PoolFactory } from '../factory.ts';
import {
  checkDriverConfig,
  type DriverOptions,
  driverExports,
  driverTarget,
  endWithin,
  lookupSocket,
  once,
  portOf,
  resolveDriverOptions,
  text,
  urlParts,
} from './shared.ts';

/** The part of the `pg` module the factory uses. */
export interface PgModule {
  /** `pg.Client`. */
  Client: new (
    config?: ClientConfig,
  ) => Client;
}

/**
 * Options of {@link pgFactory}.
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const factory = pgFactory({ host: 'db.internal', database: 'app' }, { module: pg });
 * ```
 */
export interface PgFactoryOptions extends DriverOptions {
  /**
   * The `pg` module to use, when it should not be imported by name (bundlers, a patched copy).
   * @default await import('pg')
   */
  module?: PgModule;
}

/**
 * A {@link PoolFactory} of `pg.Client`s for `createPool`.
 *
 * The configuration is used as given; where it leaves them unset, `keepAlive: true`,
 * `keepAliveInitialDelayMillis` (`keepAliveDelay`, 30 s), `connectionTimeoutMillis`
 * (`connectTimeout`, 5 s) and `statement_timeout` (`statementTimeout`, 15 s) are added. With
 * `lookup`, the client connects through a socket that resolves the host with it (pg's `stream`
 * option), unless the configuration brings its own stream.
 *
 * @throws InvalidOptionError naming `pgFactory.config` (or the field) when `config` is neither a
 *   connection string nor a configuration object, or `pgFactory.options.*` for a bad option.
 *
 * @example
 * ```ts
 * import { createPool, DnsCache } from 'bulwark';
 * import { pgFactory } from 'bulwark/pg';
 *
 * const dns = new DnsCache(); // or client.dns of a Bulwark client
 * const pool = createPool(pgFactory(process.env.DATABASE_URL, { lookup: dns.lookup }), { max: 20 });
 * const { rows } = await pool.use((db) => db.query('SELECT id FROM users WHERE email = $1', [email]));
 * ```
 */
export function pgFactory(config: ClientConfig | string, options?: PgFactoryOptions): PoolFactory<Client> {
  const checked = checkDriverConfig(config, 'pgFactory.config', CONFIG);
  if (typeof checked !== 'string' && typeof checked.connectionString === 'string') {
    checkDriverConfig(checked.connectionString, 'pgFactory.config.connectionString', CONFIG);
  }
  const o = resolveDriverOptions(options, 'pgFactory.options', ['module']);
  const module = o.raw.module as PgModule | undefined;
  if (module !== undefined && typeof module?.Client !== 'function') {
    throw new InvalidOptionError('pgFactory.options.module', 'the pg module (with Client)', module);
  }
  const base: ClientConfig = typeof config === 'string' ? { connectionString: config } : { ...config };

  const settings: ClientConfig = { ...base };
  settings.keepAlive ??= true;
  settings.keepAliveInitialDelayMillis ??= o.keepAliveDelay;
  settings.connectionTimeoutMillis ??= o.connectTimeout;
  // Sent in the startup message: no extra round trip. A connection string's own setting wins (pg
  // lets the parsed string override the fields).
  if (o.statementTimeout > 0) settings.statement_timeout ??= o.statementTimeout;
  const lookup = o.lookup;
  if (lookup !== undefined && settings.stream === undefined) settings.stream = () => lookupSocket(lookup);

  const load = once(loadPg);
  return {
    target: pgTarget(base),
    async create(context) {
      const pg = module ?? (await load());
      const client = new pg.Client(settings);
      client.on('error', (err: unknown) => context.lost(err));
      client.on('end', () => context.lost());
      const abort = (): void => streamOf(client)?.destroy();
      context.signal.addEventListener('abort', abort, { once: true });
      try {
        await client.connect();
      } catch (err) {
        abort();
        throw err;
      } finally {
        context.signal.removeEventListener('abort', abort);
      }
      return client;
    },
    validate: (client) => client.query('SELECT 1'),
    destroy: (client) =>
      endWithin(
        () => client.end(),
        () => streamOf(client)?.destroy(),
      ),
  };
}

const CONFIG = Object.freeze({
  expected: 'a connection string (postgres://user@host:5432/db) or a pg.ClientConfig object',
  schemes: ['postgres:', 'postgresql:', 'socket:'],
  paths: true,
  strings: ['host', 'database', 'user', 'connectionString'],
});

async function loadPg(): Promise<PgModule> {
  return driverExports<PgModule>(await import('pg'), 'Client');
}

function streamOf(client: Client): { destroy(): void } | undefined {
  return (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream;
}

/** Where pg will connect, as pg decides it: the connection string wins over fields, then PG* variables. */
function pgTarget(config: ClientConfig) {
  const fromUrl = text(config.connectionString) === undefined ? {} : urlParts(config.connectionString!);
  const host = fromUrl.host ?? text(config.host) ?? text(process.env.PGHOST) ?? 'localhost';
  const port = fromUrl.port ?? portOf(config.port) ?? portOf(process.env.PGPORT) ?? 5432;
  const database = fromUrl.database ?? text(config.database) ?? text(process.env.PGDATABASE);
  return driverTarget('postgres', host, port, database);
}
