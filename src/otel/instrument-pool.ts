/**
 * `instrumentPool(pool)`: a pool's connections as the OpenTelemetry database-client connection
 * metrics (`db.client.connection.*`): counts and pending requests read from `pool.stats()` at each
 * collection, and the wait, use and create times from the pool's timing channels (pool/timings.ts),
 * subscribed while at least one pool is instrumented.
 */
import {
  type Attributes,
  type BatchObservableResult,
  diag,
  type Histogram,
  type MeterProvider,
  metrics,
} from '@opentelemetry/api';
import { InvalidOptionError } from '../errors/invalid-option-error.ts';
import { checkObject } from '../options/validate.ts';
import { Pool } from '../pool/pool.ts';
import { type PoolTiming, poolCreateChannel, poolUseChannel, poolWaitChannel } from '../pool/timings.ts';
import { type Disposer, disposer, provider } from './options.ts';
import { SCOPE, VERSION } from './scope.ts';

/** Where {@link instrumentPool} sends its metrics. */
export interface InstrumentPoolOptions {
  /** @default metrics.getMeterProvider() */
  meterProvider?: MeterProvider | undefined;
}

/** The bucket boundaries the semantic conventions advise for the connection times (seconds). */
export const CONNECTION_TIME_BUCKETS: readonly number[] = Object.freeze([
  0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
]);

/** What one instrumented pool records with. */
class PoolInstrumentation {
  readonly wait: Histogram;
  readonly use: Histogram;
  readonly create: Histogram;
  readonly attributes: Attributes;
  readonly #pool: Pool<unknown>;
  readonly #idle: Attributes;
  readonly #used: Attributes;
  readonly #observe = (result: BatchObservableResult): void => this.#observeStats(result);
  readonly #count;
  readonly #pending;
  readonly #timeouts;
  readonly #meter;
  readonly #observables;

  constructor(pool: Pool<unknown>, meterProvider: MeterProvider) {
    this.#pool = pool;
    const meter = meterProvider.getMeter(SCOPE, VERSION);
    this.#meter = meter;
    const name = pool.name;
    this.attributes = Object.freeze({ 'db.client.connection.pool.name': name });
    this.#idle = Object.freeze({ ...this.attributes, 'db.client.connection.state': 'idle' });
    this.#used = Object.freeze({ ...this.attributes, 'db.client.connection.state': 'used' });
    const seconds = (metric: string, description: string): Histogram =>
      meter.createHistogram(metric, {
        description,
        unit: 's',
        advice: { explicitBucketBoundaries: [...CONNECTION_TIME_BUCKETS] },
      });
    this.wait = seconds(
      'db.client.connection.wait_time',
      'The time it took to obtain an open connection from the pool.',
    );
    this.use = seconds(
      'db.client.connection.use_time',
      'The time between borrowing a connection and returning it to the pool.',
    );
    this.create = seconds('db.client.connection.create_time', 'The time it took to create a new connection.');
    this.#count = meter.createObservableUpDownCounter('db.client.connection.count', {
      description:
        'The number of connections that are currently in the state described by the state attribute.',
      unit: '{connection}',
    });
    this.#pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', {
      description: 'The number of current pending requests for an open connection.',
      unit: '{request}',
    });
    this.#timeouts = meter.createObservableCounter('db.client.connection.timeouts', {
      description:
        'The number of connection timeouts that have occurred trying to obtain a connection from the pool.',
      unit: '{timeout}',
    });
    this.#observables = [this.#count, this.#pending, this.#timeouts];
    meter.addBatchObservableCallback(this.#observe, this.#observables);
  }

  #observeStats(result: BatchObservableResult): void {
    const s = this.#pool.stats();
    result.observe(this.#count, s.idle, this.#idle);
    result.observe(this.#count, s.size - s.idle, this.#used);
    result.observe(this.#pending, s.waiting, this.attributes);
    result.observe(this.#timeouts, s.timedOut, this.attributes);
  }

  dispose(): void {
    this.#meter.removeBatchObservableCallback(this.#observe, this.#observables);
  }
}

const instrumented = new WeakMap<object, PoolInstrumentation>();
let count = 0;

/** The listener of one timing channel: records into the pool's histogram of that name. */
function recorder(histogram: 'wait' | 'use' | 'create'): (message: unknown) => void {
  return (message) => {
    const m = message as PoolTiming;
    const i = instrumented.get(m.source);
    try {
      i?.[histogram].record(m.ms / 1000, i.attributes);
    } catch (err) {
      diag.error('bulwark/otel: recording a pool time failed', err);
    }
  };
}
const onWait = recorder('wait');
const onUse = recorder('use');
const onCreate = recorder('create');

/**
 * Reports `pool`'s connections with the semantic conventions' connection-pool metrics, under its
 * name (`db.client.connection.pool.name`): `db.client.connection.count` (state `idle` or `used`:
 * lent out or being checked), `pending_requests` (acquires waiting), `timeouts` (acquires that
 * reached their deadline), and the `wait_time`, `use_time` and `create_time` histograms (seconds,
 * on the pool's clock). Returns the function that stops it.
 *
 * @example
 * ```ts
 * import { createPool } from 'bulwark';
 * import { instrumentPool } from 'bulwark/otel';
 * import { pgFactory } from 'bulwark/pg';
 *
 * const pool = createPool(pgFactory(process.env.DATABASE_URL!), { name: 'orders-db' });
 * const stop = instrumentPool(pool); // the global meter provider
 * ```
 * @throws InvalidOptionError for something that is not a Bulwark pool, a pool already
 *   instrumented, or a bad option.
 */
export function instrumentPool<T>(pool: Pool<T>, options?: InstrumentPoolOptions): Disposer {
  if (!(pool instanceof Pool)) throw new InvalidOptionError('pool', 'a pool made by createPool()', pool);
  if (instrumented.has(pool)) {
    throw new InvalidOptionError('pool', 'a pool not instrumented yet (stop the first first)', pool);
  }
  const o = (
    options === undefined ? {} : checkObject(options, 'options', ['meterProvider'])
  ) as InstrumentPoolOptions;
  // No `false` here: metrics are all a pool's instrumentation records.
  if ((o.meterProvider as unknown) === false) {
    throw new InvalidOptionError(
      'options.meterProvider',
      'an OpenTelemetry meter provider (with getMeter())',
      false,
    );
  }
  const meterProvider = provider(o.meterProvider, 'options.meterProvider', 'getMeter', () =>
    metrics.getMeterProvider(),
  ) as MeterProvider;
  const i = new PoolInstrumentation(pool as Pool<unknown>, meterProvider);
  instrumented.set(pool, i);
  if (count++ === 0) {
    poolWaitChannel.subscribe(onWait);
    poolUseChannel.subscribe(onUse);
    poolCreateChannel.subscribe(onCreate);
  }
  let stopped = false;
  return disposer(() => {
    if (stopped) return;
    stopped = true;
    instrumented.delete(pool);
    i.dispose();
    if (--count === 0) {
      poolWaitChannel.unsubscribe(onWait);
      poolUseChannel.unsubscribe(onUse);
      poolCreateChannel.unsubscribe(onCreate);
    }
  });
}
