/**
 * The three PostgreSQL pools the fault bench compares, each set up as a careful user would, with
 * the same size and the same 2 s acquire deadline, behind one interface: one request is "acquire,
 * SELECT 1, give back" and records when it got its connection, when it ended and how. Each counts
 * its connect attempts (Bulwark's stats, a counting `pg.Client` for pg.Pool — its documented
 * `Client` option — and the factory's calls for generic-pool).
 */
import genericPool from 'generic-pool';
import pg from 'pg';
import { pgFactory } from '../../src/pool/drivers/pg.ts';
import { createPool } from '../../src/pool/pool.ts';

/** One request's outcome. Times are `performance.now()` ms. */
export interface RequestRecord {
  readonly start: number;
  /** When the connection was in hand (undefined when the acquire failed). */
  acquired?: number;
  end: number;
  /** Undefined on success. */
  error?: unknown;
}

/** A pool under test. */
export interface Contender {
  readonly name: string;
  /** One request: acquire, `SELECT 1`, give back (destroy after a failed query). Never rejects. */
  request(): Promise<RequestRecord>;
  /** Connections open now (idle + borrowed). */
  size(): number;
  /** Connect attempts so far. */
  attempts(): number;
  close(): Promise<void>;
}

/** The settings every contender gets. */
export interface ContenderSettings {
  /** Where to connect (the fault proxy in front of PostgreSQL). */
  readonly config: pg.ClientConfig;
  readonly min: number;
  readonly max: number;
  readonly acquireTimeout: number;
}

export type ContenderName = 'bulwark' | 'pg.Pool' | 'generic-pool';

export const CONTENDERS: readonly ContenderName[] = Object.freeze(['bulwark', 'pg.Pool', 'generic-pool']);

/** Runs `body(record)`, timing it; errors are kept on the record. */
async function timed(body: (record: RequestRecord) => Promise<void>): Promise<RequestRecord> {
  const record: RequestRecord = { start: performance.now(), end: 0 };
  try {
    await body(record);
  } catch (err) {
    record.error = err;
  }
  record.end = performance.now();
  return record;
}

/** Bulwark with its defaults: `createPool(pgFactory(config))`. */
function bulwark(s: ContenderSettings): Contender {
  const pool = createPool(pgFactory(s.config), { min: s.min, max: s.max, acquireTimeout: s.acquireTimeout });
  return {
    name: 'bulwark',
    request: () =>
      timed((record) =>
        pool.use((client) => {
          record.acquired = performance.now();
          return client.query('SELECT 1').then(() => {});
        }),
      ),
    size: () => pool.stats().size,
    attempts: () => pool.stats().createAttempts,
    close: () => pool.close({ timeout: 2_000 }),
  };
}

/** node-postgres's own pool, `connectionTimeoutMillis` as the acquire deadline. */
function pgPool(s: ContenderSettings): Contender {
  let attempts = 0;
  class CountingClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super(config);
      // A checked-out client's socket error is the borrower's to handle (pg.Pool's docs); the
      // failed query reports it, and release(err) destroys the client.
      this.on('error', () => {});
    }
    override connect(...args: unknown[]): never {
      attempts++;
      return (super.connect as (...a: unknown[]) => never)(...args);
    }
  }
  const pool = new pg.Pool({
    ...s.config,
    min: s.min,
    max: s.max,
    connectionTimeoutMillis: s.acquireTimeout,
    Client: CountingClient,
  });
  pool.on('error', () => {}); // an idle client's socket died: pg.Pool drops it
  return {
    name: 'pg.Pool',
    request: () =>
      timed(async (record) => {
        const client = await pool.connect();
        record.acquired = performance.now();
        try {
          await client.query('SELECT 1');
          client.release();
        } catch (err) {
          client.release(err as Error); // destroys it
          throw err;
        }
      }),
    size: () => pool.totalCount,
    attempts: () => attempts,
    close: () => pool.end(),
  };
}

/**
 * generic-pool as its README sets it up, made as safe as it allows: validate on borrow (else a
 * dead connection is handed out), an acquire deadline, the pg client's `error` event handled.
 */
function rawGenericPool(s: ContenderSettings): Contender {
  let attempts = 0;
  const pool = genericPool.createPool<pg.Client>(
    {
      async create() {
        attempts++;
        const client = new pg.Client(s.config);
        client.on('error', () => {});
        await client.connect();
        return client;
      },
      destroy: (client) => client.end().catch(() => {}),
      validate: (client) =>
        client.query('SELECT 1').then(
          () => true,
          () => false,
        ),
    },
    { min: s.min, max: s.max, acquireTimeoutMillis: s.acquireTimeout, testOnBorrow: true },
  );
  return {
    name: 'generic-pool',
    request: () =>
      timed(async (record) => {
        const client = await pool.acquire();
        record.acquired = performance.now();
        try {
          await client.query('SELECT 1');
          await pool.release(client);
        } catch (err) {
          await pool.destroy(client);
          throw err;
        }
      }),
    size: () => pool.size,
    attempts: () => attempts,
    async close() {
      await pool.drain();
      await pool.clear();
    },
  };
}

/** A new contender of that name. */
export function contender(name: ContenderName, settings: ContenderSettings): Contender {
  switch (name) {
    case 'bulwark':
      return bulwark(settings);
    case 'pg.Pool':
      return pgPool(settings);
    case 'generic-pool':
      return rawGenericPool(settings);
  }
}
