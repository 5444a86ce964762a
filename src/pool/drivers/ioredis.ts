/**
 * `bulwark/ioredis`: a pool factory for ioredis. Inside a pool a broken connection is the pool's to
 * replace, so each `Redis` is made to fail fast instead of healing itself: no reconnect, no offline
 * queue, no resend. It adds TCP keepalive, a connect timeout, host names resolved through an
 * optional `lookup` (an ioredis `Connector`), `PING` validation and a bounded close.
 *
 * @module bulwark/ioredis
 */
import net from 'node:net';
import tls from 'node:tls';
import type { AbstractConnector, Redis, RedisOptions } from 'ioredis';
import { InvalidOptionError } from '../../errors/invalid-option-error.ts';
import type { PoolFactory } from '../factory.ts';
import {
  checkDriverConfig,
  type DriverOptions,
  driverExports,
  driverTarget,
  endWithin,
  type LookupFunction,
  once,
  portOf,
  resolveDriverOptions,
  text,
  urlParts,
} from './shared.ts';

/** The part of the `ioredis` module the factory uses. */
export interface IoredisModule {
  /** The `Redis` class. */
  Redis: new (
    options: RedisOptions,
  ) => Redis;
  /** The base class of connectors, for the `lookup` connector. */
  AbstractConnector: abstract new (
    disconnectTimeout: number,
  ) => AbstractConnector;
}

/** Options of {@link ioredisFactory}. */
export interface IoredisFactoryOptions extends DriverOptions {
  /**
   * The `ioredis` module to use, when it should not be imported by name.
   * @default await import('ioredis')
   */
  module?: IoredisModule;
}

/** Set on every connection whatever the configuration says: failures must reach the pool. */
const FAIL_FAST = Object.freeze({
  lazyConnect: true,
  enableOfflineQueue: false,
  retryStrategy: () => null,
  reconnectOnError: null,
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  autoResubscribe: false,
} satisfies RedisOptions);

/**
 * A {@link PoolFactory} of ioredis connections for `createPool`.
 *
 * Where the configuration leaves them unset, `keepAlive` (`keepAliveDelay`, 30 s), `connectTimeout`
 * (5 s) and `commandTimeout` (`statementTimeout`, 15 s: ioredis rejects a command with no answer by
 * then, and the pool validates that connection before its next hand-out; raise it for blocking
 * commands such as `BLPOP`) are added. `lazyConnect`, `enableOfflineQueue: false`, no
 * `retryStrategy`, no `reconnectOnError`, `maxRetriesPerRequest: 0` and no resend are always set.
 * With `lookup`, a `Connector` resolves the host with it (not for `path` or a custom `Connector`).
 *
 * @throws InvalidOptionError naming `ioredisFactory.config` (or the field) when `config` is neither
 *   a redis:// URL nor an options object, or `ioredisFactory.options.*` for a bad option.
 *
 * @example
 * ```ts
 * import { createPool } from 'bulwark';
 * import { ioredisFactory } from 'bulwark/ioredis';
 *
 * const pool = createPool(ioredisFactory('redis://cache:6379/0'), { max: 8 });
 * const hits = await pool.use((redis) => redis.incr('hits'));
 * ```
 */
export function ioredisFactory(
  config: RedisOptions | string,
  options?: IoredisFactoryOptions,
): PoolFactory<Redis> {
  checkDriverConfig(config, 'ioredisFactory.config', CONFIG);
  const o = resolveDriverOptions(options, 'ioredisFactory.options', ['module']);
  const module = o.raw.module as IoredisModule | undefined;
  if (module !== undefined && typeof module?.Redis !== 'function') {
    throw new InvalidOptionError('ioredisFactory.options.module', 'the ioredis module (with Redis)', module);
  }
  const base: RedisOptions = typeof config === 'string' ? fromUrl(config) : { ...config };
  const settings: RedisOptions = { ...base, ...FAIL_FAST };
  settings.keepAlive ??= o.keepAliveDelay;
  settings.connectTimeout ??= o.connectTimeout;
  if (o.statementTimeout > 0) settings.commandTimeout ??= o.statementTimeout;

  const load = once(loadIoredis);
  return {
    target: driverTarget(
      base.tls ? 'rediss' : 'redis',
      base.host ?? 'localhost',
      portOf(base.port) ?? 6379,
      base.db === undefined ? undefined : String(base.db),
    ),
    async create(context) {
      const mod = module ?? (await load());
      const lookup = o.lookup;
      const withConnector =
        lookup !== undefined && settings.Connector === undefined && settings.path == null
          ? { ...settings, Connector: lookupConnector(mod.AbstractConnector, lookup) }
          : settings;
      const redis = new mod.Redis(withConnector);
      redis.on('error', (err: unknown) => context.lost(err));
      redis.on('end', () => context.lost());
      const abort = (): void => redis.disconnect();
      context.signal.addEventListener('abort', abort, { once: true });
      try {
        await redis.connect();
      } catch (err) {
        redis.disconnect();
        throw err;
      } finally {
        context.signal.removeEventListener('abort', abort);
      }
      return redis;
    },
    validate: (redis) => redis.ping(),
    destroy: (redis) =>
      endWithin(
        () => redis.quit(),
        () => redis.disconnect(),
      ),
  };
}

const CONFIG = Object.freeze({
  expected: 'a redis:// or rediss:// URL or an ioredis RedisOptions object',
  schemes: ['redis:', 'rediss:'],
  strings: ['host', 'path', 'username', 'password'],
});

async function loadIoredis(): Promise<IoredisModule> {
  return driverExports<IoredisModule>(await import('ioredis'), 'Redis');
}

/** `redis://user:pass@host:port/db` into options (what `new Redis(url)` would parse). */
function fromUrl(url: string): RedisOptions {
  const { host, port } = urlParts(url);
  const options: RedisOptions = {};
  if (host !== undefined) options.host = host;
  if (port !== undefined) options.port = port;
  try {
    const u = new URL(url);
    const username = text(decodeURIComponent(u.username));
    const password = text(decodeURIComponent(u.password));
    if (username !== undefined) options.username = username;
    if (password !== undefined) options.password = password;
    const db = u.pathname.slice(1);
    if (/^\d+$/.test(db)) options.db = Number(db);
    if (u.protocol === 'rediss:') options.tls = {};
  } catch {
    throw new InvalidOptionError('ioredisFactory.config', 'a redis:// or rediss:// URL', url);
  }
  return options;
}

/** An ioredis Connector that connects (TCP or TLS) resolving the host with `lookup`. */
function lookupConnector(
  Base: IoredisModule['AbstractConnector'],
  lookup: LookupFunction,
): NonNullable<RedisOptions['Connector']> {
  abstract class Connector extends Base {}
  return class LookupConnector extends (Connector as unknown as new (
    disconnectTimeout: number,
  ) => {
    connecting: boolean;
    stream: net.Socket | tls.TLSSocket | undefined;
    firstError?: Error;
  }) {
    readonly #options: RedisOptions;
    constructor(options: RedisOptions) {
      super(options.disconnectTimeout ?? 2_000);
      this.#options = options;
    }
    connect(): Promise<net.Socket | tls.TLSSocket> {
      this.connecting = true;
      const { host = 'localhost', port = 6379, family, tls: secure } = this.#options;
      return new Promise((resolve, reject) => {
        process.nextTick(() => {
          if (!this.connecting) {
            reject(new Error('Connection is closed.'));
            return;
          }
          try {
            const where = { host, port, lookup, ...(family === undefined ? {} : { family }) };
            this.stream = secure ? tls.connect({ ...where, ...secure, lookup }) : net.createConnection(where);
          } catch (err) {
            reject(err);
            return;
          }
          this.stream.once('error', (err: Error) => {
            this.firstError = err;
          });
          resolve(this.stream);
        });
      });
    }
  } as unknown as NonNullable<RedisOptions['Connector']>;
}
