/**
 * `createClient()`: the resilient HTTP client. This is the one file that knows the order of the
 * pipeline — deadline → bulkhead → retry → breaker → attempt → transport — and wires the
 * per-origin state, the agent and the DNS cache together (docs/architecture.md, "The life of a
 * call").
 */
import { channel } from 'node:diagnostics_channel';
import {
  type Dispatcher,
  getGlobalDispatcher,
  type Pool,
  type RequestInit as UndiciRequestInit,
} from 'undici';
import { BulwarkError, isBulwarkError, type Target } from '../errors/bulwark-error.ts';
import { redactUrl } from '../errors/redact.ts';
import { attemptHandler, type ResultAdapter, type Transport } from '../http/attempt.ts';
import { hasHeader, isReplayableBody } from '../http/body.ts';
import { Call, type CallDone, type CallHandler } from '../http/call.ts';
import { type CallConfig, type CallOptions, resolveCallConfig } from '../http/call-config.ts';
import { callStartChannel, startTrace } from '../http/call-trace.ts';
import { directRequest } from '../http/direct-request.ts';
import {
  asFetchRejects,
  fetchAdapter,
  fetchHookFront,
  fetchTransport,
  normaliseFetchInput,
  undiciOnly,
} from '../http/fetch.ts';
import type { FetchInit, FetchInput, FetchResponse } from '../http/fetch-types.ts';
import { HookRun } from '../http/hook-run.ts';
import { beforeRetryOf, type HookFront, hookStage } from '../http/hooks.ts';
import type { OriginState } from '../http/origin-state.ts';
import type { OriginStatsSnapshot } from '../http/origin-stats.ts';
import {
  REQUEST_OPTION_KEYS,
  type RequestOptions,
  type RequestResult,
  requestAdapter,
  requestHookFront,
  requestTransport,
} from '../http/request.ts';
import { checkDispatcher, checkObject } from '../options/validate.ts';
import { Breaker, type BreakerState, breakerStage, type ResolvedBreaker } from '../policy/breaker.ts';
import { Bulkhead, bulkheadStage } from '../policy/bulkhead.ts';
import { Deadlines } from '../policy/deadline-scheduler.ts';
import {
  CallerFailure,
  FailedResponse,
  IDEMPOTENT_METHODS,
  isAccepted,
  isBreakerFailure,
  normaliseMethod,
} from '../policy/failure.ts';
import { type HedgeOrigin, HedgeShare } from '../policy/hedge.ts';
import { compose, OK } from '../policy/pipeline.ts';
import { promiseInto } from '../policy/promise-slot.ts';
import { retryStage, Sleepers } from '../policy/retry.ts';
import { type ResolvedRetryBudget, RetryBudget } from '../policy/retry-budget.ts';
import { type ResolvedThrottle, Throttle, throttleStage } from '../policy/throttle.ts';
import type { BulwarkAgent } from '../transport/agent.ts';
import type { DnsCache } from '../transport/dns-cache.ts';
import { OutlierDetection } from '../transport/outlier-detection.ts';
import { createAgent } from './create-agent.ts';
import { type HedgeHost, HedgeRace } from './hedge.ts';
import { takeInternals } from './internals.ts';
import { breakerSnapshot, bulkheadSnapshot, KeyedPolicies, type KeyRequest } from './keyed-policies.ts';
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './options.ts';
import { Origins } from './origin.ts';
import { createProxyAgent } from './proxy-agent.ts';
import { UrlResolver } from './url-resolver.ts';

const breakerChannel = channel('bulwark:breaker:state');

/**
 * The resilient client returned by {@link createClient}.
 *
 * @example
 * ```ts
 * const client = createClient();
 * const res = await client.fetch('https://api.example.com/v1/users'); // a Response, as fetch
 * const { statusCode, body } = await client.request('https://api.example.com/v1/users');
 * await client.close();
 * ```
 */
export class BulwarkClient {
  /** The DNS cache (`undefined` with `dns: false`). */
  readonly dns: DnsCache | undefined;
  readonly #options: ResolvedClientOptions;
  readonly #agent: BulwarkAgent;
  /** The dispatcher every call goes out on unless it brings its own: `dispatcher`, `proxy`'s, or none (the agent). */
  readonly #dispatcher: Dispatcher | undefined;
  /** `dispatcher: 'global'`: undici's global dispatcher, read at every call. */
  readonly #global: boolean;
  /** The dispatcher the client built (for `proxy`) and closes; never the caller's. */
  readonly #owned: Dispatcher | undefined;
  readonly #origins: Origins;
  /** Breakers per `breaker.key` (`undefined`: per origin). */
  readonly #breakers: KeyedPolicies<Breaker> | undefined;
  /** Bulkheads per `bulkhead.key` (`undefined`: per origin). */
  readonly #bulkheads: KeyedPolicies<Bulkhead> | undefined;
  readonly #fetch: CallHandler<FetchResponse>;
  readonly #request: CallHandler<RequestResult>;
  readonly #fetchEnd: CallDone<FetchResponse>;
  readonly #requestEnd: CallDone<RequestResult>;
  /** What a hedge race needs of each front-end (client/hedge.ts). */
  readonly #fetchHedge: HedgeHost;
  readonly #requestHedge: HedgeHost;
  readonly #sleepers = new Sleepers();
  /** Aborted by `close()`: ends the hooks still running, as it ends the backoff sleeps. */
  readonly #closing = new AbortController();
  /** Takes each origin's throttle and retry budget out of the fleet's syncs (on close). */
  readonly #fleetDetach: (() => void)[] = [];
  readonly #deadlines: Deadlines;
  readonly #urls: UrlResolver<OriginState>;
  readonly #onDnsChange: ((event: { host: string; removed: readonly string[] }) => void) | undefined;
  #active = 0;
  /** Whether `fetch` takes its direct path for the calls it can (http/fetch-direct.ts). */
  readonly #direct: boolean;
  #drained: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  /** Use {@link createClient}. */
  constructor(options?: ClientOptions) {
    // Bulwark's own bench and test seams (client/internals.ts), outside the public API.
    const internal = takeInternals();
    const o = resolveClientOptions(options);
    this.#options = o;
    this.#direct = internal?.directFetch !== false;
    const clock = o.clock;
    this.#deadlines = new Deadlines(clock);
    this.dns = o.dns === false ? undefined : o.dns;
    this.#owned = o.proxy === undefined ? undefined : createProxyAgent(o.proxy, o);
    this.#global = o.dispatcher === 'global';
    this.#dispatcher = o.dispatcher === 'global' ? undefined : (o.dispatcher ?? this.#owned);
    // Outlier ejection per address: the connector skips ejected addresses, whose pooled
    // connections are retired as they are ejected.
    const outliers =
      o.outlier === false
        ? undefined
        : new OutlierDetection(o.outlier, clock, (origin, host, address) =>
            this.#agent.retireAddresses(host, [address], { origin, ejected: true }),
          );
    // The origins observe the agent's connections (connect times, certificates) for stats().
    this.#agent = createAgent(
      o,
      {
        connected: (rec) => this.#origins.connected(rec),
        secured: (rec, cert) => this.#origins.secured(rec, cert),
      },
      outliers,
    );
    if (this.dns !== undefined) {
      // Connections to an address that left a name's answer are retired (the "moved database" outage).
      this.#onDnsChange = ({ host, removed }) => {
        if (removed.length > 0) this.#agent.retireAddresses(host, removed);
      };
      this.dns.on('change', this.#onDnsChange);
    }
    const makeBreaker = (
      breakerOptions: ResolvedBreaker,
      origin: string,
      target: Target,
      key?: string,
    ): Breaker =>
      new Breaker(breakerOptions, clock, {
        isFailure: isBreakerFailure,
        target,
        describeCause: (failure: unknown) =>
          failure instanceof FailedResponse
            ? new BulwarkError({ layer: 'http', code: 'HTTP_STATUS', status: failure.status, target })
            : failure,
        onStateChange: (state: BreakerState, cause: unknown) => {
          if (breakerChannel.hasSubscribers) {
            breakerChannel.publish(
              key === undefined ? { origin, state, cause } : { origin, key, state, cause },
            );
          }
        },
      });
    this.#origins = new Origins((origin, target) => ({
      // With `breaker.key` / `bulkhead.key` the origin has none of its own: each key has one (below).
      breaker:
        o.breaker === false || o.breakerKey !== undefined
          ? undefined
          : makeBreaker(o.breaker, origin, target),
      budget:
        o.retry !== false && o.retry.budget !== false
          ? this.#budget(
              o.retry.budget,
              origin,
              internal?.budget?.(o.retry.budget, clock, origin) ?? new RetryBudget(o.retry.budget, clock),
            )
          : undefined,
      bulkhead:
        o.bulkhead === false || o.bulkheadKey !== undefined
          ? undefined
          : new Bulkhead(o.bulkhead, clock, target),
      throttle: o.throttle === false ? undefined : this.#throttle(o.throttle, origin, target),
      outliers: outliers?.of(origin, target.host),
    }));
    const breakerOptions = o.breaker;
    this.#breakers =
      breakerOptions === false || o.breakerKey === undefined
        ? undefined
        : new KeyedPolicies<Breaker>(o.breakerKey, 'breaker', clock, {
            create: (state, key) => makeBreaker(breakerOptions, state.origin, state.target, key),
            dispose: (breaker) => breaker.shutdown(),
          });
    const bulkheadOptions = o.bulkhead;
    this.#bulkheads =
      bulkheadOptions === false || o.bulkheadKey === undefined
        ? undefined
        : new KeyedPolicies<Bulkhead>(o.bulkheadKey, 'bulkhead', clock, {
            create: (state) => new Bulkhead(bulkheadOptions, clock, state.target),
            busy: (bulkhead) => bulkhead.inFlight > 0 || bulkhead.queued > 0,
            dispose: (bulkhead) => bulkhead.close(),
          });
    this.#urls = new UrlResolver((url) => this.#origins.get(url.origin, url));

    // THE ORDER: deadline → bulkhead → retry → hooks → breaker → throttle → attempt → transport. The
    // deadline itself is fixed when the call starts (Call), so it needs no stage of its own. The
    // hooks run per attempt outside the breaker, so a hook's time or failure is no sample of the
    // origin's health; a call without hooks passes their stage with one check.
    const retryHooks = { sleepers: this.#sleepers, beforeRetry: beforeRetryOf(clock) };
    const pipeline = <R>(
      adapter: ResultAdapter<R>,
      transport: Transport<R>,
      front: HookFront,
    ): CallHandler<R> =>
      compose<Call, R>(
        [
          ...(o.bulkhead === false ? [] : [bulkheadStage<Call, R>()]),
          retryStage<Call, R>(clock, retryHooks),
          hookStage<R>(front, adapter, clock),
          ...(o.breaker === false ? [] : [breakerStage<Call, R>(clock)]),
          ...(o.throttle === false ? [] : [throttleStage<Call, R>(clock, isAccepted)]),
        ],
        attemptHandler<R>(adapter, clock, this.#deadlines, transport),
      );
    const agent = this.#agent;
    // A call that brought no dispatcher (call.dispatcher) goes to its origin's pool on the agent.
    const poolOf = (call: Call): Dispatcher => {
      let pool = call.state.pool as Pool | undefined;
      if (pool === undefined || pool.closed || pool.destroyed) {
        pool = agent.pool(call.origin);
        call.state.pool = pool;
      }
      return pool;
    };
    this.#fetch = pipeline(fetchAdapter, fetchTransport(agent), fetchHookFront(this.#direct));
    this.#request = pipeline(requestAdapter, requestTransport(poolOf), requestHookFront);
    this.#fetchEnd = (call, err, result) => this.#end(fetchAdapter, call, err, result);
    this.#requestEnd = (call, err, result) => this.#end(requestAdapter, call, err, result);
    this.#fetchHedge = this.#hedgeHost(fetchAdapter, this.#fetch, this.#fetchEnd);
    this.#requestHedge = this.#hedgeHost(requestAdapter, this.#request, this.#requestEnd);
  }

  /**
   * `fetch`, made resilient: same signature, same contract. It resolves with a `Response` for
   * every HTTP status (the last one, after retries) and rejects only when there is no response —
   * with a {@link BulwarkError} naming the layer — or with the caller's abort reason, exactly like
   * `fetch`. `init` may also carry per-call `timeout`, `retry` and `throwHttpErrors`. Read the
   * attempts and timings of a response with {@link responseInfo}.
   *
   * Only `http:` and `https:` URLs go through the policies; other schemes (`data:`) go straight to
   * undici's fetch.
   *
   * It never throws: bad input rejects, as with fetch. It works detached from the client, as code
   * written for the global `fetch` passes it around (`const f = client.fetch; await f(url)`), and
   * its `length` is 1, as the global's: one function per client, bound to it (an own property,
   * so nothing on the prototype needs a client to be read).
   */
  readonly fetch: (input: FetchInput, init?: FetchInit) => Promise<FetchResponse> = (
    input: FetchInput,
    init: FetchInit | undefined = undefined,
  ): Promise<FetchResponse> => this.#fetchCall(input, init);

  #fetchCall(input: FetchInput, init: FetchInit | undefined): Promise<FetchResponse> {
    // Not an async function: its promise would adopt the call's own, one more promise and two
    // more microtask hops per call.
    let url: string;
    let fi: FetchInit;
    let call: Call | undefined;
    try {
      // Not a dictionary (a string, a number): undici's fetch rejects it as it does.
      if (init != null && typeof init !== 'object' && typeof init !== 'function') {
        return undiciOnly(input as string, init as UndiciRequestInit);
      }
      const normal = normaliseFetchInput(input, init);
      url = normal.url;
      fi = normal.init;
      // A signal that is not an AbortSignal: undici's fetch rejects it as it does.
      if (fi.signal != null && !(fi.signal instanceof AbortSignal)) {
        return undiciOnly(url, fi as UndiciRequestInit);
      }
      const dispatcher =
        // `null` is no dispatcher, as undici's fetch reads it (the client's is used).
        fi.dispatcher == null ? undefined : checkDispatcher<Dispatcher>(fi.dispatcher, 'init.dispatcher');
      const replayable = normal.oneShot ? false : isReplayableBody(fi.body);
      call = this.#newCall(url, fi.method, fi, fi.headers, replayable, fi.signal ?? undefined, dispatcher);
      // Not http(s): a data: URL and the like, which no policy applies to.
      if (call === undefined) return undiciOnly(url, fi as UndiciRequestInit);
      this.#fetchInput(call, fi);
      const race = call.race as HedgeRace | undefined;
      if (race !== undefined) {
        // The hedge: the same request, made when it is due (client/hedge.ts).
        race.host = this.#fetchHedge;
        race.launch = () => {
          const hedge = this.#newCall(
            url,
            fi.method,
            fi,
            fi.headers,
            replayable,
            race.caller,
            dispatcher,
            race,
          );
          if (hedge !== undefined) this.#fetchInput(hedge, fi);
          return hedge;
        };
      }
    } catch (err) {
      return Promise.reject(err);
    }
    const promise = this.#run(this.#fetch, this.#fetchEnd, call);
    // With a signal the rejection may be the caller's reason: it is treated as undici's fetch treats it.
    return fi.signal == null ? promise : promise.catch(asFetchRejects);
  }

  /** The one place that picks the direct path or undici's fetch for a call (http/direct-request.ts). */
  #fetchInput(call: Call, fi: FetchInit): void {
    if (this.#direct) {
      const direct = directRequest(call.url, call.method, fi);
      if (direct !== undefined) call.input = direct;
    }
  }

  /**
   * The fast path over undici's request API: resolves with `statusCode`, `headers`, `body` (undici's
   * readable with `.json()`, `.text()`, `.dump()`), the `timings` and the number of `attempts`.
   * Consume or `dump()` the body so the connection can be reused.
   */
  request(url: string | URL, options?: RequestOptions): Promise<RequestResult> {
    let call: Call | undefined;
    try {
      const opts =
        options === undefined
          ? EMPTY
          : (checkObject(options, 'options', REQUEST_OPTION_KEYS) as RequestOptions);
      const replayable = isReplayableBody(opts.body);
      const dispatcher =
        opts.dispatcher == null
          ? undefined
          : checkDispatcher<Dispatcher>(opts.dispatcher, 'options.dispatcher');
      call = this.#newCall(url, opts.method, opts, opts.headers, replayable, opts.signal, dispatcher);
      if (call === undefined) {
        throw new TypeError(
          `client.request supports http: and https: URLs only; received ${redactUrl(String(url))}`,
        );
      }
      const race = call.race as HedgeRace | undefined;
      if (race !== undefined) {
        race.host = this.#requestHedge;
        race.launch = () =>
          this.#newCall(url, opts.method, opts, opts.headers, replayable, race.caller, dispatcher, race);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#run(this.#request, this.#requestEnd, call);
  }

  /** Statistics per origin: requests, failures by layer and code, retries, budget, breaker, latency percentiles. */
  stats(): Record<string, OriginStatsSnapshot> {
    const out: Record<string, OriginStatsSnapshot> = {};
    const breakers = this.#breakers?.byOrigin(breakerSnapshot);
    const bulkheads = this.#bulkheads?.byOrigin(bulkheadSnapshot);
    for (const s of this.#origins.snapshot()) {
      out[s.origin] =
        breakers === undefined && bulkheads === undefined
          ? s
          : {
              ...s,
              ...(breakers === undefined ? {} : { breakers: breakers.get(s.origin) ?? {} }),
              ...(bulkheads === undefined ? {} : { bulkheads: bulkheads.get(s.origin) ?? {} }),
            };
    }
    return out;
  }

  /**
   * Closes the client: new calls reject with `POOL_CLOSED`, calls waiting in a bulkhead or sleeping
   * between attempts end with `POOL_CLOSED`, calls in flight finish, then every connection, breaker
   * and (if the client created it) the DNS cache is closed. Nothing is left running afterwards.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  /** `await using client = createClient()` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** An origin's retry budget, in the fleet's syncs if there is a fleet (until the client closes). */
  #budget(options: ResolvedRetryBudget, origin: string, budget: RetryBudget): RetryBudget {
    if (options.fleet !== undefined) this.#fleetDetach.push(options.fleet.attachBudget(origin, budget));
    return budget;
  }

  /** An origin's throttle, in the fleet's syncs if there is a fleet (until the client closes). */
  #throttle(options: ResolvedThrottle, origin: string, target: Target): Throttle {
    const throttle = new Throttle(options, this.#options.clock, target);
    if (options.fleet !== undefined) this.#fleetDetach.push(options.fleet.attach(origin, throttle));
    return throttle;
  }

  async #shutdown(): Promise<void> {
    const closed = new BulwarkError({ layer: 'pool', code: 'POOL_CLOSED' });
    this.#sleepers.close(closed);
    this.#closing.abort(closed); // hooks still running (http/hook-run.ts)
    for (const state of this.#origins.values()) state.bulkhead?.close();
    for (const bulkhead of this.#bulkheads?.values() ?? []) bulkhead.close();
    if (this.#active > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    await this.#agent.close();
    await this.#owned?.close();
    this.#deadlines.stop();
    for (const state of this.#origins.values()) state.breaker?.shutdown();
    for (const breaker of this.#breakers?.values() ?? []) breaker.shutdown();
    for (const detach of this.#fleetDetach) detach();
    if (this.dns !== undefined && this.#onDnsChange !== undefined) this.dns.off('change', this.#onDnsChange);
    if (this.#options.ownsDns && this.dns !== undefined) await this.dns.close();
  }

  /** The call for `input`, or `undefined` for a URL that is not http(s) (client/url-resolver.ts). */
  #newCall(
    input: string | URL,
    rawMethod: string | undefined,
    init: CallOptions,
    headers: unknown,
    replayable: boolean,
    signal: AbortSignal | undefined,
    dispatcher: Dispatcher | undefined,
    hedgeOf?: HedgeRace,
  ): Call | undefined {
    const urls = this.#urls;
    if (!urls.resolve(input)) return undefined;
    const state = urls.state;
    const method = normaliseMethod(rawMethod);
    const clock = this.#options.clock;
    let config = resolveCallConfig(init, this.#options);
    // `retry.methods`: the methods retried after they may have executed (the idempotent ones by default).
    const methods = config.retry === false ? IDEMPOTENT_METHODS : config.retry.methods;
    const idempotent = methods.has(method) || hasHeader(headers, 'idempotency-key');
    const now = clock.now();
    let race: HedgeRace | undefined;
    if (hedgeOf !== undefined) {
      // The hedge: one attempt (the first call keeps its retries), within the first's deadline.
      race = hedgeOf;
      signal = race.hedgeSignal();
      config = hedgeConfig(config, (race.first as Call).deadline - now);
    } else if (config.hedge !== false && idempotent && replayable) {
      state.hedgeShare ??= new HedgeShare();
      state.hedgeShare.earn(config.hedge.ratio);
      race = new HedgeRace(config.hedge, signal);
      signal = race.firstSignal();
    }
    const call = new Call(
      method,
      state.origin,
      urls.href,
      urls.path,
      idempotent,
      replayable,
      signal,
      config,
      state,
      clock,
      this.#options.deadlineHeader,
      init,
      now,
    );
    call.dispatcher = dispatcher ?? (this.#global ? getGlobalDispatcher() : this.#dispatcher);
    if (race !== undefined) {
      call.race = race;
      race.first ??= call;
    }
    // In the caller's async context: the hooks run in it (http/hooks.ts).
    if (config.hooks !== undefined)
      call.hookRun = new HookRun(config.hooks, init, call.url, signal, this.#closing.signal);
    if (this.#breakers !== undefined || this.#bulkheads !== undefined) {
      // `breaker.key` / `bulkhead.key`: the call's breaker and bulkhead are its key's.
      const request: KeyRequest = { url: call.url, method, origin: state.origin, path: call.path, headers };
      const breakers = this.#breakers;
      const bulkheads = this.#bulkheads;
      const key = breakers?.keyOf(request);
      if (breakers !== undefined) call.breaker = breakers.at(state, key as string, now);
      if (bulkheads !== undefined) {
        const own = key !== undefined && bulkheads.sharesKeyWith(breakers) ? key : bulkheads.keyOf(request);
        call.bulkhead = bulkheads.at(state, own, now);
      }
    }
    return call;
  }

  /** Runs `call` through `pipeline`: the one promise of a call, settled with its result or failure. */
  #run<R>(pipeline: CallHandler<R>, end: CallDone<R>, call: Call): Promise<R> {
    if (this.#closed !== undefined) {
      return Promise.reject(
        new BulwarkError({
          layer: 'pool',
          code: 'POOL_CLOSED',
          target: call.state.target,
          request: call.request,
        }),
      );
    }
    call.state.stats.requests++;
    // The promise's resolving functions go onto the call; `end` (one per front-end) settles it.
    const promise = promiseInto<R>(call);
    // A tracer (bulwark/otel) subscribed: the call gets its trace, in the caller's async context.
    if (callStartChannel.hasSubscribers) startTrace(call, this);
    const race = call.race as HedgeRace | undefined;
    if (race !== undefined) race.start(hedgeOrigin(call.state));
    this.#pass(pipeline, end, call);
    return promise;
  }

  /** One pass of `call` through `pipeline`, holding its place in `#active` until `end`. */
  #pass<R>(pipeline: CallHandler<R>, end: CallDone<R>, call: Call): void {
    this.#active++;
    try {
      pipeline(call, end);
    } catch (err) {
      end(call, err);
    }
  }

  /** The pipeline's last continuation: a hedged call's goes to its race, any other settles the call. */
  #end<R>(adapter: ResultAdapter<R>, call: Call, err: unknown, result: R | undefined): void {
    const race = call.race as HedgeRace | undefined;
    if (race === undefined) {
      this.#settle(adapter, call, err, result, true);
      return;
    }
    try {
      race.ended(call, err, result);
    } finally {
      if (--this.#active === 0) this.#drained?.();
    }
  }

  /** What a hedge race needs of a front-end (client/hedge.ts). */
  #hedgeHost<R>(adapter: ResultAdapter<R>, pipeline: CallHandler<R>, end: CallDone<R>): HedgeHost {
    return {
      clock: this.#options.clock,
      closing: () => this.#closed !== undefined,
      run: (call) => this.#pass(pipeline, end, call),
      settle: (call, err, result) => {
        const first = (call.race as HedgeRace).first as Call;
        if (call !== first) {
          // The hedge answered: the caller's promise (and trace) are the first call's.
          call.resolve = first.resolve;
          call.reject = first.reject;
          call.trace = first.trace;
          first.resolve = undefined;
          first.reject = undefined;
          first.trace = undefined; // its aborted attempt ends after the trace did
        }
        this.#settle(adapter, call, err, result as R | undefined, false);
      },
      dispose: (result) => adapter.dispose(result as R),
    };
  }

  /** Settles the call's promise (once); `slot`: the call still holds its place in `#active`. */
  #settle<R>(
    adapter: ResultAdapter<R>,
    call: Call,
    err: unknown,
    result: R | undefined,
    slot: boolean,
  ): void {
    const { resolve, reject } = call;
    if (resolve === undefined || reject === undefined) return; // settled already
    call.resolve = undefined;
    call.reject = undefined;
    try {
      resolve(err === OK ? this.#succeeded(adapter, call, result as R) : this.#failed(adapter, call, err));
      call.trace?.ended(false, undefined);
    } catch (failure) {
      reject(failure);
      call.trace?.ended(true, failure);
    } finally {
      if (slot && --this.#active === 0) this.#drained?.();
    }
  }

  #succeeded<R>(adapter: ResultAdapter<R>, call: Call, result: R): R {
    call.state.budget?.recordSuccess(call);
    call.state.stats.recordResponse(call.timings, this.#finishTimings(call));
    return adapter.finish(result, call);
  }

  /** The call's failure: a failing response is still the call's result unless `throwHttpErrors`. */
  #failed<R>(adapter: ResultAdapter<R>, call: Call, err: unknown): R {
    const stats = call.state.stats;
    if (err instanceof FailedResponse) {
      const total = this.#finishTimings(call);
      const { status } = err;
      if (call.config.throwHttpErrors && (status >= 500 || status === 429)) {
        err.dispose();
        stats.failures++;
        const error = new BulwarkError({
          layer: 'http',
          code: 'HTTP_STATUS',
          status,
          retryable: status !== 501,
          target: call.state.target,
          request: call.request,
          attempts: call.attempts,
          timings: call.timings,
        });
        stats.recordFailure(error);
        throw withNotRetried(error, call);
      }
      stats.recordResponse(call.timings, total);
      return adapter.finish(err.result as R, call);
    }
    stats.failures++;
    // The caller's own code failed (a hook, `retry.shouldRetry`): its error, untouched. A hook
    // that outlived the deadline is Bulwark's own error, counted as such.
    if (err instanceof CallerFailure) {
      const error = err.error;
      if (isBulwarkError(error) && error.code === 'HTTP_HOOK_TIMEOUT') stats.recordFailure(error);
      throw error;
    }
    if (isBulwarkError(err)) {
      err.attempts = call.attempts;
      // Shed before any attempt counted it (open breaker, full queue, closed client, no time left).
      if (err !== call.counted) stats.recordFailure(err);
      withNotRetried(err, call);
    }
    throw err;
  }

  /**
   * The call's total time in milliseconds; also written as the timings' `total`. A hedge that
   * answered counts from the caller's start (its race's first call's), not its own.
   */
  #finishTimings(call: Call): number {
    const startedAt = (call.race as HedgeRace | undefined)?.first?.startedAt ?? call.startedAt;
    const total = (call.endedAt || this.#options.clock.now()) - startedAt;
    if (call.timings !== undefined) call.timings.total = total;
    return total;
  }
}

const EMPTY: RequestOptions = Object.freeze({});

/** What the hedging decision reads of an origin (policy/hedge.ts). */
function hedgeOrigin(state: OriginState): HedgeOrigin {
  return {
    latencyP95: (minSamples) => state.stats.latencyP95(minSamples),
    share: state.hedgeShare as HedgeShare,
    budget: state.budget,
    throttle: state.throttle,
  };
}

/** A hedge's config: one attempt (`limit` 0: the first call keeps the retries), `remaining` ms in all, no hedge of its own. */
function hedgeConfig(config: CallConfig, remaining: number): CallConfig {
  return {
    timeout: { ...config.timeout, total: Math.max(1, remaining) },
    retry: config.retry === false ? false : { ...config.retry, limit: 0 },
    throwHttpErrors: config.throwHttpErrors,
    hooks: config.hooks,
    hedge: false,
  };
}

/** Names, on a retryable failure that ends `call`, why the call did not try again. */
function withNotRetried(err: BulwarkError, call: Call): BulwarkError {
  if (!err.retryable || err.notRetried !== undefined) return err;
  const retry = call.config.retry;
  const reason = retry === false || retry.limit === 0 ? 'disabled' : call.notRetried;
  if (reason !== undefined) err.notRetried = reason;
  return err;
}

/**
 * Creates a resilient client. Every option is optional, validated here, and has a production
 * default (see {@link ClientOptions}).
 *
 * @example
 * ```ts
 * import { createClient, isBulwarkError } from 'bulwark';
 *
 * const client = createClient({ timeout: { total: 5_000 } });
 * try {
 *   const res = await client.fetch('https://api.example.com/health');
 *   console.log(res.status);
 * } catch (err) {
 *   if (isBulwarkError(err)) console.error(err.layer, err.code); // e.g. 'dns' 'DNS_NOT_FOUND'
 * } finally {
 *   await client.close();
 * }
 * ```
 */
export function createClient(options?: ClientOptions): BulwarkClient {
  return new BulwarkClient(options);
}
