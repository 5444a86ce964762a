/**
 * A fetch request's header list (Fetch standard, "header list"), as the direct path keeps it:
 * names matched case-insensitively, the first spelling of a name kept for the wire, a repeated
 * name combined into one value (`, `; `; ` for `cookie`), and the header names and values fetch
 * accepts. It reproduces what undici's fetch sends, byte for byte, without undici's private class.
 */

/** One header of the list: the name as first given, and the combined value. */
class Entry {
  readonly name: string;
  readonly value: string;

  constructor(name: string, value: string) {
    this.name = name;
    this.value = value;
  }
}

export class HeaderList {
  /** By lower-cased name, in the order names were first added (the wire order). */
  readonly #map: Map<string, Entry>;

  constructor(from?: HeaderList) {
    this.#map = from === undefined ? new Map() : new Map(from.#map);
  }

  /** Whether a header named `lower` (already lower-cased) is in the list. */
  contains(lower: string): boolean {
    return this.#map.has(lower);
  }

  /** The combined value of the header named `lower`, or `null`. */
  get(lower: string): string | null {
    return this.#map.get(lower)?.value ?? null;
  }

  /** Appends `value` to the header `name`, combining it with a value already there. */
  append(name: string, value: string, lower: string = name.toLowerCase()): void {
    const entry = this.#map.get(lower);
    if (entry === undefined) this.#map.set(lower, new Entry(name, value));
    // A fresh entry: a copy of the list shares the entries of the list it was copied from.
    else
      this.#map.set(
        lower,
        new Entry(entry.name, `${entry.value}${lower === 'cookie' ? '; ' : ', '}${value}`),
      );
  }

  /** Sets the header `name` to `value` alone. */
  set(name: string, value: string, lower: string = name.toLowerCase()): void {
    this.#map.set(lower, new Entry(name, value));
  }

  delete(lower: string): void {
    this.#map.delete(lower);
  }

  /** The list as dispatch headers: each name as first given, with its combined value. */
  toRecord(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const { name, value } of this.#map.values()) {
      if (name === '__proto__') {
        // An own property named `__proto__`, not the object's prototype.
        Object.defineProperty(out, name, { value, enumerable: true, configurable: true, writable: true });
      } else out[name] = value;
    }
    return out;
  }
}

// RFC 9110 tchar: ! # $ % & ' * + - . ^ _ ` | ~ DIGIT ALPHA
const TOKEN = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  TOKEN[c.charCodeAt(0)] = 1;
}

/** Whether `s` is an HTTP token (a valid header name or method). */
export function isHttpToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}

/** HTTP whitespace at either end of a value, which fetch strips ("normalize"). */
const EDGE_WHITESPACE = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const BAD_VALUE = /[\0\r\n]|[^\0-\xff]/;

/**
 * `value` as fetch puts it in a request's header list (whitespace at either end stripped), or
 * `undefined` when fetch would refuse it (NUL, CR, LF, or a character beyond latin1).
 */
export function headerValue(value: string): string | undefined {
  const normal = value.replace(EDGE_WHITESPACE, '');
  return BAD_VALUE.test(normal) ? undefined : normal;
}
