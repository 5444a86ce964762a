/**
 * The `headers` of a direct-path `Response`: an undici `Headers` (so `instanceof Headers` and
 * undici's brand checks hold) that answers from the header fields exactly as they came off the
 * wire, and refuses changes, as the immutable headers of undici's fetch responses do. Built with
 * undici's public class only: a `Headers` filled through its API would trim whitespace undici's
 * fetch keeps (`x-pad: v ` reads `'v '` there), so this one keeps the fields itself.
 */
import { inspect } from 'node:util';
import { Headers, Response } from 'undici';
import { isHttpToken } from './header-list.ts';

/** `Headers`, seen with methods (undici's types declare them as function-valued properties). */
interface HeadersApi {
  get(name: string): string | null;
  has(name: string): boolean;
  append(name: string, value: string): void;
  set(name: string, value: string): void;
  delete(name: string): void;
  getSetCookie(): string[];
}
const Base = Headers as unknown as new () => HeadersApi;

const esIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]()));

type Kind = 'key' | 'value' | 'key+value';

/** A `Headers` iterator (WebIDL pair iterator) over a snapshot of the sorted pairs. */
class HeadersIterator {
  readonly #pairs: readonly (readonly [string, string])[];
  readonly #kind: Kind;
  #index = 0;

  constructor(pairs: readonly (readonly [string, string])[], kind: Kind) {
    this.#pairs = pairs;
    this.#kind = kind;
  }

  next(): IteratorResult<unknown> {
    if (typeof this !== 'object' || this === null || !(#pairs in this)) {
      throw new TypeError("'next' called on an object that does not implement interface Headers Iterator.");
    }
    const pair = this.#pairs[this.#index];
    if (pair === undefined) return { value: undefined, done: true };
    this.#index++;
    const kind = this.#kind;
    return { value: kind === 'key' ? pair[0] : kind === 'value' ? pair[1] : [pair[0], pair[1]], done: false };
  }
}
Object.setPrototypeOf(HeadersIterator.prototype, esIteratorPrototype);
Object.defineProperty(HeadersIterator.prototype, Symbol.toStringTag, {
  value: 'Headers Iterator',
  configurable: true,
});

/**
 * The value of the header `lower` (a lower-cased name) among fields `names` / `values`, as a header
 * list combines repeated fields (`; ` between `cookie` values, `, ` otherwise), or `null`.
 */
export function fieldValue(
  names: readonly string[],
  values: readonly string[],
  lower: string,
): string | null {
  let out: string | null = null;
  for (let i = 0; i < names.length; i++) {
    if (names[i] !== lower) continue;
    const value = values[i] as string;
    out = out === null ? value : `${out}${lower === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** An undici `Headers` with the immutable guard (a network error's), which refuses every change. */
const IMMUTABLE = Response.error().headers as unknown as HeadersApi;

export class ResponseHeaders extends Base {
  /** Field names, lower-cased, in wire order. */
  readonly #names: readonly string[];
  /** Field values (latin1), as received. */
  readonly #values: readonly string[];
  /** The pairs iteration goes over (sorted, combined, `set-cookie` one by one), once asked for. */
  #sorted: (readonly [string, string])[] | undefined = undefined;

  constructor(names: readonly string[], values: readonly string[]) {
    super();
    this.#names = names;
    this.#values = values;
  }

  /** The combined value of `lower`, or `null` (`; ` between `cookie` values, `, ` otherwise). */
  #get(lower: string): string | null {
    return fieldValue(this.#names, this.#values, lower);
  }

  // Reads: a name that is not a valid header name (or missing) is left to undici's own method,
  // on this object's own empty list, for undici's own error.
  override get(...args: [name?: string]): string | null {
    const name = args[0];
    // A header name needs no check of undici's; anything else gets undici's own.
    if (typeof name !== 'string' || !isHttpToken(name)) super.get(...(args as [string]));
    return this.#get(String(name).toLowerCase());
  }

  override has(...args: [name?: string]): boolean {
    const name = args[0];
    if (typeof name !== 'string' || !isHttpToken(name)) super.has(...(args as [string]));
    return this.#names.includes(String(name).toLowerCase());
  }

  override getSetCookie(): string[] {
    const out: string[] = [];
    const names = this.#names;
    for (let i = 0; i < names.length; i++) if (names[i] === 'set-cookie') out.push(this.#values[i] as string);
    return out;
  }

  // Changes are refused by an immutable Headers of undici's: its checks, then `immutable`.
  override append(...args: [name?: string, value?: string]): void {
    IMMUTABLE.append(...(args as [string, string]));
  }

  override set(...args: [name?: string, value?: string]): void {
    IMMUTABLE.set(...(args as [string, string]));
  }

  override delete(...args: [name?: string]): void {
    IMMUTABLE.delete(...(args as [string]));
  }

  /** The pairs in iteration order: names sorted, values combined, each `set-cookie` on its own. */
  #pairs(): readonly (readonly [string, string])[] {
    if (this.#sorted !== undefined) return this.#sorted;
    const unique = [...new Set(this.#names)].sort();
    const pairs: (readonly [string, string])[] = [];
    for (const name of unique) {
      if (name === 'set-cookie') for (const cookie of this.getSetCookie()) pairs.push([name, cookie]);
      else pairs.push([name, this.#get(name) as string]);
    }
    this.#sorted = pairs;
    return pairs;
  }

  keys(): IterableIterator<string> {
    return new HeadersIterator(this.#pairs(), 'key') as unknown as IterableIterator<string>;
  }

  values(): IterableIterator<string> {
    return new HeadersIterator(this.#pairs(), 'value') as unknown as IterableIterator<string>;
  }

  entries(): IterableIterator<[string, string]> {
    return new HeadersIterator(this.#pairs(), 'key+value') as unknown as IterableIterator<[string, string]>;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg?: unknown): void {
    if (typeof callback !== 'function') {
      throw new TypeError("Failed to execute 'forEach' on 'Headers': parameter 1 is not of type 'Function'.");
    }
    for (const [key, value] of this.#pairs())
      callback.call(thisArg ?? globalThis, value, key, this as unknown as Headers);
  }

  [inspect.custom](depth: number, options: { depth?: number | null }): string {
    options.depth ??= depth;
    const record: Record<string, string> = {};
    for (const name of new Set(this.#names)) {
      Object.defineProperty(record, name, { value: this.#get(name), enumerable: true, configurable: true });
    }
    return `Headers ${inspect(record, options as object)}`;
  }
}
