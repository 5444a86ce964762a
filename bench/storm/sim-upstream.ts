/**
 * The simulated upstream: an object with undici's `request(opts)` shape that Bulwark's client uses
 * as its dispatcher, so every simulated call runs the real pipeline (deadline, bulkhead, retry,
 * budget, breaker, attempt). It models the scenario's upstream on the virtual clock — `workers`
 * in parallel, a bounded FIFO queue, 503s past it, the fault timeline — and honours the attempt's
 * abort (a deadline) the way undici and Bulwark's agent do: it hands the attempt a controller
 * whose `abort(reason)` fails the request with that reason, a request whose attempt was already
 * aborted fails at once, and every outcome carries the request's `opaque` back.
 *
 * Every request has the same one-way delay, so the upstream's events keep their order when they
 * are processed at dispatch time: a request is "at the upstream" rtt/2 after dispatch (that is the
 * time the fault timeline and the load series use) and its answer reaches the client one rtt
 * after the work ends.
 */
import type { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { type AttemptLink, kAttempt } from '../../src/transport/agent.ts';
import type { StormRecorder } from './recorder.ts';
import { type Scenario, upstreamModel, workersOf } from './scenario.ts';

/** The part of undici's request options the upstream reads. */
interface SimRequestOptions {
  readonly origin: string;
  readonly opaque?: unknown;
  /** The attempt the request is for (Bulwark's agent gives it the request's controller). */
  readonly [kAttempt]?: AttemptLink;
}

/** undici's response data, enough for Bulwark's request front-end. */
interface SimResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: {
    dump(): Promise<void>;
    text(): Promise<string>;
    once(event: string, fn: () => void): void;
  };
  readonly trailers: Record<string, string>;
  readonly opaque?: unknown;
}

const BODY = Object.freeze({
  dump: () => Promise.resolve(),
  text: () => Promise.resolve(''),
  once: () => {},
});
const OK: SimResponse = Object.freeze({ statusCode: 200, headers: {}, body: BODY, trailers: {} });
const UNAVAILABLE: SimResponse = Object.freeze({ statusCode: 503, headers: {}, body: BODY, trailers: {} });

/** Breaker states the simulator tracks per client (from the `bulwark:breaker:state` channel). */
export const BREAKER_CLOSED = 0;
export const BREAKER_OPEN = 1;
export const BREAKER_HALF_OPEN = 2;

/** Maps an origin (`http://c123.sim`) to its client index. */
export function clientIndex(origin: string): number {
  return Number(origin.slice(8, origin.length - 4));
}

/** undici's callback form of `request` (on failure, `data` is `{ opaque }`). */
type Callback = (err: unknown, data: SimResponse | { opaque: unknown }) => void;

/** One request at the upstream. */
class Pending {
  readonly settle: Callback;
  readonly serviceTime: number;
  readonly opaque: unknown;
  timer: unknown = undefined;
  queued = false;
  done = false;

  constructor(settle: Callback, serviceTime: number, opaque: unknown) {
    this.settle = settle;
    this.serviceTime = serviceTime;
    this.opaque = opaque;
  }

  answer(response: SimResponse): void {
    this.settle(null, { ...response, opaque: this.opaque });
  }

  fail(reason: unknown): void {
    this.settle(reason, { opaque: this.opaque });
  }
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

  /**
   * undici's `Dispatcher.request`, as Bulwark's request front-end calls it: with a callback
   * (`(err, data)`), or returning a promise when there is none.
   */
  request(opts: SimRequestOptions): Promise<SimResponse>;
  request(opts: SimRequestOptions, callback: Callback): void;
  request(opts: SimRequestOptions, callback?: Callback): Promise<SimResponse> | undefined {
    if (callback === undefined) {
      return new Promise((resolve, reject) => {
        this.#dispatch(opts, (err, data) => (err === null ? resolve(data as SimResponse) : reject(err)));
      });
    }
    this.#dispatch(opts, callback);
    return undefined;
  }

  #dispatch(opts: SimRequestOptions, settle: Callback): void {
    const clock = this.#clock;
    const at = clock.now() + this.#half;
    this.#rec.attempt(at);
    if (this.#breakers !== undefined) {
      const state = this.#breakers[clientIndex(opts.origin)];
      if (state === BREAKER_HALF_OPEN) this.#rec.probes++;
      else if (state === BREAKER_OPEN) this.#rec.attemptsWhileOpen++;
    }
    const verdict = upstreamModel(this.#s, at, this.#random);
    const p = new Pending(settle, verdict.kind === 'serve' ? verdict.serviceTime : 0, opts.opaque ?? null);
    const link = opts[kAttempt];
    if (link !== undefined) {
      if (link.reason !== undefined) {
        p.done = true;
        p.fail(link.reason);
        return;
      }
      link.controller = { abort: (reason: Error) => this.#abort(p, reason) };
    }
    if (verdict.kind === 'reject') this.#answer(p, UNAVAILABLE, this.#s.rtt);
    else if (verdict.kind === 'serve') {
      if (this.#busy < this.#workers) this.#start(p);
      else if (this.#queued < this.#s.queue) {
        p.queued = true;
        this.#queue.push(p);
        this.#queued++;
        if (this.#queued > this.maxQueued) this.maxQueued = this.#queued;
      } else {
        this.shed++;
        this.#answer(p, UNAVAILABLE, this.#s.rtt);
      }
    }
    // 'drop': never answered; the attempt's deadline aborts it.
  }

  #answer(p: Pending, response: SimResponse, delay: number): void {
    p.timer = this.#clock.setTimeout(() => {
      if (p.done) return;
      p.done = true;
      p.answer(response);
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
      this.#answer(p, OK, this.#s.rtt);
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

  #abort(p: Pending, reason: Error): void {
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
