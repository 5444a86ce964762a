// bulwark/otel's instrumentPool against real PostgreSQL (DATABASE_URL, else the embedded server),
// with the real metrics SDK: the db.client.connection.* metrics — counts by state, pending
// requests, timeouts, and the create, wait and use times.
import assert from 'node:assert/strict';
import { after, describe, it, type TestContext } from 'node:test';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type pg from 'pg';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { instrumentPool } from '../../src/otel/index.ts';
import { pgFactory } from '../../src/pool/drivers/pg.ts';
import { createPool } from '../../src/pool/pool.ts';
import { poolUseChannel, poolWaitChannel } from '../../src/pool/timings.ts';
import { postgresDatabase } from '../helpers/databases.ts';

const availability = await postgresDatabase();
const db = availability.kind === 'up' ? availability.db : undefined;
after(() => db?.close());

function meter(t: TestContext) {
  const reader = new PeriodicExportingMetricReader({
    exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
    exportIntervalMillis: 3_600_000,
  });
  const meterProvider = new MeterProvider({ readers: [reader] });
  t.after(() => meterProvider.shutdown());
  const collect = async (): Promise<ResourceMetrics> => (await reader.collect()).resourceMetrics;
  return { meterProvider, collect };
}

function points(rm: ResourceMetrics, name: string) {
  for (const sm of rm.scopeMetrics)
    for (const m of sm.metrics) if (m.descriptor.name === name) return m.dataPoints;
  return [];
}

describe('bulwark/otel: instrumentPool(pool) on PostgreSQL', () => {
  if (availability.kind === 'down') {
    it('PostgreSQL answers', () => {
      throw availability.error;
    });
    return;
  }

  it('counts by state, pending requests, timeouts, and the create, wait and use times', async (t) => {
    const m = meter(t);
    const pool = createPool<pg.Client>(pgFactory(db!.url), {
      name: 'orders-db',
      min: 0,
      max: 2,
      acquireTimeout: 300,
    });
    t.after(() => pool.close());
    const stop = instrumentPool(pool, { meterProvider: m.meterProvider });
    t.after(stop);
    const a = await pool.acquire();
    const b = await pool.acquire();
    // Both lent out: a third waits, and times out.
    const waiting = pool.acquire().catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 20));
    let rm = await m.collect();
    const name = { 'db.client.connection.pool.name': 'orders-db' };
    assert.deepEqual(
      points(rm, 'db.client.connection.count').map((p) => [p.attributes, p.value]),
      [
        [{ ...name, 'db.client.connection.state': 'idle' }, 0],
        [{ ...name, 'db.client.connection.state': 'used' }, 2],
      ],
    );
    assert.deepEqual(
      points(rm, 'db.client.connection.pending_requests').map((p) => p.value),
      [1],
    );
    assert.equal(((await waiting) as { code?: string }).code, 'POOL_ACQUIRE_TIMEOUT');
    await a.query('SELECT 1');
    pool.release(a);
    pool.release(b);
    // A use through the idle fast path: waited 0.
    await pool.use((c) => c.query('SELECT 1'));
    rm = await m.collect();
    assert.deepEqual(
      points(rm, 'db.client.connection.timeouts').map((p) => [p.attributes, p.value]),
      [[name, 1]],
    );
    const hist = (metric: string) => {
      const [p] = points(rm, metric);
      assert.ok(p, metric);
      assert.deepEqual(p.attributes, name);
      return p.value as { count: number; min?: number; max?: number; sum: number };
    };
    assert.equal(hist('db.client.connection.create_time').count, 2);
    assert.ok((hist('db.client.connection.create_time').min ?? 0) > 0);
    assert.equal(hist('db.client.connection.wait_time').count, 3); // two connects waited, one idle
    assert.equal(hist('db.client.connection.wait_time').min, 0);
    assert.equal(hist('db.client.connection.use_time').count, 3);
    assert.ok((hist('db.client.connection.use_time').min ?? -1) >= 0);
    const [desc] = rm.scopeMetrics
      .flatMap((s) => s.metrics)
      .filter((x) => x.descriptor.name === 'db.client.connection.wait_time');
    assert.equal(desc?.descriptor.unit, 's');
  });

  it('stopping unsubscribes; bad input is an InvalidOptionError', async (t) => {
    const m = meter(t);
    const pool = createPool<pg.Client>(pgFactory(db!.url), { min: 0, max: 1 });
    t.after(() => pool.close());
    assert.equal(poolWaitChannel.hasSubscribers, false);
    const stop = instrumentPool(pool, { meterProvider: m.meterProvider });
    assert.equal(poolWaitChannel.hasSubscribers, true);
    assert.throws(() => instrumentPool(pool), InvalidOptionError);
    stop();
    stop();
    assert.equal(poolWaitChannel.hasSubscribers, false);
    assert.equal(poolUseChannel.hasSubscribers, false);
    assert.throws(() => instrumentPool({} as never), /pool must be a pool made by createPool\(\)/);
    assert.throws(
      () => instrumentPool(pool, { meterProvider: 1 } as never),
      /options\.meterProvider must be/,
    );
    assert.throws(() => instrumentPool(pool, { tracerProvider: {} } as never), InvalidOptionError);
    assert.throws(
      () => instrumentPool(pool, { meterProvider: false } as never),
      /options\.meterProvider must be/,
    );
    assert.throws(() => instrumentPool(pool, null as never), InvalidOptionError);
  });
});
