/**
 * The retry stage: p-retry drives the attempt loop and the abort; Bulwark decides whether and when
 * to retry (the rules in `decideRetry`: idempotency, replayable bodies, the stale keep-alive
 * connection, `Retry-After`, the deadline, the budget), sleeps the jittered delay on the injectable
 * clock inside `onFailedAttempt` (p-retry has no custom-delay hook), and spends the origin's retry
 * budget.
 */
import { channel } from 'node:diagnostics_channel';
import pRetry from 'p-retry';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { NotRetriedReason, RequestInfo } from '../errors/bulwark-error.ts';
import { classify } from '../errors/classify.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { backoffDelay } from './backoff.ts';
import { CallerFailure, FailedResponse, parseRetryAfter, RequestedRetry } from './failure.ts';
import { continuation, OK, promised, type Stage, settleFrom } from './pipeline.ts';
import type { RetryBudget } from './retry-budget.ts';
import type { ResolvedRetry, ShouldRetry } from './retry-options.ts';

/** Why a failed attempt was or was not retried (published on `bulwark:retry:attempt`). */
export type RetryReason =
  | 'retry'
  | 'stale-connection'
  | 'limit'
  | 'not-retryable'
  | 'not-idempotent'
  | 'one-shot-body'
  | 'retry-after-too-long'
  | 'deadline'
  | 'budget-exhausted'
  | 'should-retry'
  | 'cancelled';

/** The decision on one failed attempt. */
export interface RetryDecision {
  readonly retry: boolean;
  /** Whether it counts against `limit` (the stale keep-alive retry does not). */
  readonly consume: boolean;
  /** Milliseconds to sleep before the next attempt. */
  readonly delay: number;
  readonly reason: RetryReason;
}

const NO = (reason: RetryReason): RetryDecision => ({ retry: false, consume: true, delay: 0, reason });
const retryChannel = channel('bulwark:retry:attempt');

/** What the retry stage reads and writes of a call. */
export interface RetryCall {
  /**
   * The call's retry options (`false`: one attempt), and for a generic call (policy.retry) the
   * classifier that says which errors are failures worth retrying; without one, the taxonomy says.
   */
  readonly config: {
    readonly retry: ResolvedRetry | false;
    readonly isFailure?: ((err: unknown) => boolean) | undefined;
  };
  /** The caller's signal: it ends the loop and its sleeps with its reason. */
  readonly signal: AbortSignal | undefined;
  /** Whether the body can be sent again. */
  readonly replayable: boolean;
  /** Whether the request may be repeated after it could have reached the server. */
  readonly idempotent: boolean;
  /** The request's method (for `retry.shouldRetry`). */
  readonly method: string;
  /** The last attempt failed on a reused connection the server had already closed. */
  readonly staleSocket: boolean;
  /** Whether the free retry on such a connection was used. */
  staleRetried: boolean;
  /** Clock time the call's total budget runs out. */
  readonly deadline: number;
  /** Attempts started so far. */
  readonly attempts: number;
  /** The failure of the previous attempt (the stage writes it). */
  lastFailure: unknown;
  /** Why the last failure ended the call without a retry (the stage writes it). */
  notRetried: NotRetriedReason | undefined;
  /** For diagnostics. */
  readonly origin: string;
  readonly request: RequestInfo | undefined;
  /** The origin's retry budget and its counters. */
  readonly state: {
    readonly budget: RetryBudget | undefined;
    readonly stats: { retries: number; budgetExhausted: number };
  };
}

/**
 * Decides what to do after a failed attempt. Pure apart from spending a budget token when the
 * answer is a (budgeted) retry.
 */
export function decideRetry(
  call: RetryCall,
  retry: ResolvedRetry,
  err: unknown,
  retriesLeft: number,
  clock: Clock,
  previousDelay: number,
): RetryDecision {
  let mayHaveExecuted: boolean;
  let retryAfter: number | undefined;
  let retryable: boolean;
  let requested = false;
  if (err instanceof FailedResponse) {
    requested = err instanceof RequestedRetry;
    retryable = requested || retry.statusCodes.has(err.status);
    mayHaveExecuted = true;
    if (!requested) retryAfter = parseRetryAfter(err.retryAfter, Date.now());
  } else {
    const c = classify(err);
    const isFailure = call.config.isFailure;
    // The caller's own failures (a hook, an abort reason) are never retried, nor an open breaker;
    // a generic call's classifier (policy.retry's isFailure) says instead which failures count.
    if (isFailure === undefined ? c.layer === 'app' : !isFailure(err)) return NO('not-retryable');
    retryable = c.layer === 'app' || c.retryable;
    mayHaveExecuted = c.mayHaveExecuted;
    if (c.layer === 'circuit' && !retryable) return NO('not-retryable');
  }
  const rule = retry.shouldRetry;
  if (rule !== undefined) {
    const verdict = askRule(rule, call, err);
    if (verdict === false) return NO(retryable ? 'should-retry' : 'not-retryable');
    if (verdict === true) retryable = true;
  }
  if (!retryable) return NO('not-retryable');
  if (!call.replayable) return NO('one-shot-body');
  // A reused keep-alive connection the server had already closed: once per call, at once, free.
  if (call.staleSocket && call.idempotent && !call.staleRetried) {
    call.staleRetried = true;
    return { retry: true, consume: false, delay: 0, reason: 'stale-connection' };
  }
  const budget = retry.budget === false ? undefined : call.state.budget;
  if (retriesLeft <= 0) return NO('limit');
  if (mayHaveExecuted && !call.idempotent) return NO('not-idempotent');
  if (retryAfter !== undefined && retryAfter > retry.maxRetryAfter) return NO('retry-after-too-long');
  // A retry a hook asked for goes at once: the hook has done what the retry waited for.
  const delay = requested
    ? 0
    : (retryAfter ??
      backoffDelay(retry.backoff, retry.limit - retriesLeft + 1, () => clock.random(), previousDelay));
  if (delay >= call.deadline - clock.now()) return NO('deadline');
  if (budget !== undefined && !budget.withdraw()) {
    call.state.stats.budgetExhausted++;
    return NO('budget-exhausted');
  }
  return { retry: true, consume: true, delay, reason: 'retry' };
}

/**
 * Asks the caller's `retry.shouldRetry` about a failed attempt: `true`, `false` or `undefined`.
 * What it throws, or an answer of another type, fails the call as the caller's own failure.
 */
function askRule(rule: ShouldRetry, call: RetryCall, err: unknown): boolean | undefined {
  let verdict: unknown;
  try {
    verdict = rule({
      error: err instanceof FailedResponse ? undefined : err,
      response: err instanceof FailedResponse ? err.result : undefined,
      attempt: call.attempts,
      method: call.method,
    });
  } catch (thrown) {
    if (err instanceof FailedResponse) err.dispose();
    throw new CallerFailure(thrown);
  }
  if (verdict === undefined || verdict === true || verdict === false) return verdict;
  if (err instanceof FailedResponse) err.dispose();
  throw new CallerFailure(
    new InvalidOptionError(
      'retry.shouldRetry',
      'to return true, false or undefined (synchronously)',
      verdict,
    ),
  );
}

/**
 * Asked before each retry the rules decided to make, after the failed attempt and before its
 * backoff sleep: `undefined` (or a promise of it) lets it go, `false` cancels it (the call ends
 * with the failure, `notRetried: 'cancelled'`); a throw or rejection ends the call with that.
 */
export type BeforeRetry<C> = (
  call: C,
  failure: unknown,
  attempt: number,
  delay: number,
) => false | undefined | Promise<false | undefined>;

/** What the retry stage needs from its client. */
export interface RetryHooks<C = RetryCall> {
  /** Where backoff sleeps wait, so that closing the client ends them all at once. */
  readonly sleepers: Sleepers;
  /** The caller's say before a retry (the client's `beforeRetry` hooks); absent: none. */
  readonly beforeRetry?: BeforeRetry<C>;
}

/**
 * The retry stage. The first attempt runs directly (a call that succeeds costs the loop nothing);
 * after a failure that is to be retried, p-retry drives the remaining attempts.
 */
export function retryStage<C extends RetryCall, R>(clock: Clock, hooks: RetryHooks<C>): Stage<C, R> {
  return (next) => {
    const attempt = promised(next);
    const afterFirst = continuation<C, R>((done) => (call, err, result) => {
      if (err === OK) {
        done(call, OK, result);
        return;
      }
      settleFrom(
        retryAfterFirst(attempt, call, call.config.retry as ResolvedRetry, err, clock, hooks),
        call,
        done,
      );
    });
    return (call, done) => {
      const retry = call.config.retry;
      if (retry === false || retry.limit === 0) {
        next(call, done);
        return;
      }
      next(call, afterFirst(done));
    };
  };
}

async function retryAfterFirst<C extends RetryCall, R>(
  next: (call: C) => Promise<R>,
  call: C,
  retry: ResolvedRetry,
  firstError: unknown,
  clock: Clock,
  hooks: RetryHooks<C>,
): Promise<R> {
  if (call.signal?.aborted) throw call.signal.reason;
  let decision = decideRetry(call, retry, firstError, retry.limit, clock, 0);
  const first = confirm(call, retry, decision, firstError, 1, clock, hooks);
  decision = first instanceof Promise ? await first : first;
  afterFailure(call, 1, decision, firstError);
  if (!decision.retry) throw firstError;
  if (decision.delay > 0) await hooks.sleepers.sleep(clock, decision.delay, call.signal);
  let previousDelay = decision.delay;
  const proceed = (error: unknown): Promise<void> | undefined => {
    afterFailure(call, call.attempts, decision, error);
    if (!decision.retry) return undefined;
    previousDelay = decision.delay;
    return decision.delay > 0 ? hooks.sleepers.sleep(clock, decision.delay, call.signal) : undefined;
  };
  return pRetry(() => next(call), {
    retries: retry.limit - (decision.consume ? 1 : 0),
    minTimeout: 0,
    ...(call.signal === undefined ? {} : { signal: call.signal }),
    shouldConsumeRetry: ({ error, retriesLeft }) => {
      // The caller's own code ended the attempt (a hook): the retry it was is given back.
      if (error instanceof CallerFailure) refund(call, retry, decision);
      decision = decideRetry(call, retry, error, retriesLeft, clock, previousDelay);
      return decision.consume;
    },
    onFailedAttempt: ({ error }) => {
      const confirmed = confirm(call, retry, decision, error, call.attempts, clock, hooks);
      if (!(confirmed instanceof Promise)) {
        decision = confirmed;
        return proceed(error);
      }
      return confirmed.then((d) => {
        decision = d;
        return proceed(error);
      });
    },
    shouldRetry: () => decision.retry,
  });
}

/**
 * The decision after the caller's `beforeRetry` had its say (only asked about a retry): as it
 * was, or cancelled, or, when the hook took so long that the backoff no longer fits the deadline,
 * `'deadline'`. A retry that does not happen gives its budget token back; a hook that fails
 * ends the call with its failure, and the failed attempt's response is discarded.
 */
function confirm<C extends RetryCall>(
  call: C,
  retry: ResolvedRetry,
  decision: RetryDecision,
  error: unknown,
  attempt: number,
  clock: Clock,
  hooks: RetryHooks<C>,
): RetryDecision | Promise<RetryDecision> {
  const before = hooks.beforeRetry;
  if (before === undefined || !decision.retry) return decision;
  const failed = (thrown: unknown): never => {
    refund(call, retry, decision);
    if (error instanceof FailedResponse) error.dispose();
    throw thrown;
  };
  const settle = (answer: false | undefined): RetryDecision => {
    if (answer === false) {
      refund(call, retry, decision);
      return NO('cancelled');
    }
    if (decision.delay > 0 && decision.delay >= call.deadline - clock.now()) {
      refund(call, retry, decision);
      return NO('deadline');
    }
    return decision;
  };
  let answer: false | undefined | Promise<false | undefined>;
  try {
    answer = before(call, error, attempt, decision.delay);
  } catch (thrown) {
    return failed(thrown);
  }
  return answer instanceof Promise ? answer.then(settle, failed) : settle(answer);
}

/** Gives back the budget token `decision` took (a budgeted retry that is not made after all). */
function refund(call: RetryCall, retry: ResolvedRetry, decision: RetryDecision): void {
  if (decision.reason === 'retry' && retry.budget !== false) call.state.budget?.refund();
}

/** Bookkeeping after a failed attempt: the last failure, diagnostics, stats, and the discarded response. */
function afterFailure(call: RetryCall, attempt: number, decision: RetryDecision, error: unknown): void {
  call.lastFailure = error;
  if (!decision.retry && decision.reason !== 'not-retryable') {
    call.notRetried = decision.reason as NotRetriedReason;
  }
  if (retryChannel.hasSubscribers) {
    retryChannel.publish({
      origin: call.origin,
      request: call.request,
      attempt,
      retry: decision.retry,
      reason: decision.reason,
      delay: decision.delay,
      error,
    });
  }
  if (!decision.retry) return;
  if (error instanceof FailedResponse) error.dispose();
  call.state.stats.retries++;
}

interface Sleeper {
  readonly timer: TimerHandle;
  readonly reject: (reason: unknown) => void;
  readonly clock: Clock;
}

/**
 * The backoff sleeps of one client. A sleep listens to its own caller's signal only; closing the
 * client ends every sleep through this set (an abort listener per sleep on one shared signal would
 * cost O(sleepers) per sleep: EventTarget walks its listener list on every add and remove).
 */
export class Sleepers {
  readonly #sleeping = new Set<Sleeper>();
  #closed: { reason: unknown } | undefined;

  /** Resolves after `ms` on `clock`; rejects with the signal's reason or the close reason. */
  sleep(clock: Clock, ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#closed !== undefined) return Promise.reject(this.#closed.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        clock.clearTimeout(sleeper.timer);
        this.#sleeping.delete(sleeper);
        reject(signal?.reason);
      };
      const sleeper: Sleeper = {
        clock,
        reject: (reason) => {
          signal?.removeEventListener('abort', onAbort);
          reject(reason);
        },
        timer: clock.setTimeout(() => {
          this.#sleeping.delete(sleeper);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }, ms),
      };
      this.#sleeping.add(sleeper);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends every sleep now with `reason`, and every later one at once. */
  close(reason: unknown): void {
    this.#closed = { reason };
    for (const sleeper of this.#sleeping) {
      sleeper.clock.clearTimeout(sleeper.timer);
      sleeper.reject(reason);
    }
    this.#sleeping.clear();
  }
}
