/**
 * The waiting queue the pool hands to generic-pool in place of its own `PriorityQueue`. It has the
 * same surface (`enqueue`, `dequeue`, `length`, `head`, `tail`) plus `remove`, so an acquire that
 * times out, is aborted or fails fast leaves the queue at once: generic-pool's own queue keeps
 * such requests, and creates connections for them.
 */

/** Who is served first: the pool's own housekeeping takes, then retries after a failed check, then callers. */
export const PRIORITY = Object.freeze({ internal: 0, retry: 1, normal: 2 });

/** One priority level: an array FIFO between `head` and `tail`; removal marks, dequeue skips. */
class Level {
  readonly items: Array<object | undefined> = [];
  head = 0;
  tail = 0;
  removed: Set<object> | undefined;

  push(item: object): void {
    if (this.head > 1_024 && this.head * 2 > this.tail) {
      this.items.copyWithin(0, this.head, this.tail);
      this.items.fill(undefined, this.tail - this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
    this.items[this.tail++] = item;
  }

  shift(): object | undefined {
    while (this.head < this.tail) {
      const item = this.items[this.head];
      this.items[this.head++] = undefined;
      if (this.head === this.tail) this.head = this.tail = 0;
      if (item !== undefined && !this.removed?.delete(item)) return item;
    }
    return undefined;
  }

  /** Live items, first first. */
  *live(): Generator<object> {
    for (let i = this.head; i < this.tail; i++) {
      const item = this.items[i];
      if (item !== undefined && !this.removed?.has(item)) yield item;
    }
  }
}

/**
 * A FIFO per priority level. A request may carry a tag (its waiter); tagged requests can be
 * removed in O(1). Untagged ones (the pool's fast path and housekeeping) are dequeued at once by
 * generic-pool and cost no bookkeeping.
 */
export class WaiterQueue<W> {
  readonly #levels: Level[];
  readonly #tagged = new Map<object, { readonly tag: W; readonly level: Level }>();
  #tag: W | undefined;
  #last: object | undefined;
  #length = 0;

  constructor(levels = 3) {
    this.#levels = Array.from({ length: Math.max(1, levels | 0) }, () => new Level());
  }

  /** The waiter the next `enqueue` belongs to (`undefined` for the pool's own requests). */
  tagNext(tag: W | undefined): void {
    this.#tag = tag;
  }

  /** The request enqueued last. */
  get last(): object | undefined {
    return this.#last;
  }

  /** Requests waiting. */
  get length(): number {
    return this.#length;
  }

  /** Requests waiting that carry a tag (callers, not the pool's own housekeeping). */
  get tagged(): number {
    return this.#tagged.size;
  }

  enqueue(request: object, priority?: number): void {
    const last = this.#levels.length - 1;
    const level = this.#levels[Math.min(Math.max(priority ?? 0, 0), last) | 0]!;
    level.push(request);
    const tag = this.#tag;
    if (tag !== undefined) {
      this.#tag = undefined;
      this.#tagged.set(request, { tag, level });
    }
    this.#last = request;
    this.#length++;
  }

  dequeue(): object | undefined {
    if (this.#length === 0) return undefined;
    const levels = this.#levels;
    for (let i = 0; i < levels.length; i++) {
      const request = levels[i]!.shift();
      if (request === undefined) continue;
      if (this.#tagged.size > 0) this.#tagged.delete(request);
      this.#length--;
      return request;
    }
    return undefined;
  }

  /** Takes a tagged `request` out of the queue; `false` when it is not (or no longer) in it. */
  remove(request: object | undefined): boolean {
    if (request === undefined) return false;
    const entry = this.#tagged.get(request);
    if (entry === undefined) return false;
    entry.level.removed ??= new Set();
    entry.level.removed.add(request);
    this.#tagged.delete(request);
    this.#length--;
    return true;
  }

  get head(): object | undefined {
    for (const level of this.#levels) for (const request of level.live()) return request;
    return undefined;
  }

  get tail(): object | undefined {
    let tail: object | undefined;
    for (const level of this.#levels) for (const request of level.live()) tail = request;
    return tail;
  }

  /** The tagged requests and their waiters, first served first (a snapshot). */
  waiters(): Array<[object, W]> {
    const out: Array<[object, W]> = [];
    for (const level of this.#levels) {
      for (const request of level.live()) {
        const entry = this.#tagged.get(request);
        if (entry !== undefined) out.push([request, entry.tag]);
      }
    }
    return out;
  }
}
