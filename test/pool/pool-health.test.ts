/** Connection health on a virtual clock: idle validation with a timeout, keepalive pings, max lifetime with jitter, idle timeout, lost connections, leaks. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import type { LeakEvent, RetiredEvent, ValidationFailedEvent } from '../../src/pool/events.ts';
import type { PoolOptions } from '../../src/pool/options.ts';
import { createPool, type Pool } from '../../src/pool/pool.ts';
import { type FakeConn, type FakeFactory, fakeFactory, tick } from './fake-factory.ts';

function setup(options: PoolOptions = {}, factory: FakeFactory = fakeFactory()) {
  const clock = new VirtualClock({ seed: 3 });
  const pool = createPool(factory, { clock, max: 4, ...options });
  return { clock, factory, pool };
}

async function closeNow(pool: Pool<FakeConn>, clock: VirtualClock): Promise<void> {
  const closing = pool.close();
  await clock.advance(60_000);
  await closing;
}

/** Borrows `n` connections at once and gives them back, so the pool holds `n` idle ones. */
async function warm(pool: Pool<FakeConn>, n: number): Promise<FakeConn[]> {
  const conns = await Promise.all(Array.from({ length: n }, () => pool.acquire()));
  for (const conn of conns) pool.release(conn);
  return conns;
}

describe('Pool: validation before hand-out', () => {
  it('validates only connections idle longer than validateAfterIdle', async () => {
    const { clock, pool } = setup({ validateAfterIdle: 1_000, keepaliveInterval: 0 });
    const [a] = await warm(pool, 1);
    await pool.use(() => {});
    assert.equal(a!.validations, 0, 'fresh: no round trip');
    await clock.advance(1_001);
    await pool.use(() => {});
    assert.equal(a!.validations, 1);
    await closeNow(pool, clock);
  });

  it('a connection that fails validation is destroyed and the acquire goes on with another', async () => {
    const { clock, factory, pool } = setup({ keepaliveInterval: 0 });
    const failures: ValidationFailedEvent[] = [];
    pool.on('validation-failed', (e) => failures.push(e));
    const [a, b] = await warm(pool, 2);
    b!.answer = 'false'; // b is on top of the stack
    await clock.advance(2_000);
    const got = await pool.acquire();
    assert.equal(got, a);
    assert.ok(b!.destroyed);
    assert.equal(pool.stats().failedValidations, 1);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.reason, 'false');
    assert.equal(failures[0]!.phase, 'borrow');
    assert.equal(failures[0]!.idleFor, 2_000);
    pool.release(got);
    assert.equal(factory.creates, 2);
    await closeNow(pool, clock);
  });

  it('a validate that throws synchronously counts as a failed validation', async () => {
    const { clock, factory, pool } = setup({ keepaliveInterval: 0 });
    const failures: ValidationFailedEvent[] = [];
    pool.on('validation-failed', (e) => failures.push(e));
    const [a] = await warm(pool, 1);
    a!.answer = 'throw';
    await clock.advance(2_000);
    const got = await pool.acquire();
    assert.notEqual(got, a);
    assert.equal(factory.creates, 2, 'a new connection replaced it');
    assert.equal(pool.stats().failedValidations, 1);
    assert.equal(failures[0]!.reason, 'error');
    assert.match(String((failures[0]!.error as Error).message), /synchronously/);
    pool.release(got);
    await closeNow(pool, clock);
  });

  it('a validation that does not answer takes validationTimeout, then a new connection; the other idle ones are checked aside', async () => {
    const { clock, factory, pool } = setup({ validationTimeout: 500, keepaliveInterval: 0 });
    const conns = await warm(pool, 3);
    for (const conn of conns) conn.answer = 'hang'; // a NAT forgot every flow
    await clock.advance(5_000);
    const start = clock.now();
    let got: FakeConn | undefined;
    void pool.acquire().then((c) => {
      got = c;
    });
    await clock.advance(499);
    assert.equal(got, undefined);
    await clock.advance(1);
    assert.ok(got !== undefined, 'served right after one validationTimeout');
    assert.equal(clock.now() - start, 500);
    assert.ok(!conns.includes(got!), 'by a new connection');
    await clock.advance(500);
    assert.ok(
      conns.every((c) => c.destroyed),
      'the others were checked in parallel and destroyed',
    );
    assert.equal(pool.stats().failedValidations, 3);
    assert.equal(factory.creates, 4);
    pool.release(got!);
    await closeNow(pool, clock);
  });
});

describe('Pool: keepalive, lifetime, idle timeout', () => {
  it('keepalive pings find a dead idle connection and replace it before a caller borrows it', async () => {
    const { clock, factory, pool } = setup({ min: 2, keepaliveInterval: 10_000, validationTimeout: 100 });
    await clock.advance(0);
    assert.equal(pool.stats().idle, 2);
    const [a, b] = factory.conns;
    a!.answer = 'hang';
    await clock.advance(9_000 - 1);
    assert.equal(a!.validations + b!.validations, 0, 'no ping before 90 % of the interval');
    await clock.advance(1_001 + 100);
    assert.equal(b!.validations, 1, 'the healthy one was pinged');
    assert.ok(a!.destroyed, 'the dead one was found');
    assert.equal(pool.stats().idle, 2, 'and replaced to min');
    const got = await pool.acquire();
    assert.notEqual(got, a);
    pool.release(got);
    await closeNow(pool, clock);
  });

  it('maxLifetime retires connections, spread by jitter, never handing one out past it', async () => {
    const lifetime = 100_000;
    const { clock, factory, pool } = setup({
      max: 8,
      min: 8,
      maxLifetime: lifetime,
      keepaliveInterval: 0,
      idleTimeout: 0,
    });
    const retired: Array<RetiredEvent & { at: number }> = [];
    pool.on('retired', (e) => retired.push({ ...e, at: clock.now() }));
    await clock.advance(0);
    assert.equal(factory.conns.length, 8);
    await clock.advance(lifetime * 0.975 - 1);
    assert.equal(retired.length, 0);
    await clock.advance(lifetime * 0.05 + 2);
    assert.equal(retired.length, 8);
    assert.ok(retired.every((e) => e.reason === 'lifetime'));
    const times = retired.map((e) => e.at);
    assert.ok(Math.max(...times) - Math.min(...times) > lifetime * 0.01, 'spread over the jitter window');
    assert.ok(times.every((t) => t >= lifetime * 0.975 && t <= lifetime * 1.025));
    assert.equal(pool.stats().size, 8, 'refilled to min');
    await closeNow(pool, clock);
  });

  it('a borrowed connection past its lifetime is retired when released', async () => {
    const { clock, factory, pool } = setup({ maxLifetime: 10_000, keepaliveInterval: 0 });
    const a = await pool.acquire();
    await clock.advance(20_000);
    pool.release(a);
    assert.ok(a.destroyed);
    const b = await pool.acquire();
    assert.notEqual(b, a);
    assert.equal(factory.creates, 2);
    pool.release(b);
    await closeNow(pool, clock);
  });

  it('idle connections above min close after idleTimeout', async () => {
    const { clock, pool } = setup({ min: 1, idleTimeout: 30_000, keepaliveInterval: 0 });
    const retired: RetiredEvent[] = [];
    pool.on('retired', (e) => retired.push(e));
    await warm(pool, 3);
    await clock.advance(30_000);
    assert.equal(pool.stats().size, 1);
    assert.equal(retired.length, 2);
    assert.ok(retired.every((e) => e.reason === 'idle'));
    await clock.advance(120_000);
    assert.equal(pool.stats().size, 1, 'min stays');
    await closeNow(pool, clock);
  });

  it('a connection the driver reports lost is destroyed at once when idle, and on release when borrowed', async () => {
    const { clock, pool } = setup({ min: 1, keepaliveInterval: 0 });
    const retired: RetiredEvent[] = [];
    pool.on('retired', (e) => retired.push(e));
    const [a, b] = await warm(pool, 2);
    const cause = new Error('server closed the connection');
    a!.context.lost(cause);
    await tick();
    assert.ok(a!.destroyed);
    assert.equal(retired[0]?.reason, 'lost');
    assert.equal(retired[0]?.cause, cause);
    const held = await pool.acquire();
    assert.equal(held, b);
    b!.context.lost();
    assert.ok(!b!.destroyed, 'not under the caller');
    pool.release(b!);
    assert.ok(b!.destroyed);
    await clock.advance(0);
    assert.equal(pool.stats().size, 1, 'refilled to min');
    await closeNow(pool, clock);
  });

  it('emits leak for a connection held past leakDetectionThreshold, with the acquire stack', async () => {
    const { clock, pool } = setup({ leakDetectionThreshold: 5_000 });
    const leaks: LeakEvent[] = [];
    pool.on('leak', (e) => leaks.push(e));
    const a = await pool.acquire();
    const b = await pool.acquire();
    pool.release(b);
    await clock.advance(5_000);
    assert.equal(leaks.length, 1);
    assert.equal(leaks[0]!.heldFor, 5_000);
    assert.match(leaks[0]!.stack ?? '', /pool-health\.test\.ts/);
    pool.release(a);
    await closeNow(pool, clock);
  });
});
