/**
 * The retry budget shared by a fleet over Redis. Two clients stand for two processes, each with its
 * own Redis connection and fleet; one is busy, the other makes a call now and then. During an
 * outage the busy one's retries all fail; through Redis the quiet one learns it and makes no retry
 * of its own, although its local tokens are full. When Redis goes away each budget is local again
 * at once (one 'fallback' event, stats().budgetFleet false).
 *
 *   REDIS_URL=redis://127.0.0.1:6379 node examples/fleet-budget.ts
 */
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, createFleet, redisFleetStore } from 'bulwark';
import { Redis } from 'ioredis';

let served = 0;
let healthy = true;
const server = createServer((_req, res) => {
  served++;
  res.statusCode = healthy ? 200 : 503;
  res.end(healthy ? 'ok' : 'down');
}).listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
const origin = url.slice(0, -1);

// A short command timeout and no offline queue: a Redis that is down fails the sync at once.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const process_ = (name: string) => {
  const redis = new Redis(redisUrl, {
    commandTimeout: 100,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
  });
  const fleet = createFleet({ store: redisFleetStore(redis, { prefix: `bulwark:example:${process.pid}:` }) });
  fleet.on('fallback', () => console.log(`${name}: fleet unavailable, local retry budget only`));
  const client = createClient({ breaker: false, retry: { backoff: { base: 5, cap: 5 }, budget: { fleet } } });
  return { name, redis, fleet, client };
};
const busy = process_('busy');
const quiet = process_('quiet');
await Promise.all([busy.redis, quiet.redis].map((r) => new Promise((resolve) => r.once('ready', resolve))));

async function attempts(p: ReturnType<typeof process_>): Promise<number> {
  const res = await p.client.request(url);
  await res.body.dump();
  return res.attempts;
}

try {
  // Each process has called the upstream before (its origin's budget is in the fleet's syncs).
  await attempts(busy);
  await attempts(quiet);
  while (!quiet.fleet.stats().active) await sleep(10);
  healthy = false;
  // The busy process calls the failing upstream for a second: its retries fail, the fleet learns it.
  const until = performance.now() + 1_000;
  while (performance.now() < until) {
    await attempts(busy);
    await sleep(2);
  }
  const before = served;
  const quietAttempts: number[] = [];
  for (let i = 0; i < 5; i++) {
    quietAttempts.push(await attempts(quiet));
    await attempts(busy);
  }
  const s = quiet.client.stats()[origin];
  console.log(
    `quiet process, 5 calls during the outage: attempts ${quietAttempts.join(', ')}; budget tokens ${s?.budgetLevel?.toFixed(1)}, fleet ${s?.budgetFleet}`,
  );
  console.log(`the upstream saw ${served - before} requests for those 10 calls`);

  // Redis goes away for the quiet process: its local budget decides again, at once.
  quiet.redis.disconnect();
  while (quiet.fleet.stats().active) await sleep(10);
  console.log(`quiet process without Redis: ${await attempts(quiet)} attempts (its local tokens)`);
} finally {
  for (const p of [busy, quiet]) {
    await p.client.close();
    p.fleet.close();
    p.redis.disconnect();
  }
  server.close();
}
