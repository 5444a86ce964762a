/** Failed creates on a virtual clock: waiting through a blip, probes every probeInterval while callers wait, backoff while nobody does, prompt failures when waiting cannot help, the opt-in breaker, createTimeout. */
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

function setup(options: PoolOptions = {}, prepare?: (factory: FakeFactory, clock: VirtualClock) => void) {
  const clock = new VirtualClock({ seed: 11 });
  const factory = fakeFactory();
  prepare?.(factory, clock);
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

interface Outcome {
  conn?: FakeConn;
  error?: unknown;
  /** Virtual ms from the call to the outcome; undefined while pending. */
  ms?: number;
  startedAt: number;
}

/** Starts an acquire; the returned function reads its outcome so far. */
async function timedAcquire(pool: Pool<FakeConn>, clock: VirtualClock): Promise<() => Outcome> {
  const startedAt = clock.now();
  let outcome: Outcome = { startedAt };
  void pool.acquire().then(
    (conn) => {
      outcome = { conn, ms: clock.now() - startedAt, startedAt };
    },
    (error: unknown) => {
      outcome = { error, ms: clock.now() - startedAt, startedAt };
    },
  );
  await tick();
  return () => outcome;
}

/** Connect attempts' times, from the factory's point of view. */
function recordAttempts(factory: FakeFactory, clock: VirtualClock): number[] {
  const at: number[] = [];
  const create = factory.create.bind(factory);
  factory.create = (context) => {
    at.push(clock.now());
    return create(context);
  };
  return at;
}

const gapsOf = (at: readonly number[]): number[] => at.slice(1).map((t, i) => t - at[i]!);

/**
 * Steady load on the virtual clock: from `from` to `until`, an acquire every `every` ms, each
 * connection held `hold` ms and released. Returns the outcomes (read them after the run).
 */
function steadyLoad(
  pool: Pool<FakeConn>,
  clock: VirtualClock,
  o: { from: number; until: number; every: number; hold: number },
): Outcome[] {
  const outcomes: Outcome[] = [];
  for (let t = o.from; t < o.until; t += o.every) {
    clock.setTimeout(() => {
      const outcome: Outcome = { startedAt: clock.now() };
      outcomes.push(outcome);
      pool.acquire().then(
        (conn) => {
          outcome.conn = conn;
          outcome.ms = clock.now() - outcome.startedAt;
          clock.setTimeout(() => pool.release(conn), o.hold);
        },
        (error: unknown) => {
          outcome.error = error;
          outcome.ms = clock.now() - outcome.startedAt;
        },
      );
    }, t - clock.now());
  }
  return outcomes;
}

describe('Pool: failed creates', () => {
  it('a transient connect failure: a waiting acquire waits for the probes and fails at its own deadline with POOL_CREATE_FAILED (cause: the classified connect error)', async () => {
    const { clock, factory, pool } = setup();
    factory.fail = refused;
    const events: CreateFailedEvent[] = [];
    pool.on('create-failed', (e) => events.push(e));
    const read = await timedAcquire(pool, clock);
    await clock.advance(1_999);
    assert.equal(read().ms, undefined, 'still waiting just before its deadline');
    await clock.advance(1);
    const { error: err, ms } = read();
    assert.equal(ms, 2_000);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'POOL_CREATE_FAILED');
    assert.equal(err.layer, 'pool');
    assert.equal(err.target?.host, 'db.internal');
    assert.match(err.message, /pool "postgres:\/\/db\.internal:5432".*TCP_REFUSED/);
    assert.ok(isBulwarkError(err.cause));
    assert.equal(err.cause.code, 'TCP_REFUSED');
    assert.equal(err.cause.layer, 'tcp');
    assert.equal(err.cause.mayHaveExecuted, false);
    assert.equal((err.cause.cause as { code?: string }).code, 'ECONNREFUSED', 'the driver error is kept');
    // One attempt at once, then one every 200–230 ms while the caller waited.
    assert.ok(events.length >= 9 && events.length <= 11, `${events.length} attempts in 2 s`);
    assert.equal(events[0]!.failures, 1);
    assert.equal(events[0]!.circuit, 'disabled');
    assert.ok(events[0]!.retryIn >= 200 && events[0]!.retryIn < 230, `retryIn ${events[0]!.retryIn}`);
    await closeNow(pool, clock);
  });

  it('a failure that will not pass by itself (wrong password) fails the waiting acquires at once, its error the cause, unwrapped', async () => {
    const { clock, factory, pool } = setup();
    const auth = Object.assign(new Error('password authentication failed for user "app"'), {
      code: '28P01',
      severity: 'FATAL',
    });
    factory.fail = () => auth;
    const first = await timedAcquire(pool, clock);
    const second = await timedAcquire(pool, clock);
    for (const read of [first, second]) {
      const { error, ms } = read();
      assert.equal(ms, 0);
      assert.ok(isBulwarkError(error) && error.code === 'POOL_CREATE_FAILED');
      assert.equal(error.cause, auth);
    }
    assert.equal(factory.creates, 1, 'the second did not even wait for an attempt');
    await closeNow(pool, clock);
  });

  it('a 300 ms blip under steady load costs latency, not errors: every acquire succeeds, none waits past its deadline, the first within one probe delay of the database answering', async () => {
    const { clock, factory, pool } = setup({ min: 2 });
    const outcomes = steadyLoad(pool, clock, { from: 0, until: 2_000, every: 10, hold: 5 });
    await clock.advance(500);
    // The database restarts: every connection dies, connects are refused for 300 ms.
    factory.fail = refused;
    for (const conn of factory.conns) if (!conn.destroyed) conn.context.lost(refused());
    await clock.advance(300);
    factory.fail = undefined;
    const back = clock.now();
    await clock.advance(5_000);
    const during = outcomes.filter((o) => o.startedAt >= 500 && o.startedAt < back);
    assert.equal(outcomes.length, 200);
    assert.equal(during.length, 30);
    for (const o of outcomes) {
      assert.ok(o.conn !== undefined, `every acquire succeeded (${String(o.error)})`);
      assert.ok(o.ms! <= 2_000);
    }
    const firstAfter = Math.min(...during.map((o) => o.startedAt + o.ms!));
    assert.ok(firstAfter - back <= 230, `first served ${firstAfter - back} ms after the database answered`);
    assert.ok(pool.stats().failedCreates >= 1 && pool.stats().failedCreates <= 3);
    await closeNow(pool, clock);
  });

  it('a 30 s outage with callers waiting: at most 5 connects a second, jittered, each caller failing at its deadline; served within one probe delay once the database is back', async () => {
    let at: number[] = [];
    const { clock, factory, pool } = setup({ min: 2 }, (f, c) => {
      f.fail = refused;
      at = recordAttempts(f, c);
    });
    const outcomes = steadyLoad(pool, clock, { from: 0, until: 32_000, every: 20, hold: 5 });
    await clock.advance(30_000);
    factory.fail = undefined;
    const back = clock.now();
    await clock.advance(5_000);
    for (const o of outcomes) {
      if (o.startedAt >= back) {
        assert.ok(o.conn !== undefined && o.ms! <= 2_000, `served after the recovery (${o.ms} ms)`);
        continue;
      }
      if (o.conn !== undefined) {
        assert.ok(o.startedAt + 2_000 >= back, 'only callers still waiting at the recovery got one');
        continue;
      }
      assert.ok(isBulwarkError(o.error) && o.error.code === 'POOL_CREATE_FAILED', String(o.error));
      assert.equal(classify(o.error.cause).layer, 'tcp');
      assert.equal(o.ms, 2_000, 'failed at its deadline, not before');
    }
    const served = outcomes.filter((o) => o.conn !== undefined).map((o) => o.startedAt + o.ms!);
    assert.ok(Math.min(...served) - back <= 230, 'the first within one probe delay of the recovery');
    const inOutage = at.filter((t) => t < back);
    // The pool starts both connections for min: 2 at once; from the first failure on, one at a time.
    assert.deepEqual(inOutage.slice(0, 2), [0, 0]);
    const gaps = gapsOf(inOutage.slice(1));
    assert.ok(
      Math.min(...gaps) >= 200,
      `no two connects closer than probeInterval (${Math.min(...gaps)} ms)`,
    );
    assert.ok(Math.max(...gaps) < 230, `none further apart than the probe delay (${Math.max(...gaps)} ms)`);
    assert.ok(new Set(gaps).size > gaps.length / 2, 'jittered, not in step');
    for (let s = 0; s < 30; s++) {
      const n = inOutage.slice(1).filter((t) => t >= s * 1_000 && t < (s + 1) * 1_000).length;
      assert.ok(n <= 5, `${n} connects in second ${s}`);
    }
    assert.ok(inOutage.length >= 130 && inOutage.length <= 151, `${inOutage.length} connects in 30 s`);
    assert.ok(pool.stats().size >= 2, 'refilled (to min at least)');
    await closeNow(pool, clock);
  });

  it('a restart that kills every connection: one probe at a time, not one connect per lost connection', async () => {
    let at: number[] = [];
    const { clock, factory, pool } = setup({ min: 4 }, (f, c) => {
      at = recordAttempts(f, c);
    });
    await clock.advance(1);
    assert.equal(pool.stats().idle, 4);
    const start = at.length;
    factory.fail = refused;
    for (const conn of factory.conns) conn.context.lost(refused());
    await clock.advance(1_000);
    const probes = at.slice(start);
    assert.equal(probes[0], 1, 'one connect at once');
    assert.ok(
      gapsOf(probes).every((gap) => gap >= 200),
      `then one at a time (${probes.join(', ')})`,
    );
    factory.fail = undefined;
    await clock.advance(1_000);
    assert.equal(pool.stats().idle, 4, 'and all four back once one got through');
    await closeNow(pool, clock);
  });

  it('while nobody waits, failed refills back off exponentially (never closer than probeInterval), and a caller who comes cuts a long backoff short', async () => {
    let at: number[] = [];
    const { clock, factory, pool } = setup(
      { min: 1, backoff: { base: 100, cap: 1_000, jitter: 'none' } },
      (f, c) => {
        f.fail = refused;
        at = recordAttempts(f, c);
      },
    );
    await clock.advance(5_000);
    assert.deepEqual(gapsOf(at).slice(0, 6), [200, 200, 400, 800, 1_000, 1_000]);
    assert.equal(pool.stats().createAttempts, at.length);
    const last = at.at(-1)!;
    await clock.advance(last + 1_300 - clock.now()); // 300 ms into a 1 s backoff
    factory.fail = undefined;
    const read = await timedAcquire(pool, clock);
    await clock.advance(1);
    assert.equal(at.at(-1), last + 1_300, 'the caller woke the create loop: an attempt at once');
    assert.ok(read().conn !== undefined);
    pool.release(read().conn!);
    await closeNow(pool, clock);
  });

  it('a caller arriving during a probe delay waits for the probe and gets its connection', async () => {
    const { clock, factory, pool } = setup();
    factory.fail = refused;
    const first = await timedAcquire(pool, clock);
    factory.fail = undefined;
    await clock.advance(230);
    const { conn, ms } = first();
    assert.ok(conn !== undefined, 'served by the next probe');
    assert.ok(ms! >= 200 && ms! < 230, `${ms} ms`);
    pool.release(conn);
    await closeNow(pool, clock);
  });

  it('with the opt-in breaker: once it opens, acquires that need a new connection fail at once and nothing connects until resetTimeout', async () => {
    const { clock, factory, pool } = setup({ min: 2, breaker: {} }, (f) => {
      f.fail = refused;
    });
    const results: Array<() => Outcome> = [];
    for (let t = 0; t < 30_000; t += 20) {
      results.push(await timedAcquire(pool, clock));
      await clock.advance(20);
    }
    await clock.advance(2_000);
    const outcomes = results.map((r) => r());
    for (const o of outcomes) {
      assert.ok(isBulwarkError(o.error) && o.error.code === 'POOL_CREATE_FAILED', String(o.error));
      assert.equal(classify(o.error.cause).layer, 'tcp');
      assert.ok(o.ms! <= 2_000, `failed within the deadline (${o.ms} ms)`);
    }
    const prompt = outcomes.filter((o) => o.ms === 0).length;
    assert.ok(prompt > 1_300, `most fail at once (${prompt} of 1500)`);
    // Open after 5 failures (≈ 1 s of probing), then one probe per 5 s reset.
    assert.ok(factory.creates >= 6 && factory.creates <= 20, `${factory.creates} connect attempts in 30 s`);
    assert.equal(pool.stats().circuit, 'open');

    factory.fail = undefined;
    await clock.advance(10_000);
    assert.equal(pool.stats().size, 2);
    assert.equal(pool.stats().circuit, 'closed');
    const conn = await pool.acquire();
    pool.release(conn);
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
      { min: 1, backoff: { base: 60_000, cap: 60_000, jitter: 'none' } },
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
      const read = await timedAcquire(pool, clock);
      assert.ok(read().ms === undefined);
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
