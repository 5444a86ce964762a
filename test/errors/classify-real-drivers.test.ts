// classify() against what the database drivers really raise (pg, mysql2, ioredis): connection
// failures provoked on loopback with the test bed, and — where a real server answers — SQL and
// command errors (which stay 'app') and connections killed by the server (which are TCP_CLOSED).
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import { Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { type Classification, classify } from '../../src/errors/classify.ts';
import type { CodeOfLayer } from '../../src/errors/codes.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startSilentServer } from '../helpers/raw-server.ts';
import { startUnacceptingListener } from '../helpers/unaccepting-listener.ts';
import { closedPort, failureOf, observe } from './real-failure.ts';

const APP: Classification = {
  layer: 'app',
  code: null,
  retryable: false,
  mayHaveExecuted: true,
  aborted: false,
};
const tcp = (code: CodeOfLayer<'tcp'>, mayHaveExecuted: boolean): Classification => ({
  layer: 'tcp',
  code,
  retryable: true,
  mayHaveExecuted,
});

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port) || defaultPort });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(300, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The server named by `env`, else the local default if it answers; undefined means skip. */
async function realServer(env: string, fallback: string, defaultPort: number): Promise<string | undefined> {
  const fromEnv = process.env[env];
  if (fromEnv) return fromEnv;
  return (await reachable(fallback, defaultPort)) ? fallback : undefined;
}

const PG_URL = await realServer('DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/test', 5432);
const MYSQL_URL = await realServer('MYSQL_URL', 'mysql://root@127.0.0.1:3306/test', 3306);
const REDIS_URL = await realServer('REDIS_URL', 'redis://127.0.0.1:6379', 6379);
const skip = (what: string, env: string, url: string | undefined) =>
  url === undefined ? `no ${what}: set ${env} or start one on its default port` : false;

/** Resolves on 'end' (`events.once` would reject on the 'error' these clients emit first). */
function endOf(emitter: EventEmitter): Promise<void> {
  return new Promise((resolve) => emitter.once('end', () => resolve()));
}

/** A connected pg.Client to the real server, ended after the test; errors it emits are kept. */
async function pgClient(t: TestContext, config: pg.ClientConfig = {}) {
  const client = new pg.Client({ connectionString: PG_URL, ...config });
  const emitted: Error[] = [];
  client.on('error', (err) => emitted.push(err));
  await client.connect();
  t.after(() => client.end().catch(() => {}));
  return { client, emitted };
}

describe('pg', { concurrency: true }, () => {
  test('a refused port: ECONNREFUSED → TCP_REFUSED', async (t) => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: await closedPort(),
      connectionTimeoutMillis: 500,
    });
    const err = observe(t, await failureOf(() => client.connect()));
    assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.deepEqual(classify(err), tcp('TCP_REFUSED', false));
  });

  test('a silent server, pg.Client connectionTimeoutMillis: "timeout expired" → TCP_TIMEOUT', async (t) => {
    const server = cleanup(t, await startSilentServer());
    const client = new pg.Client({ host: '127.0.0.1', port: server.port, connectionTimeoutMillis: 200 });
    const err = observe(t, await failureOf(() => client.connect()));
    assert.equal((err as Error).message, 'timeout expired');
    assert.deepEqual(classify(err), tcp('TCP_TIMEOUT', false));
  });

  test('a silent server, pg.Pool connectionTimeoutMillis: "…due to connection timeout" → TCP_TIMEOUT', async (t) => {
    const server = cleanup(t, await startSilentServer());
    const pool = new pg.Pool({ host: '127.0.0.1', port: server.port, connectionTimeoutMillis: 200 });
    t.after(() => pool.end().catch(() => {}));
    const err = observe(t, await failureOf(() => pool.query('select 1')));
    assert.equal((err as Error).message, 'Connection terminated due to connection timeout');
    assert.deepEqual(classify(err), tcp('TCP_TIMEOUT', false));
  });

  const real = { skip: skip('PostgreSQL', 'DATABASE_URL', PG_URL) };

  test('real server: bad SQL is an application error', real, async (t) => {
    const { client } = await pgClient(t);
    const err = observe(t, await failureOf(() => client.query('selec 1')));
    assert.deepEqual(
      [(err as pg.DatabaseError).code, (err as pg.DatabaseError).severity],
      ['42601', 'ERROR'],
    );
    assert.deepEqual(classify(err), APP);
  });

  test('real server: statement_timeout cancels the query (57014): still the query, app', real, async (t) => {
    const { client } = await pgClient(t, { statement_timeout: 50 });
    const err = observe(t, await failureOf(() => client.query('select pg_sleep(2)')));
    assert.equal((err as pg.DatabaseError).code, '57014');
    assert.deepEqual(classify(err), APP);
  });

  test(
    'real server: query_timeout on the client: "Query read timeout" → TCP_TIMEOUT, may have run',
    real,
    async (t) => {
      const { client } = await pgClient(t, { query_timeout: 50 });
      // The server runs the query to its end (end() waits for it): keep it short.
      const err = observe(t, await failureOf(() => client.query('select pg_sleep(0.3)')));
      assert.equal((err as Error).message, 'Query read timeout');
      assert.deepEqual(classify(err), tcp('TCP_TIMEOUT', true));
    },
  );

  test('real server: pg_terminate_backend from a second connection → TCP_CLOSED', real, async (t) => {
    const { client, emitted } = await pgClient(t);
    const { client: admin } = await pgClient(t);
    const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
    const ended = endOf(client);
    const running = failureOf(() => client.query('select pg_sleep(5)'));
    await new Promise((resolve) => setTimeout(resolve, 50)); // let the query reach the server
    await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);

    const inFlight = observe(t, await running);
    assert.deepEqual(
      [(inFlight as pg.DatabaseError).code, (inFlight as pg.DatabaseError).severity],
      ['57P01', 'FATAL'],
    );
    assert.deepEqual(classify(inFlight), tcp('TCP_CLOSED', true));

    await ended;
    assert.ok(emitted.length > 0, 'the client emits the lost connection');
    for (const err of emitted) {
      observe(t, err);
      assert.deepEqual(classify(err), tcp('TCP_CLOSED', true));
    }
    const next = observe(t, await failureOf(() => client.query('select 1')));
    assert.match((next as Error).message, /not queryable/);
    assert.deepEqual(classify(next), tcp('TCP_CLOSED', false), 'a query on a dead client was never sent');
  });
});

describe('mysql2', { concurrency: true }, () => {
  test('a refused port: ECONNREFUSED → TCP_REFUSED', async (t) => {
    const port = await closedPort();
    const err = observe(t, await failureOf(() => mysql.createConnection({ host: '127.0.0.1', port })));
    assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.deepEqual(classify(err), tcp('TCP_REFUSED', false));
  });

  test('a silent server under connectTimeout: ETIMEDOUT (connect) → TCP_TIMEOUT', async (t) => {
    const server = cleanup(t, await startSilentServer());
    const err = observe(
      t,
      await failureOf(() =>
        mysql.createConnection({ host: '127.0.0.1', port: server.port, connectTimeout: 200 }),
      ),
    );
    assert.deepEqual(
      [(err as NodeJS.ErrnoException).code, (err as NodeJS.ErrnoException).syscall],
      ['ETIMEDOUT', 'connect'],
    );
    assert.deepEqual(classify(err), tcp('TCP_TIMEOUT', false));
  });

  const real = { skip: skip('MySQL/MariaDB', 'MYSQL_URL', MYSQL_URL) };

  async function connection(t: TestContext) {
    const conn = await mysql.createConnection(MYSQL_URL!);
    conn.on('error', () => {}); // a killed connection also emits; the tests read the rejections
    t.after(() => conn.destroy());
    return conn;
  }

  test('real server: bad SQL (ER_PARSE_ERROR) is an application error', real, async (t) => {
    const conn = await connection(t);
    const err = observe(t, await failureOf(() => conn.query('selec 1')));
    assert.equal((err as NodeJS.ErrnoException).code, 'ER_PARSE_ERROR');
    assert.deepEqual(classify(err), APP);
  });

  test(
    'real server: KILL from a second connection → TCP_CLOSED; the next query never ran',
    real,
    async (t) => {
      const conn = await connection(t);
      const admin = await connection(t);
      const [rows] = await conn.query<mysql.RowDataPacket[]>('select connection_id() as id');
      const running = failureOf(() => conn.query('select sleep(5)'));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await admin.query(`kill ${Number(rows[0]!.id)}`);

      const inFlight = observe(t, await running);
      assert.equal((inFlight as NodeJS.ErrnoException).code, 'PROTOCOL_CONNECTION_LOST');
      assert.deepEqual(classify(inFlight), tcp('TCP_CLOSED', true));
      const next = observe(t, await failureOf(() => conn.query('select 1')));
      assert.match((next as Error).message, /closed state/);
      assert.deepEqual(classify(next), tcp('TCP_CLOSED', false));
    },
  );

  test(
    'real server: KILL of its own connection (MariaDB 1927, no code name) → TCP_CLOSED',
    real,
    async (t) => {
      const conn = await connection(t);
      const [rows] = await conn.query<mysql.RowDataPacket[]>('select connection_id() as id, version() as v');
      const err = observe(t, await failureOf(() => conn.query(`kill ${Number(rows[0]!.id)}`)));
      if (!String(rows[0]!.v).includes('MariaDB')) {
        t.skip('MySQL answers its own KILL differently');
        return;
      }
      assert.deepEqual(
        [(err as { errno?: unknown }).errno, (err as Error).message],
        [1927, 'Connection was killed'],
      );
      assert.deepEqual(classify(err), tcp('TCP_CLOSED', true));
    },
  );
});

/**
 * ioredis arms a `disconnectTimeout` timer on disconnect() that only a 'close' of the stream
 * clears — one already closed (refused, killed) keeps the test process alive for 2 s.
 */
const QUICK_DISCONNECT = { disconnectTimeout: 10 } as const;

describe('ioredis', { concurrency: true }, () => {
  /** No retries, no offline queue: every failure surfaces at once. */
  const FAIL_FAST = {
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    ...QUICK_DISCONNECT,
  } as const;

  function redis(t: TestContext, options: { host: string; port: number; connectTimeout?: number }) {
    const client = new Redis({ ...FAIL_FAST, ...options });
    const emitted: Error[] = [];
    client.on('error', (err: Error) => emitted.push(err));
    t.after(() => client.disconnect());
    return { client, emitted };
  }

  test('a refused port: ECONNREFUSED is emitted, commands fail with TCP_CLOSED', async (t) => {
    const { client, emitted } = redis(t, { host: '127.0.0.1', port: await closedPort() });
    const ended = endOf(client);
    // Sent while connecting, with no offline queue: refused before anything was written.
    const early = observe(t, await failureOf(() => client.get('key')));
    assert.match((early as Error).message, /^Stream isn't writeable/);
    assert.deepEqual(classify(early), tcp('TCP_CLOSED', false));

    await ended;
    assert.ok(emitted.length > 0, 'the connect error is emitted');
    for (const err of emitted) {
      observe(t, err);
      assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
      assert.deepEqual(classify(err), tcp('TCP_REFUSED', false));
    }
    // ioredis says the same for commands lost in flight, so the table answers conservatively.
    const late = observe(t, await failureOf(() => client.get('key')));
    assert.equal((late as Error).message, 'Connection is closed.');
    assert.deepEqual(classify(late), tcp('TCP_CLOSED', true));
  });

  test('a connect that hangs, under connectTimeout: ETIMEDOUT (connect) → TCP_TIMEOUT', async (t) => {
    const listener = cleanup(t, await startUnacceptingListener());
    const { client, emitted } = redis(t, { host: '127.0.0.1', port: listener.port, connectTimeout: 200 });
    await endOf(client);
    assert.ok(emitted.length > 0, 'the timeout is emitted');
    for (const err of emitted) {
      observe(t, err);
      assert.deepEqual(
        [(err as NodeJS.ErrnoException).code, (err as NodeJS.ErrnoException).syscall],
        ['ETIMEDOUT', 'connect'],
      );
      assert.deepEqual(classify(err), tcp('TCP_TIMEOUT', false));
    }
  });

  const real = { skip: skip('Redis', 'REDIS_URL', REDIS_URL) };

  test('real server: an unknown command (ReplyError) is an application error', real, async (t) => {
    const client = new Redis(REDIS_URL!, { maxRetriesPerRequest: 0, ...QUICK_DISCONNECT });
    t.after(() => client.disconnect());
    const err = observe(t, await failureOf(() => client.call('no-such-command')));
    assert.equal((err as Error).name, 'ReplyError');
    assert.deepEqual(classify(err), APP);
  });

  test(
    'real server: CLIENT KILL during a command → MaxRetriesPerRequestError → TCP_CLOSED',
    real,
    async (t) => {
      const client = new Redis(REDIS_URL!, { maxRetriesPerRequest: 0, ...QUICK_DISCONNECT });
      const admin = new Redis(REDIS_URL!, QUICK_DISCONNECT);
      client.on('error', () => {});
      t.after(() => {
        client.disconnect();
        admin.disconnect();
      });
      const id = await client.client('ID');
      const running = failureOf(() => client.blpop(`bulwark-test-${process.pid}-${Date.now()}`, 5));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await admin.client('KILL', 'ID', String(id));
      const err = observe(t, await running);
      assert.equal((err as Error).name, 'MaxRetriesPerRequestError');
      assert.deepEqual(classify(err), tcp('TCP_CLOSED', true));
    },
  );
});
