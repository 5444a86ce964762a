/**
 * The policies around any async function: `policy.retry`, `policy.breaker`, `policy.timeout`,
 * `policy.bulkhead`, `policy.fallback`, and `wrap(...)` to combine them in any order. Each is the
 * stage the HTTP pipeline runs (bulkhead, retry, breaker: the same functions, over a
 * {@link PolicyCall}), on an injectable clock, with the same error taxonomy; the timeout and the
 * fallback are the generic policies' own stages.
 */
import { type Clock, systemClock } from '../clock/clock.ts';
import { classify } from '../errors/classify.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkClock, checkDuration, checkFunction, checkObject } from '../options/validate.ts';
import {
  BREAKER_OPTION_NAMES,
  Breaker,
  type BreakerOptions,
  type BreakerState,
  breakerStage,
  resolveBreaker,
} from './breaker.ts';
import {
  BULKHEAD_OPTION_NAMES,
  Bulkhead,
  type BulkheadOptions,
  bulkheadStage,
  resolveBulkhead,
} from './bulkhead.ts';
import { Deadlines } from './deadline-scheduler.ts';
import { type FallbackValue, fallbackStage } from './fallback.ts';
import { compose, type Done, type Handler, OK, type Stage } from './pipeline.ts';
import { PolicyCall, type PolicyFunction, type PolicyShared, runAttempt } from './policy-call.ts';
import { promiseInto } from './promise-slot.ts';
import { retryStage, Sleepers } from './retry.ts';
import { RetryBudget } from './retry-budget.ts';
import { type ResolvedRetry, type RetryOptions, resolveRetry } from './retry-options.ts';
import { type TimeoutBudget, timeoutStage } from './timeout-stage.ts';

/**
 * Which errors count as failures — retried, counted against a breaker, answered by a fallback.
 * The default: every error the taxonomy places in a layer (`classify(err).layer !== 'app'`:
 * Bulwark's own errors and Node's, undici's and the database drivers' network errors); an
 * application's own errors (and a caller's abort) do not count. A classifier that throws counts
 * the error as a failure.
 */
export type FailureClassifier = (error: unknown) => boolean;

/** The default {@link FailureClassifier}: `classify(error).layer !== 'app'`. */
export function isFailure(error: unknown): boolean {
  return classify(error).layer !== 'app';
}

/** Options every clocked policy takes. */
export interface ClockedPolicyOptions {
  /**
   * Where time comes from (a `VirtualClock` in tests). Every policy in one `wrap` must share it.
   * @default systemClock
   */
  clock?: Clock;
}

/** `policy.retry` options: the client's retry options that apply to any function, and a classifier. */
export interface RetryPolicyOptions
  extends Pick<RetryOptions, 'limit' | 'backoff' | 'budget'>,
    ClockedPolicyOptions {
  /** Which errors are retried (a `BulwarkError` that is not `retryable` never is). @default {@link isFailure} */
  isFailure?: FailureClassifier;
}

/** `policy.breaker` options: the client's breaker options, and a classifier. */
export interface BreakerPolicyOptions extends BreakerOptions, ClockedPolicyOptions {
  /** Which errors count against the breaker. @default {@link isFailure} */
  isFailure?: FailureClassifier;
}

/** `policy.bulkhead` options. */
export interface BulkheadPolicyOptions extends BulkheadOptions, ClockedPolicyOptions {}

/** `policy.timeout` options. */
export interface TimeoutPolicyOptions extends ClockedPolicyOptions {}

/** `policy.fallback` options. */
export interface FallbackPolicyOptions {
  /** Which failures the fallback answers. @default {@link isFailure} */
  when?: FailureClassifier;
}

type Call = PolicyCall;

type Kind = 'retry' | 'breaker' | 'bulkhead' | 'timeout' | 'fallback';

/** One policy as `wrap` sees it: its kind, clock, what it lends the call, and how to make its stage. */
interface Part {
  readonly kind: Kind;
  readonly clock: Clock | undefined;
  /** `budget`: whether a retry runs around it (only a timeout cares). */
  stage(budget: TimeoutBudget): Stage<Call, unknown>;
  readonly breaker?: Breaker;
  readonly bulkhead?: Bulkhead;
  readonly retry?: ResolvedRetry;
  readonly isFailure?: FailureClassifier;
  readonly budget?: RetryBudget | undefined;
  readonly stats?: { retries: number; budgetExhausted: number };
}

const PARTS = new WeakMap<object, readonly Part[]>();

/**
 * A policy, or several wrapped into one: runs functions through them with {@link Policy.execute}.
 *
 * @example
 * ```ts
 * const resilient = wrap(policy.timeout(2_000), policy.retry({ limit: 2 }), policy.breaker());
 * const user = await resilient.execute(({ signal }) => sdk.getUser(id, { signal }));
 * ```
 */
export interface Policy {
  execute<T>(fn: PolicyFunction<T>, signal?: AbortSignal): Promise<T>;
}

/** `policy.retry`: a retry with jittered backoff and a retry budget, as the client's. */
export interface RetryPolicy extends Policy {
  /** Retries made, and retries the budget refused. */
  readonly stats: { readonly retries: number; readonly budgetExhausted: number };
}

/** `policy.breaker`: the client's circuit breaker. */
export interface BreakerPolicy extends Policy {
  /** The breaker's state now. */
  readonly state: BreakerState;
}

/** `policy.bulkhead`: the client's bulkhead. */
export interface BulkheadPolicy extends Policy {
  /** Calls holding a slot, waiting for one, and shed because the queue was full. */
  readonly stats: { readonly inFlight: number; readonly queued: number; readonly rejected: number };
}

/** Runs calls through the composed stages of its parts. */
class PolicyRunner implements Policy {
  readonly #handler: Handler<Call, unknown>;
  readonly #shared: PolicyShared;
  readonly #clock: Clock;
  readonly #end: Done<Call, unknown>;

  constructor(parts: readonly Part[]) {
    PARTS.set(this, parts);
    const clocks = new Set(parts.map((p) => p.clock).filter((c) => c !== undefined));
    if (clocks.size > 1) {
      throw new InvalidOptionError('wrap(...)', 'policies that share one clock', `${clocks.size} clocks`);
    }
    this.#clock = [...clocks][0] ?? systemClock;
    for (const kind of ['retry', 'breaker', 'bulkhead'] as const) {
      if (parts.filter((p) => p.kind === kind).length > 1) {
        throw new InvalidOptionError('wrap(...)', `at most one ${kind} policy`, `${kind} twice`);
      }
    }
    const retry = parts.find((p) => p.kind === 'retry');
    this.#shared = Object.freeze({
      breaker: parts.find((p) => p.kind === 'breaker')?.breaker,
      bulkhead: parts.find((p) => p.kind === 'bulkhead')?.bulkhead,
      config: Object.freeze({ retry: retry?.retry ?? false, isFailure: retry?.isFailure }),
      state: { budget: retry?.budget, stats: retry?.stats ?? { retries: 0, budgetExhausted: 0 } },
    });
    const retryAt = parts.findIndex((p) => p.kind === 'retry');
    const stages = parts.map((p, i) => p.stage(retryAt >= 0 && i > retryAt ? 'attempt' : 'total'));
    this.#handler = compose(stages, runAttempt);
    const budget = this.#shared.state.budget;
    this.#end = (call, err, result) => {
      const { resolve, reject } = call;
      if (resolve === undefined || reject === undefined) return; // settled already
      call.resolve = undefined;
      call.reject = undefined;
      if (call.onAbort !== undefined) call.callerSignal?.removeEventListener('abort', call.onAbort);
      if (err === OK) {
        budget?.recordSuccess(call);
        resolve(result);
      } else reject(err);
    };
  }

  /**
   * Runs `fn` through the policies. `fn` gets a context with an `AbortSignal` (aborted by the
   * caller's `signal` or a timeout) and the attempt number. The promise settles with `fn`'s result,
   * a fallback, or the failure: `fn`'s own error, a `BulwarkError` (`CALL_TIMEOUT` with its budget,
   * `CIRCUIT_OPEN`, `POOL_QUEUE_FULL`), or the caller's abort reason as it is. Never throws.
   */
  execute<T>(fn: PolicyFunction<T>, signal?: AbortSignal): Promise<T> {
    if (typeof fn !== 'function') {
      return Promise.reject(new InvalidOptionError('execute(fn)', 'a function', fn));
    }
    if (signal != null && !(signal instanceof AbortSignal)) {
      return Promise.reject(new InvalidOptionError('execute(fn, signal)', 'an AbortSignal', signal));
    }
    if (signal?.aborted) return Promise.reject(signal.reason);
    const call = new PolicyCall(this.#shared, fn, signal ?? undefined, this.#clock.now());
    const promise = promiseInto<T>(call);
    if (signal != null) {
      // The caller's abort settles the running attempt at once, whether `fn` heeds its signal or not.
      call.onAbort = () => call.current?.settle(signal.reason);
      signal.addEventListener('abort', call.onAbort, { once: true });
    }
    try {
      this.#handler(call, this.#end);
    } catch (err) {
      this.#end(call, err);
    }
    return promise;
  }
}

class RetryRunner extends PolicyRunner implements RetryPolicy {
  readonly #stats: { retries: number; budgetExhausted: number };

  constructor(part: Part) {
    super([part]);
    this.#stats = part.stats as { retries: number; budgetExhausted: number };
  }

  get stats(): { readonly retries: number; readonly budgetExhausted: number } {
    return { ...this.#stats };
  }
}

class BreakerRunner extends PolicyRunner implements BreakerPolicy {
  readonly #breaker: Breaker;

  constructor(part: Part) {
    super([part]);
    this.#breaker = part.breaker as Breaker;
  }

  get state(): BreakerState {
    return this.#breaker.state;
  }
}

class BulkheadRunner extends PolicyRunner implements BulkheadPolicy {
  readonly #bulkhead: Bulkhead;

  constructor(part: Part) {
    super([part]);
    this.#bulkhead = part.bulkhead as Bulkhead;
  }

  get stats(): { readonly inFlight: number; readonly queued: number; readonly rejected: number } {
    const b = this.#bulkhead;
    return { inFlight: b.inFlight, queued: b.queued, rejected: b.rejected };
  }
}

/** A user's classifier made safe to call: a throw counts as a failure. */
function safely(fn: FailureClassifier): FailureClassifier {
  return (error) => {
    try {
      return fn(error) === true;
    } catch {
      return true;
    }
  };
}

function classifier(value: unknown, path: string): FailureClassifier {
  const fn = checkFunction<FailureClassifier>(value, path);
  return fn === undefined ? isFailure : safely(fn);
}

/** `policy.retry(options)`: retries of a failed call, as the client's retry (without the HTTP rules). */
function retry(options?: RetryPolicyOptions): RetryPolicy {
  const path = 'policy.retry';
  const o = checkObject(options, path, ['limit', 'backoff', 'budget', 'isFailure', 'clock']);
  const clock = checkClock(o.clock, `${path}.clock`);
  const resolved = resolveRetry({ limit: o.limit, backoff: o.backoff, budget: o.budget }, path, undefined);
  const sleepers = new Sleepers();
  const stats = { retries: 0, budgetExhausted: 0 };
  return new RetryRunner({
    kind: 'retry',
    clock,
    retry: resolved,
    isFailure: classifier(o.isFailure, `${path}.isFailure`),
    budget: resolved.budget === false ? undefined : new RetryBudget(resolved.budget, clock),
    stats,
    stage: () => retryStage<Call, unknown>(clock, { sleepers }),
  });
}

/** `policy.breaker(options)`: the client's circuit breaker around any function. */
function breaker(options?: BreakerPolicyOptions): BreakerPolicy {
  const path = 'policy.breaker';
  const {
    isFailure: given,
    clock: rawClock,
    ...rest
  } = checkObject(options, path, [...BREAKER_OPTION_NAMES, 'isFailure', 'clock']) as BreakerPolicyOptions;
  const clock = checkClock(rawClock, `${path}.clock`);
  const b = new Breaker(resolveBreaker(rest, path), clock, {
    isFailure: classifier(given, `${path}.isFailure`),
  });
  return new BreakerRunner({
    kind: 'breaker',
    clock,
    breaker: b,
    stage: () => breakerStage<Call, unknown>(clock),
  });
}

/** `policy.bulkhead(options)`: at most `limit` calls at once, `queue` more waiting. */
function bulkhead(options?: BulkheadPolicyOptions): BulkheadPolicy {
  const path = 'policy.bulkhead';
  const { clock: rawClock, ...rest } = checkObject(options, path, [
    ...BULKHEAD_OPTION_NAMES,
    'clock',
  ]) as BulkheadPolicyOptions;
  const clock = checkClock(rawClock, `${path}.clock`);
  const b = new Bulkhead(resolveBulkhead(rest, path), clock);
  return new BulkheadRunner({
    kind: 'bulkhead',
    clock,
    bulkhead: b,
    stage: () => bulkheadStage<Call, unknown>(),
  });
}

/**
 * `policy.timeout(ms, options)`: what runs inside gets `ms` milliseconds; then its signal aborts
 * and the call fails with `CALL_TIMEOUT` — budget `'total'` around the whole call, `'attempt'`
 * inside a retry.
 */
function timeout(ms: number, options?: TimeoutPolicyOptions): Policy {
  const path = 'policy.timeout';
  const duration = checkDuration(ms, `${path}(ms)`, Number.NaN, 1);
  if (Number.isNaN(duration)) throw new InvalidOptionError(`${path}(ms)`, 'a duration in milliseconds', ms);
  const o = checkObject(options, `${path}(ms, options)`, ['clock']);
  const clock = checkClock(o.clock, `${path}.clock`);
  const deadlines = new Deadlines(clock);
  return new PolicyRunner([
    {
      kind: 'timeout',
      clock,
      stage: (budget) => timeoutStage(clock, deadlines, duration, budget),
    },
  ]);
}

/** `policy.fallback(value | fn, options)`: a failure `when` accepts is answered with the fallback. */
function fallback<T>(value: FallbackValue<T>, options?: FallbackPolicyOptions): Policy {
  const o = checkObject(options, 'policy.fallback(value, options)', ['when']);
  const when = classifier(o.when, 'policy.fallback.when');
  return new PolicyRunner([
    {
      kind: 'fallback',
      clock: undefined,
      stage: () => fallbackStage(value as FallbackValue<unknown>, when),
    },
  ]);
}

/** The policies for any async function; combine them with {@link wrap}. */
export interface Policies {
  /** Retries a failed call with full-jitter backoff, under a retry budget (the client's retry, without the HTTP rules). */
  retry(options?: RetryPolicyOptions): RetryPolicy;
  /** The client's circuit breaker: an open one answers `CIRCUIT_OPEN` without calling. */
  breaker(options?: BreakerPolicyOptions): BreakerPolicy;
  /** At most `limit` calls at once and `queue` more waiting; past that `POOL_QUEUE_FULL`. */
  bulkhead(options?: BulkheadPolicyOptions): BulkheadPolicy;
  /**
   * `ms` milliseconds for what runs inside; then its signal aborts and the call fails with
   * `CALL_TIMEOUT` — budget `'total'` outside every retry, `'attempt'` inside one.
   */
  timeout(ms: number, options?: TimeoutPolicyOptions): Policy;
  /** Answers a failure `when` accepts with `value`, or with what `value(error)` returns. */
  fallback<T>(value: FallbackValue<T>, options?: FallbackPolicyOptions): Policy;
}

/**
 * The policies for any async function. Each returns a {@link Policy}; combine them with
 * {@link wrap}.
 */
export const policy: Policies = Object.freeze({ retry, breaker, bulkhead, timeout, fallback });

/**
 * Combines policies, outermost first, into one: `wrap(policy.timeout(2_000), policy.retry(),
 * policy.breaker())` gives the whole call 2 s, retries inside it, and samples the breaker on
 * every attempt. Any order; a timeout inside a retry is per attempt (budget `'attempt'`). At most
 * one retry, breaker and bulkhead; every policy must share one clock. Wrapped policies are
 * flattened; a breaker or bulkhead keeps its state across every wrap it is in.
 */
export function wrap(...policies: Policy[]): Policy {
  const parts: Part[] = [];
  policies.forEach((p, i) => {
    const own = typeof p === 'object' && p !== null ? PARTS.get(p) : undefined;
    if (own === undefined) throw new InvalidOptionError(`wrap(...)[${i}]`, 'a policy', p);
    parts.push(...own);
  });
  if (parts.length === 0) throw new InvalidOptionError('wrap(...)', 'at least one policy', 'none');
  return new PolicyRunner(parts);
}
