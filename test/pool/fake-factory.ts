// An in-memory connection factory for the pool's unit tests: every create, destroy and validate
// is counted, and a test decides how each one behaves (fail, hang, answer false, throw).
import type { CreateContext, PoolFactory } from '../../src/pool/factory.ts';

/** What `validate` does for one connection. */
export type Answer = 'ok' | 'false' | 'throw' | 'reject' | 'hang';

export class FakeConn {
  readonly id: number;
  answer: Answer = 'ok';
  destroyed = false;
  validations = 0;
  readonly context: CreateContext;
  constructor(id: number, context: CreateContext) {
    this.id = id;
    this.context = context;
  }
}

/** An error like the one `net.connect` raises when nothing listens. */
export function refused(): Error {
  return Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {
    code: 'ECONNREFUSED',
    errno: -111,
    syscall: 'connect',
    address: '127.0.0.1',
    port: 5432,
  });
}

export interface FakeFactory extends PoolFactory<FakeConn> {
  readonly conns: FakeConn[];
  /** Calls of create (attempts), including failed ones. */
  creates: number;
  /** When set, create rejects with what it returns (a fresh error each time). */
  fail: (() => unknown) | undefined;
  /** When true, create never settles (until the signal aborts, which it ignores). */
  hang: boolean;
  /** The answer of new connections' validate. */
  answer: Answer;
  readonly destroyedIds: number[];
}

export function fakeFactory(options: { validate?: boolean } = {}): FakeFactory {
  const f: FakeFactory = {
    conns: [],
    creates: 0,
    fail: undefined,
    hang: false,
    answer: 'ok',
    destroyedIds: [],
    create(context: CreateContext): Promise<FakeConn> {
      f.creates++;
      if (f.fail !== undefined) return Promise.reject(f.fail());
      const conn = new FakeConn(f.creates, context);
      conn.answer = f.answer;
      if (f.hang)
        return new Promise((resolve) =>
          context.signal.addEventListener('abort', () => setTimeout(() => resolve(conn), 1)),
        );
      f.conns.push(conn);
      return Promise.resolve(conn);
    },
    destroy(conn: FakeConn): void {
      conn.destroyed = true;
      f.destroyedIds.push(conn.id);
    },
  };
  if (options.validate !== false) {
    (f as { validate?: (conn: FakeConn) => unknown }).validate = (conn: FakeConn): unknown => {
      conn.validations++;
      switch (conn.answer) {
        case 'ok':
          return Promise.resolve({ rows: [1] });
        case 'false':
          return Promise.resolve(false);
        case 'throw':
          throw new Error('validate threw synchronously');
        case 'reject':
          return Promise.reject(new Error('validate rejected'));
        case 'hang':
          return new Promise(() => {});
      }
    };
  }
  return f;
}

/** Resolves after the pending promise callbacks ran (a macrotask turn). */
export function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
