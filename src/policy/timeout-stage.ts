/**
 * The timeout stage of the generic policies (`policy.timeout`): what runs inside it gets a deadline
 * on the client's kind of deadline scheduler (one clock timer per budget, not one per call). When it
 * runs out, the scope's signal aborts, the running attempt settles at once with `CALL_TIMEOUT`
 * (whether or not the function heeds its signal), and the stage answers with that error; a result
 * that arrives later is dropped.
 */
import type { Clock } from '../clock/clock.ts';
import { BulwarkError } from '../errors/bulwark-error.ts';
import type { Deadlines, Expirable } from './deadline-scheduler.ts';
import type { Done, Stage } from './pipeline.ts';
import { AbortScope, type PolicyCall } from './policy-call.ts';

/** Which budget a timeout is: around the whole call (`total`) or inside a retry (`attempt`). */
export type TimeoutBudget = 'attempt' | 'total';

/** One run of a timeout stage: the abort scope inside it, and its entry in the deadline scheduler. */
class TimeoutScope extends AbortScope implements Expirable {
  deadlineList: unknown = undefined;
  deadlinePrev: Expirable | undefined = undefined;
  deadlineNext: Expirable | undefined = undefined;
  deadlineAt = 0;
  readonly call: PolicyCall;
  readonly budget: TimeoutBudget;
  readonly deadlines: Deadlines;
  done: Done<PolicyCall, unknown> | undefined;

  constructor(
    call: PolicyCall,
    done: Done<PolicyCall, unknown>,
    budget: TimeoutBudget,
    deadlines: Deadlines,
  ) {
    super(call.scope, undefined);
    this.call = call;
    this.done = done;
    this.budget = budget;
    this.deadlines = deadlines;
  }

  /**
   * Time ran out: the timeout is the answer. What runs inside is aborted (its signal, and the
   * running attempt settles at once), seeing this scope aborted while it unwinds; whatever it
   * answers after that is dropped.
   */
  onDeadline(): void {
    const done = this.done;
    // Over already, or inside a scope that was aborted (which settled everything inside it).
    if (done === undefined || this.aborted) return;
    this.done = undefined;
    const call = this.call;
    const error = new BulwarkError({
      layer: 'call',
      code: 'CALL_TIMEOUT',
      budget: this.budget,
      attempts: call.attempts,
    });
    this.abort(error);
    call.current?.settle(error);
    this.#leave();
    done(call, error);
  }

  /** What runs inside settled: leave the scope and pass the outcome on (unless the timeout answered). */
  finish(err: unknown, result: unknown): void {
    const done = this.done;
    if (done === undefined) return;
    this.done = undefined;
    this.deadlines.cancel(this);
    this.#leave();
    done(this.call, err, result);
  }

  #leave(): void {
    this.end();
    // Everything inside is over for the call, even a stage still unwinding asynchronously.
    this.call.scope = this.parent as AbortScope;
  }
}

/** The timeout stage: `ms` for what runs inside it. */
export function timeoutStage(
  clock: Clock,
  deadlines: Deadlines,
  ms: number,
  budget: TimeoutBudget,
): Stage<PolicyCall, unknown> {
  return (next) => (call, done) => {
    // The clock now, not the call's start: a bulkhead or a fallback outside may have waited first.
    const now = clock.now();
    if (budget === 'total' && now + ms < call.deadline) call.deadline = now + ms;
    const scope = new TimeoutScope(call, done, budget, deadlines);
    call.scope = scope;
    deadlines.schedule(scope, ms, now);
    // A closure per run rather than a shared continuation: an outcome that arrives after the
    // timeout fired must reach this run's scope, not whichever scope is running by then.
    next(call, (_call, err, result) => scope.finish(err, result));
  };
}
