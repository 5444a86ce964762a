/**
 * The `Response` of a direct-path fetch: built with undici's public `Response` constructor (so it
 * is the class undici's fetch returns, `instanceof Response` holds and the body methods are
 * undici's own), carrying what that constructor cannot set — `url`, `redirected`, `type`
 * ('basic', or 'cors' after a redirect through another origin), a status outside 200–599 or a
 * status text the constructor refuses, and the header fields as they came off the wire — as a
 * subclass with getters. `clone()` keeps them.
 */

import { type Headers, Response } from 'undici';
import { fieldValue, ResponseHeaders } from './response-headers.ts';
import { isDisturbed, isErrored } from './stream-state.ts';

/**
 * Cancels the body of a response nobody reads any more, as undici does for its fetch responses,
 * so its connection is let go rather than held until the body timeout.
 */
const unread = new FinalizationRegistry<WeakRef<ReadableStream>>((ref) => {
  const stream = ref.deref();
  if (stream !== undefined && !stream.locked && !isDisturbed(stream) && !isErrored(stream)) {
    stream.cancel('Response object has been garbage collected').catch(() => {});
  }
});

/** A URL serialised without its fragment (Response `url`). */
function withoutFragment(url: URL): string {
  const href = url.href;
  const hash = url.hash.length;
  if (hash !== 0) return href.slice(0, href.length - hash);
  return href.endsWith('#') ? href.slice(0, -1) : href;
}

/** `Response`, seen with accessors (undici's types declare its fields as plain properties). */
const Base = Response as unknown as new (
  body: ReadableStream | null,
) => Omit<Response, 'status' | 'ok' | 'statusText' | 'headers' | 'url' | 'redirected' | 'type' | 'clone'> & {
  clone(): unknown;
};

export class DirectResponse extends Base {
  readonly #status: number;
  readonly #statusText: string;
  /** Made on first use (many callers read the body and nothing else). */
  #headers: ResponseHeaders | undefined = undefined;
  readonly #names: readonly string[];
  readonly #values: readonly string[];
  /** The URL list: the request's URL, then each redirect's target. */
  readonly #urlList: readonly URL[];
  readonly #type: 'basic' | 'cors';

  /**
   * @param names - the header field names (lower-cased) as received, in order
   * @param values - their values
   */
  constructor(
    body: ReadableStream<Uint8Array> | null,
    status: number,
    statusText: string,
    names: readonly string[],
    values: readonly string[],
    urlList: readonly URL[],
    type: 'basic' | 'cors',
  ) {
    // No init: the status, its text and the headers are this class's own (the constructor would
    // refuse some statuses, texts and values, and its web IDL conversions cost more than the rest).
    super(body);
    // The constructor's own headers serve its body methods only, which read `content-type`.
    const contentType = fieldValue(names, values, 'content-type');
    if (contentType !== null) {
      try {
        (Reflect.get(Response.prototype, 'headers', this) as Headers).append('content-type', contentType);
      } catch {
        // (A value a Headers refuses cannot come off the wire: the parser refuses it first.)
      }
    }
    this.#status = status;
    this.#statusText = statusText;
    this.#names = names;
    this.#values = values;
    this.#urlList = urlList;
    this.#type = type;
    if (body !== null) unread.register(this, new WeakRef(body));
  }

  // (undici's constructor reads `status` before this class's fields exist: it then gets its own.)
  get status(): number {
    return #status in this ? this.#status : (Reflect.get(Response.prototype, 'status', this) as number);
  }

  get ok(): boolean {
    const status = this.status;
    return status >= 200 && status <= 299;
  }

  get statusText(): string {
    return #statusText in this
      ? this.#statusText
      : (Reflect.get(Response.prototype, 'statusText', this) as string);
  }

  get headers(): ResponseHeaders {
    this.#headers ??= new ResponseHeaders(this.#names, this.#values);
    return this.#headers;
  }

  get url(): string {
    const last = this.#urlList[this.#urlList.length - 1];
    return last === undefined ? '' : withoutFragment(last);
  }

  get redirected(): boolean {
    return this.#urlList.length > 1;
  }

  get type(): 'basic' | 'cors' {
    return this.#type;
  }

  /** A copy with its own branch of the body (undici's `clone()` tees it), url, type and status kept. */
  override clone(): DirectResponse {
    // undici's own clone: its checks and errors, and the body teed (this response keeps one branch).
    const copy = super.clone() as Response;
    const body = this.body;
    if (body !== null) unread.register(this, new WeakRef(body));
    return new DirectResponse(
      copy.body,
      this.#status,
      this.#statusText,
      this.#names,
      this.#values,
      this.#urlList,
      this.#type,
    );
  }
}
