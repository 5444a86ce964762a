/** What a failed use() does to its connection, decided from the connection (lost, or a failed check) and never from the error's layer; tagged errors; the use deadline. In-memory factory, virtual clock. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { BulwarkError, isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import type { RetiredEvent, ValidationFailedEvent } from '../../src/pool/events.ts';
import type { PoolOptions } from '../../src/pool/options.ts';
import { createPool, type Pool } from '../../src/pool/pool.ts';
import { type FakeConn, fakeFactory, tick } from './fake-factory.ts';

const TARGET = { host: 'db.internal', port: 5432, origin: 'postgres://db.internal:5432' };

function setup(options: PoolOptions = {}, factoryOptions: { validate?: boolean } = {}) {
  const clock = new VirtualClock();
  const factory = fakeFactory(factoryOptions);
  const pool = createPool(factory, { clock, max: 2, acquireTimeout: 1_000, target: TARGET, ...options });
  return { clock, factory, pool };
}

async function closeNow(pool: Pool<FakeConn>, clock: VirtualClock): Promise<void> {
  const closing = pool.close();
  await clock.advance(60_000);
  await closing;
}

/** pg's error when the server or the network ends the connection during a query. */
const terminated = (): Error => new Error('Connection terminated unexpectedly');

/** What a Bulwark HTTP client throws when another service refuses connections. */
const otherServiceRefused = (): BulwarkError =>
  new BulwarkError({
    layer: 'tcp',
    code: 'TCP_REFUSED',
    target: { origin: 'http://payments.internal:8080', host: 'payments.internal', port: 8080 },
  });

const failWith = (err: unknown) => async (): Promise<never> => {
  throw err;
};

describe('Pool: a failed use() and its connection', () => {
  it('an SQL error comes back untouched and the connection is kept (validated before its next hand-out)', async () => {
    const { clock, factory, pool } = setup();
    const sqlError = Object.freeze(
      Object.assign(new Error('relation "nope" does not exist'), { code: '42P01', severity: 'ERROR' }),
    );
    const got = await pool.use(failWith(sqlError)).catch((e: unknown) => e);
    assert.equal(got, sqlError, 'the same object');
    assert.equal(pool.stats().idle, 1);
    assert.equal(pool.stats().destroyed, 0);
    const conn = factory.conns[0]!;
    assert.equal(conn.validations, 0, 'no check for an SQL error');
    assert.equal(await pool.use((c) => c.id), 1, 'the same connection again');
    assert.equal(conn.validations, 1, 'checked once before that hand-out, as its last use failed');
    await pool.use((c) => c.id);
    assert.equal(conn.validations, 1, 'and trusted again after a use that worked');
    await closeNow(pool, clock);
  });

  it("another client's connection-level error inside use(): untouched, and the connection is checked and released — 10 of them, 0 reconnects", async () => {
    const { clock, factory, pool } = setup();
    const thrown: unknown[] = [];
    for (let i = 0; i < 10; i++) {
      const err = otherServiceRefused();
      thrown.push(err);
      const got = await pool.use(failWith(err)).catch((e: unknown) => e);
      assert.equal(got, err, 'the same object');
    }
    const s = pool.stats();
    assert.equal(s.created, 1);
    assert.equal(s.destroyed, 0);
    assert.equal(factory.creates, 1, '0 reconnects');
    assert.equal(s.idle, 1);
    assert.equal(factory.conns[0]!.validations, 10, 'the connection was asked each time');
    await closeNow(pool, clock);
  });

  it('the driver reported the connection dead during the use: destroyed, and its error tagged tcp/TCP_CLOSED with the target and the driver error as cause', async () => {
    const { clock, factory, pool } = setup({ name: 'orders-db' });
    const retired: RetiredEvent[] = [];
    pool.on('retired', (e) => retired.push(e));
    const driverError = terminated();
    const got = await pool
      .use(async (conn) => {
        conn.context.lost(driverError); // pg emits 'error' before it fails the query
        throw driverError;
      })
      .catch((e: unknown) => e);
    assert.ok(isBulwarkError(got));
    assert.equal(got.layer, 'tcp');
    assert.equal(got.code, 'TCP_CLOSED');
    assert.equal(got.mayHaveExecuted, true);
    assert.equal(got.cause, driverError);
    assert.deepEqual(got.target, TARGET);
    assert.match(
      got.message,
      /^TCP_CLOSED: .* pool "orders-db" to postgres:\/\/db\.internal:5432, during use\(\): Connection terminated unexpectedly$/,
    );
    assert.equal(factory.conns[0]!.destroyed, true);
    assert.equal(factory.conns[0]!.validations, 0, 'no check needed: the driver said so');
    assert.equal(retired.length, 1);
    assert.equal(retired[0]!.reason, 'lost');
    assert.equal(retired[0]!.cause, driverError);
    assert.equal(pool.stats().size, 0);
    await closeNow(pool, clock);
  });

  it('a connection-level error and a failed check: destroyed and tagged, reported as a use-phase validation failure', async () => {
    const { clock, factory, pool } = setup();
    const failed: ValidationFailedEvent[] = [];
    pool.on('validation-failed', (e) => failed.push(e));
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
    const got = await pool
      .use(async (conn) => {
        conn.answer = 'reject'; // mysql2: no event for a command in flight, but ping() fails at once
        throw reset;
      })
      .catch((e: unknown) => e);
    assert.ok(isBulwarkError(got));
    assert.equal(got.code, 'TCP_RESET');
    assert.equal(got.mayHaveExecuted, true);
    assert.equal(got.cause, reset);
    assert.equal(factory.conns[0]!.destroyed, true);
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.phase, 'use');
    assert.equal(failed[0]!.reason, 'error');
    assert.equal(pool.stats().failedValidations, 1);
    await closeNow(pool, clock);
  });

  it('a check that does not answer is bounded by validationTimeout', async () => {
    const { clock, factory, pool } = setup({ validationTimeout: 300 });
    const start = clock.now();
    let settledAt = -1;
    const use = pool
      .use(async (conn) => {
        conn.answer = 'hang';
        throw terminated();
      })
      .catch((e: unknown) => {
        settledAt = clock.now();
        return e;
      });
    await clock.advance(300);
    const got = await use;
    assert.equal(settledAt - start, 300);
    assert.ok(isBulwarkError(got) && got.code === 'TCP_CLOSED');
    assert.equal(factory.conns[0]!.destroyed, true);
    await closeNow(pool, clock);
  });

  it('the connection died but fn threw its own error: the connection goes, the error stays as it is', async () => {
    const { clock, factory, pool } = setup();
    const mine = new Error('could not save the order');
    const got = await pool
      .use(async (conn) => {
        conn.context.lost(terminated());
        throw mine;
      })
      .catch((e: unknown) => e);
    assert.equal(got, mine);
    assert.equal(factory.conns[0]!.destroyed, true);
    await closeNow(pool, clock);
  });

  it('a sync fn that throws a driver connection error is handled the same way', async () => {
    const { clock, factory, pool } = setup();
    const got = await pool
      .use((conn) => {
        conn.context.lost();
        throw terminated();
      })
      .catch((e: unknown) => e);
    assert.ok(isBulwarkError(got) && got.code === 'TCP_CLOSED');
    assert.equal(factory.conns[0]!.destroyed, true);
    await closeNow(pool, clock);
  });

  it('without factory.validate, an error that only looks connection-level cannot condemn the connection: it is released', async () => {
    const { clock, factory, pool } = setup({}, { validate: false });
    const got = await pool.use(failWith(terminated())).catch((e: unknown) => e);
    assert.ok(!isBulwarkError(got), 'not known to be this connection: untouched');
    assert.equal(factory.conns[0]!.destroyed, false);
    assert.equal(pool.stats().idle, 1);
    await closeNow(pool, clock);
  });

  it('a connection that succeeded in fn but was reported dead meanwhile is retired, not reused', async () => {
    const { clock, factory, pool } = setup();
    assert.equal(
      await pool.use((conn) => {
        conn.context.lost();
        return 'ok';
      }),
      'ok',
    );
    assert.equal(factory.conns[0]!.destroyed, true);
    assert.equal(pool.stats().size, 0);
    await closeNow(pool, clock);
  });
});

describe('Pool: the use() deadline', () => {
  it('past useTimeout: TCP_TIMEOUT (mayHaveExecuted), the connection destroyed and replaced; fn settling later changes nothing', async () => {
    const { clock, factory, pool } = setup({ min: 1, useTimeout: 5_000 });
    await clock.advance(1);
    let finish!: (value: string) => void;
    let settledAt = -1;
    const start = clock.now();
    const use = pool
      .use(() => new Promise<string>((resolve) => (finish = resolve)))
      .catch((e: unknown) => {
        settledAt = clock.now();
        return e;
      });
    await clock.advance(4_999);
    assert.equal(settledAt, -1);
    await clock.advance(1);
    const got = await use;
    assert.equal(settledAt - start, 5_000);
    assert.ok(isBulwarkError(got));
    assert.equal(got.layer, 'tcp');
    assert.equal(got.code, 'TCP_TIMEOUT');
    assert.equal(got.mayHaveExecuted, true);
    assert.equal(got.budget, 'phase');
    assert.deepEqual(got.target, TARGET);
    assert.match(got.message, /useTimeout \(5000 ms\).*connection was closed/);
    assert.equal(factory.conns[0]!.destroyed, true);
    assert.equal(pool.stats().usesTimedOut, 1);
    assert.equal(pool.stats().borrowed, 0);
    await clock.advance(1);
    assert.equal(pool.stats().size, 1, 'replaced (min 1)');
    assert.equal(factory.creates, 2);
    finish('too late');
    await tick();
    assert.equal(pool.stats().idle, 1);
    assert.equal(pool.stats().destroyed, 1);
    await closeNow(pool, clock);
  });

  it('the deadline covers the check after a failure too: a check that hangs ends at useTimeout', async () => {
    const { clock, factory, pool } = setup({ useTimeout: 200, validationTimeout: 1_000 });
    let settledAt = -1;
    const use = pool
      .use(async (conn) => {
        conn.answer = 'hang';
        throw terminated(); // looks connection-level: the connection is checked
      })
      .catch((e: unknown) => {
        settledAt = clock.now();
        return e;
      });
    await clock.advance(1_000);
    const got = await use;
    assert.equal(settledAt, 200);
    assert.ok(isBulwarkError(got) && got.code === 'TCP_TIMEOUT', String(got));
    assert.equal(factory.conns[0]!.destroyed, true);
    assert.equal(pool.stats().failedValidations, 0, 'the check the deadline cut short is not counted');
    await closeNow(pool, clock);
  });

  it('a late rejection of a timed-out fn is swallowed, not reported unhandled', async () => {
    const { clock, pool } = setup({ useTimeout: 100 });
    let fail!: (err: Error) => void;
    const use = pool.use(() => new Promise((_, reject) => (fail = reject))).catch((e: unknown) => e);
    await clock.advance(100);
    assert.ok(isBulwarkError(await use));
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      fail(terminated());
      await tick();
      await tick();
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    await closeNow(pool, clock);
  });

  it('per call: use(fn, { useTimeout }) overrides the pool default; the acquire options still apply', async () => {
    const { clock, pool } = setup({ max: 1 });
    let settledAt = -1;
    const long = pool
      .use(() => new Promise(() => {}), { useTimeout: 250, timeout: 500 })
      .catch((e: unknown) => {
        settledAt = clock.now();
        return e;
      });
    await clock.advance(250);
    assert.ok(isBulwarkError(await long));
    assert.equal(settledAt, 250);
    assert.equal(pool.stats().usesTimedOut, 1);
    await closeNow(pool, clock);
  });

  it('the default is finite (30 s), and the deadline applies to a use that keeps the connection busy', async () => {
    const { clock, pool } = setup();
    const use = pool.use(() => new Promise(() => {})).catch((e: unknown) => e);
    await clock.advance(30_000);
    const got = await use;
    assert.ok(isBulwarkError(got) && got.code === 'TCP_TIMEOUT');
    await closeNow(pool, clock);
  });

  it('a sync fn sets no deadline timer; one that resolves in time clears its own', async () => {
    const { clock, pool } = setup({ useTimeout: 12_345 });
    const set = new Set<unknown>();
    const cleared = new Set<unknown>();
    const setTimeout = clock.setTimeout.bind(clock);
    const clearTimeout = clock.clearTimeout.bind(clock);
    clock.setTimeout = (fn, ms) => {
      const handle = setTimeout(fn, ms);
      if (ms === 12_345) set.add(handle);
      return handle;
    };
    clock.clearTimeout = (handle) => {
      cleared.add(handle);
      clearTimeout(handle);
    };
    assert.equal(await pool.use(() => 1), 1);
    assert.equal(set.size, 0, 'no timer for a sync fn');
    assert.equal(await pool.use(async () => 2), 2);
    assert.equal(set.size, 1);
    assert.ok(
      [...set].every((h) => cleared.has(h)),
      'the deadline timer was cleared',
    );
    await closeNow(pool, clock);
  });

  it('bad use options are rejected, naming the option', async () => {
    const { clock, pool } = setup();
    for (const [options, path] of [
      [{ useTimeout: 0 }, 'use.useTimeout'],
      [{ useTimeout: -1 }, 'use.useTimeout'],
      [{ useTimeout: Number.POSITIVE_INFINITY }, 'use.useTimeout'],
      [{ timeout: 'soon' }, 'use.timeout'],
      [{ signal: {} }, 'use.signal'],
      [{ deadline: 5 }, 'use.deadline'],
    ] as const) {
      const err = await pool.use(() => 1, options as never).catch((e: unknown) => e);
      assert.ok(err instanceof InvalidOptionError, String(err));
      assert.equal(err.path, path);
    }
    assert.equal(pool.stats().borrowed, 0, 'nothing was acquired');
    assert.throws(() => createPool(fakeFactory(), { useTimeout: 0 }), /useTimeout/);
    assert.throws(() => createPool(fakeFactory(), { probeInterval: 0 }), /probeInterval/);
    await closeNow(pool, clock);
  });
});
