/** The pool's borrowing state machine on an in-memory factory and a virtual clock: deadlines, the bounded queue, aborts, use(), close(). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import type { PoolOptions } from '../../src/pool/options.ts';
import { createPool, type Pool } from '../../src/pool/pool.ts';
import { type FakeConn, fakeFactory, tick } from './fake-factory.ts';

function setup(options: PoolOptions = {}) {
  const clock = new VirtualClock();
  const factory = fakeFactory();
  const pool = createPool(factory, { clock, max: 2, acquireTimeout: 1_000, ...options });
  return { clock, factory, pool };
}

const code = (err: unknown): string | undefined => (isBulwarkError(err) ? err.code : undefined);

async function settled<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown } | 'pending'> {
  let state: { value?: T; error?: unknown } | 'pending' = 'pending';
  promise.then(
    (value) => {
      state = { value };
    },
    (error: unknown) => {
      state = { error };
    },
  );
  await tick();
  return state;
}

async function closeNow(pool: Pool<FakeConn>, clock: VirtualClock): Promise<void> {
  const closing = pool.close();
  await clock.advance(60_000);
  await closing;
}

describe('Pool: acquire and release', () => {
  it('creates on demand up to max, reuses the most recently released connection, and counts', async () => {
    const { clock, factory, pool } = setup();
    const a = await pool.acquire();
    const b = await pool.acquire();
    assert.notEqual(a, b);
    assert.equal(factory.creates, 2);
    pool.release(a);
    pool.release(b);
    assert.equal(await pool.acquire(), b, 'LIFO: the hot connection goes out first');
    const s = pool.stats();
    assert.equal(s.size, 2);
    assert.equal(s.idle, 1);
    assert.equal(s.borrowed, 1);
    assert.equal(s.created, 2);
    assert.equal(s.waiting, 0);
    pool.release(b);
    await closeNow(pool, clock);
    assert.deepEqual(factory.destroyedIds.sort(), [1, 2]);
  });

  it('fails with POOL_ACQUIRE_TIMEOUT at the deadline when every connection is borrowed, and leaves the queue', async () => {
    const { clock, pool } = setup({ max: 1 });
    const a = await pool.acquire();
    const late = pool.acquire();
    const next = pool.acquire({ timeout: 5_000 });
    await clock.advance(999);
    assert.equal(await settled(late), 'pending');
    await clock.advance(1);
    const outcome = await settled(late);
    assert.ok(outcome !== 'pending');
    assert.equal(code(outcome.error), 'POOL_ACQUIRE_TIMEOUT');
    assert.equal((outcome.error as { layer: string }).layer, 'pool');
    assert.equal(pool.stats().timedOut, 1);
    assert.equal(pool.stats().waiting, 1);
    pool.release(a);
    assert.equal(await next, a, 'the release goes to the live waiter, not the one that timed out');
    pool.release(a);
    await closeNow(pool, clock);
  });

  it('sheds load with POOL_QUEUE_FULL past maxWaiting, at once', async () => {
    const { clock, pool } = setup({ max: 1, maxWaiting: 2 });
    const a = await pool.acquire();
    const waiting = [pool.acquire(), pool.acquire()];
    const shed = await pool.acquire().then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.equal(code(shed), 'POOL_QUEUE_FULL');
    assert.equal(pool.stats().rejected, 1);
    pool.release(a);
    pool.release(await waiting[0]!);
    pool.release(await waiting[1]!);
    await closeNow(pool, clock);
  });

  it('maxWaiting 0 never waits for a release, but still creates while the pool can grow', async () => {
    const { clock, pool } = setup({ max: 1, maxWaiting: 0 });
    const a = await pool.acquire();
    await assert.rejects(pool.acquire(), (err) => code(err) === 'POOL_QUEUE_FULL');
    pool.release(a);
    await closeNow(pool, clock);
  });

  it('an aborted acquire rejects with the signal reason, and the connection it would have got is not lost', async () => {
    const { clock, pool } = setup({ max: 1 });
    const a = await pool.acquire();
    const controller = new AbortController();
    const aborted = pool.acquire({ signal: controller.signal });
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await assert.rejects(aborted, (err) => err === reason);
    assert.equal(pool.stats().waiting, 0);
    pool.release(a);
    assert.equal(pool.stats().idle, 1, 'back in the pool, not handed to the aborted waiter');
    assert.equal(await pool.acquire(), a);
    pool.release(a);
    const already = AbortSignal.abort(new Error('already'));
    await assert.rejects(pool.acquire({ signal: already }), /already/);
    await closeNow(pool, clock);
  });

  it('an abort racing a hand-out puts the connection back', async () => {
    const { clock, pool } = setup({ max: 1 });
    const a = await pool.acquire();
    pool.release(a);
    const controller = new AbortController();
    const racing = pool.acquire({ signal: controller.signal }); // granted, resolution pending
    controller.abort(new Error('late abort'));
    await assert.rejects(racing, /late abort/);
    assert.equal(pool.stats().idle, 1);
    assert.equal(pool.stats().borrowed, 0);
    await closeNow(pool, clock);
  });

  it('release() of a connection that is not borrowed is a TypeError', async () => {
    const { clock, pool } = setup();
    const a = await pool.acquire();
    pool.release(a);
    assert.throws(() => pool.release(a), TypeError);
    assert.throws(() => pool.destroy({} as FakeConn), /not borrowed from pool "pool"/);
    await closeNow(pool, clock);
  });
});

describe('Pool: use()', () => {
  it('runs a sync fn and releases', async () => {
    const { clock, pool } = setup();
    assert.equal(await pool.use((conn) => conn.id * 10), 10);
    assert.equal(pool.stats().idle, 1);
    await closeNow(pool, clock);
  });

  it('a sync fn that throws: the same error object, the connection released', async () => {
    const { clock, factory, pool } = setup();
    const boom = new RangeError('bad input');
    const err = await pool
      .use(() => {
        throw boom;
      })
      .catch((e: unknown) => e);
    assert.equal(err, boom);
    assert.equal(pool.stats().idle, 1);
    assert.equal(factory.destroyedIds.length, 0);
    await closeNow(pool, clock);
  });

  it('tolerates fn releasing the connection itself', async () => {
    const { clock, pool } = setup();
    await pool.use((conn) => pool.release(conn));
    assert.equal(pool.stats().idle, 1);
    assert.equal(pool.stats().borrowed, 0);
    await closeNow(pool, clock);
  });
});

describe('Pool: close()', () => {
  it('lets running uses finish, fails waiters with POOL_CLOSED, creates nothing more, destroys everything', async () => {
    const { factory, pool } = setup({ max: 1 });
    let finish!: () => void;
    const running = pool.use(() => new Promise<string>((resolve) => (finish = () => resolve('done'))));
    await tick();
    const waiter = pool.acquire();
    const closing = pool.close();
    await assert.rejects(waiter, (err) => code(err) === 'POOL_CLOSED');
    await assert.rejects(pool.acquire(), (err) => code(err) === 'POOL_CLOSED');
    assert.equal(await settled(closing), 'pending', 'waits for the running use');
    finish();
    assert.equal(await running, 'done');
    await closing;
    assert.equal(factory.creates, 1);
    assert.deepEqual(factory.destroyedIds, [1]);
    const s = pool.stats();
    assert.equal(s.size, 0);
    assert.equal(s.idle, 0);
    assert.equal(s.closed, true);
    assert.equal(pool.close(), closing, 'idempotent');
  });

  it('destroys connections still borrowed after its timeout; their late release is ignored', async () => {
    const { clock, factory, pool } = setup();
    const held = await pool.acquire();
    const closing = pool.close({ timeout: 500 });
    await clock.advance(499);
    assert.equal(factory.destroyedIds.length, 0);
    await clock.advance(1);
    await closing;
    assert.deepEqual(factory.destroyedIds, [1]);
    pool.release(held); // no throw
  });

  it('is an AsyncDisposable (await using)', async () => {
    const clock = new VirtualClock();
    const factory = fakeFactory();
    const pool = createPool(factory, { clock });
    await pool.use(() => 1);
    await pool[Symbol.asyncDispose]();
    assert.deepEqual(factory.destroyedIds, [1]);
    assert.equal(pool.stats().closed, true);
  });
});
