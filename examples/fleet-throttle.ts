/**
 * Adaptive throttling shared by a fleet over Redis. Two clients stand for two processes, each with
 * its own Redis connection and fleet; one is busy, the other makes a call now and then. When the
 * upstream fails, the busy one's failures reach the quiet one through Redis, so the quiet one
 * refuses locally too (CIRCUIT_THROTTLED) instead of spending its first calls on a dead upstream;
 * when it heals, traffic comes back within a second, with no reset timeout.
 *
 *   REDIS_URL=redis://127.0.0.1:6379 node examples/fleet-throttle.ts
 */
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, createFleet, isBulwarkError, redisFleetStore } from 'bulwark';
import { Redis } from 'ioredis';

let healthy = true;
const server = createServer((_req, res) => {
  res.statusCode = healthy ? 200 : 503;
  res.end(healthy ? 'ok' : 'down');
}).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

// A short command timeout and no offline queue: a Redis that is down fails the sync at once, and
// the throttles decide on their own counts until it answers again.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const process_ = (name: string) => {
  const redis = new Redis(redisUrl, {
    commandTimeout: 100,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  });
  const fleet = createFleet({ store: redisFleetStore(redis, { prefix: `bulwark:example:${process.pid}:` }) });
  fleet.on('fallback', (err) => console.log(`${name}: fleet unavailable, local counts only (${err})`));
  const client = createClient({ retry: false, breaker: false, throttle: { fleet } });
  return { name, redis, fleet, client };
};
const busy = process_('busy');
const quiet = process_('quiet');
await Promise.all([busy.redis, quiet.redis].map((r) => new Promise((resolve) => r.once('ready', resolve))));

async function call(p: ReturnType<typeof process_>): Promise<string> {
  try {
    const res = await p.client.request(url);
    await res.body.dump();
    return String(res.statusCode);
  } catch (err) {
    return isBulwarkError(err) ? err.code : String(err);
  }
}

try {
  // Each process has called the upstream before (its origin's throttle is in the fleet's syncs).
  console.log('before the outage:', await call(busy), await call(quiet));
  healthy = false;
  // The busy process meets the outage: 300 calls over 600 ms.
  for (let i = 0; i < 300; i++) {
    await call(busy);
    await sleep(2);
  }
  const counts: Record<string, number> = {};
  for (let i = 0; i < 20; i++) {
    const outcome = await call(quiet);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
  }
  console.log('quiet process during the outage, 20 calls:', counts);
  console.log('quiet process throttle:', quiet.client.stats()[url.slice(0, -1)]?.throttle);

  healthy = true;
  const healedAt = performance.now();
  let ok = 0;
  while (ok < 50) {
    if ((await call(busy)) === '200') ok++;
    await sleep(2);
  }
  console.log(`busy process: 50 successes ${Math.round(performance.now() - healedAt)} ms after the heal`);
} finally {
  for (const p of [busy, quiet]) {
    await p.client.close();
    p.fleet.close();
    p.redis.disconnect();
  }
  server.close();
}
