/**
 * What a PostgreSQL pool does when things fail: a connection killed mid-statement reaches the
 * caller as a tagged BulwarkError and is replaced; another service's error inside use() keeps the
 * database connection; a use that runs past its deadline ends with TCP_TIMEOUT; the database's own
 * statement timeout stops a slow statement and keeps the connection; a bad configuration fails at
 * once; and a health check names the layer that broke.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node examples/pool-failures.ts
 */
import { createClient, createPool, healthCheck, isBulwarkError, poolCheck } from 'bulwark';
import { pgFactory } from 'bulwark/pg';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const pool = createPool(pgFactory(url, { statementTimeout: 1_000 }), { max: 4, useTimeout: 3_000 });
const client = createClient({ retry: false });

const show = (what: string, err: unknown): void => {
  if (isBulwarkError(err))
    console.log(`${what}:`, err.layer, err.code, {
      mayHaveExecuted: err.mayHaveExecuted,
      target: err.target,
    });
  else console.log(`${what}: untouched`, (err as { code?: string }).code ?? String(err));
};

try {
  // 1. The server ends the connection during the statement (an admin ran pg_terminate_backend).
  const killed = await pool
    .use((db) => db.query('SELECT pg_terminate_backend(pg_backend_pid())'))
    .catch((e: unknown) => e);
  show('killed mid-statement', killed); // tcp TCP_CLOSED, the driver's error as cause
  console.log('  destroyed:', pool.stats().destroyed);

  // 2. Another service refuses connections inside use(): its error, and the database connection stays.
  await pool.use((db) => db.query('SELECT 1'));
  const created = pool.stats().created;
  const other = await pool
    .use(async (db) => {
      await db.query('SELECT 1');
      await client.request('http://127.0.0.1:9/charge'); // nothing listens on the discard port
    })
    .catch((e: unknown) => e);
  show("another service's failure", other);
  console.log('  reconnects:', pool.stats().created - created);

  // 3. The database's statement timeout (1 s here) stops a slow statement; the connection is kept.
  const slow = await pool.use((db) => db.query('SELECT pg_sleep(2)')).catch((e: unknown) => e);
  show('statement timeout', slow); // 57014, untouched

  // 4. A use longer than its deadline (per call here) ends with TCP_TIMEOUT; the connection is closed.
  const stuck = await pool
    .use((db) => db.query('SET statement_timeout = 0; SELECT pg_sleep(2)'), { useTimeout: 300 })
    .catch((e: unknown) => e);
  show('use deadline', stuck);
  console.log('  uses timed out:', pool.stats().usesTimedOut);

  // 5. Bad configuration fails when the factory is made, not at the first connect.
  try {
    pgFactory(42 as never);
  } catch (err) {
    console.log('bad config:', (err as Error).message);
  }

  // 6. A health check over a pool whose database refuses connections names the layer that broke.
  const nowhere = createPool(pgFactory('postgres://app@127.0.0.1:9/app'));
  const report = await healthCheck({ db: poolCheck(nowhere) }, { timeout: 500 });
  console.log('health:', report.checks.db);
  await nowhere.close();
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await pool.close();
  await client.close();
}
