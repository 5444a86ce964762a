/** ioredisFactory on a real Redis (REDIS_URL, or 127.0.0.1:6379 when it answers), with the fault proxy in between. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Redis, RedisOptions } from 'ioredis';
import { classify } from '../../src/errors/classify.ts';
import { ioredisFactory } from '../../src/pool/drivers/ioredis.ts';
import { createPool } from '../../src/pool/pool.ts';
import { redisDatabase } from '../helpers/databases.ts';
import {
  type FailureCase,
  itSurvivesTheFailures,
  midStatementKill,
  statementTimeoutKeepsConnection,
} from './failure-scenarios.ts';
import { lookupSpy } from './lookup-spy.ts';
import { silentDropIsValidatedAway, within } from './scenarios.ts';

const availability = await redisDatabase();
const db = availability.kind === 'up' ? availability.db : undefined;

function config(host: string, port: number): RedisOptions {
  const u = new URL(db!.url);
  const database = u.pathname.slice(1);
  return {
    host,
    port,
    ...(u.password === '' ? {} : { password: decodeURIComponent(u.password) }),
    ...(/^\d+$/.test(database) ? { db: Number(database) } : {}),
  };
}

const redisCase: FailureCase<Redis> = {
  get host() {
    return db!.host;
  },
  get port() {
    return db!.port;
  },
  factory: (host, port) => ioredisFactory(config(host, port)),
  query: (redis) => redis.ping(),
  slow: (redis, seconds) => redis.blpop(`bulwark:pool-test:empty:${process.pid}`, seconds),
  direct: (options) => ioredisFactory(db!.url, options),
  statementTimeout: async (redis) => redis.options.commandTimeout ?? 0,
  isStatementTimeout: (err) => (err as Error).message === 'Command timed out',
  statementTimeoutKeepsConnection: false,
};

describe('ioredisFactory', {
  timeout: 60_000,
  skip: availability.kind === 'skip' ? availability.reason : false,
}, () => {
  if (availability.kind === 'down') {
    it('reaches the server at REDIS_URL', () => {
      throw availability.error;
    });
    return;
  }

  it('runs commands; a command error inside use() releases the connection and reaches the caller untouched', async () => {
    const pool = createPool(ioredisFactory(db!.url), { max: 2 });
    const key = `bulwark:pool-test:${process.pid}`;
    try {
      await within(
        pool.use((r) => r.set(key, 'text', 'EX', 60)),
        5_000,
        'set',
      );
      let thrown: unknown;
      const caught = await within(
        pool
          .use(async (r) => {
            try {
              return await r.incr(key); // WRONGTYPE-ish: not an integer
            } catch (err) {
              thrown = err;
              throw err;
            }
          })
          .catch((e: unknown) => e),
        5_000,
        'failing command',
      );
      assert.equal(caught, thrown, 'the same object');
      assert.equal((caught as Error).name, 'ReplyError');
      assert.equal(classify(caught).layer, 'app');
      assert.equal(pool.stats().destroyed, 0);
      assert.equal(pool.stats().idle, 1);
      await within(
        pool.use((r) => r.del(key)),
        5_000,
        'del',
      );
      assert.equal(pool.target?.origin, `redis://${db!.host}:${db!.port}`);
    } finally {
      await within(pool.close(), 10_000, 'close');
    }
  });

  it('resolves the host through the given lookup (an ioredis Connector)', async () => {
    const spy = lookupSpy(db!.host);
    const pool = createPool(ioredisFactory(config('redis.bulwark.test', db!.port), { lookup: spy.lookup }));
    try {
      assert.equal(await within(pool.use(redisCase.query), 5_000, 'ping'), 'PONG');
      assert.deepEqual(spy.names, ['redis.bulwark.test']);
    } finally {
      await within(pool.close(), 10_000, 'close');
    }
  });

  it('silent drop: the next command succeeds within validationTimeout + one connect', async (t) => {
    const took = await silentDropIsValidatedAway(redisCase);
    assert.ok(took < 5_000);
    t.diagnostic(`first query after the drop: ${Math.round(took)} ms`);
  });

  it('killed mid-statement under load: every running caller gets a tagged tcp error, the waiting ones are served, the pool returns to min', async (t) => {
    const { failed, ok } = await midStatementKill(redisCase);
    t.diagnostic(`${failed} tagged failures, ${ok} served after the kill`);
  });

  itSurvivesTheFailures(redisCase, 'server');

  it("commandTimeout (15 s by default) stops a command with no answer: the driver's error untouched, the connection checked and replaced", async () => {
    await statementTimeoutKeepsConnection(redisCase);
  });
});
