/**
 * The one file that touches generic-pool. It builds a generic-pool `Pool` with the waiting queue
 * and idle stack injected through its constructor (`new Pool(Evictor, Deque, PriorityQueue, ...)`)
 * and types the part of it the pool uses (its `index.d.ts` does not declare that constructor).
 *
 * generic-pool's holes, and where they are closed:
 * - `acquire()` waits forever while `create()` keeps failing, and a failed create is retried at
 *   once (a busy loop) → the factory given here never rejects on a failed connect: `supply.ts`
 *   retries one probe at a time, spaced by `probeInterval` or the backoff, and `pool.ts` fails the
 *   waiters itself at their deadlines (`POOL_CREATE_FAILED`).
 * - its constructor, the synchronous hand-out of the idle list's top and the rest relied on here
 *   are undocumented: test/pool/generic-pool-contract.test.ts pins them (docs/architecture.md).
 * - timed-out requests stay in its queue and keep causing creates → `WaiterQueue.remove`.
 * - `validate` has no timeout, a rejection leaks the resource, a synchronous throw escapes into
 *   `acquire()` → `testOnBorrow` stays off; `pool.ts` validates with a timeout before hand-out.
 * - `use()` breaks on a synchronous function and destroys on every error → `Pool.use`, which
 *   destroys only a connection that broke, and bounds the use with `useTimeout`.
 * - no max lifetime, no keepalive, timers on `Date.now` → `pool.ts` on the injectable clock.
 * - the min is refilled only on start and after a destroy, never after a failed create → the
 *   create loop keeps going (backed off) while the pool is below `min`.
 * - `clear()` destroys idle resources but leaves them listed → `IdleStack.clear()` after it.
 */
import genericPool from 'generic-pool';
import { IdleStack } from './idle-stack.ts';
import { WaiterQueue } from './waiter-queue.ts';

/** The part of generic-pool's `Pool` the Bulwark pool uses. */
export interface GenericPool<T> {
  start(): void;
  acquire(priority?: number): Promise<T>;
  release(conn: T): Promise<void>;
  destroy(conn: T): Promise<void>;
  drain(): Promise<void>;
  clear(): Promise<void>;
  readonly size: number;
  readonly available: number;
  readonly borrowed: number;
  readonly spareResourceCapacity: number;
}

/** The factory generic-pool calls. */
export interface GenericFactory<T> {
  create(): Promise<T>;
  destroy(conn: T): Promise<void>;
}

type PoolConstructor = new <T>(
  evictor: unknown,
  deque: new () => unknown,
  priorityQueue: new (size: number) => unknown,
  factory: GenericFactory<T>,
  options: Record<string, unknown>,
) => GenericPool<T>;

const gp = genericPool as unknown as { Pool: PoolConstructor; DefaultEvictor: unknown };

/** A generic-pool `Pool` over `factory` (not started), with its queue and idle list exposed. */
export function createGenericPool<T, W>(
  factory: GenericFactory<T>,
  limits: { min: number; max: number },
): { pool: GenericPool<T>; queue: WaiterQueue<W>; idle: IdleStack<T> } {
  let queue: WaiterQueue<W> | undefined;
  let idle: IdleStack<T> | undefined;
  const Queue = class extends WaiterQueue<W> {
    constructor(size: number) {
      super(size);
      queue = this;
    }
  };
  const Stack = class extends IdleStack<T> {
    constructor() {
      super();
      idle = this;
    }
  };
  const pool = new gp.Pool<T>(gp.DefaultEvictor, Stack, Queue, factory, {
    min: limits.min,
    max: limits.max,
    fifo: false,
    autostart: false,
    testOnBorrow: false,
    priorityRange: 3,
    evictionRunIntervalMillis: 0,
  });
  if (queue === undefined || idle === undefined)
    throw new Error('generic-pool did not use the injected queue');
  return { pool, queue, idle };
}
