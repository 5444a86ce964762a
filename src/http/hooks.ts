/**
 * The hook stage (`beforeRequest` and `afterResponse` around each attempt, between the retry
 * stage and the breaker) and the `beforeRetry` hooks the retry stage asks. A call without hooks
 * never reaches any of this but for one `undefined` check per stage. Every hook runs in the
 * call's async context, bounded by its total deadline (`HTTP_HOOK_TIMEOUT`) and its caller's
 * signal (http/hook-run.ts); a hook that throws fails the call with its error, untouched,
 * carried through the policies as a `CallerFailure`.
 */
import type { Clock } from '../clock/clock.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { CallerFailure, FailedResponse, RequestedRetry } from '../policy/failure.ts';
import { promised, type Stage, settleFrom } from '../policy/pipeline.ts';
import type { ResultAdapter } from './attempt.ts';
import type { Call } from './call.ts';
import type {
  AfterResponseContext,
  BeforeRequestContext,
  BeforeRetryContext,
  HookRequest,
  HookResponse,
  HookRetryRequest,
} from './hook-options.ts';
import type { HookRun } from './hook-run.ts';

/** How a front-end's input is read and rewritten for an attempt (http/fetch.ts, http/request.ts). */
export interface HookFront {
  /** The headers of the front-end's input as given. */
  headersOf(input: unknown): unknown;
  /** Points the call's next attempt at `url` (same origin) with `headers`, from the input as given. */
  rewrite(call: Call, input: unknown, url: URL, headers: Headers): void;
}

/**
 * The hook stage, between the retry stage and the breaker: each attempt's `beforeRequest` hooks,
 * the attempt, then its `afterResponse` hooks. A call without hooks goes straight on.
 */
export function hookStage<R>(front: HookFront, adapter: ResultAdapter<R>, clock: Clock): Stage<Call, R> {
  return (next) => {
    const attempt = promised(next);
    return (call, done) => {
      const run = call.hookRun;
      if (run === undefined) {
        next(call, done);
        return;
      }
      settleFrom(hookedAttempt(attempt, front, adapter, clock, call, run), call, done);
    };
  };
}

async function hookedAttempt<R>(
  attempt: (call: Call) => Promise<R>,
  front: HookFront,
  adapter: ResultAdapter<R>,
  clock: Clock,
  call: Call,
  run: HookRun,
): Promise<R> {
  const { beforeRequest, afterResponse } = run.hooks;
  const request = run.prepare(call, front.headersOf(run.input));
  if (beforeRequest.length > 0 || run.extraHeaders !== undefined) {
    const context: BeforeRequestContext = new BeforeRequestHookContext(run, request, call.attempts + 1);
    for (const hook of beforeRequest) await run.run(call, clock, hook, context);
    const { url, headers } = run.resolve(call, request);
    front.rewrite(call, run.input, url, headers);
  }
  if (afterResponse.length === 0) return attempt(call);
  let result: R;
  let failed: FailedResponse | undefined;
  try {
    result = await attempt(call);
  } catch (err) {
    // Only a response goes to afterResponse; a failure status travels as a FailedResponse.
    if (!(err instanceof FailedResponse)) throw err;
    failed = err;
    result = err.result as R;
  }
  const status = adapter.status(result);
  const context: AfterResponseContext = new AfterResponseHookContext(
    run,
    request,
    result,
    status,
    call.attempts,
  );
  try {
    for (const hook of afterResponse) {
      const answer: unknown = await run.run(call, clock, hook, context);
      if (answer === undefined) continue;
      if (typeof answer !== 'object' || answer === null || (answer as HookRetryRequest).retry !== true) {
        throw new CallerFailure(
          new InvalidOptionError(
            'hooks.afterResponse',
            'to return undefined or { retry: true, headers? }',
            answer,
          ),
        );
      }
      run.askHeaders((answer as HookRetryRequest).headers);
      // Retried by the retry stage under its rules; returned as the result if it is not.
      throw new RequestedRetry(status, result, undefined, adapter.dispose);
    }
  } catch (err) {
    if (!(err instanceof RequestedRetry)) adapter.dispose(result);
    throw err;
  }
  if (failed !== undefined) throw failed;
  return result;
}

/**
 * The retry stage's `beforeRetry` (policy/retry.ts): `undefined` at once for a call without
 * `beforeRetry` hooks; otherwise a promise of `false` when one of them cancelled the retry.
 */
export function beforeRetryOf(
  clock: Clock,
): (call: Call, failure: unknown, attempt: number, delay: number) => Promise<false | undefined> | undefined {
  return (call, failure, attempt, delay) => {
    const run = call.hookRun;
    if (run === undefined || run.hooks.beforeRetry.length === 0) return undefined;
    return beforeRetry(clock, call, run, failure, attempt, delay);
  };
}

async function beforeRetry(
  clock: Clock,
  call: Call,
  run: HookRun,
  failure: unknown,
  attempt: number,
  delay: number,
): Promise<false | undefined> {
  const response = failure instanceof FailedResponse;
  const context: BeforeRetryContext = new BeforeRetryHookContext(
    run,
    run.request ?? { url: new URL(run.href), method: call.method, headers: new Headers() },
    response ? undefined : failure,
    response ? failure.result : undefined,
    attempt,
    delay,
  );
  for (const hook of run.hooks.beforeRetry) {
    const answer: unknown = await run.run(call, clock, hook, context);
    if (answer === false) return false;
    if (answer !== undefined) {
      throw new CallerFailure(
        new InvalidOptionError(
          'hooks.beforeRetry',
          'to return undefined, or false to cancel the retry',
          answer,
        ),
      );
    }
  }
  return undefined;
}

/**
 * The hook contexts: their `signal` is a getter on the prototype, so the hooks' signal is made
 * only when a hook reads it (HookRun.signal) without a closure or an accessor property per
 * context (getters in an object literal doubled a hooked call's CPU).
 */
class HookContext {
  readonly #run: HookRun;
  constructor(run: HookRun) {
    this.#run = run;
  }
  get signal(): AbortSignal {
    return this.#run.signal;
  }
}

class BeforeRequestHookContext extends HookContext implements BeforeRequestContext {
  readonly request: HookRequest;
  readonly attempt: number;
  constructor(run: HookRun, request: HookRequest, attempt: number) {
    super(run);
    this.request = request;
    this.attempt = attempt;
  }
}

class AfterResponseHookContext extends HookContext implements AfterResponseContext {
  readonly request: HookRequest;
  readonly response: HookResponse;
  readonly status: number;
  readonly attempt: number;
  constructor(run: HookRun, request: HookRequest, response: unknown, status: number, attempt: number) {
    super(run);
    this.request = request;
    this.response = response as HookResponse;
    this.status = status;
    this.attempt = attempt;
  }
}

class BeforeRetryHookContext extends HookContext implements BeforeRetryContext {
  readonly request: HookRequest;
  readonly error: unknown;
  readonly response: HookResponse | undefined;
  readonly attempt: number;
  readonly delay: number;
  constructor(
    run: HookRun,
    request: HookRequest,
    error: unknown,
    response: unknown,
    attempt: number,
    delay: number,
  ) {
    super(run);
    this.request = request;
    this.error = error;
    this.response = response as HookResponse | undefined;
    this.attempt = attempt;
    this.delay = delay;
  }
}
