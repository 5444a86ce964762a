/**
 * A MariaDB / MySQL pool: SQL errors come back untouched and keep the connection; the session's
 * statement limit (statementTimeout) stops a slow statement; a connection killed by the server
 * reaches the caller as a tagged BulwarkError and is replaced.
 *
 *   MYSQL_URL=mysql://root@127.0.0.1:3306/test node examples/mysql-pool.ts
 */
import { classify, createPool, isBulwarkError } from 'bulwark';
import { mysql2Factory } from 'bulwark/mysql2';

const url = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const pool = createPool(mysql2Factory(url, { statementTimeout: 500 }), { name: 'example-shop', max: 4 });

try {
  const [rows] = await pool.use((db) => db.query('SELECT 6 * 7 AS answer'));
  console.log('answer:', (rows as Array<{ answer: number }>)[0]!.answer);

  const sql = await pool.use((db) => db.query('SELECT * FROM no_such_table')).catch((e: unknown) => e);
  console.log('SQL error:', (sql as { code?: string }).code, '— layer:', classify(sql).layer);

  // MariaDB's max_statement_time (MySQL: max_execution_time) stops it; the connection stays.
  const slow = await pool.use((db) => db.query('SELECT SLEEP(2)')).catch((e: unknown) => e);
  console.log('statement limit:', (slow as { errno?: number }).errno, (slow as Error).message);

  // The server kills this connection mid-statement: a tagged error, and the pool opens another.
  const killed = await pool.use((db) => db.query('KILL CONNECTION_ID()')).catch((e: unknown) => e);
  if (isBulwarkError(killed)) console.log('killed:', killed.layer, killed.code, killed.target);
  else console.log('killed: untouched', String(killed));
  console.log(
    'after the kill:',
    await pool.use(async (db) => (await db.query('SELECT 1 AS ok'))[0]),
    pool.stats(),
  );
} catch (err) {
  if (isBulwarkError(err)) console.error(err.code, '← caused by', classify(err.cause).layer, err.toJSON());
  else console.error(err);
  process.exitCode = 1;
} finally {
  await pool.close();
}
