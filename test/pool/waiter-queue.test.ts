/** The queue injected into generic-pool: priorities, FIFO within a level, O(1) removal of tagged requests, compaction. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IdleStack } from '../../src/pool/idle-stack.ts';
import { PRIORITY, WaiterQueue } from '../../src/pool/waiter-queue.ts';

const req = (name: string) => ({ name });

describe('WaiterQueue', () => {
  it('serves internal, then retries, then callers, first come first served within a level', () => {
    const q = new WaiterQueue<string>(3);
    const [a, b, c, d] = [req('a'), req('b'), req('c'), req('d')];
    q.enqueue(a, PRIORITY.normal);
    q.enqueue(b, PRIORITY.normal);
    q.enqueue(c, PRIORITY.retry);
    q.enqueue(d, PRIORITY.internal);
    assert.equal(q.length, 4);
    assert.equal(q.head, d);
    assert.equal(q.tail, b);
    assert.deepEqual(
      [q.dequeue(), q.dequeue(), q.dequeue(), q.dequeue(), q.dequeue()],
      [d, c, a, b, undefined],
    );
    assert.equal(q.length, 0);
  });

  it('removes tagged requests, skips them when dequeuing, and lists waiters in order', () => {
    const q = new WaiterQueue<string>(3);
    const [a, b, c] = [req('a'), req('b'), req('c')];
    q.tagNext('A');
    q.enqueue(a, PRIORITY.normal);
    q.enqueue(b, PRIORITY.normal); // untagged: the pool's own
    q.tagNext('C');
    q.enqueue(c, PRIORITY.normal);
    assert.equal(q.last, c);
    assert.equal(q.tagged, 2);
    assert.deepEqual(
      q.waiters().map(([, w]) => w),
      ['A', 'C'],
    );
    assert.equal(q.remove(a), true);
    assert.equal(q.remove(a), false);
    assert.equal(q.remove(b), false, 'untagged requests are not removable');
    assert.equal(q.length, 2);
    assert.deepEqual([q.dequeue(), q.dequeue(), q.dequeue()], [b, c, undefined]);
    assert.equal(q.tagged, 0);
  });

  it('stays compact under a long queue that is drained as it grows', () => {
    const q = new WaiterQueue<number>(1);
    let next = 0;
    for (let i = 0; i < 5_000; i++) {
      q.tagNext(i);
      q.enqueue({ i }, 0);
      if (i % 2 === 0) assert.equal((q.dequeue() as { i: number }).i, next++);
    }
    assert.equal(q.length, 2_500);
    while (q.length > 0) assert.equal((q.dequeue() as { i: number }).i, next++);
    assert.equal(next, 5_000);
  });
});

describe('IdleStack', () => {
  it('is LIFO and can give out one chosen entry next', () => {
    const s = new IdleStack<string>();
    for (const obj of ['a', 'b', 'c']) s.unshift({ obj });
    assert.deepEqual(s.connections(), ['a', 'b', 'c']);
    assert.equal(s.head?.obj, 'c');
    assert.equal(s.prefer('a'), true);
    assert.equal(s.shift()?.obj, 'a');
    assert.equal(s.shift()?.obj, 'c');
    assert.equal(s.prefer('zzz'), false);
    assert.deepEqual(
      [...s].map((e) => e.obj),
      ['b'],
    );
    s.clear();
    assert.equal(s.length, 0);
  });
});
