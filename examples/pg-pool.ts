/**
 * A PostgreSQL pool that survives what production networks do to connections: idle validation with
 * a timeout, keepalive pings, a jittered maximum lifetime, a database blip waited out (and
 * POOL_CREATE_FAILED by the deadline when it lasts), and host names resolved through Bulwark's DNS
 * cache (which honours the record's TTL). examples/pool-failures.ts shows the failures.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node examples/pg-pool.ts
 */
import { classify, createPool, DnsCache, isBulwarkError } from 'bulwark';
import { pgFactory } from 'bulwark/pg';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const dns = new DnsCache();
const pool = createPool(pgFactory(url, { lookup: dns.lookup }), {
  name: 'example-db',
  min: 2,
  max: 10,
  acquireTimeout: 2_000,
});
pool.on('create-failed', ({ error, retryIn }) => console.warn('create failed', error.toJSON(), { retryIn }));
pool.on('validation-failed', ({ phase, reason }) =>
  console.warn('dropped a dead connection', { phase, reason }),
);

try {
  const { rows } = await pool.use((db) => db.query('SELECT 6 * 7 AS answer'));
  console.log('answer:', rows[0].answer);

  // An SQL error is the caller's business: it comes back untouched and the connection stays.
  try {
    await pool.use((db) => db.query('SELECT * FROM no_such_table'));
  } catch (err) {
    console.log('SQL error:', (err as { code?: string }).code, '— layer:', classify(err).layer);
  }

  // Many callers share the pool; each use() releases for you (or destroys a connection that broke).
  const counts = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      pool.use(async (db) => (await db.query('SELECT $1::int AS i', [i])).rows[0].i),
    ),
  );
  console.log('20 queries done:', counts.length, pool.stats());
} catch (err) {
  // The pool's own failures name the layer that broke: a POOL_CREATE_FAILED's cause is tcp/dns/tls.
  if (isBulwarkError(err)) console.error(err.code, '← caused by', classify(err.cause).layer, err.toJSON());
  process.exitCode = 1;
} finally {
  await pool.close();
  await dns.close();
}
