/**
 * A pool of ioredis connections. Inside a pool each connection fails fast instead of healing itself
 * (no reconnect, no offline queue): the pool validates with PING, replaces dead connections and
 * reports a down server as POOL_CREATE_FAILED whose cause names the layer.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 node examples/redis.ts
 */
import { classify, createPool, isBulwarkError } from 'bulwark';
import { ioredisFactory } from 'bulwark/ioredis';

const pool = createPool(ioredisFactory(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'), {
  name: 'example-cache',
  max: 4,
  acquireTimeout: 1_000,
});
const key = `bulwark:example:${process.pid}`;

try {
  await pool.use((redis) => redis.set(key, '0', 'EX', 60));
  await Promise.all(Array.from({ length: 50 }, () => pool.use((redis) => redis.incr(key))));
  console.log('counter:', await pool.use((redis) => redis.get(key)));

  // A command error (INCR on text) reaches the caller as is; the connection goes back to the pool.
  await pool.use((redis) => redis.set(key, 'text', 'EX', 60));
  const err = await pool.use((redis) => redis.incr(key)).catch((e: unknown) => e);
  console.log('command error:', (err as Error).message, '— layer:', classify(err).layer);
  await pool.use((redis) => redis.del(key));
  console.log(pool.stats());
} catch (err) {
  if (isBulwarkError(err)) console.error(err.code, '← caused by', classify(err.cause).layer, err.toJSON());
  process.exitCode = 1;
} finally {
  await pool.close();
}
