/**
 * The idle list the pool hands to generic-pool in place of its `Deque`: a LIFO stack (the most
 * recently used connection goes out first, so the rest age and can be trimmed), which can also
 * give out one particular connection next — generic-pool has no way to take a chosen idle
 * connection, which keepalive pings, expiry and "this connection died" all need.
 */

/** What generic-pool keeps in its idle list: its wrapper around one connection. */
export interface PooledEntry<T> {
  readonly obj: T;
}

/** A stack whose top is the end of the array; `shift`/`unshift` work on the top, as generic-pool expects. */
export class IdleStack<T> {
  readonly #items: PooledEntry<T>[] = [];
  #preferred: PooledEntry<T> | undefined;

  get length(): number {
    return this.#items.length;
  }

  /** Makes the entry holding `conn` the next one `shift()` returns; `false` when `conn` is not idle. */
  prefer(conn: T): boolean {
    const entry = this.#items.find((e) => e.obj === conn);
    this.#preferred = entry;
    return entry !== undefined;
  }

  /** Drops a preference `shift()` did not consume. */
  unprefer(): void {
    this.#preferred = undefined;
  }

  /** The idle connections, longest idle first (a snapshot). */
  connections(): T[] {
    return this.#items.map((e) => e.obj);
  }

  /** Forgets every entry (after generic-pool's `clear()`, which destroys them but leaves them listed). */
  clear(): void {
    this.#items.length = 0;
    this.#preferred = undefined;
  }

  // --- the Deque surface generic-pool uses ---

  /** Takes the top (or the preferred entry). */
  shift(): PooledEntry<T> | undefined {
    const preferred = this.#preferred;
    if (preferred !== undefined) {
      this.#preferred = undefined;
      const i = this.#items.lastIndexOf(preferred);
      if (i !== -1) {
        this.#items.splice(i, 1);
        return preferred;
      }
    }
    return this.#items.pop();
  }

  /** Puts an entry on top (generic-pool with `fifo: false`, on release and after create). */
  unshift(entry: PooledEntry<T>): void {
    this.#items.push(entry);
  }

  /** Puts an entry at the bottom (generic-pool with `fifo: true`; unused). */
  push(entry: PooledEntry<T>): void {
    this.#items.unshift(entry);
  }

  get head(): PooledEntry<T> | undefined {
    return this.#items[this.#items.length - 1];
  }

  get tail(): PooledEntry<T> | undefined {
    return this.#items[0];
  }

  /** Top first, over a snapshot (generic-pool's `clear()` destroys entries while iterating). */
  [Symbol.iterator](): Iterator<PooledEntry<T>> {
    return [...this.#items].reverse()[Symbol.iterator]();
  }

  /** generic-pool's evictor iterator; the pool never runs generic-pool's evictor, so it is inert. */
  iterator(): { next(): IteratorResult<PooledEntry<T>>; remove(): void; reset(): void } {
    return { next: () => ({ done: true, value: undefined }), remove: () => {}, reset: () => {} };
  }
}
