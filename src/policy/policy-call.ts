/**
 * The generic call: what `wrap(...)` and the `policy.*` functions run through the pipeline's stages
 * in place of the HTTP client's `Call`. It satisfies the slices the bulkhead, retry and breaker
 * stages declare (`BulkheadCall`, `RetryCall`, `BreakerCall`), so those stages run here exactly as
 * they run for HTTP; the abort scopes (the call's own, and one per running timeout) give the
 * wrapped function its `AbortSignal`, created only when something reads it.
 */
import type { NotRetriedReason } from '../errors/bulwark-error.ts';
import type { Breaker } from './breaker.ts';
import type { Bulkhead } from './bulkhead.ts';
import { type Done, OK } from './pipeline.ts';
import type { RetryBudget } from './retry-budget.ts';
import type { ResolvedRetry } from './retry-options.ts';

/** What the function a policy runs is given. */
export interface PolicyContext {
  /**
   * Aborts when the caller's signal does or a `policy.timeout` around this attempt runs out (its
   * reason: the caller's, or the `CALL_TIMEOUT` error). Pass it on to the SDK call being wrapped.
   */
  readonly signal: AbortSignal;
  /** Which attempt this is, from 1. */
  readonly attempt: number;
}

/** The function a policy runs: any async (or sync) function of the context. */
export type PolicyFunction<T> = (context: PolicyContext) => PromiseLike<T> | T;

/** What a wrapped set of policies shares between its calls (made once per `wrap`). */
export interface PolicyShared {
  readonly breaker: Breaker | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly config: {
    readonly retry: ResolvedRetry | false;
    readonly isFailure: ((err: unknown) => boolean) | undefined;
  };
  readonly state: {
    readonly budget: RetryBudget | undefined;
    readonly stats: { retries: number; budgetExhausted: number };
  };
}

/**
 * An abort scope: the call's own (its signal is the caller's) or a running timeout's (a signal of
 * its own, aborted when the timeout runs out or the enclosing scope aborts). Signals are made on
 * first read: a call that nobody asks for a signal costs none.
 */
export class AbortScope {
  readonly parent: AbortScope | undefined;
  #given: AbortSignal | undefined;
  #controller: AbortController | undefined = undefined;
  #aborted = false;
  #reason: unknown = undefined;
  #onParentAbort: (() => void) | undefined = undefined;

  /** `given`: the caller's signal, for the call's own scope. */
  constructor(parent: AbortScope | undefined, given: AbortSignal | undefined) {
    this.parent = parent;
    this.#given = given;
  }

  /** Whether this scope or an enclosing one was aborted. */
  get aborted(): boolean {
    return this.#aborted || (this.parent === undefined ? this.#given?.aborted === true : this.parent.aborted);
  }

  /** The scope's signal, `undefined` for a call's own scope without a caller's signal. */
  get scopeSignal(): AbortSignal | undefined {
    if (this.parent === undefined && !this.#aborted) return this.#given;
    return this.#own().signal;
  }

  /** The scope's signal, made now if it has none (the wrapped function always gets one). */
  get signalForAttempt(): AbortSignal {
    return this.scopeSignal ?? this.#own().signal;
  }

  /** Aborts the scope (and so every scope inside it) with `reason`. */
  abort(reason: unknown): void {
    if (this.#aborted) return;
    this.#aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
  }

  /** The scope is over: it stops listening to the enclosing one. */
  end(): void {
    if (this.#onParentAbort !== undefined) {
      this.parent?.scopeSignal?.removeEventListener('abort', this.#onParentAbort);
      this.#onParentAbort = undefined;
    }
  }

  #own(): AbortController {
    if (this.#controller !== undefined) return this.#controller;
    const controller = new AbortController();
    this.#controller = controller;
    if (this.#aborted) {
      controller.abort(this.#reason);
      return controller;
    }
    const outer = this.parent === undefined ? this.#given : this.parent.scopeSignal;
    if (outer?.aborted) controller.abort(outer.reason);
    else if (outer !== undefined) {
      this.#onParentAbort = () => this.abort(outer.reason);
      outer.addEventListener('abort', this.#onParentAbort, { once: true });
    }
    return controller;
  }
}

/** One attempt of the wrapped function: its context, and the settling of its outcome (once). */
export class PolicyAttempt implements PolicyContext {
  readonly attempt: number;
  readonly #scope: AbortScope;
  readonly #call: PolicyCall;
  #done: Done<PolicyCall, unknown> | undefined;

  constructor(call: PolicyCall, done: Done<PolicyCall, unknown>, attempt: number) {
    this.attempt = attempt;
    this.#scope = call.scope;
    this.#call = call;
    this.#done = done;
  }

  get signal(): AbortSignal {
    return this.#scope.signalForAttempt;
  }

  /** Passes the attempt's outcome on, once: the first of its result, a timeout and an abort. */
  settle(err: unknown, result?: unknown): void {
    const done = this.#done;
    if (done === undefined) return;
    this.#done = undefined;
    if (this.#call.current === this) this.#call.current = undefined;
    done(this.#call, err, result);
  }
}

/** Clock time far enough away to mean "no deadline" (and still a valid timer duration from now). */
const NO_DEADLINE = 2_147_483_647;

/** One execution of a wrapped function through its policies; also its own outermost abort scope. */
export class PolicyCall extends AbortScope {
  readonly breaker: Breaker | undefined;
  readonly bulkhead: Bulkhead | undefined;
  readonly config: PolicyShared['config'];
  readonly state: PolicyShared['state'];
  /** The function the policies run. */
  readonly fn: PolicyFunction<unknown>;
  /** The caller's signal. */
  readonly callerSignal: AbortSignal | undefined;
  /** The innermost running abort scope (the call's own, or a timeout's). */
  scope: AbortScope;
  readonly startedAt: number;
  /** Clock time a total timeout ends the call (retries and bulkhead waits stop short of it). */
  deadline: number;
  attempts = 0;
  /** The attempt running now, `undefined` between attempts. */
  current: PolicyAttempt | undefined = undefined;
  lastFailure: unknown = undefined;
  notRetried: NotRetriedReason | undefined = undefined;
  staleRetried = false;
  /** Settles the caller's promise (set by `execute`, `undefined` once settled). */
  resolve: ((value: unknown) => void) | undefined = undefined;
  reject: ((reason: unknown) => void) | undefined = undefined;
  /** Settles the running attempt when the caller aborts. */
  onAbort: (() => void) | undefined = undefined;

  constructor(
    shared: PolicyShared,
    fn: PolicyFunction<unknown>,
    signal: AbortSignal | undefined,
    startedAt: number,
  ) {
    super(undefined, signal);
    this.breaker = shared.breaker;
    this.bulkhead = shared.bulkhead;
    this.config = shared.config;
    this.state = shared.state;
    this.fn = fn;
    this.callerSignal = signal;
    this.scope = this;
    this.startedAt = startedAt;
    this.deadline = startedAt + NO_DEADLINE;
  }

  // What the stages read that is the same for every generic call: on the prototype, not per call.
  /** Generic calls are retried as the caller asked: the function is theirs to make safe to repeat. */
  get idempotent(): true {
    return true;
  }
  get replayable(): true {
    return true;
  }
  get staleSocket(): false {
    return false;
  }
  /** No response end time: the budget reads the clock. */
  get endedAt(): 0 {
    return 0;
  }
  /** No HTTP method: the generic retry has no `shouldRetry` to show one to. */
  get method(): string {
    return 'CALL';
  }
  /** For diagnostics (`bulwark:retry:attempt`). */
  get origin(): string {
    return 'call';
  }
  /** No request: errors of generic calls carry none. */
  get request(): undefined {
    return undefined;
  }

  /** The signal of the running scope: what the retry and bulkhead stages wait on. */
  get signal(): AbortSignal | undefined {
    return this.scope.scopeSignal;
  }
}

/** The innermost handler: runs the call's function as one attempt and settles with its outcome. */
export function runAttempt(call: PolicyCall, done: Done<PolicyCall, unknown>): void {
  const attempt = new PolicyAttempt(call, done, ++call.attempts);
  call.current = attempt;
  let value: unknown;
  try {
    value = call.fn(attempt);
  } catch (err) {
    attempt.settle(err);
    return;
  }
  if (value !== null && typeof (value as PromiseLike<unknown>)?.then === 'function') {
    (value as PromiseLike<unknown>).then(
      (result) => attempt.settle(OK, result),
      (err: unknown) => attempt.settle(err),
    );
  } else attempt.settle(OK, value);
}
