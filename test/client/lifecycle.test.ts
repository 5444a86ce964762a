// What a client leaves behind: nothing. After a mix of successes, retries, failures and aborts,
// close() leaves no timer or socket running and no promise rejected unhandled; stats and the
// diagnostics channels report what happened.
import assert from 'node:assert/strict';
import { channel } from 'node:diagnostics_channel';
import { describe, it } from 'node:test';
import { memoryDispatcher } from '../../bench/lib/memory-dispatcher.ts';
import { createClient } from '../../src/client/client.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { startSilentServer } from '../helpers/raw-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

describe('lifecycle', () => {
  it('sends the same path for a URL string however often it is seen, and normalises the ones the URL parser would', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const seen: string[] = [];
    server.handle((req, res) => {
      seen.push(req.url ?? '');
      res.end('ok');
    });
    const client = createClient();
    t.after(() => client.close());
    const base = server.url.replace(/\/$/, '');
    const inputs = [
      `${base}/a/b?x=1`, // parsed, then remembered
      `${base}/a/b?x=1`, // remembered
      `${base}/a/b?x=1#frag`, // the fragment never reaches the server
      `${base}/a/./c/../b`, // dot segments are resolved
      `${base}/sp ace`, // percent-encoded
      base, // no path: "/"
      `${base.replace('127.0.0.1', '127.000.000.001')}/ip`, // another spelling of the origin
      `${base}/a/b?x=1`,
    ];
    for (let round = 0; round < 2; round++) {
      for (const url of inputs) {
        const res = await client.request(url);
        await res.body.dump();
        const f = await client.fetch(url);
        await f.text();
      }
    }
    const once = ['/a/b?x=1', '/a/b?x=1', '/a/b?x=1', '/a/b', '/sp%20ace', '/', '/ip', '/a/b?x=1'];
    const expected = [...once, ...once].flatMap((p) => [p, p]);
    assert.deepEqual(seen, expected);
    assert.deepEqual(Object.keys(client.stats()), [new URL(base).origin]);
  });

  it('runs every stage when the transport answers or throws synchronously, and close() still drains', async () => {
    // A dispatcher that answers inside dispatch() itself: the pipeline passes outcomes on by
    // callback, so each stage must cope with its next one finishing before it returns.
    let statuses: number[] = [];
    const sync = memoryDispatcher(() => {
      const statusCode = statuses.shift() ?? 200;
      if (statusCode === 0) throw new RangeError('thrown by the dispatcher');
      return statusCode;
    });
    const client = createClient({
      dns: false,
      dispatcher: sync,
      retry: { limit: 2, backoff: { base: 1, cap: 1 } },
    });
    for (let i = 0; i < 50; i++) {
      const res = await client.request('http://sync.test/a');
      assert.equal(res.statusCode, 200);
      assert.equal(res.attempts, 1);
    }
    statuses = [503, 503, 200];
    const retried = await client.request('http://sync.test/a');
    assert.equal(retried.statusCode, 200);
    assert.equal(retried.attempts, 3);
    statuses = [0];
    await assert.rejects(client.request('http://sync.test/a'), RangeError);
    const stats = client.stats()['http://sync.test']!;
    assert.equal(stats.requests, 52);
    assert.equal(stats.failures, 1);
    assert.equal(stats.bulkhead?.inFlight, 0, 'every slot was given back');
    await client.close(); // would hang if a call were still counted as active
  });

  it('leaves no timers, sockets or unhandled rejections after close()', async (t) => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    t.after(() => process.off('unhandledRejection', onUnhandled));

    const server = cleanup(t, await startHttpServer());
    let n = 0;
    server.handle((_req, res) => {
      res.statusCode = n++ % 3 === 0 ? 503 : 200;
      res.end('x');
    });
    const silent = cleanup(t, await startSilentServer());
    const before = resources();

    const client = createClient({ retry: { backoff: { base: 5 } } });
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) work.push(client.request(server.url).then((r) => r.body.dump()));
    for (let i = 0; i < 10; i++) work.push(client.fetch(server.url).then((r) => r.text()));
    const timeout = { attempt: 100, total: 300 };
    work.push(client.request(`http://127.0.0.1:${silent.port}/`, { timeout }).catch((e: unknown) => e));
    work.push(client.fetch(server.url, { signal: AbortSignal.abort() }).catch((e: unknown) => e));
    await Promise.all(work);
    await client.close();
    // The servers run in this process: once they have seen every connection close, whatever
    // socket is left would be the client's.
    await waitFor(
      () => server.openSockets === 0 && silent.openSockets === 0,
      'the servers to see every close',
    );

    const after = resources();
    for (const kind of ['Timeout', 'TCPSocketWrap', 'TCPWRAP']) {
      assert.ok(
        (after[kind] ?? 0) <= (before[kind] ?? 0),
        `${kind}: ${before[kind] ?? 0} before, ${after[kind] ?? 0} after`,
      );
    }
    assert.deepEqual(unhandled, []);
  });

  it('close() is idempotent and Symbol.asyncDispose closes', async () => {
    const client = createClient();
    await Promise.all([client.close(), client.close()]);
    const other = createClient();
    await other[Symbol.asyncDispose]();
    const err = await other.fetch('http://127.0.0.1:1/').catch((e: unknown) => e);
    assert.ok(isBulwarkError(err) && err.code === 'POOL_CLOSED');
  });

  it('close() ends a retry sleeping between attempts with POOL_CLOSED', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.statusCode = 503;
      res.end();
    });
    const client = createClient({ retry: { backoff: { jitter: 'none', base: 10_000 } } });
    const call = client.request(server.url).catch((e: unknown) => e);
    while (server.requests === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    await client.close();
    const err = await call;
    assert.ok(isBulwarkError(err) && err.code === 'POOL_CLOSED', String(err));
    assert.ok(performance.now() - started < 2_000);
  });

  it('stats(): counts by layer and code, retries, budget, breaker state and latency percentiles', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let n = 0;
    server.handle((_req, res) => {
      res.statusCode = n++ === 0 ? 503 : 200;
      res.end('x');
    });
    const gone = await startHttpServer();
    const goneUrl = gone.url;
    await gone.close();
    const client = createClient({ retry: { backoff: { base: 1 } } });
    t.after(() => client.close());
    for (let i = 0; i < 5; i++) await (await client.request(server.url)).body.dump();
    await client.request(goneUrl).catch(() => {});

    const s = client.stats()[server.origin]!;
    assert.equal(s.requests, 5);
    assert.equal(s.responses, 5);
    assert.equal(s.failures, 0);
    assert.equal(s.retries, 1);
    assert.equal(s.breaker, 'closed');
    // The reserve of 3 (the one retry succeeded and got its token back), plus at most the five
    // deposits of 0.4 and the one the successful retry adds to the reserve, fading with time.
    assert.ok(s.budgetLevel !== null && s.budgetLevel >= 3 && s.budgetLevel <= 6);
    assert.equal(s.latency.ttfb.count, 5);
    assert.ok(s.latency.ttfb.p50 > 0 && s.latency.ttfb.p50 <= s.latency.ttfb.p99);
    assert.ok(s.latency.total.p95 >= s.latency.ttfb.p50);
    assert.ok(s.latency.connect.count >= 1, 'at least one new connection was timed');
    assert.equal(s.connections.opened + s.connections.reused, 5);

    const g = client.stats()[new URL(goneUrl).origin]!;
    assert.equal(g.failures, 1);
    assert.equal(g.failuresByLayer.tcp, 3, 'three attempts, all refused');
    assert.equal(g.failuresByCode.TCP_REFUSED, 3);
  });

  it('publishes diagnostics only to subscribers: attempts and retries', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let n = 0;
    server.handle((_req, res) => {
      res.statusCode = n++ === 0 ? 502 : 200;
      res.end();
    });
    const attempts: unknown[] = [];
    const retries: unknown[] = [];
    const onAttempt = (m: unknown) => attempts.push(m);
    const onRetry = (m: unknown) => retries.push(m);
    channel('bulwark:attempt:end').subscribe(onAttempt);
    channel('bulwark:retry:attempt').subscribe(onRetry);
    t.after(() => {
      channel('bulwark:attempt:end').unsubscribe(onAttempt);
      channel('bulwark:retry:attempt').unsubscribe(onRetry);
    });
    const client = createClient({ retry: { backoff: { base: 1 } } });
    t.after(() => client.close());
    await (await client.fetch(`${server.url}/p?secret=1`)).text();
    assert.equal(attempts.length, 2);
    assert.deepEqual(
      attempts.map((a) => (a as { status: number }).status),
      [502, 200],
    );
    assert.equal(retries.length, 1);
    const r = retries[0] as { retry: boolean; reason: string; request: { path: string } };
    assert.equal(r.retry, true);
    assert.equal(r.reason, 'retry');
    assert.equal(r.request.path, '/p', 'no query string in diagnostics');
  });
});
