/**
 * A client's URL fast path: a URL string is turned into its origin's state and the request path
 * without the URL parser when it was seen before (one map lookup), or when its
 * `scheme://authority` prefix is an origin seen before followed by a plain path; anything else is
 * parsed (and normalised) by `new URL`, as fetch does.
 */
import { redactError, redactUrl } from '../errors/redact.ts';

/** URL strings remembered per client (a service calls a handful of endpoints again and again). */
const URL_CACHE_SIZE = 1024;
/** Origins remembered per client. */
const ORIGIN_CACHE_SIZE = 10_000;

/**
 * Resolves URLs for one client. The result of {@link resolve} is left in {@link state},
 * {@link path} and {@link href} (read them at once): the hot path allocates nothing.
 */
export class UrlResolver<S> {
  /** The origin's state, after a `resolve` that returned `true`. */
  state: S = undefined as S;
  /** Path and query, as the request line carries them. */
  path = '';
  /** The URL, canonical when it was parsed. */
  href = '';
  readonly #stateOf: (url: URL) => S;
  /** Canonical origins seen before, by the `scheme://authority` prefix of a URL string. */
  readonly #origins = new Map<string, S>();
  /** Canonical URL strings seen before, with their origin state and path. */
  readonly #urls = new Map<string, { readonly state: S; readonly path: string }>();

  /** `stateOf(url)` gives (or makes) the state of a parsed http(s) URL's origin. */
  constructor(stateOf: (url: URL) => S) {
    this.#stateOf = stateOf;
  }

  /**
   * Resolves `input`; `false` for a URL that is not http(s). Throws fetch's `TypeError` for a URL
   * that does not parse (quoting it without its user-info and query).
   */
  resolve(input: string | URL): boolean {
    if (typeof input === 'string') {
      const seen = this.#urls.get(input);
      if (seen !== undefined) {
        this.state = seen.state;
        this.path = seen.path;
        this.href = input;
        return true;
      }
      const cut = authorityEnd(input);
      if (cut > 0) {
        const state = this.#origins.get(input.slice(0, cut));
        const path = cut === input.length ? '/' : input.slice(cut);
        if (state !== undefined && isPlainPath(path)) {
          this.#remember(input, state, path);
          this.state = state;
          this.path = path;
          this.href = input;
          return true;
        }
      }
    }
    const url = parseUrl(input);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    const state = this.#stateOf(url);
    const path = url.pathname + url.search;
    if (typeof input === 'string') {
      const cut = authorityEnd(input);
      if (cut > 0 && input.slice(0, cut) === url.origin && this.#origins.size < ORIGIN_CACHE_SIZE) {
        this.#origins.set(url.origin, state);
      }
      if (url.href === input) this.#remember(input, state, path);
    }
    this.state = state;
    this.path = path;
    this.href = url.href;
    return true;
  }

  /** Remembers what a canonical URL string resolved to; the cache starts over when it is full. */
  #remember(url: string, state: S, path: string): void {
    if (this.#urls.size >= URL_CACHE_SIZE) this.#urls.clear();
    this.#urls.set(url, { state, path });
  }
}

/** `input` as a URL; fetch's `TypeError` when it does not parse (without the URL's secrets). */
export function parseUrl(input: string | URL): URL {
  if (input instanceof URL) return input;
  try {
    return new URL(String(input));
  } catch (err) {
    throw new TypeError(`Failed to parse URL from ${redactUrl(String(input))}`, { cause: redactError(err) });
  }
}

/** Index just past `scheme://authority` of an http(s) URL string, or -1. */
export function authorityEnd(url: string): number {
  let start: number;
  if (url.startsWith('http://')) start = 7;
  else if (url.startsWith('https://')) start = 8;
  else return -1;
  for (let i = start; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === 47 /* / */ || c === 63 /* ? */) return i;
    if (c === 35 /* # */ || c === 64 /* @ */ || c === 92 /* \\ */ || c <= 32 || c >= 127) return -1;
  }
  return url.length;
}

// Printable characters the URL parser percent-encodes (or, `\\`, turns into `/`) in an http(s)
// path, and in its query (WHATWG URL: the path and special-query percent-encode sets); `#` starts
// a fragment in either. Spaces and controls are checked apart.
const PATH_SPECIAL = new Uint8Array(128);
for (const ch of '"#<>\\^`{}') PATH_SPECIAL[ch.charCodeAt(0)] = 1;
const QUERY_SPECIAL = new Uint8Array(128);
for (const ch of '"#\'<>') QUERY_SPECIAL[ch.charCodeAt(0)] = 1;

/**
 * A path the URL parser would leave as it is: it starts with `/` (a query right after the
 * authority, `http://h?q`, gets a `/` from the parser), printable ASCII, no fragment, no dot
 * segments, and no empty query (the parser drops a bare `?`).
 */
export function isPlainPath(path: string): boolean {
  if (path.charCodeAt(0) !== 47) return false;
  if (path.indexOf('?') === path.length - 1) return false;
  let special = PATH_SPECIAL;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 63 /* ? */) special = QUERY_SPECIAL;
    if (c <= 32 || c >= 127 || special[c] === 1) return false;
    if (c === 46 /* . */ && path.charCodeAt(i - 1) === 47) return false;
    if (c === 37 /* % */ && path.charCodeAt(i + 1) === 50 && (path.charCodeAt(i + 2) | 32) === 101)
      return false;
  }
  return true;
}
