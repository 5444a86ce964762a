/**
 * The hooks' public types (`beforeRequest`, `afterResponse`, `beforeRetry` and what they get)
 * and their validation: per client and per call, each a function or an array, the client's first.
 */
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkObject } from '../options/validate.ts';

/**
 * The request an attempt is about to send, as hooks see and change it. It starts from the call's
 * own request for every attempt (plus the headers an `afterResponse` hook asked for), so changes
 * do not pile up over attempts.
 */
export interface HookRequest {
  /**
   * The URL: change it in place (`url.pathname = ...`) or assign another (a string is taken too),
   * within the call's origin.
   */
  url: URL;
  /** The method (fixed for the call: its idempotency and retries were decided on it). */
  readonly method: string;
  /** The headers: change them in place, or assign a `Headers` (a record or pairs are taken too). */
  headers: Headers;
}

/** Whatever the global `Headers` constructor takes: a `Headers`, a record, pairs. */
export type HookHeadersInit = NonNullable<ConstructorParameters<typeof Headers>[0]>;

/**
 * The response of an attempt: fetch's `Response` for `client.fetch`'s hooks, what
 * `client.request` resolves with for its hooks; either, for the client's own hooks.
 */
export type HookResponse = unknown;

/** What `beforeRequest` hooks get. */
export interface BeforeRequestContext {
  readonly request: HookRequest;
  /** The attempt about to be made (1 for the first). */
  readonly attempt: number;
  /** Aborted when the caller's signal aborts or the call's deadline passes while a hook runs. */
  readonly signal: AbortSignal;
}

/** What `afterResponse` hooks get (`Res`: the response type, see {@link HookResponse}). */
export interface AfterResponseContext<Res = HookResponse> {
  /** The request the attempt sent. */
  readonly request: HookRequest;
  /** The `Response` (fetch) or `{ statusCode, headers, body }` (request). Its body is yours to read. */
  readonly response: Res;
  readonly status: number;
  /** The attempt that got it (1 for the first). */
  readonly attempt: number;
  readonly signal: AbortSignal;
}

/**
 * An `afterResponse` hook's request for one more attempt: its `headers` are set on every later
 * attempt's request (before the `beforeRequest` hooks run), e.g. a refreshed token.
 */
export interface HookRetryRequest {
  readonly retry: true;
  readonly headers?: HookHeadersInit;
}

/** What `beforeRetry` hooks get (`Res`: the response type, see {@link HookResponse}). */
export interface BeforeRetryContext<Res = HookResponse> {
  /** The request the failed attempt sent. */
  readonly request: HookRequest;
  /** The failure, or `undefined` when the attempt got a response whose status is retried. */
  readonly error: unknown;
  /** That response, or `undefined`. It is discarded if the retry goes ahead. */
  readonly response: Res | undefined;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** Milliseconds the retry will wait (the backoff, `Retry-After`) once the hooks are done. */
  readonly delay: number;
  readonly signal: AbortSignal;
}

/** Runs before each attempt; may change the request's headers and URL. */
export type BeforeRequestHook = (context: BeforeRequestContext) => void | Promise<void>;
/** Runs after each attempt that got a response; may ask for one retry (`{ retry: true }`). */
export type AfterResponseHook<Res = HookResponse> = (
  context: AfterResponseContext<Res>,
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing (`() => {}`) must type-check.
) => HookRetryRequest | undefined | void | Promise<HookRetryRequest | undefined | void>;
/** Runs before each retry; `false` cancels it (the call ends with the failure or response). */
export type BeforeRetryHook<Res = HookResponse> = (
  context: BeforeRetryContext<Res>,
  // biome-ignore lint/suspicious/noConfusingVoidType: a hook that returns nothing (`() => {}`) must type-check.
) => false | undefined | void | Promise<false | undefined | void>;

/**
 * Hooks, on `createClient` (every call) and per call (`client.fetch(url, { hooks })`,
 * `client.request(url, { hooks })`); each a function or an array of them, run in order, the
 * client's before the call's. Each may be async; each runs in the call's async context, within
 * its total deadline. A hook that throws fails the call with its error, untouched.
 *
 * @example
 * ```ts
 * let token = await login();
 * const client = createClient({
 *   hooks: {
 *     beforeRequest: ({ request }) => {
 *       request.headers.set('authorization', `Bearer ${token}`);
 *     },
 *     afterResponse: async ({ status }) => {
 *       if (status !== 401) return undefined;
 *       token = await login(); // the retry below still obeys the deadline, the budget and idempotency
 *       return { retry: true };
 *     },
 *   },
 * });
 * ```
 */
export interface Hooks<Res = HookResponse> {
  beforeRequest?: BeforeRequestHook | readonly BeforeRequestHook[];
  afterResponse?: AfterResponseHook<Res> | readonly AfterResponseHook<Res>[];
  beforeRetry?: BeforeRetryHook<Res> | readonly BeforeRetryHook<Res>[];
}

/** Hooks after validation: arrays, the client's first. */
export interface ResolvedHooks {
  readonly beforeRequest: readonly BeforeRequestHook[];
  readonly afterResponse: readonly AfterResponseHook[];
  readonly beforeRetry: readonly BeforeRetryHook[];
}

const HOOK_KEYS = ['beforeRequest', 'afterResponse', 'beforeRetry'] as const;
const NONE: readonly never[] = Object.freeze([]);

/**
 * Validates `input` (at `path`) and appends its hooks to `base`'s. `undefined` when there are
 * none at all, so a call without hooks carries nothing.
 */
export function resolveHooks(
  input: unknown,
  path: string,
  base: ResolvedHooks | undefined,
): ResolvedHooks | undefined {
  if (input === undefined) return base;
  const o = checkObject(input, path, HOOK_KEYS);
  const lists = HOOK_KEYS.map((key) => {
    const given = o[key];
    const own: unknown[] = given === undefined ? [] : Array.isArray(given) ? given : [given];
    own.forEach((fn, i) => {
      if (typeof fn !== 'function') {
        const at = Array.isArray(given) ? `${path}.${key}[${i}]` : `${path}.${key}`;
        throw new InvalidOptionError(at, 'a function or an array of functions', fn);
      }
    });
    const before = base?.[key] ?? NONE;
    return own.length === 0 ? before : Object.freeze([...before, ...own]);
  });
  const [beforeRequest, afterResponse, beforeRetry] = lists as [
    BeforeRequestHook[],
    AfterResponseHook[],
    BeforeRetryHook[],
  ];
  if (beforeRequest.length + afterResponse.length + beforeRetry.length === 0) return undefined;
  return Object.freeze({ beforeRequest, afterResponse, beforeRetry });
}
