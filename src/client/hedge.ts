/**
 * The hedge race of one call (the `hedge` option; the decision is policy/hedge.ts): the first
 * call runs through the pipeline as usual; if it has not answered after the delay, and the budget
 * and throttle allow, a second `Call` of the same request runs its own pipeline pass (one attempt,
 * no retries, within the first's deadline). The first answer wins; the other is aborted through
 * its own signal (the caller's stays linked to both) and a response it still brings is disposed,
 * so its connection is not left half-read. A failure waits for the other call: the race fails only
 * when both have, with the first call's failure.
 */
import type { Clock, TimerHandle } from '../clock/clock.ts';
import type { Call } from '../http/call.ts';
import type { OriginStats } from '../http/origin-stats.ts';
import { FailedResponse } from '../policy/failure.ts';
import { admitHedge, type HedgeOrigin, hedgeDelay, type ResolvedHedge } from '../policy/hedge.ts';
import { OK } from '../policy/pipeline.ts';

/**
 * The abort reason of the call that lost the race. It never reaches a caller (the race has
 * settled with the winner); as an application-layer cancellation it is no failure of the origin
 * for the breaker or the stats.
 */
export class HedgeLost extends Error {
  constructor() {
    super('the other attempt of this hedged call answered first');
    this.name = 'AbortError';
  }
}

/** What the race needs of its client's front-end (fetch or request). */
export interface HedgeHost {
  readonly clock: Clock;
  /** Whether the client is closing (no hedge then). */
  closing(): boolean;
  /** Runs a hedge call through the pipeline (its end comes back through {@link HedgeRace.ended}). */
  run(call: Call): void;
  /** Settles the caller's promise with `call`'s outcome (the client's end of a call). */
  settle(call: Call, err: unknown, result: unknown): void;
  /** Lets go of a response nobody will read. */
  dispose(result: unknown): void;
}

/** One hedged call: its first call, the hedge once sent, and who answered first. */
export class HedgeRace {
  readonly options: ResolvedHedge;
  /** The front-end's, set with {@link launch} by the front-end before the call runs. */
  host: HedgeHost | undefined = undefined;
  /** Makes the hedge's call like the first one (`undefined`: a URL that no longer resolves). */
  launch: (() => Call | undefined) | undefined = undefined;
  /** The caller's signal, linked to both calls' own. */
  readonly caller: AbortSignal | undefined;
  readonly #firstController = new AbortController();
  #hedgeController: AbortController | undefined;
  first: Call | undefined;
  hedge: Call | undefined;
  #timer: TimerHandle = undefined;
  #firstDone = false;
  #hedgeDone = false;
  #settled = false;
  /** A failure that came first, kept until the other call ends. */
  #held: { readonly call: Call; readonly err: unknown } | undefined;

  constructor(options: ResolvedHedge, caller: AbortSignal | undefined) {
    this.options = options;
    this.caller = caller;
  }

  get #host(): HedgeHost {
    return this.host as HedgeHost;
  }

  /** The first call's signal: its own, linked to the caller's. */
  firstSignal(): AbortSignal {
    return linked(this.caller, this.#firstController.signal);
  }

  /** The hedge's signal: its own, linked to the caller's. */
  hedgeSignal(): AbortSignal {
    this.#hedgeController = new AbortController();
    return linked(this.caller, this.#hedgeController.signal);
  }

  /** The first call started: the hedge is scheduled (when the delay is known yet). */
  start(origin: HedgeOrigin): void {
    const delay = hedgeDelay(this.options, origin);
    if (delay === undefined) return;
    this.#timer = this.#host.clock.setTimeout(() => this.#fire(origin), delay);
  }

  #fire(origin: HedgeOrigin): void {
    this.#timer = undefined;
    const first = this.first;
    if (this.#settled || this.#firstDone || first === undefined || this.caller?.aborted) return;
    if (this.#host.closing() || this.launch === undefined) return;
    const stats = first.state.stats as OriginStats;
    const now = this.#host.clock.now();
    if (first.deadline - now <= 0) return;
    if (admitHedge(origin, now) !== undefined) {
      stats.hedgesRefused++;
      return;
    }
    let hedge: Call | undefined;
    try {
      hedge = this.launch();
    } catch {
      hedge = undefined; // (the first call's input was valid: nothing new to report)
    }
    if (hedge === undefined) return;
    this.hedge = hedge;
    stats.hedgesSent++;
    this.#host.run(hedge);
  }

  /** One of the two calls ended with `err` (`OK`: `result`). */
  ended(call: Call, err: unknown, result: unknown): void {
    const isFirst = call === this.first;
    if (isFirst) this.#firstDone = true;
    else this.#hedgeDone = true;
    if (this.#settled) {
      discard(this.#host, err, result);
      return;
    }
    if (err === OK) {
      this.#win(call, result);
      return;
    }
    const otherRunning = isFirst ? this.hedge !== undefined && !this.#hedgeDone : !this.#firstDone;
    if (otherRunning) {
      this.#held = { call, err };
      return;
    }
    // Both failed (or no hedge went out): the first call's failure is the race's.
    const held = this.#held;
    this.#held = undefined;
    this.#finish();
    const first = this.first as Call;
    if (this.hedge !== undefined) first.hedge = 'first-won';
    if (isFirst) {
      if (held !== undefined) discard(this.#host, held.err, undefined);
      this.#host.settle(first, err, undefined);
    } else {
      discard(this.#host, err, result);
      this.#host.settle(first, held === undefined ? err : held.err, undefined);
    }
  }

  #win(winner: Call, result: unknown): void {
    const first = this.first as Call;
    const held = this.#held;
    this.#held = undefined;
    this.#finish();
    if (held !== undefined) discard(this.#host, held.err, undefined);
    if (this.hedge !== undefined) {
      winner.hedge = winner === first ? 'first-won' : 'hedge-won';
      if (winner !== first) (first.state.stats as OriginStats).hedgesWon++;
    }
    // The loser, still running, is aborted with its own controller (the caller's signal is not touched).
    if (winner === first) {
      if (this.hedge !== undefined && !this.#hedgeDone) this.#hedgeController?.abort(new HedgeLost());
    } else if (!this.#firstDone) this.#firstController.abort(new HedgeLost());
    this.#host.settle(winner, OK, result);
  }

  #finish(): void {
    this.#settled = true;
    if (this.#timer !== undefined) {
      this.#host.clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }
}

/** `own`, aborted also when the caller's signal is (AbortSignal.any keeps no listener alive). */
function linked(caller: AbortSignal | undefined, own: AbortSignal): AbortSignal {
  return caller === undefined ? own : AbortSignal.any([caller, own]);
}

/** Lets go of an outcome the race does not use: a response nobody will read is disposed. */
function discard(host: HedgeHost, err: unknown, result: unknown): void {
  if (err === OK) host.dispose(result);
  else if (err instanceof FailedResponse) err.dispose();
}
