/**
 * The hooks' state for one call: the request each attempt starts from, the headers an
 * `afterResponse` hook asked for, the signal hooks get, and running one hook in the call's async
 * context within its total deadline and its caller's signal. It reads a call through the narrow
 * {@link HookCall}.
 */
import { AsyncResource } from 'node:async_hooks';
import type { Clock } from '../clock/clock.ts';
import { BulwarkError, type RequestInfo } from '../errors/bulwark-error.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { redactUrl } from '../errors/redact.ts';
import { CallerFailure } from '../policy/failure.ts';
import type { HookHeadersInit, HookRequest, ResolvedHooks } from './hook-options.ts';

/** What a hook run reads of its call. */
export interface HookCall {
  readonly method: string;
  readonly origin: string;
  readonly signal: AbortSignal | undefined;
  readonly deadline: number;
  readonly attempts: number;
  readonly request: RequestInfo;
  readonly state: { readonly target: BulwarkError['target'] };
}

/** The hooks' state for one call (made as the call is, only when it has hooks). */
export class HookRun {
  readonly hooks: ResolvedHooks;
  /** The front-end's input as the caller gave it. */
  readonly input: unknown;
  /** The call's URL as given. */
  readonly href: string;
  /**
   * The async context the call was made in, which every hook runs in (an `AsyncResource`:
   * `AsyncLocalStorage.snapshot()` costs ~60 times as much to make).
   */
  readonly #scope = new AsyncResource('bulwark:hooks');
  readonly #controller = new AbortController();
  readonly #caller: AbortSignal | undefined;
  #signal: AbortSignal | undefined = undefined;
  /** The request of the current (last) attempt. */
  request: HookRequest | undefined = undefined;
  /** Headers an `afterResponse` hook asked every later attempt to carry. */
  extraHeaders: Headers | undefined = undefined;

  /** The client's closing signal: a hook still running when the client closes ends the call. */
  readonly #closing: AbortSignal;

  constructor(
    hooks: ResolvedHooks,
    input: unknown,
    href: string,
    signal: AbortSignal | undefined,
    closing: AbortSignal,
  ) {
    this.hooks = hooks;
    this.input = input;
    this.href = href;
    this.#closing = closing;
    this.#caller = signal;
  }

  /**
   * What hooks get as their `signal`: the hooks' own (deadline, close) and the caller's. Made when
   * a hook first reads it: `AbortSignal.any` costs microseconds, most hooks never look.
   */
  get signal(): AbortSignal {
    if (this.#signal === undefined) {
      const own = this.#controller.signal;
      // `own` first: aborted already, its reason is the one an earlier-made signal would carry.
      this.#signal = this.#caller === undefined ? own : AbortSignal.any([own, this.#caller]);
    }
    return this.#signal;
  }

  /**
   * Runs `fn(context)` in the call's async context. A throw, or a rejection, becomes a
   * `CallerFailure`; a hook still running when the call's total deadline passes fails it with
   * `HTTP_HOOK_TIMEOUT`, and one running when the caller aborts fails it with the signal's reason
   * (either way its `signal` is aborted, so it can stop).
   */
  run<T>(call: HookCall, clock: Clock, fn: (context: never) => T, context: object): T | Promise<Awaited<T>> {
    let result: T;
    try {
      result = this.#scope.runInAsyncScope(fn as (context: object) => T, undefined, context);
    } catch (err) {
      throw new CallerFailure(err);
    }
    if (!isThenable(result)) return result;
    const caller = call.signal;
    const closing = this.#closing;
    return new Promise<Awaited<T>>((resolve, reject) => {
      const finish = (): void => {
        clock.clearTimeout(timer);
        caller?.removeEventListener('abort', onAbort);
        closing.removeEventListener('abort', onClose);
      };
      const onAbort = (): void => {
        finish();
        this.#controller.abort(caller?.reason);
        reject(caller?.reason);
      };
      // The client closed: the call ends with its POOL_CLOSED, as a backoff sleep does.
      const onClose = (): void => {
        finish();
        this.#controller.abort(closing.reason);
        reject(closing.reason);
      };
      const timer = clock.setTimeout(
        () => {
          finish();
          const timeout = hookTimeout(call);
          this.#controller.abort(timeout);
          reject(new CallerFailure(timeout));
        },
        Math.max(0, call.deadline - clock.now()),
      );
      if (caller?.aborted) {
        onAbort();
        return;
      }
      if (closing.aborted) {
        onClose();
        return;
      }
      caller?.addEventListener('abort', onAbort, { once: true });
      closing.addEventListener('abort', onClose, { once: true });
      (result as PromiseLike<Awaited<T>>).then(
        (value) => {
          finish();
          resolve(value);
        },
        (err: unknown) => {
          finish();
          reject(new CallerFailure(err));
        },
      );
    });
  }

  /** The request for the next attempt: the call's own, with the headers asked for since. */
  prepare(call: HookCall, given: unknown): HookRequest {
    const headers = toHeaders(given);
    this.extraHeaders?.forEach((value, name) => {
      headers.set(name, value);
    });
    const request: HookRequest = { url: new URL(this.href), method: call.method, headers };
    this.request = request;
    return request;
  }

  /** The URL and headers the next attempt is sent with, as `request` says (checked: a URL of the call's origin, valid headers). */
  resolve(call: HookCall, request: HookRequest): { url: URL; headers: Headers } {
    let url: URL;
    try {
      const given = request.url;
      url = given instanceof URL ? given : new URL(String(given));
    } catch {
      throw new CallerFailure(
        new InvalidOptionError('hooks: request.url', 'a URL', redactUrl(String(request.url))),
      );
    }
    if (url.origin !== call.origin) {
      throw new CallerFailure(
        new InvalidOptionError(
          'hooks: request.url',
          `a URL of the call's origin (${call.origin}): its breaker, budget and connections are that origin's`,
          redactUrl(url.href),
        ),
      );
    }
    let headers: Headers;
    try {
      headers = request.headers instanceof Headers ? request.headers : toHeaders(request.headers);
    } catch (err) {
      throw new CallerFailure(err);
    }
    return { url, headers };
  }

  /** Remembers the headers of an `afterResponse` hook's retry request for every later attempt. */
  askHeaders(given: HookHeadersInit | undefined): void {
    if (given === undefined) return;
    let asked: Headers;
    try {
      asked = new Headers(given);
    } catch (err) {
      throw new CallerFailure(err);
    }
    const extra = this.extraHeaders ?? new Headers();
    asked.forEach((value, name) => {
      extra.set(name, value);
    });
    this.extraHeaders = extra;
  }
}

/** The failure of a hook still running at the call's total deadline. */
function hookTimeout(call: HookCall): BulwarkError {
  return new BulwarkError({
    layer: 'http',
    code: 'HTTP_HOOK_TIMEOUT',
    budget: 'total',
    retryable: false,
    mayHaveExecuted: call.attempts > 0,
    target: call.state.target,
    request: call.request,
    attempts: call.attempts,
  });
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Any header shape either front-end takes, as a `Headers`: a `Headers`, a record (values may be
 * arrays; `undefined` skipped), pairs, or `client.request`'s flat `[name, value, ...]` array.
 */
export function toHeaders(raw: unknown): Headers {
  const headers = new Headers();
  if (raw === undefined || raw === null) return headers;
  if (Array.isArray(raw)) {
    if (raw.length > 0 && !Array.isArray(raw[0])) {
      for (let i = 0; i + 1 < raw.length; i += 2) headers.append(String(raw[i]), String(raw[i + 1]));
      return headers;
    }
    for (const pair of raw as [string, string][]) headers.append(pair[0], pair[1]);
    return headers;
  }
  if (typeof (raw as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [name, value] of raw as Iterable<[string, string]>) headers.append(name, value);
    return headers;
  }
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, String(v));
    else headers.append(name, String(value));
  }
  return headers;
}
