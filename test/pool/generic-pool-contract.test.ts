/**
 * Pins the undocumented behaviour of generic-pool that src/pool/generic-pool.ts relies on (see
 * docs/architecture.md, "The pool and generic-pool"). generic-pool documents `createPool` and the
 * Pool's methods, not the Pool constructor nor when things happen; each test here is one thing
 * Bulwark's pool would silently get wrong if a release changed it.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import genericPool from 'generic-pool';

type PoolCtor = new (
  evictor: unknown,
  deque: new () => unknown,
  queue: new (size: number) => unknown,
  factory: { create(): Promise<object>; destroy(r: object): Promise<void> },
  options: Record<string, unknown>,
) => {
  acquire(priority?: number): Promise<object>;
  release(r: object): Promise<void>;
  destroy(r: object): Promise<void>;
  start(): void;
  drain(): Promise<void>;
  clear(): Promise<void>;
  on(event: string, fn: (err: unknown) => void): void;
  readonly size: number;
};

const gp = genericPool as unknown as {
  Pool: PoolCtor;
  Deque: new () => unknown;
  PriorityQueue: new (n: number) => unknown;
  DefaultEvictor: unknown;
};

/** The part of generic-pool's Deque the tests watch. */
interface DequeLike {
  shift(): unknown;
  unshift(entry: unknown): void;
  readonly length: number;
}

/** The Deque and PriorityQueue generic-pool ships, subclassed to record what the pool does with them. */
function recording() {
  const calls: string[] = [];
  let deque: DequeLike | undefined;
  let queueSize: number | undefined;
  const Deque = class extends (gp.Deque as new () => DequeLike) {
    constructor() {
      super();
      deque = this;
    }
    override shift(): unknown {
      calls.push('shift');
      return super.shift();
    }
    override unshift(entry: unknown): void {
      calls.push('unshift');
      super.unshift(entry);
    }
  };
  const Queue = class extends (gp.PriorityQueue as new (n: number) => object) {
    constructor(size: number) {
      super(size);
      queueSize = size;
    }
  };
  return {
    calls,
    Deque,
    Queue,
    get deque() {
      return deque!;
    },
    get queueSize() {
      return queueSize;
    },
  };
}

function factory() {
  let created = 0;
  const destroyed: object[] = [];
  return {
    get created() {
      return created;
    },
    destroyed,
    create: async () => ({ id: ++created }),
    destroy: async (r: object) => {
      destroyed.push(r);
    },
  };
}

const OPTIONS = { max: 2, fifo: false, autostart: false, testOnBorrow: false, priorityRange: 3 };

describe('generic-pool: the behaviour Bulwark relies on', () => {
  it('its exported Pool takes (Evictor, Deque, PriorityQueue, factory, options) and builds its idle list and queue from the given classes', () => {
    const r = recording();
    const pool = new gp.Pool(gp.DefaultEvictor, r.Deque, r.Queue, factory(), OPTIONS);
    assert.ok(r.deque !== undefined, 'the Deque class was instantiated');
    assert.equal(r.queueSize, 3, 'the PriorityQueue got priorityRange');
    assert.equal(pool.size, 0, 'autostart: false creates nothing');
  });

  it('acquire() with an idle resource hands out the top of the idle list synchronously (shift), and release() puts it back on top (unshift) with fifo: false', async () => {
    const r = recording();
    const f = factory();
    const pool = new gp.Pool(gp.DefaultEvictor, r.Deque, r.Queue, f, OPTIONS);
    pool.start();
    const a = await pool.acquire();
    const b = await pool.acquire();
    await pool.release(a);
    await pool.release(b);
    r.calls.length = 0;
    assert.equal(r.deque.length, 2);
    const granted = pool.acquire();
    assert.deepEqual(r.calls, ['shift'], 'taken from the idle list within the acquire() call');
    assert.equal(r.deque.length, 1);
    assert.equal(await granted, b, 'the one released last (the top)');
    await pool.release(b);
    assert.deepEqual(r.calls, ['shift', 'unshift']);
    await pool.drain();
    await pool.clear();
  });

  it('a create that rejects is only an event: acquire() keeps waiting and the create is tried again', async () => {
    let attempts = 0;
    const pool = new gp.Pool(
      gp.DefaultEvictor,
      gp.Deque,
      gp.PriorityQueue,
      {
        create: async () => {
          attempts++;
          if (attempts < 3) throw new Error('refused');
          return { id: attempts };
        },
        destroy: async () => {},
      },
      OPTIONS,
    );
    const errors: unknown[] = [];
    pool.on('factoryCreateError', (err) => errors.push(err));
    const conn = await pool.acquire();
    assert.deepEqual(conn, { id: 3 });
    assert.equal(errors.length, 2, 'reported as factoryCreateError, not as a rejected acquire');
    await pool.release(conn);
    await pool.drain();
    await pool.clear();
  });

  it('destroy() of a borrowed resource creates again up to min', async () => {
    const f = factory();
    const pool = new gp.Pool(gp.DefaultEvictor, gp.Deque, gp.PriorityQueue, f, { ...OPTIONS, min: 1 });
    pool.start();
    const a = await pool.acquire();
    await pool.destroy(a);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(f.created, 2);
    assert.equal(pool.size, 1);
    await pool.drain();
    await pool.clear();
  });

  it('clear() destroys the idle resources but leaves them in the idle list', async () => {
    const r = recording();
    const f = factory();
    const pool = new gp.Pool(gp.DefaultEvictor, r.Deque, r.Queue, f, OPTIONS);
    const a = await pool.acquire();
    await pool.release(a);
    await pool.drain();
    await pool.clear();
    assert.deepEqual(f.destroyed, [a]);
    assert.equal(r.deque.length, 1, 'still listed: IdleStack.clear() forgets it after clear()');
  });
});
