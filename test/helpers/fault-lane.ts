// One direction of a proxied connection: a queue of chunks, FINs and RSTs read from one socket
// and delivered to the other, in order, with the delay, hold and byte budget the fault sets.
import type { Socket } from 'node:net';
import type { LaneSettings } from './faults.ts';

/** Time between forwarding the last byte and the RST of 'reset-after'; see #deliverData. */
const RESET_GRACE_MS = 5;

type Item = { due: number } & ({ type: 'data'; chunk: Buffer } | { type: 'end' } | { type: 'reset' });

export interface LaneHooks {
  /** Bytes delivered, for the proxy's counters. */
  forwarded(bytes: number): void;
  /** The budget ran out under 'reset': reset the whole connection. */
  reset(): void;
}

export class Lane {
  #from: Socket;
  #to: Socket;
  #hooks: LaneHooks;
  #items: Item[] = [];
  #settings: LaneSettings;
  #discard = false;
  #draining = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(from: Socket, to: Socket, settings: LaneSettings, hooks: LaneHooks) {
    this.#from = from;
    this.#to = to;
    this.#settings = { ...settings };
    this.#hooks = hooks;
    from.on('data', (chunk: Buffer) => this.#push({ type: 'data', chunk }));
    from.on('end', () => this.#push({ type: 'end' }));
    // An error means the socket is gone without a clean FIN: the far side gets an RST.
    from.on('error', () => this.#push({ type: 'reset' }));
  }

  /** Applies new settings to what is queued and what comes next. */
  configure(settings: LaneSettings): void {
    this.#settings = { ...settings }; // the budget counts down in place
    this.#pump();
  }

  /** Discards everything from now on, for good ('drop'): the source is still read, to nowhere. */
  discard(): void {
    this.#discard = true;
    this.#items = [];
    this.#pump();
  }

  /** Stops delivering and clears the timer, so a closed proxy leaves nothing behind. */
  stop(): void {
    this.#stopped = true;
    this.#items = [];
    clearTimeout(this.#timer);
  }

  #push(partial: { type: 'data'; chunk: Buffer } | { type: 'end' } | { type: 'reset' }): void {
    if (this.#stopped || this.#discard) return;
    this.#items.push({ ...partial, due: performance.now() + this.#settings.delay });
    this.#pump();
  }

  /** Delivers every item that may go now, then arms one timer for the next due item. */
  #pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const settings = this.#settings;
    for (;;) {
      const item = this.#items[0];
      if (this.#stopped || this.#discard || this.#draining || item === undefined) break;
      if (settings.hold || (settings.budget <= 0 && settings.exhausted === 'stall')) break;
      const wait = item.due - performance.now();
      if (wait > 0) {
        this.#timer = setTimeout(() => this.#pump(), wait);
        break;
      }
      if (item.type !== 'data') {
        this.#items.shift();
        this.#deliverSignal(item.type);
        continue;
      }
      // Split a chunk at the budget so exactly `budget` bytes go through.
      let chunk = item.chunk;
      if (chunk.length > settings.budget) {
        item.chunk = chunk.subarray(settings.budget);
        chunk = chunk.subarray(0, settings.budget);
      } else {
        this.#items.shift();
      }
      settings.budget -= chunk.length;
      this.#deliverData(chunk, settings);
    }
    this.#updateFlow();
  }

  #deliverData(chunk: Buffer, settings: LaneSettings): void {
    if (this.#to.destroyed) return;
    this.#hooks.forwarded(chunk.length);
    const resetNow = settings.budget <= 0 && settings.exhausted === 'reset';
    if (resetNow) {
      // Reset only once the bytes reached the kernel (an RST discards unsent data), and a moment
      // later still, so the client has read them: a client that has not (libuv in Node 22) sees
      // the RST as a plain EOF instead of ECONNRESET.
      this.#stopped = true;
      this.#to.write(chunk, () => setTimeout(() => this.#hooks.reset(), RESET_GRACE_MS));
      return;
    }
    if (!this.#to.write(chunk)) {
      this.#draining = true;
      this.#to.once('drain', () => {
        this.#draining = false;
        this.#pump();
      });
    }
  }

  #deliverSignal(type: 'end' | 'reset'): void {
    if (this.#to.destroyed) return;
    if (type === 'end') this.#to.end();
    else this.#to.resetAndDestroy();
  }

  /** Reads the source only while its data can go somewhere, so a stall pushes back on the sender. */
  #updateFlow(): void {
    const s = this.#settings;
    const blocked = s.hold || this.#draining || (s.budget <= 0 && s.exhausted === 'stall');
    if (blocked && !this.#discard) this.#from.pause();
    else this.#from.resume();
  }
}
