/** Failed creates on a virtual clock: prompt POOL_CREATE_FAILED with the classified cause, jittered backoff instead of a busy loop, the breaker, recovery to min, createTimeout. */
import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { classify } from '../../src/errors/classify.ts';
import type { CreateFailedEvent } from '../../src/pool/events.ts';
import { PoolEvents } from '../../src/pool/events.ts';
import type { PoolOptions } from '../../src/pool/options.ts';
import { createPool, type Pool } from '../../src/pool/pool.ts';
import { type FakeConn, type FakeFactory, fakeFactory, refused, tick } from './fake-factory.ts';

function setup(options: PoolOptions = {}, prepare?: (factory: FakeFactory) => void) {
  const clock = new VirtualClock({ seed: 11 });
  const factory = fakeFactory();
  prepare?.(factory);
  const pool = createPool(factory, {
    clock,
    max: 4,
    acquireTimeout: 2_000,
    target: { host: 'db.internal', port: 5432, origin: 'postgres://db.internal:5432' },
    ...options,
  });
  return { clock, factory, pool };
}

async function closeNow(pool: Pool<FakeConn>, clock: VirtualClock): Promise<void> {
  const closing = pool.close();
  await clock.advance(60_000);
  await closing;
}

/** Acquires once; resolves with the outcome and how long (virtual ms) it took. */
async function timedAcquire(pool: Pool<FakeConn>, clock: VirtualClock) {
  const start = clock.now();
  let outcome: { conn?: FakeConn; error?: unknown; ms?: number } = {};
  void pool.acquire().then(
    (conn) => {
      outcome = { conn, ms: clock.now() - start };
    },
    (error: unknown) => {
      outcome = { error, ms: clock.now() - start };
    },
  );
  await tick();
  return () => outcome;
}

describe('Pool: failed creates', () => {
  it('fails a waiting acquire promptly with POOL_CREATE_FAILED whose cause is the classified connect error', async () => {
    const { clock, factory, pool } = setup();
    factory.fail = refused;
    const events: CreateFailedEvent[] = [];
    pool.on('create-failed', (e) => events.push(e));
    const err = await pool.acquire().catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'POOL_CREATE_FAILED');
    assert.equal(err.layer, 'pool');
    assert.equal(err.target?.host, 'db.internal');
    assert.match(err.message, /pool "postgres:\/\/db\.internal:5432".*TCP_REFUSED/);
    assert.equal(classify(err.cause).layer, 'tcp');
    assert.ok(isBulwarkError(err.cause));
    assert.equal(err.cause.code, 'TCP_REFUSED');
    assert.equal((err.cause.cause as { code?: string }).code, 'ECONNREFUSED', 'the driver error is kept');
    assert.equal(events.length, 1);
    assert.equal(events[0]!.failures, 1);
    assert.equal(events[0]!.circuit, 'closed');
    assert.ok(events[0]!.retryIn >= 0 && events[0]!.retryIn <= 100);
    await closeNow(pool, clock);
  });

  it('keeps an error that is not a network failure (wrong password) as the cause, unwrapped', async () => {
    const { clock, factory, pool } = setup();
    const auth = Object.assign(new Error('password authentication failed for user "app"'), {
      code: '28P01',
      severity: 'FATAL',
    });
    factory.fail = () => auth;
    const err = await pool.acquire().catch((e: unknown) => e);
    assert.ok(isBulwarkError(err) && err.code === 'POOL_CREATE_FAILED');
    assert.equal(err.cause, auth);
    await closeNow(pool, clock);
  });

  it('while the database is down: every acquire fails within its deadline, and creates back off instead of looping', async () => {
    const { clock, factory, pool } = setup({ min: 2 }, (f) => {
      f.fail = refused;
    });
    const results: Array<() => { error?: unknown; ms?: number }> = [];
    for (let t = 0; t < 30_000; t += 20) {
      results.push(await timedAcquire(pool, clock));
      await clock.advance(20);
    }
    await clock.advance(2_000);
    const outcomes = results.map((r) => r());
    assert.equal(outcomes.length, 1_500);
    for (const o of outcomes) {
      assert.ok(isBulwarkError(o.error) && o.error.code === 'POOL_CREATE_FAILED', String(o.error));
      assert.equal(classify(o.error.cause).layer, 'tcp');
      assert.ok(o.ms! <= 2_000, `failed within the deadline (${o.ms} ms)`);
    }
    // Those that arrive while an attempt is due before their deadline wait for it; the rest (and
    // all of them while the breaker is open) fail at once.
    const prompt = outcomes.filter((o) => o.ms === 0).length;
    assert.ok(prompt > 1_300, `most fail at once (${prompt} of 1500)`);
    // Backoff (full jitter, base 100) and the breaker (open after 5, probe every 5 s): ~5 + 6 probes.
    assert.ok(factory.creates >= 6 && factory.creates <= 20, `${factory.creates} connect attempts in 30 s`);
    assert.equal(pool.stats().createAttempts, factory.creates);
    assert.equal(pool.stats().failedCreates, factory.creates);
    assert.equal(pool.stats().circuit, 'open');

    // The database comes back: the next probe refills the pool to min without any caller.
    factory.fail = undefined;
    await clock.advance(10_000);
    assert.equal(pool.stats().size, 2);
    assert.equal(pool.stats().circuit, 'closed');
    const conn = await pool.acquire();
    pool.release(conn);
    await closeNow(pool, clock);
  });

  it('without a breaker, the backoff alone spaces attempts (delays grow with the streak)', async () => {
    const { clock, factory, pool } = setup(
      { min: 1, breaker: false, backoff: { base: 100, cap: 1_000, jitter: 'none' } },
      (f) => {
        f.fail = refused;
      },
    );
    const at: number[] = [0];
    pool.on('create-failed', () => at.push(clock.now()));
    await clock.advance(5_000);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    assert.deepEqual(gaps.slice(0, 6), [0, 100, 200, 400, 800, 1_000]);
    assert.equal(factory.creates, 8, 'at 0, 0.1, 0.3, 0.7, 1.5, 2.5, 3.5 and 4.5 s');
    assert.equal(pool.stats().circuit, 'disabled');
    await closeNow(pool, clock);
  });

  it('an acquire waits for the next attempt when it comes before its deadline, and gets its outcome', async () => {
    const { clock, factory, pool } = setup({
      breaker: false,
      backoff: { base: 400, cap: 400, jitter: 'none' },
    });
    factory.fail = refused;
    await assert.rejects(pool.acquire());
    factory.fail = undefined;
    const waiting = await timedAcquire(pool, clock);
    await clock.advance(400);
    assert.ok(waiting().conn !== undefined, 'served by the attempt 400 ms later');
    assert.equal(waiting().ms, 400);
    pool.release(waiting().conn!);
    await closeNow(pool, clock);
  });

  it('abandons a create that does not settle within createTimeout, and destroys the connection if it arrives later', async () => {
    const { clock, factory, pool } = setup({ createTimeout: 3_000 });
    factory.hang = true;
    const first = await timedAcquire(pool, clock);
    await clock.advance(2_000);
    const o = first();
    assert.ok(
      isBulwarkError(o.error) && o.error.code === 'POOL_ACQUIRE_TIMEOUT',
      'nothing known to be wrong yet',
    );
    await clock.advance(1_000);
    assert.equal(pool.stats().failedCreates, 1);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the fake connects 1 ms after the abort
    assert.deepEqual(factory.destroyedIds, [1], 'the late connection was closed');
    assert.equal(pool.stats().size, 0);
    const second = await timedAcquire(pool, clock);
    await clock.advance(2_000);
    const err = second().error;
    assert.ok(isBulwarkError(err) && err.code === 'POOL_CREATE_FAILED', 'now connects are known to fail');
    assert.ok(isBulwarkError(err.cause) && err.cause.code === 'TCP_TIMEOUT');
    factory.hang = false;
    await closeNow(pool, clock);
  });

  it('close() stops a create loop that is waiting out its backoff', async () => {
    const { clock, factory, pool } = setup(
      { min: 1, breaker: false, backoff: { base: 60_000, cap: 60_000, jitter: 'none' } },
      (f) => {
        f.fail = refused;
      },
    );
    await clock.advance(10);
    assert.equal(factory.creates, 1);
    await pool.close();
    assert.equal(factory.creates, 1);
    assert.equal(pool.stats().creating, 0);
  });
});

describe('Pool: reporting', () => {
  it('publishes to bulwark:pool:* channels when subscribed', async () => {
    const { clock, factory, pool } = setup();
    const seen: unknown[] = [];
    const listener = (message: unknown): void => {
      seen.push(message);
    };
    diagnostics.subscribe('bulwark:pool:create-failed', listener);
    try {
      factory.fail = refused;
      await assert.rejects(pool.acquire());
      assert.equal(seen.length, 1);
      assert.equal((seen[0] as CreateFailedEvent).pool, 'postgres://db.internal:5432');
    } finally {
      diagnostics.unsubscribe('bulwark:pool:create-failed', listener);
    }
    await closeNow(pool, clock);
  });

  it('builds no message when nobody listens or subscribes', () => {
    const events = new PoolEvents();
    let built = 0;
    const build = () => {
      built++;
      return { pool: 'p', heldFor: 1, stack: undefined };
    };
    events.emit('leak', build);
    assert.equal(built, 0);
    const listener = (): void => {};
    events.on('leak', listener);
    events.emit('leak', build);
    assert.equal(built, 1);
    events.off('leak', listener);
    events.emit('leak', build);
    assert.equal(built, 1);
  });
});
