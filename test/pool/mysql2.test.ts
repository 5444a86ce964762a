/** mysql2Factory on a real MariaDB / MySQL (MYSQL_URL, or 127.0.0.1:3306 when it answers), with the fault proxy in between. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Connection, ConnectionOptions } from 'mysql2/promise';
import { classify } from '../../src/errors/classify.ts';
import { mysql2Factory } from '../../src/pool/drivers/mysql2.ts';
import { createPool } from '../../src/pool/pool.ts';
import { mysqlDatabase } from '../helpers/databases.ts';
import {
  type FailureCase,
  itSurvivesTheFailures,
  midStatementKill,
  statementTimeoutKeepsConnection,
} from './failure-scenarios.ts';
import { lookupSpy } from './lookup-spy.ts';
import { silentDropIsValidatedAway, within } from './scenarios.ts';

const availability = await mysqlDatabase();
const db = availability.kind === 'up' ? availability.db : undefined;

function config(host: string, port: number): ConnectionOptions {
  const u = new URL(db!.url);
  return {
    host,
    port,
    user: decodeURIComponent(u.username) || 'root',
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    database: u.pathname.slice(1) || 'test',
  };
}

const mysqlCase: FailureCase<Connection> = {
  get host() {
    return db!.host;
  },
  get port() {
    return db!.port;
  },
  factory: (host, port) => mysql2Factory(config(host, port)),
  query: (conn) => conn.query('SELECT 1'),
  slow: (conn, seconds) => conn.query('SELECT SLEEP(?)', [seconds]),
  direct: (options) => mysql2Factory(db!.url, options),
  async statementTimeout(conn) {
    try {
      const [rows] = await conn.query('SELECT @@max_statement_time AS t'); // MariaDB: seconds
      return Number((rows as Array<{ t: unknown }>)[0]!.t) * 1_000;
    } catch {
      const [rows] = await conn.query('SELECT @@max_execution_time AS t'); // MySQL: ms
      return Number((rows as Array<{ t: unknown }>)[0]!.t);
    }
  },
  // MariaDB ER_STATEMENT_TIMEOUT (1969), MySQL ER_QUERY_TIMEOUT (3024)
  isStatementTimeout: (err) => [1969, 3024].includes((err as { errno?: number }).errno ?? 0),
  statementTimeoutKeepsConnection: true,
};

describe('mysql2Factory', {
  timeout: 60_000,
  skip: availability.kind === 'skip' ? availability.reason : false,
}, () => {
  if (availability.kind === 'down') {
    it('reaches the server at MYSQL_URL', () => {
      throw availability.error;
    });
    return;
  }

  it('runs queries; an SQL error inside use() releases the connection and reaches the caller untouched', async () => {
    const pool = createPool(mysql2Factory(db!.url), { max: 2 });
    try {
      const [rows] = await within(
        pool.use((c) => c.query('SELECT 1 + 1 AS two')),
        5_000,
        'query',
      );
      assert.equal((rows as Array<{ two: number }>)[0]!.two, 2);
      let thrown: unknown;
      const caught = await within(
        pool
          .use(async (c) => {
            try {
              return await c.query('SELECT * FROM no_such_table');
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
      assert.equal((caught as { code?: string }).code, 'ER_NO_SUCH_TABLE');
      assert.equal(classify(caught).layer, 'app');
      assert.equal(pool.stats().destroyed, 0);
      assert.equal(pool.stats().idle, 1);
      assert.equal(pool.target?.origin, `mysql://${db!.host}:${db!.port}`);
    } finally {
      await within(pool.close(), 10_000, 'close');
    }
  });

  it('resolves the host through the given lookup', async () => {
    const spy = lookupSpy(db!.host);
    const pool = createPool(mysql2Factory(config('mysql.bulwark.test', db!.port), { lookup: spy.lookup }));
    try {
      await within(pool.use(mysqlCase.query), 5_000, 'query');
      assert.deepEqual(spy.names, ['mysql.bulwark.test']);
    } finally {
      await within(pool.close(), 10_000, 'close');
    }
  });

  it('silent drop: the next query succeeds within validationTimeout + one connect', async (t) => {
    const took = await silentDropIsValidatedAway(mysqlCase);
    assert.ok(took < 5_000);
    t.diagnostic(`first query after the drop: ${Math.round(took)} ms`);
  });

  it('killed mid-statement under load: every running caller gets a tagged tcp error, the waiting ones are served, the pool returns to min', async (t) => {
    const { failed, ok } = await midStatementKill(mysqlCase);
    t.diagnostic(`${failed} tagged failures, ${ok} served after the kill`);
  });

  itSurvivesTheFailures(mysqlCase, 'database');

  it("max_statement_time (15 s by default) stops a slow statement: the driver's error untouched, the connection kept", async () => {
    await statementTimeoutKeepsConnection(mysqlCase);
  });
});
