/**
 * The body of a `client.request` response: a Node `Readable` with the body mixin undici's request
 * API gives its bodies (`text()`, `json()`, `arrayBuffer()`, `bytes()`, `blob()`, `formData()`,
 * `body`, `bodyUsed`) and its `dump({ signal, limit })`, with the same semantics and errors (the
 * classes from undici's public `errors`). undici exports the type of its body but not the class,
 * so this is our own, written to cost what undici's costs: a body consumed with `text()` skips
 * Node's stream buffer and is collected straight from `push`.
 */
import { addAbortListener } from 'node:events';
import { Readable } from 'node:stream';
import { errors } from 'undici';
import { isDisturbed } from './stream-state.ts';

/** undici's `AbortError` (documented, though its type declarations leave it out). */
const AbortError = (errors as unknown as { AbortError: new (message?: string) => Error }).AbortError;

type ConsumeType = 'text' | 'json' | 'blob' | 'bytes' | 'arrayBuffer';

/** A `text()` / `json()` / … in progress: the chunks collected so far. */
class Consume {
  readonly type: ConsumeType;
  resolve: ((value: unknown) => void) | null;
  reject: ((err: unknown) => void) | null;
  length = 0;
  body: Buffer[] | null = [];

  constructor(type: ConsumeType, resolve: (value: unknown) => void, reject: (err: unknown) => void) {
    this.type = type;
    this.resolve = resolve;
    this.reject = reject;
  }
}

function noop(): void {}

export interface BodyReadableOptions {
  /** Asks for more data (the request's controller resumes). */
  resume: (this: Readable) => void;
  /** Aborts the request (the body was destroyed before its end). */
  abort: (this: Readable, reason?: Error) => void;
  contentType?: string | undefined;
  contentLength?: number | null | undefined;
  highWaterMark?: number;
}

export class BodyReadable extends Readable {
  readonly #abort: (reason?: Error) => void;
  readonly #contentType: string;
  readonly #contentLength: number | null;
  #consume: Consume | null = null;
  /** A `text()` (or the like) has been called: the body is locked to it from then on. */
  #consuming = false;
  #bytesRead = 0;
  #body: ReadableStream | null = null;
  /** Read through the `Readable` API at some point ('data' or 'readable' listened to). */
  #used = false;
  /** Being read through the `Readable` API now (a 'data' or 'readable' listener). */
  #reading = false;
  /** Failed with {@link fail}: what a consume rejects with (any value, falsy ones included). */
  #failed = false;
  #failure: unknown = undefined;

  constructor({
    resume,
    abort,
    contentType = '',
    contentLength,
    highWaterMark = 64 * 1024,
  }: BodyReadableOptions) {
    super({ autoDestroy: true, read: resume, highWaterMark });
    this.#abort = abort;
    this.#contentType = contentType;
    this.#contentLength = Number.isFinite(contentLength) ? (contentLength as number) : null;
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    if (!err && !this.readableEnded) err = new errors.RequestAbortedError();
    if (err) this.#abort.call(this, err);
    // Destroyed in the tick it was made, a caller awaiting a microtask before listening for
    // 'error' would otherwise meet an unhandled error (as undici's body does).
    if (!this.#used) setImmediate(callback, err);
    else callback(err);
  }

  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    if (event === 'data' || event === 'readable') {
      this.#reading = true;
      this.#used = true;
    }
    return super.on(event, listener as (...args: unknown[]) => void);
  }

  override addListener(event: string | symbol, listener: (...args: never[]) => void): this {
    return this.on(event, listener);
  }

  override off(event: string | symbol, listener: (...args: never[]) => void): this {
    const out = super.off(event, listener as (...args: unknown[]) => void);
    if (event === 'data' || event === 'readable') {
      this.#reading = this.listenerCount('data') > 0 || this.listenerCount('readable') > 0;
    }
    return out;
  }

  override removeListener(event: string | symbol, listener: (...args: never[]) => void): this {
    return this.off(event, listener);
  }

  override push(chunk: Buffer | null): boolean {
    if (chunk) {
      this.#bytesRead += chunk.length;
      const consume = this.#consume;
      if (consume !== null) {
        consumePush(consume, chunk);
        return this.#reading ? super.push(chunk) : true;
      }
    }
    return super.push(chunk);
  }

  text(): Promise<string> {
    return this.#consumeAs('text') as Promise<string>;
  }

  json(): Promise<unknown> {
    return this.#consumeAs('json');
  }

  blob(): Promise<Blob> {
    return this.#consumeAs('blob') as Promise<Blob>;
  }

  bytes(): Promise<Uint8Array> {
    return this.#consumeAs('bytes') as Promise<Uint8Array>;
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#consumeAs('arrayBuffer') as Promise<ArrayBuffer>;
  }

  /** Not implemented, as in undici's request API: rejects with `NotSupportedError`. */
  async formData(): Promise<never> {
    throw new errors.NotSupportedError();
  }

  /** Whether the body has been read from (or cancelled). */
  get bodyUsed(): boolean {
    return isDisturbed(this);
  }

  /** The body as a web `ReadableStream` (locked if a `text()` or the like has begun). */
  get body(): ReadableStream {
    if (this.#body === null) {
      this.#body = ReadableStream.from(this);
      if (this.#consuming) this.#body.getReader(); // a consume is an implicit lock
    }
    return this.#body;
  }

  /**
   * Reads and drops the body so its connection can serve again: up to `limit` bytes (128 KiB by
   * default; a longer body is aborted instead), or until `signal` aborts, which rejects with its
   * reason.
   */
  dump(opts?: { limit?: number; signal?: AbortSignal }): Promise<void> {
    const signal = opts?.signal;
    if (signal != null && (typeof signal !== 'object' || !('aborted' in signal))) {
      return Promise.reject(new errors.InvalidArgumentError('signal must be an AbortSignal'));
    }
    const limit = opts?.limit && Number.isFinite(opts.limit) ? opts.limit : 128 * 1024;
    if (signal?.aborted) return Promise.reject(signal.reason ?? new AbortError());
    if (this.closed) return Promise.resolve(null as unknown as undefined);
    return new Promise<void>((resolve, reject) => {
      if ((this.#contentLength && this.#contentLength > limit) || this.#bytesRead > limit) {
        this.destroy(new AbortError());
      }
      if (signal) {
        const listener = addAbortListener(signal, () => {
          this.destroy(signal.reason ?? new AbortError());
        });
        this.on('close', () => {
          listener[Symbol.dispose]();
          if (signal.aborted) reject(signal.reason ?? new AbortError());
          else resolve(null as unknown as undefined);
        });
      } else {
        this.on('close', () => resolve());
      }
      this.on('error', noop)
        .on('data', () => {
          if (this.#bytesRead > limit) this.destroy();
        })
        .resume();
    });
  }

  /**
   * Fails the body with `reason`, any value: a `text()` (or the like) rejects with it as it is,
   * now or when called later; the stream errors with it (Node streams cannot error with a falsy
   * value: for those, `RequestAbortedError`, as a body destroyed without an error).
   */
  fail(reason: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#failure = reason;
    const consume = this.#consume;
    if (consume !== null) consumeFail(consume, reason);
    this.on('error', noop).destroy(reason ? (reason as Error) : undefined);
  }

  override setEncoding(encoding: BufferEncoding): this {
    if (Buffer.isEncoding(encoding)) super.setEncoding(encoding);
    return this;
  }

  #consumeAs(type: ConsumeType): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.#failed) {
        reject(this.#failure);
        return;
      }
      if (this.bodyUsed || this.#body?.locked === true || this.#consuming) {
        if (this.destroyed && !this.closed) {
          this.on('error', reject).on('close', () => reject(new TypeError('unusable')));
        } else {
          reject(this.errored ?? new TypeError('unusable'));
        }
        return;
      }
      this.#consuming = true;
      queueMicrotask(() => {
        const consume = new Consume(type, resolve, reject);
        this.#consume = consume;
        this.on('error', (err: Error) => consumeFail(consume, err)).on('close', () => {
          consumeFail(consume, new errors.RequestAbortedError());
        });
        this.#consumeStart(consume);
      });
    });
  }

  #consumeStart(consume: Consume): void {
    if (consume.body === null) return;
    // What was buffered before the consume began (strings if an encoding was set: turned back into bytes).
    const encoding = this.readableEncoding;
    for (let chunk = super.read() as Buffer | string | null; chunk !== null; chunk = super.read()) {
      consumePush(consume, typeof chunk === 'string' ? Buffer.from(chunk, encoding ?? 'utf8') : chunk);
    }
    if (this.readableEnded) {
      this.#consumeEnd(consume);
      return;
    }
    this.on('end', () => this.#consumeEnd(consume));
    this.resume();
    while (super.read() !== null) {
      // (drained into the consume by push)
    }
  }

  #consumeEnd(consume: Consume): void {
    const { type, body, resolve, length } = consume;
    if (body === null || resolve === null) return;
    try {
      if (type === 'text') resolve(decode(body, length, this.readableEncoding));
      else if (type === 'json') resolve(JSON.parse(decode(body, length, this.readableEncoding)));
      else if (type === 'arrayBuffer') resolve(concat(body, length).buffer);
      else if (type === 'blob') resolve(new Blob(body, { type: this.#contentType }));
      else resolve(concat(body, length));
      consumeDone(consume);
    } catch (err) {
      this.destroy(err as Error);
    }
  }
}

/** The consume rejects with `err` (any value), unless it has settled. */
function consumeFail(consume: Consume, err: unknown): void {
  if (consume.body === null) return;
  const reject = consume.reject;
  consumeDone(consume);
  reject?.(err);
}

function consumePush(consume: Consume, chunk: Buffer): void {
  if (consume.body === null) return;
  consume.length += chunk.length;
  consume.body.push(chunk);
}

/** The consume has resolved: it lets go of its chunks. */
function consumeDone(consume: Consume): void {
  consume.resolve = null;
  consume.reject = null;
  consume.length = 0;
  consume.body = null;
}

/** The chunks as text (a UTF-8 BOM skipped, as fetch's `text()` does). */
function decode(chunks: Buffer[], length: number, encoding: BufferEncoding | null): string {
  if (chunks.length === 0 || length === 0) return '';
  const buffer = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
  const start = buffer.length > 2 && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
  if (!encoding || encoding === 'utf8' || encoding === 'utf-8') return buffer.toString('utf8', start);
  return buffer.subarray(start).toString(encoding);
}

/** The chunks as one `Uint8Array` of its own (not a view of a pooled buffer). */
function concat(chunks: Buffer[], length: number): Uint8Array {
  if (chunks.length === 0 || length === 0) return new Uint8Array(0);
  if (chunks.length === 1) return new Uint8Array(chunks[0] as Buffer);
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}
