/**
 * The simulated upstream: an undici dispatcher (`dispatch(opts, handler)`) that Bulwark's client
 * uses instead of its agent, so every simulated call runs the real pipeline (deadline, bulkhead,
 * retry, budget, breaker, attempt) and the client's own dispatch handler. It models the
 * scenario's upstream on the virtual clock — `workers` in parallel, a bounded FIFO queue, 503s
 * past it, the fault timeline — and drives the handler as undici does: each request's controller
 * comes with `onRequestStart` (its `abort(reason)` fails the request with that reason, at once
 * when the attempt was aborted before it started), then the response or the failure.
 *
 * Every request has the same one-way delay, so the upstream's events keep their order when they
 * are processed at dispatch time: a request is "at the upstream" rtt/2 after dispatch (that is the
 * time the fault timeline and the load series use) and its answer reaches the client one rtt
 * after the work ends.
 */

import type { Dispatcher } from 'undici';
import type { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { NO_CONTEXT, respond } from '../lib/memory-dispatcher.ts';
import type { StormRecorder } from './recorder.ts';
import { type Scenario, upstreamModel, workersOf } from './scenario.ts';

/** The part of undici's dispatch options the upstream reads. */
interface SimRequestOptions {
  readonly origin: string;
}

/** Breaker states the simulator tracks per client (from the `bulwark:breaker:state` channel). */
export const BREAKER_CLOSED = 0;
export const BREAKER_OPEN = 1;
export const BREAKER_HALF_OPEN = 2;

/** Maps an origin (`http://c123.sim`) to its client index. */
export function clientIndex(origin: string): number {
  return Number(origin.slice(8, origin.length - 4));
}

/** One request at the upstream; also its controller, as undici's handlers see it. */
class Pending {
  readonly #upstream: SimUpstream;
  readonly handler: Dispatcher.DispatchHandler;
  readonly serviceTime: number;
  timer: unknown = undefined;
  queued = false;
  done = false;
  readonly paused = false;
  aborted = false;
  reason: Error | null = null;

  constructor(upstream: SimUpstream, handler: Dispatcher.DispatchHandler, serviceTime: number) {
    this.#upstream = upstream;
    this.handler = handler;
    this.serviceTime = serviceTime;
  }

  answer(statusCode: number): void {
    respond(this.handler, this as unknown as Dispatcher.DispatchController, statusCode);
  }

  fail(reason: Error): void {
    this.handler.onResponseError?.(this as unknown as Dispatcher.DispatchController, reason);
  }

  abort(reason: Error): void {
    this.aborted = true;
    this.reason = reason;
    this.#upstream.abort(this, reason);
  }

  pause(): void {}

  resume(): void {}
}

/** The simulated upstream (see the file comment). */
export class SimUpstream {
  readonly #clock: VirtualClock;
  readonly #s: Scenario;
  readonly #rec: StormRecorder;
  readonly #random: () => number;
  readonly #breakers: Int8Array | undefined;
  readonly #workers: number;
  readonly #half: number;
  #busy = 0;
  #queue: (Pending | undefined)[] = [];
  #head = 0;
  #queued = 0;
  /** Requests shed because the queue was full. */
  shed = 0;
  /** Most requests ever waiting. */
  maxQueued = 0;

  constructor(
    clock: VirtualClock,
    scenario: Scenario,
    recorder: StormRecorder,
    random: () => number,
    breakers?: Int8Array,
  ) {
    this.#clock = clock;
    this.#s = scenario;
    this.#rec = recorder;
    this.#random = random;
    this.#breakers = breakers;
    this.#workers = workersOf(scenario);
    this.#half = scenario.rtt / 2;
  }

  /** undici's `Dispatcher.dispatch`, as Bulwark's request front-end calls it. */
  dispatch(opts: SimRequestOptions, handler: Dispatcher.DispatchHandler): boolean {
    const clock = this.#clock;
    const at = clock.now() + this.#half;
    this.#rec.attempt(at);
    if (this.#breakers !== undefined) {
      const state = this.#breakers[clientIndex(opts.origin)];
      if (state === BREAKER_HALF_OPEN) this.#rec.probes++;
      else if (state === BREAKER_OPEN) this.#rec.attemptsWhileOpen++;
    }
    const verdict = upstreamModel(this.#s, at, this.#random);
    const p = new Pending(this, handler, verdict.kind === 'serve' ? verdict.serviceTime : 0);
    // The handler may abort the request as it starts (its attempt is over or was aborted).
    handler.onRequestStart?.(p as unknown as Dispatcher.DispatchController, NO_CONTEXT);
    if (p.done) return true;
    if (verdict.kind === 'reject') this.#answer(p, 503, this.#s.rtt);
    else if (verdict.kind === 'serve') {
      if (this.#busy < this.#workers) this.#start(p);
      else if (this.#queued < this.#s.queue) {
        p.queued = true;
        this.#queue.push(p);
        this.#queued++;
        if (this.#queued > this.maxQueued) this.maxQueued = this.#queued;
      } else {
        this.shed++;
        this.#answer(p, 503, this.#s.rtt);
      }
    }
    // 'drop': never answered; the attempt's deadline aborts it.
    return true;
  }

  #answer(p: Pending, statusCode: number, delay: number): void {
    p.timer = this.#clock.setTimeout(() => {
      if (p.done) return;
      p.done = true;
      p.answer(statusCode);
    }, delay);
  }

  #start(p: Pending): void {
    this.#busy++;
    this.#clock.setTimeout(() => this.#finish(p), p.serviceTime);
  }

  #finish(p: Pending): void {
    this.#busy--;
    if (!p.done) {
      this.#rec.serve(this.#clock.now() + this.#half);
      this.#answer(p, 200, this.#s.rtt);
    }
    // A worker whose client gave up still did the work (the server does not notice in time).
    while (this.#head < this.#queue.length) {
      const next = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined;
      if (!next.queued) continue; // left the queue on abort
      next.queued = false;
      this.#queued--;
      this.#start(next);
      break;
    }
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  /** A request's controller aborted it. */
  abort(p: Pending, reason: Error): void {
    if (p.done) return;
    p.done = true;
    if (p.queued) {
      // The server sees the connection close and drops the queued request.
      p.queued = false;
      this.#queued--;
    }
    if (p.timer !== undefined) this.#clock.clearTimeout(p.timer);
    p.fail(reason);
  }
}
