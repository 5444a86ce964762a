/** pgFactory on a real PostgreSQL (DATABASE_URL) or the embedded PGlite server, with the fault proxy in between. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { classify } from '../../src/errors/classify.ts';
import { pgFactory } from '../../src/pool/drivers/pg.ts';
import { createPool } from '../../src/pool/pool.ts';
import { postgresDatabase } from '../helpers/databases.ts';
import { waitFor } from '../helpers/wait-for.ts';
import {
  type FailureCase,
  itSurvivesTheFailures,
  midStatementKill,
  statementTimeoutKeepsConnection,
} from './failure-scenarios.ts';
import { lookupSpy } from './lookup-spy.ts';
import { keepaliveReplacesDroppedIdle, silentDropIsValidatedAway, within } from './scenarios.ts';

const availability = await postgresDatabase();
const db = availability.kind === 'up' ? availability.db : undefined;
after(() => db?.close());

/** The DATABASE_URL's credentials and database, at another host and port (the proxy's). */
function config(host: string, port: number, extra: pg.ClientConfig = {}): pg.ClientConfig {
  const u = new URL(db!.url);
  return {
    host,
    port,
    user: decodeURIComponent(u.username) || 'postgres',
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    database: u.pathname.slice(1) || 'postgres',
    ...extra,
  };
}

/** The application_name of the proxied pools, to find their backends in pg_stat_activity. */
const APP = `bulwark-pool-test-${randomUUID().slice(0, 8)}`;

const pgCase: FailureCase<pg.Client> = {
  get host() {
    return db!.host;
  },
  get port() {
    return db!.port;
  },
  factory: (host, port) => pgFactory(config(host, port, { application_name: APP })),
  query: (client) => client.query('SELECT 1'),
  slow: (client, seconds) => client.query('SELECT pg_sleep($1)', [seconds]),
  direct: (options) => pgFactory(db!.url, options),
  async statementTimeout(client) {
    const { rows } = await client.query('SHOW statement_timeout');
    const [, n = '0', unit = 'ms'] = /^(\d+)\s*(ms|s|min)?$/.exec(rows[0].statement_timeout) ?? [];
    return Number(n) * ({ ms: 1, s: 1_000, min: 60_000 }[unit] ?? 1);
  },
  isStatementTimeout: (err) => (err as { code?: unknown }).code === '57014',
  statementTimeoutKeepsConnection: true,
};

/** Backends of this process's proxied pools, from pg_stat_activity. */
async function backends(): Promise<number> {
  const admin = new pg.Client(config(db!.host, db!.port));
  await within(admin.connect(), 5_000, 'admin connect');
  try {
    const { rows } = await admin.query(
      'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
      [APP],
    );
    return rows[0].n as number;
  } finally {
    await admin.end();
  }
}

/** Waits (bounded) until pg_stat_activity shows `n` backends of the proxied pools. */
async function settlesAt(n: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const seen = await backends();
    if (seen === n || i === 49) return seen;
    await sleep(100);
  }
  return -1;
}

const realPostgres = db?.embedded
  ? 'the embedded PGlite server has one backend and no pg_stat_activity / statement_timeout semantics'
  : false;

describe('pgFactory', { timeout: 60_000 }, () => {
  if (availability.kind === 'down') {
    it('reaches the PostgreSQL at DATABASE_URL', () => {
      throw availability.error;
    });
    return;
  }

  it('runs queries; an SQL error inside use() releases the connection and reaches the caller untouched', async () => {
    const pool = createPool(pgFactory(db!.url), { max: 2 });
    try {
      const { rows } = await within(
        pool.use((c) => c.query('SELECT 1 + 1 AS two')),
        5_000,
        'query',
      );
      assert.equal(rows[0].two, 2);
      let thrown: unknown;
      const caught = await within(
        pool
          .use(async (c) => {
            try {
              return await c.query('SELECT no_such_column FROM no_such_table');
            } catch (err) {
              thrown = err;
              throw err;
            }
          })
          .catch((e: unknown) => e),
        5_000,
        'failing query',
      );
      assert.equal(caught, thrown, 'the same object');
      assert.equal((caught as { code?: string }).code, '42P01');
      assert.equal(classify(caught).layer, 'app');
      const s = pool.stats();
      assert.equal(s.destroyed, 0, 'an SQL error does not poison the connection');
      assert.equal(s.idle, 1);
      assert.equal(pool.target?.origin, `postgres://${db!.host}:${db!.port}`);
    } finally {
      await within(pool.close(), 10_000, 'close');
    }
  });

  it('resolves the host through the given lookup (Bulwark DNS cache style)', async () => {
    const spy = lookupSpy(db!.host);
    const pool = createPool(pgFactory(config('postgres.bulwark.test', db!.port), { lookup: spy.lookup }));
    try {
      await within(pool.use(pgCase.query), 5_000, 'query');
      assert.deepEqual(spy.names, ['postgres.bulwark.test']);
      assert.equal(pool.target?.host, 'postgres.bulwark.test');
    } finally {
      await within(pool.close(), 10_000, 'close');
    }
  });

  it('silent drop: the next query succeeds within validationTimeout + one connect', async (t) => {
    const took = await silentDropIsValidatedAway(pgCase);
    assert.ok(took < 5_000);
    t.diagnostic(`first query after the drop: ${Math.round(took)} ms`);
  });

  it('keepalive pings find and replace silently dropped idle connections', async () => {
    await keepaliveReplacesDroppedIdle(pgCase);
  });

  it('killed mid-statement under load: every running caller gets a tagged tcp error, the waiting ones are served, the pool returns to min, no backend leaks', {
    skip: realPostgres,
  }, async (t) => {
    const { failed, ok } = await midStatementKill(pgCase, async (pool) => {
      assert.equal(
        await settlesAt(pool.stats().size),
        pool.stats().size,
        'one backend per pooled connection',
      );
    });
    assert.equal(await settlesAt(0), 0, 'close() left no backend behind');
    t.diagnostic(`${failed} tagged failures, ${ok} served after the kill`);
  });

  itSurvivesTheFailures(pgCase, 'database');

  it('statement_timeout (15 s by default) stops a slow statement: 57014 untouched, the connection kept', {
    skip: realPostgres,
  }, async () => {
    await statementTimeoutKeepsConnection(pgCase);
  });

  it('backends terminated under load: no use() hangs, the pool returns to full size, no connection leaks', {
    skip: db?.embedded
      ? 'the embedded PGlite server has one backend and no pg_terminate_backend semantics'
      : false,
  }, async () => {
    const app = `bulwark-pool-test-${randomUUID().slice(0, 8)}`;
    const size = 4;
    const pool = createPool(pgFactory(config(db!.host, db!.port, { application_name: app })), {
      min: size,
      max: size,
      acquireTimeout: 2_000,
      keepaliveInterval: 0,
    });
    const admin = new pg.Client(config(db!.host, db!.port));
    await within(admin.connect(), 5_000, 'admin connect');
    const count = async (): Promise<number> => {
      const { rows } = await admin.query(
        'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
        [app],
      );
      return rows[0].n as number;
    };
    try {
      await within(
        waitFor(() => pool.stats().idle === size, 'a full pool', { timeout: 4_000 }),
        5_000,
        'warm-up',
      );
      let stop = false;
      let ok = 0;
      const failures: unknown[] = [];
      let slowest = 0;
      const worker = async (): Promise<void> => {
        while (!stop) {
          const start = performance.now();
          try {
            await pool.use((c) => c.query('SELECT pg_sleep(0.005)'));
            ok++;
          } catch (err) {
            failures.push(err);
          }
          slowest = Math.max(slowest, performance.now() - start);
        }
      };
      const workers = Array.from({ length: size * 2 }, worker);
      for (let round = 0; round < 3; round++) {
        await sleep(250);
        await admin.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
          [app],
        );
      }
      await sleep(300);
      stop = true;
      await within(Promise.all(workers), 5_000, 'every use() settles');
      assert.ok(
        slowest < 2_000 + 1_000,
        `no use() outlived its deadline (slowest ${Math.round(slowest)} ms)`,
      );
      assert.ok(ok > 0);
      assert.ok(
        pool.stats().created >= size * 2,
        `terminated backends were replaced (${pool.stats().created} created)`,
      );
      for (const err of failures)
        assert.equal(classify(err).layer === 'tcp' || classify(err).layer === 'pool', true, String(err));
      await within(
        waitFor(
          () => pool.stats().size === size && pool.stats().idle === size,
          'the pool back to full size',
          { timeout: 5_000 },
        ),
        6_000,
        'refill',
      );
      // Every connection the pool thinks it has is a live backend, and no other backend is left.
      await within(
        (async () => {
          for (let i = 0; i < 50 && (await count()) !== size; i++) await sleep(100);
        })(),
        6_000,
        'pg_stat_activity settles',
      );
      assert.equal(await count(), size);
    } finally {
      await within(pool.close(), 10_000, 'close');
      await within(
        (async () => {
          for (let i = 0; i < 50 && (await count()) !== 0; i++) await sleep(100);
        })(),
        6_000,
        'backends gone',
      );
      assert.equal(await count(), 0, 'close() left no backend behind');
      await admin.end();
    }
  });
});
