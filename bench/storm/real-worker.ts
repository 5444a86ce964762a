/**
 * One process of a real-socket fleet (real-workers.ts): the clients whose index it was given,
 * each a real `createClient()`, calling the storm upstream at the scheduled offsets from a start
 * time the parent chose; with a fleet strategy, its own Redis connection and `Fleet`, as a real
 * service process would have. It sends back every call's start, end and outcome.
 */
import { Redis } from 'ioredis';
import { type BulwarkClient, createClient } from '../../src/client/client.ts';
import { createFleet, type Fleet, redisFleetStore } from '../../src/policy/fleet.ts';
import type { Scenario } from './scenario.ts';
import { fleetOptions, pickStrategies } from './strategies.ts';

/** What the parent sends a worker. */
export interface WorkerTask {
  readonly scenario: Scenario;
  readonly strategy: string;
  readonly url: string;
  /** Arrival offsets (ms from `start`) and the client index of each. */
  readonly times: number[];
  readonly clients: number[];
  /** Epoch milliseconds of offset 0. */
  readonly start: number;
  /** Redis for a fleet strategy, and the prefix of this run's keys. */
  readonly redis?: string;
  readonly prefix?: string;
}

/** What a worker sends back. */
export interface WorkerReport {
  readonly starts: number[];
  readonly ends: number[];
  readonly ok: boolean[];
  readonly late: number;
  readonly maxLateness: number;
  readonly fleet: { readonly syncs: number; readonly failures: number; readonly restoredAt: number[] } | null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

process.once('message', async (message) => {
  const task = message as WorkerTask;
  const strategy = pickStrategies([task.strategy])[0]!;
  let redis: Redis | undefined;
  let fleet: Fleet | undefined;
  const restoredAt: number[] = [];
  const epochNow = (): number => performance.timeOrigin + performance.now();
  if (strategy.fleet !== undefined) {
    // The configuration docs/fleet.md recommends: fail fast, reconnect soon.
    redis = new Redis(task.redis!, {
      commandTimeout: 100,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => 50,
    });
    redis.on('error', () => {});
    await new Promise((resolve) => redis!.once('ready', resolve));
    fleet = createFleet({ store: redisFleetStore(redis, { prefix: task.prefix! }), key: () => 'upstream' });
    fleet.on('fallback', () => {});
    fleet.on('restored', () => restoredAt.push(epochNow() - task.start));
  }
  const options = fleet === undefined ? strategy.options : fleetOptions(strategy, fleet);
  const clients = new Map<number, BulwarkClient>();
  for (const i of task.clients) if (!clients.has(i)) clients.set(i, createClient(options));
  const starts: number[] = [];
  const ends: number[] = [];
  const ok: boolean[] = [];
  let inFlight = 0;
  let late = 0;
  let maxLateness = 0;
  const now = (): number => epochNow() - task.start;
  const call = (i: number): void => {
    const slot = starts.length;
    const t0 = now();
    starts.push(t0);
    ends.push(Number.NaN);
    ok.push(false);
    inFlight++;
    clients
      .get(i)!
      .request(task.url)
      .then(
        async (res) => {
          await res.body.dump();
          ends[slot] = now();
          ok[slot] = res.statusCode < 300;
        },
        () => {
          ends[slot] = now();
        },
      )
      .finally(() => inFlight--);
  };
  while (now() < 0) await sleep(Math.min(-now(), 20));
  let next = 0;
  while (next < task.times.length) {
    const t = now();
    while (next < task.times.length && task.times[next]! <= t) {
      const lateness = t - task.times[next]!;
      if (lateness > 5) late++;
      if (lateness > maxLateness) maxLateness = lateness;
      call(task.clients[next]!);
      next++;
    }
    const wait = next < task.times.length ? task.times[next]! - now() : 0;
    await sleep(wait >= 1 ? Math.floor(Math.min(wait, 5)) : 0);
  }
  const drainUntil = now() + 60_000;
  while (inFlight > 0 && now() < drainUntil) await sleep(20);
  await Promise.all([...clients.values()].map((c) => c.close()));
  const stats = fleet?.stats();
  fleet?.close();
  redis?.disconnect();
  const report: WorkerReport = {
    starts,
    ends,
    ok,
    late,
    maxLateness,
    fleet: stats === undefined ? null : { syncs: stats.syncs, failures: stats.failures, restoredAt },
  };
  process.send!(report, () => process.exit(0));
});
