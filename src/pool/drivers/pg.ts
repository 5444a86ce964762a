/**
 * `bulwark/pg`: a pool factory for node-postgres. It takes the `pg.ClientConfig` (or connection
 * string) you already have and opens `pg.Client`s with TCP keepalive on, a connect timeout, host
 * names resolved through an optional `lookup`, `SELECT 1` validation, a bounded close, and death
 * reported to the pool. `pg` stays an optional peer dependency: it is loaded on first connect.
 */
import type { Client, ClientConfig } from 'pg';
import { InvalidOptionError } from '../../errors/invalid-option-error.ts';
import type { PoolFactory } from '../factory.ts';
import {
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
 * `keepAliveInitialDelayMillis` (`keepAliveDelay`, 30 s) and `connectionTimeoutMillis`
 * (`connectTimeout`, 5 s) are added. With `lookup`, the client connects through a socket that
 * resolves the host with it (pg's `stream` option), unless the configuration brings its own stream.
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
  return driverTarget('postgres', host, port);
}
