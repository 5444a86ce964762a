/**
 * The retry stage: p-retry drives the attempt loop and the abort; Bulwark decides whether and when
 * to retry (the rules of DESIGN.md), sleeps the jittered delay on the injectable clock inside
 * `onFailedAttempt` (p-retry has no custom-delay hook), and spends the origin's retry budget.
 */
import { channel } from 'node:diagnostics_channel';
import pRetry from 'p-retry';
import type { Call } from '../client/call.ts';
import type { ResolvedRetry } from '../client/options.ts';
import type { Stage } from '../client/pipeline.ts';
import type { Clock, TimerHandle } from '../clock/clock.ts';
import { classify } from '../errors/classify.ts';
import { backoffDelay } from './backoff.ts';
import { FailedResponse, parseRetryAfter } from './failure.ts';

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
  | 'budget-exhausted';

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

/**
 * Decides what to do after a failed attempt. Pure apart from spending a budget token when the
 * answer is a (budgeted) retry.
 */
export function decideRetry(
  call: Call,
  retry: ResolvedRetry,
  err: unknown,
  retriesLeft: number,
  clock: Clock,
  previousDelay: number,
): RetryDecision {
  let mayHaveExecuted: boolean;
  let retryAfter: number | undefined;
  if (err instanceof FailedResponse) {
    if (!retry.statusCodes.has(err.status)) return NO('not-retryable');
    mayHaveExecuted = true;
    retryAfter = parseRetryAfter(err.retryAfter, Date.now());
  } else {
    const c = classify(err);
    if (c.layer === 'app' || !c.retryable) return NO('not-retryable');
    mayHaveExecuted = c.mayHaveExecuted;
  }
  if (!call.replayable) return NO('one-shot-body');
  // A reused keep-alive connection the server had already closed: once per call, at once, free.
  if (call.staleSocket && call.idempotent && !call.staleRetried) {
    call.staleRetried = true;
    return { retry: true, consume: false, delay: 0, reason: 'stale-connection' };
  }
  if (retriesLeft <= 0) return NO('limit');
  if (mayHaveExecuted && !call.idempotent) return NO('not-idempotent');
  if (retryAfter !== undefined && retryAfter > retry.maxRetryAfter) return NO('retry-after-too-long');
  const delay =
    retryAfter ??
    backoffDelay(retry.backoff, retry.limit - retriesLeft + 1, () => clock.random(), previousDelay);
  if (delay >= call.deadline - clock.now()) return NO('deadline');
  const budget = call.state.budget;
  if (budget !== undefined && retry.budget !== false && !budget.tryAcquire()) {
    call.state.stats.budgetExhausted++;
    return NO('budget-exhausted');
  }
  return { retry: true, consume: true, delay, reason: 'retry' };
}

/** Signals the client raises on close, so sleeping retries end at once. */
export interface RetryHooks {
  /** Aborted when the client closes. */
  readonly closing: AbortSignal;
}

/**
 * The retry stage. The first attempt runs directly (a call that succeeds costs the loop nothing);
 * after a failure that is to be retried, p-retry drives the remaining attempts.
 */
export function retryStage<R>(clock: Clock, hooks: RetryHooks): Stage<R> {
  return (next) => (call) => {
    const retry = call.config.retry;
    if (retry === false || retry.limit === 0) return next(call);
    return next(call).then(undefined, (err: unknown) =>
      retryAfterFirst(next, call, retry, err, clock, hooks),
    );
  };
}

async function retryAfterFirst<R>(
  next: (call: Call) => Promise<R>,
  call: Call,
  retry: ResolvedRetry,
  firstError: unknown,
  clock: Clock,
  hooks: RetryHooks,
): Promise<R> {
  if (call.signal?.aborted) throw call.signal.reason;
  let decision = decideRetry(call, retry, firstError, retry.limit, clock, 0);
  afterFailure(call, 1, decision, firstError);
  if (!decision.retry) throw firstError;
  if (decision.delay > 0) await sleep(clock, decision.delay, call.signal, hooks.closing);
  let previousDelay = decision.delay;
  return pRetry(() => next(call), {
    retries: retry.limit - (decision.consume ? 1 : 0),
    minTimeout: 0,
    ...(call.signal === undefined ? {} : { signal: call.signal }),
    shouldConsumeRetry: ({ error, retriesLeft }) => {
      decision = decideRetry(call, retry, error, retriesLeft, clock, previousDelay);
      return decision.consume;
    },
    onFailedAttempt: ({ error }) => {
      afterFailure(call, call.attempts, decision, error);
      if (!decision.retry) return undefined;
      previousDelay = decision.delay;
      return decision.delay > 0 ? sleep(clock, decision.delay, call.signal, hooks.closing) : undefined;
    },
    shouldRetry: () => decision.retry,
  });
}

/** Bookkeeping after a failed attempt: the last failure, diagnostics, stats, and the discarded response. */
function afterFailure(call: Call, attempt: number, decision: RetryDecision, error: unknown): void {
  call.lastFailure = error;
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

/** Sleeps on the clock; ends early with the caller's abort reason or the client's close reason. */
function sleep(
  clock: Clock,
  ms: number,
  signal: AbortSignal | undefined,
  closing: AbortSignal,
): Promise<void> {
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (closing.aborted) return Promise.reject(closing.reason);
  return new Promise((resolve, reject) => {
    let timer: TimerHandle;
    const onAbort = function (this: AbortSignal): void {
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      closing.removeEventListener('abort', onAbort);
      reject(this.reason);
    };
    timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      closing.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
    closing.addEventListener('abort', onAbort, { once: true });
  });
}
