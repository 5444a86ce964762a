/**
 * `instrument(client)`: a client's calls as OpenTelemetry spans and metrics, and its trace context
 * on the wire. It subscribes to `bulwark:call:start` (http/call-trace.ts) while at least one
 * client is instrumented, so an uninstrumented process pays nothing beyond that channel's boolean
 * check.
 */
import {
  type Attributes,
  context,
  defaultTextMapSetter,
  diag,
  type Histogram,
  type Meter,
  type MeterProvider,
  metrics,
  type Span,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { BulwarkClient } from '../client/client.ts';
import { isBulwarkError } from '../errors/bulwark-error.ts';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { type CallTrace, callAttemptChannel, callEndChannel, callStartChannel } from '../http/call-trace.ts';
import { checkObject } from '../options/validate.ts';
import { errorTypeOf, type RouteAttributes, Routes } from './call-attributes.ts';
import { ClientStatsMetrics } from './client-stats-metrics.ts';
import { type Disposer, disposer, propagatorOption, provider } from './options.ts';
import { SCOPE, VERSION } from './scope.ts';

/** Where {@link instrument} sends what it records. Each defaults to OpenTelemetry's global one. */
export interface InstrumentOptions {
  /** Where the metrics go; `false`: no metrics. @default metrics.getMeterProvider() */
  meterProvider?: MeterProvider | false | undefined;
  /** Where the spans go; `false`: no spans (and no trace context sent). @default trace.getTracerProvider() */
  tracerProvider?: TracerProvider | false | undefined;
  /**
   * What writes the trace context into each attempt's request headers (W3C `traceparent` with the
   * usual setup); `false`: nothing is sent. @default the global propagator (propagation.inject)
   */
  propagator?: TextMapPropagator | false | undefined;
}

const OPTION_KEYS = ['meterProvider', 'tracerProvider', 'propagator'] as const;

/** The `http.client.request.duration` buckets the semantic conventions advise (seconds). */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** What one instrumented client records with. */
class ClientInstrumentation {
  readonly #tracer: Tracer | undefined;
  readonly #propagator: TextMapPropagator | undefined;
  readonly #duration: Histogram | undefined;
  readonly #routes = new Routes();
  readonly #stats: ClientStatsMetrics | undefined;

  constructor(
    client: BulwarkClient,
    tracer: Tracer | undefined,
    propagator: TextMapPropagator | undefined,
    meter: Meter | undefined,
  ) {
    this.#tracer = tracer;
    this.#propagator = propagator;
    if (meter === undefined) return;
    this.#duration = meter.createHistogram('http.client.request.duration', {
      description: 'Duration of HTTP client requests (a call, its retries included).',
      unit: 's',
      advice: { explicitBucketBoundaries: [...DURATION_BUCKETS] },
    });
    this.#stats = new ClientStatsMetrics(meter, client);
  }

  #route(t: CallTrace): RouteAttributes {
    return this.#routes.get(t.origin, t.method, t.host, t.port);
  }

  /** A call starts: its span, a child of the caller's active context, and the headers to send. */
  start(t: CallTrace): void {
    const tracer = this.#tracer;
    if (tracer === undefined) return;
    const parent = context.active();
    const route = this.#route(t);
    const span = tracer.startSpan(route.name, route.spanOptions, parent);
    // A span that is not sampled is still the context sent on (its flags say so); nothing to record.
    if (span.isRecording()) span.setAttribute('url.full', t.origin + t.path);
    t.context = span;
    const propagator = this.#propagator;
    if (propagator === undefined) return;
    // The span is kept (and ended) even if the propagator throws below.
    const carrier: Record<string, string> = {};
    propagator.inject(trace.setSpan(parent, span), carrier, defaultTextMapSetter);
    for (const _ in carrier) {
      t.headers = carrier;
      break;
    }
  }

  /** An attempt ended: one event on the call's span. */
  attempt(t: CallTrace): void {
    const span = t.context as Span | undefined;
    if (span === undefined || !span.isRecording()) return;
    const { attempt, status } = t;
    if (attempt === 1 && status !== undefined) {
      span.addEvent('bulwark.attempt', this.#route(t).firstAttempt(status));
      return;
    }
    const a: Attributes = { 'bulwark.attempt': attempt };
    if (t.delay > 0) a['bulwark.attempt.delay_ms'] = Math.round(t.delay * 1000) / 1000;
    if (status !== undefined) a['http.response.status_code'] = status;
    else a['error.type'] = errorTypeOf(t.error);
    span.addEvent('bulwark.attempt', a);
  }

  /** The call settled: its duration recorded, its span ended. */
  end(t: CallTrace): void {
    const route = this.#route(t);
    const err = t.error;
    let attributes: Attributes;
    let status: number | undefined;
    if (t.failed) {
      status = isBulwarkError(err) ? err.status : undefined;
      attributes = route.failure(errorTypeOf(err), status, t.protocol);
    } else {
      status = t.status;
      attributes =
        status === undefined
          ? route.failure('_OTHER', undefined, undefined)
          : route.response(status, t.protocol);
    }
    this.#duration?.record(t.duration / 1000, attributes);
    const span = t.context as Span | undefined;
    if (span === undefined) return;
    if (status !== undefined) {
      span.setAttribute('http.response.status_code', status);
      span.setAttribute('network.protocol.version', t.protocol === 'h2' ? '2' : '1.1');
    }
    const errorType = attributes['error.type'];
    if (errorType !== undefined) {
      span.setAttribute('error.type', errorType);
      span.setStatus(
        t.failed && err instanceof Error
          ? { code: SpanStatusCode.ERROR, message: err.message }
          : { code: SpanStatusCode.ERROR },
      );
    }
    if (t.attempt > 1) span.setAttribute('http.request.resend_count', t.attempt - 1);
    span.end();
  }

  /** Stopped: no new call is traced; the calls in flight still end their spans. */
  stopped = false;

  dispose(): void {
    this.stopped = true;
    this.#stats?.dispose();
  }
}

/**
 * Each client's instrumentation, kept after it is stopped so that the calls it traced and still in
 * flight end their spans. `bulwark:call:start` is subscribed while one is running; the attempt
 * and end channels stay subscribed once they were (only traced calls publish on them).
 */
const instrumented = new WeakMap<object, ClientInstrumentation>();
let running = 0;
let subscribed = false;

// A throwing provider or propagator must not fail the call, nor the process (diagnostics_channel
// rethrows a subscriber's error on the next tick): it goes to OpenTelemetry's diagnostic logger.
function onStart(message: unknown): void {
  const t = message as CallTrace;
  const i = instrumented.get(t.client);
  try {
    if (i !== undefined && !i.stopped) i.start(t);
  } catch (err) {
    diag.error('bulwark/otel: starting a call’s span failed', err);
  }
}
/** The listener of the attempt or end channel: the call's instrumentation, if it was traced. */
function ender(step: 'attempt' | 'end', what: string): (message: unknown) => void {
  return (message) => {
    const t = message as CallTrace;
    try {
      instrumented.get(t.client)?.[step](t);
    } catch (err) {
      diag.error(`bulwark/otel: ${what} failed`, err);
    }
  };
}
const onAttempt = ender('attempt', 'recording an attempt');
const onEnd = ender('end', 'ending a call’s span');

/**
 * Reports `client`'s calls to OpenTelemetry: a span per call (kind CLIENT, named by the method,
 * with an event per attempt), the trace context sent with every attempt, the
 * `http.client.request.duration` histogram with `error.type` = the Bulwark code, and Bulwark's
 * own metrics read from `client.stats()` at each collection (retries, retry-budget level, breaker
 * state, bulkhead occupancy, DNS cache lookups). Each provider defaults to OpenTelemetry's global
 * one. Returns the function that stops it.
 *
 * @example
 * ```ts
 * import { createClient } from 'bulwark';
 * import { instrument } from 'bulwark/otel';
 *
 * const client = createClient();
 * const stop = instrument(client); // the global tracer, meter and propagator
 * // ...
 * stop();
 * ```
 * @throws InvalidOptionError for a client that is not a Bulwark client, one already instrumented,
 *   or a bad option.
 */
export function instrument(client: BulwarkClient, options?: InstrumentOptions): Disposer {
  if (!(client instanceof BulwarkClient)) {
    throw new InvalidOptionError('client', 'a client made by createClient()', client);
  }
  if (instrumented.get(client)?.stopped === false) {
    throw new InvalidOptionError('client', 'a client not instrumented yet (stop the first first)', client);
  }
  const o = (options === undefined ? {} : checkObject(options, 'options', OPTION_KEYS)) as InstrumentOptions;
  const tracerProvider = provider(o.tracerProvider, 'options.tracerProvider', 'getTracer', () =>
    trace.getTracerProvider(),
  );
  const meterProvider = provider(o.meterProvider, 'options.meterProvider', 'getMeter', () =>
    metrics.getMeterProvider(),
  );
  const propagator = propagatorOption(o.propagator);
  const i = new ClientInstrumentation(
    client,
    tracerProvider?.getTracer(SCOPE, VERSION),
    tracerProvider === undefined ? undefined : propagator,
    meterProvider?.getMeter(SCOPE, VERSION),
  );
  instrumented.set(client, i);
  if (running++ === 0) callStartChannel.subscribe(onStart);
  if (!subscribed) {
    subscribed = true;
    callAttemptChannel.subscribe(onAttempt);
    callEndChannel.subscribe(onEnd);
  }
  return disposer(() => {
    if (i.stopped) return;
    i.dispose();
    if (--running === 0) callStartChannel.unsubscribe(onStart);
  });
}
