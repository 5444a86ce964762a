// bulwark/otel with the real OpenTelemetry SDK and its in-memory exporters: a span per call with
// an event per attempt, the trace context on the wire (checked by a real server), the duration
// histogram with the semantic conventions' attributes and error.type = the Bulwark code, the
// metrics read from stats(), and option validation.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { context, diag, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { createClient } from '../../src/client/client.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { callStartChannel } from '../../src/http/call-trace.ts';
import { instrument } from '../../src/otel/index.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startH2Server } from '../helpers/h2-server.ts';
import { startHttpServer } from '../helpers/http-server.ts';

/** A tracer provider, a meter provider and their in-memory exporters. */
function otel(t: TestContext) {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
  });
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  t.after(async () => {
    await tracerProvider.shutdown();
    await meterProvider.shutdown();
  });
  const collect = async (): Promise<ResourceMetrics> => {
    const { resourceMetrics, errors } = await reader.collect();
    assert.deepEqual(errors, []);
    return resourceMetrics;
  };
  const propagator = new W3CTraceContextPropagator();
  /** The spans ended so far. */
  const finished = async () => {
    await tracerProvider.forceFlush();
    return spans.getFinishedSpans();
  };
  return {
    options: { tracerProvider, meterProvider, propagator },
    tracerProvider,
    finished,
    collect,
    propagator,
  };
}

function metric(rm: ResourceMetrics, name: string) {
  for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.descriptor.name === name) return m;
  return undefined;
}

describe('bulwark/otel: instrument(client)', () => {
  it('a span per call (CLIENT, named by the method, an event per attempt) and traceparent on every attempt', async (t) => {
    const o = otel(t);
    const seen: (string | undefined)[] = [];
    let n = 0;
    const server = cleanup(
      t,
      await startHttpServer({
        handler: (req, res) => {
          seen.push(req.headers.traceparent as string | undefined);
          res.writeHead(++n === 1 ? 503 : 200);
          res.end('ok');
        },
      }),
    );
    const client = createClient({ retry: { backoff: { base: 1, cap: 1 } } });
    t.after(() => client.close());
    const stop = instrument(client, o.options);
    t.after(stop);
    const res = await client.request(`${server.url}/orders?secret=1`);
    await res.body.text();
    assert.equal(res.statusCode, 200);
    const [span, ...more] = await o.finished();
    assert.equal(more.length, 0);
    assert.ok(span);
    assert.equal(span.name, 'GET');
    assert.equal(span.kind, 2 /* CLIENT */);
    assert.equal(span.attributes['http.request.method'], 'GET');
    assert.equal(span.attributes['server.address'], '127.0.0.1');
    assert.equal(span.attributes['server.port'], server.port);
    assert.equal(span.attributes['url.full'], `${server.origin}/orders`); // no query
    assert.equal(span.attributes['http.response.status_code'], 200);
    assert.equal(span.attributes['http.request.resend_count'], 1);
    assert.equal(span.attributes['error.type'], undefined);
    assert.equal(span.status.code, 0);
    assert.deepEqual(
      span.events.map((e) => [
        e.name,
        e.attributes?.['bulwark.attempt'],
        e.attributes?.['http.response.status_code'],
      ]),
      [
        ['bulwark.attempt', 1, 503],
        ['bulwark.attempt', 2, 200],
      ],
    );
    assert.ok((span.events[1]?.attributes?.['bulwark.attempt.delay_ms'] as number) > 0);
    // Both attempts carried the span's own context.
    const id = span.spanContext();
    assert.deepEqual(seen, [`00-${id.traceId}-${id.spanId}-01`, `00-${id.traceId}-${id.spanId}-01`]);
  });

  it('the span is a child of the caller’s active span; fetch sends traceparent with every header shape', async (t) => {
    const o = otel(t);
    const manager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(manager);
    t.after(() => {
      context.disable();
    });
    const seen: string[] = [];
    const server = cleanup(
      t,
      await startHttpServer({
        handler: (req, res) => {
          seen.push(`${req.headers.traceparent} ${req.headers['x-a']}`);
          res.end('ok');
        },
      }),
    );
    const client = createClient();
    t.after(() => client.close());
    t.after(
      instrument(client, {
        tracerProvider: o.tracerProvider,
        meterProvider: false,
        propagator: o.propagator,
      }),
    );
    const tracer = o.tracerProvider.getTracer('test');
    const parent = tracer.startSpan('parent');
    const shapes: (Record<string, string> | [string, string][] | Headers | undefined)[] = [
      { 'x-a': '1' },
      [['x-a', '1']],
      new Headers({ 'x-a': '1' }),
      undefined,
    ];
    await context.with(trace.setSpan(context.active(), parent), async () => {
      for (const headers of shapes) {
        const res = await client.fetch(server.url, (headers === undefined ? {} : { headers }) as never);
        await res.text();
      }
      // A FormData body takes undici's fetch: it carries it too.
      const form = new FormData();
      form.set('a', 'b');
      await (
        await client.fetch(server.url, { method: 'POST', body: form as never, headers: { 'x-a': '1' } })
      ).text();
    });
    parent.end();
    const spans = (await o.finished()).filter((s) => s.name !== 'parent');
    assert.equal(spans.length, 5);
    for (const [i, s] of spans.entries()) {
      assert.equal(s.parentSpanContext?.spanId, parent.spanContext().spanId);
      assert.equal(s.spanContext().traceId, parent.spanContext().traceId);
      const expected = `00-${s.spanContext().traceId}-${s.spanContext().spanId}-01 ${i === 3 ? 'undefined' : '1'}`;
      assert.equal(seen[i], expected);
    }
  });

  it('failures: error.type is the Bulwark code, the span status is ERROR, and the duration histogram has it', async (t) => {
    const o = otel(t);
    const server = cleanup(t, await startHttpServer());
    const port = server.port;
    await server.close();
    const client = createClient({ retry: { limit: 1, backoff: { base: 1, cap: 1 } } });
    t.after(() => client.close());
    t.after(instrument(client, o.options));
    await assert.rejects(client.request(`http://127.0.0.1:${port}/`), { code: 'TCP_REFUSED' });
    const [span] = await o.finished();
    assert.ok(span);
    assert.equal(span.attributes['error.type'], 'TCP_REFUSED');
    assert.equal(span.status.code, 2 /* ERROR */);
    assert.match(span.status.message ?? '', /refused/i);
    assert.deepEqual(
      span.events.map((e) => [e.attributes?.['bulwark.attempt'], e.attributes?.['error.type']]),
      [
        [1, 'TCP_REFUSED'],
        [2, 'TCP_REFUSED'],
      ],
    );
    const rm = await o.collect();
    const duration = metric(rm, 'http.client.request.duration');
    assert.ok(duration);
    assert.equal(duration.descriptor.unit, 's');
    const [point] = duration.dataPoints;
    assert.deepEqual(point?.attributes, {
      'http.request.method': 'GET',
      'server.address': '127.0.0.1',
      'server.port': port,
      'error.type': 'TCP_REFUSED',
    });
    assert.equal((point?.value as { count: number } | undefined)?.count, 1);
    const retries = metric(rm, 'bulwark.client.retries');
    assert.equal(retries?.dataPoints[0]?.value, 1);
    assert.equal(metric(rm, 'bulwark.client.breaker.state')?.dataPoints[0]?.value, 0);
    assert.equal(typeof metric(rm, 'bulwark.client.retry_budget.level')?.dataPoints[0]?.value, 'number');
  });

  it('responses: status attributes, a 5xx that resolves has error.type = the status; a thrown one HTTP_STATUS', async (t) => {
    const o = otel(t);
    const server = cleanup(
      t,
      await startHttpServer({
        handler: (req, res) => {
          res.writeHead(req.url === '/404' ? 404 : req.url === '/500' ? 500 : 200);
          res.end();
        },
      }),
    );
    const client = createClient({ retry: false });
    t.after(() => client.close());
    t.after(instrument(client, o.options));
    await (await client.fetch(`${server.url}/ok`)).text();
    await (await client.fetch(`${server.url}/404`)).text();
    await (await client.fetch(`${server.url}/500`)).text();
    await assert.rejects(client.fetch(`${server.url}/500`, { throwHttpErrors: true }), {
      code: 'HTTP_STATUS',
    });
    const spans = await o.finished();
    assert.deepEqual(
      spans.map((s) => [
        s.attributes['http.response.status_code'],
        s.attributes['error.type'],
        s.status.code,
      ]),
      [
        [200, undefined, 0],
        [404, '404', 2],
        [500, '500', 2],
        [500, 'HTTP_STATUS', 2],
      ],
    );
    const points = metric(await o.collect(), 'http.client.request.duration')?.dataPoints ?? [];
    const keys = points
      .map((p) => `${p.attributes['http.response.status_code']} ${p.attributes['error.type']}`)
      .sort();
    assert.deepEqual(keys, ['200 undefined', '404 404', '500 500', '500 HTTP_STATUS']);
    assert.ok(points.every((p) => p.attributes['network.protocol.version'] === '1.1'));
  });

  it('a caller’s abort: error.type is the reason’s name, or _OTHER for a value that is not an Error', async (t) => {
    const o = otel(t);
    const server = cleanup(t, await startHttpServer({ handler: () => {} })); // never answers
    const client = createClient();
    t.after(() => client.close());
    t.after(instrument(client, o.options));
    const a = new AbortController();
    const p1 = client.request(server.url, { signal: a.signal });
    setTimeout(() => a.abort(), 20);
    await assert.rejects(p1, { name: 'AbortError' });
    const b = new AbortController();
    const p2 = client.fetch(server.url, { signal: b.signal });
    setTimeout(() => b.abort(null), 20);
    await assert.rejects(p2, (e) => e === null);
    assert.deepEqual(
      (await o.finished()).map((s) => s.attributes['error.type']),
      ['AbortError', '_OTHER'],
    );
  });

  it('DNS cache lookups by result', async (t) => {
    const o = otel(t);
    const server = cleanup(t, await startHttpServer());
    const client = createClient();
    t.after(() => client.close());
    t.after(instrument(client, o.options));
    for (let i = 0; i < 3; i++) await (await client.fetch(`http://localhost:${server.port}/`)).text();
    const points = metric(await o.collect(), 'bulwark.dns.cache.lookups')?.dataPoints ?? [];
    const byResult = Object.fromEntries(points.map((p) => [p.attributes['bulwark.dns.result'], p.value]));
    assert.equal(byResult.miss, 1);
    assert.equal(byResult.stale, 0);
    assert.equal(byResult.negative, 0);
    assert.equal(typeof byResult.hit, 'number');
  });

  it('the global providers and propagator by default; stopping unsubscribes; a second instrument() of a client throws', async (t) => {
    const o = otel(t);
    trace.setGlobalTracerProvider(o.tracerProvider);
    propagation.setGlobalPropagator(o.propagator);
    t.after(() => {
      trace.disable();
      propagation.disable();
    });
    let header: string | undefined;
    const server = cleanup(
      t,
      await startHttpServer({
        handler: (req, res) => {
          header = req.headers.traceparent as string | undefined;
          res.end();
        },
      }),
    );
    const client = createClient();
    t.after(() => client.close());
    assert.equal(callStartChannel.hasSubscribers, false);
    const stop = instrument(client);
    assert.equal(callStartChannel.hasSubscribers, true);
    assert.throws(() => instrument(client), InvalidOptionError);
    await (await client.fetch(server.url)).text();
    assert.match(header ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    stop();
    stop(); // idempotent
    assert.equal(callStartChannel.hasSubscribers, false);
    await (await client.fetch(server.url)).text();
    assert.equal(header, undefined);
    assert.equal((await o.finished()).length, 1);
    // Another client is not reported by this one's instrumentation.
    const other = createClient();
    t.after(() => other.close());
    // (Not `using`: Node 22, still supported, cannot parse it.)
    const again = instrument(client, o.options);
    try {
      await (await other.fetch(server.url)).text();
      assert.equal((await o.finished()).length, 1);
    } finally {
      again[Symbol.dispose]();
    }
  });

  it('a call in flight when instrumentation stops still ends its span; a client can be instrumented again', async (t) => {
    const o = otel(t);
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const server = cleanup(
      t,
      await startHttpServer({
        handler: async (req, res) => {
          if (req.url === '/held') await held;
          res.end('ok');
        },
      }),
    );
    const client = createClient();
    t.after(() => client.close());
    const stop = instrument(client, o.options);
    const inFlight = client.request(`${server.url}/held`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    stop();
    release();
    await (await inFlight).body.text();
    await (await client.request(server.url)).body.text(); // not traced: stopped
    let spans = await o.finished();
    assert.deepEqual(
      spans.map((s) => [s.attributes['url.full'], s.attributes['http.response.status_code']]),
      [[`${server.origin}/held`, 200]],
    );
    t.after(instrument(client, o.options));
    await (await client.request(server.url)).body.text();
    spans = await o.finished();
    assert.equal(spans.length, 2);
  });

  it('a span sampled out records nothing but still sends its context (flags 00)', async (t) => {
    const spans = new InMemorySpanExporter();
    const tracerProvider = new TracerProvider({
      sampler: new AlwaysOffSampler(),
      spanProcessors: [new SimpleSpanProcessor({ exporter: spans })],
    });
    t.after(() => tracerProvider.shutdown());
    const seen: string[] = [];
    const server = cleanup(
      t,
      await startHttpServer({
        handler: (req, res) => {
          seen.push(String(req.headers.traceparent));
          res.writeHead(503);
          res.end();
        },
      }),
    );
    const client = createClient({ retry: { limit: 1, backoff: { base: 1, cap: 1 } } });
    t.after(() => client.close());
    t.after(
      instrument(client, {
        tracerProvider,
        meterProvider: false,
        propagator: new W3CTraceContextPropagator(),
      }),
    );
    await (await client.request(server.url)).body.dump();
    await tracerProvider.forceFlush();
    assert.equal(spans.getFinishedSpans().length, 0);
    assert.equal(seen.length, 2);
    assert.match(seen[0] ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    assert.equal(seen[1], seen[0]);
  });

  it('HTTP/2: network.protocol.version 2, traceparent as a header of the stream', async (t) => {
    const o = otel(t);
    const pki = await getTestPki();
    let header: unknown;
    const server = cleanup(
      t,
      await startH2Server({
        ...pki.valid,
        handler: (stream, headers) => {
          header = headers.traceparent;
          stream.respond({ ':status': 200 });
          stream.end('ok');
        },
      }),
    );
    const client = createClient({ allowH2: true, tls: { ca: pki.ca.cert } });
    t.after(() => client.close());
    t.after(instrument(client, o.options));
    await (await client.request(server.url)).body.text();
    const [span] = await o.finished();
    assert.equal(span?.attributes['network.protocol.version'], '2');
    assert.equal(header, `00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`);
    const [point] = metric(await o.collect(), 'http.client.request.duration')?.dataPoints ?? [];
    assert.equal(point?.attributes['network.protocol.version'], '2');
  });

  it('a propagator that throws fails neither the call nor the process; the span still ends', async (t) => {
    const o = otel(t);
    const logged: unknown[] = [];
    diag.setLogger({
      error: (...args: unknown[]) => logged.push(args[0]),
      warn() {},
      info() {},
      debug() {},
      verbose() {},
    });
    t.after(() => diag.disable());
    const server = cleanup(t, await startHttpServer());
    const client = createClient();
    t.after(() => client.close());
    const propagator = {
      inject() {
        throw new Error('broken propagator');
      },
      extract: (ctx: never) => ctx,
      fields: () => [],
    };
    t.after(instrument(client, { ...o.options, propagator }));
    await (await client.fetch(server.url)).text();
    await new Promise((resolve) => setImmediate(resolve)); // an uncaught rethrow would surface here
    assert.equal((await o.finished()).length, 1);
    assert.match(String(logged[0]), /starting a call’s span failed/);
  });

  it('keyed breakers and bulkheads: one series per key', async (t) => {
    const o = otel(t);
    const server = cleanup(t, await startHttpServer());
    const client = createClient({
      retry: false,
      breaker: { key: ({ path }) => (path.startsWith('/a') ? 'a' : 'b') },
      bulkhead: { key: ({ path }) => (path.startsWith('/a') ? 'a' : 'b') },
    });
    t.after(() => client.close());
    t.after(instrument(client, o.options));
    await (await client.fetch(`${server.url}/a`)).text();
    await (await client.fetch(`${server.url}/b`)).text();
    const rm = await o.collect();
    const states = metric(rm, 'bulwark.client.breaker.state')?.dataPoints ?? [];
    assert.deepEqual(states.map((p) => [p.attributes['bulwark.breaker.key'], p.value]).sort(), [
      ['a', 0],
      ['b', 0],
    ]);
    const inFlight = metric(rm, 'bulwark.client.bulkhead.in_flight')?.dataPoints ?? [];
    assert.deepEqual(inFlight.map((p) => p.attributes['bulwark.bulkhead.key']).sort(), ['a', 'b']);
  });

  it('bad input is an InvalidOptionError naming it', () => {
    const client = createClient();
    t_close(client);
    assert.throws(() => instrument({} as never), /client must be a client made by createClient\(\)/);
    assert.throws(() => instrument(null as never), InvalidOptionError);
    assert.throws(
      () => instrument(client, { tracerProvider: 42 } as never),
      /options\.tracerProvider must be/,
    );
    assert.throws(() => instrument(client, { meterProvider: {} } as never), /options\.meterProvider must be/);
    assert.throws(() => instrument(client, { propagator: null } as never), /options\.propagator must be/);
    assert.throws(() => instrument(client, { tracer: 1 } as never), InvalidOptionError);
    assert.throws(() => instrument(client, 5 as never), InvalidOptionError);
    assert.equal(callStartChannel.hasSubscribers, false);
  });
});

function t_close(client: { close(): Promise<void> }): void {
  void client.close();
}
