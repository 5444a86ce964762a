// A second process of the fleet (fleet.test.ts): its own Redis connection and Fleet, one origin's
// throttle fed with failures only — or, with the argument `budget`, one origin's retry budget asked
// for retries that never succeed — synced until the parent says stop. Prints "synced" after its
// first good sync.
import { Redis } from 'ioredis';
import { systemClock } from '../../src/clock/clock.ts';
import { createFleet, redisFleetStore } from '../../src/policy/fleet.ts';
import { RetryBudget, resolveRetryBudget } from '../../src/policy/retry-budget.ts';
import { resolveThrottle, Throttle } from '../../src/policy/throttle.ts';

const [url, prefix, mode] = process.argv.slice(2) as [string, string, string | undefined];
const redis = new Redis(url, { enableOfflineQueue: false, commandTimeout: 500, maxRetriesPerRequest: 0 });
const fleet = createFleet({ store: redisFleetStore(redis, { prefix }), period: 50 });
const throttle = new Throttle(resolveThrottle({}), systemClock, {
  origin: 'http://upstream.test',
  host: 'upstream.test',
  port: 80,
});
const budget = new RetryBudget(resolveRetryBudget({ reserve: 1e9 }), systemClock);
if (mode === 'budget') fleet.attachBudget('http://upstream.test', budget);
else fleet.attach('http://upstream.test', throttle);
const failing = setInterval(() => {
  for (let i = 0; i < 20; i++) {
    if (mode === 'budget') budget.withdraw();
    else throttle.settled(systemClock.now(), false);
  }
}, 10);
let said = false;
const watch = setInterval(() => {
  if (!said && fleet.stats().syncs > 0) {
    said = true;
    process.stdout.write('synced\n');
  }
}, 10);
process.stdin.resume();
process.stdin.on('end', () => {
  clearInterval(failing);
  clearInterval(watch);
  fleet.close();
  redis.disconnect();
});
