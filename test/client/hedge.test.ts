// Hedged requests through the real client on loopback, on a virtual clock (the hedge's delay is
// a clock timer: the test advances time instead of waiting for it). The server holds each request
// until the test answers it, so which attempt answers first is the test's choice; the server sees
// the loser's request end early (its connection closed) when the client aborts it.
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { VirtualClock } from '../../src/clock/virtual-clock.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { responseInfo } from '../../src/http/response-info.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.ts';

/** One request held at the server: answer it, or see it end unanswered. */
interface Held {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Resolves when the request's connection closed before it was answered. */
  readonly cut: Promise<void>;
  answer(body?: string): void;
}

/** A server that holds every request; `next()` resolves with the next one to arrive. */
async function holdingServer(t: TestContext): Promise<{ server: TestHttpServer; next(): Promise<Held> }> {
  const server = cleanup(t, await startHttpServer());
  const arrived: Held[] = [];
  const waiting: ((h: Held) => void)[] = [];
  server.handle((req, res) => {
    let answered = false;
    const cut = new Promise<void>((resolve) =>
      res.on('close', () => {
        if (!answered || !res.writableFinished) resolve();
      }),
    );
    const held: Held = {
      req,
      res,
      cut,
      answer: (body = 'ok') => {
        answered = true;
        res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
      },
    };
    const w = waiting.shift();
    if (w === undefined) arrived.push(held);
    else w(held);
  });
  return {
    server,
    next: () => {
      const h = arrived.shift();
      return h === undefined ? new Promise((resolve) => waiting.push(resolve)) : Promise.resolve(h);
    },
  };
}

/** Lets I/O callbacks run (the request reaching the server, a response coming back). */
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('hedge', () => {
  for (const front of ['fetch', 'request'] as const) {
    it(`${front}: a stalled first attempt is hedged; the hedge wins and the first is aborted`, async (t) => {
      const { server, next } = await holdingServer(t);
      const clock = new VirtualClock();
      const client = createClient({ clock, hedge: { delay: 50 } });
      t.after(() => client.close());
      const url = `${server.url}/item`;
      const pending =
        front === 'fetch'
          ? client
              .fetch(url)
              .then(async (res) => ({ body: await res.text(), hedge: responseInfo(res)?.hedge }))
          : client.request(url).then(async (res) => ({ body: await res.body.text(), hedge: res.hedge }));
      const first = await next();
      await clock.advance(49);
      await turn();
      assert.equal(server.requests, 1, 'no hedge before the delay');
      await clock.advance(1);
      const hedge = await next();
      await clock.advance(5);
      hedge.answer('from the hedge');
      assert.deepEqual(await pending, { body: 'from the hedge', hedge: 'hedge-won' });
      // The call's latency counts from the caller's start, not the hedge's.
      assert.equal(client.stats()[server.origin]!.latency.total.p50, 55);
      await first.cut; // the server sees the first request's connection close
      const stats = client.stats()[server.origin]!;
      assert.deepEqual(stats.hedges, { sent: 1, won: 1, refused: 0 });
      assert.equal(stats.requests, 1);
      assert.equal(stats.responses, 1);
      assert.equal(stats.failures, 0);
      assert.deepEqual(stats.failuresByLayer, {});
    });
  }

  it('the first attempt answering after the hedge went out wins; the hedge is aborted', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50 } });
    t.after(() => client.close());
    const pending = client.request(server.url);
    const first = await next();
    await clock.advance(50);
    const hedge = await next();
    first.answer('first');
    const res = await pending;
    assert.equal(await res.body.text(), 'first');
    assert.equal(res.hedge, 'first-won');
    await hedge.cut;
    assert.deepEqual(client.stats()[server.origin]!.hedges, { sent: 1, won: 0, refused: 0 });
  });

  it('a first attempt that answers before the delay sends no hedge', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50 } });
    t.after(() => client.close());
    const pending = client.fetch(server.url);
    (await next()).answer();
    const res = await pending;
    assert.equal(await res.text(), 'ok');
    assert.equal(responseInfo(res)?.hedge, 'not-sent');
    assert.ok((clock.nextAt() ?? Number.POSITIVE_INFINITY) > 50, 'the hedge timer was cleared');
    await clock.advance(1_000);
    await turn();
    assert.equal(server.requests, 1);
    assert.deepEqual(client.stats()[server.origin]!.hedges, { sent: 0, won: 0, refused: 0 });
  });

  it('never hedges a POST; hedges one with an Idempotency-Key', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50 } });
    t.after(() => client.close());
    const post = client.request(server.url, { method: 'POST', body: 'x' });
    const held = await next();
    await clock.advance(500);
    await turn();
    assert.equal(server.requests, 1);
    held.answer();
    const res = await post;
    assert.equal(res.hedge, 'not-sent');
    await res.body.dump();

    const keyed = client.request(server.url, {
      method: 'POST',
      body: 'x',
      headers: { 'idempotency-key': 'k1' },
    });
    await next();
    await clock.advance(50);
    (await next()).answer('hedge');
    const res2 = await keyed;
    assert.equal(res2.hedge, 'hedge-won');
    assert.equal(await res2.body.text(), 'hedge');
  });

  it('a one-shot body is never hedged', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50 } });
    t.after(() => client.close());
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode('x'));
        c.close();
      },
    });
    const pending = client.fetch(server.url, { method: 'PUT', body: stream, duplex: 'half' } as never);
    const held = await next();
    await clock.advance(500);
    await turn();
    assert.equal(server.requests, 1);
    held.answer();
    assert.equal(responseInfo(await pending)?.hedge, 'not-sent');
  });

  it('hedges at most `ratio` of the calls (one to start with)', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50, ratio: 0.5 } });
    t.after(() => client.close());
    const hedged: string[] = [];
    for (let i = 0; i < 4; i++) {
      const pending = client.request(server.url);
      const first = await next();
      await clock.advance(50);
      await turn();
      first.answer();
      const res = await pending;
      hedged.push(res.hedge);
      await res.body.dump();
      if (res.hedge === 'first-won') (await next()).answer(); // the hedge, if it reached the server
    }
    // 1 to start with, + 0.5 as each call starts, − 1 per hedge: 1.5, 1, 0.5, 1.
    assert.deepEqual(hedged, ['first-won', 'first-won', 'not-sent', 'first-won']);
    assert.deepEqual(client.stats()[server.origin]!.hedges, { sent: 3, won: 0, refused: 1 });
  });

  it('no hedge when the retry budget is empty (counted as refused)', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50 }, retry: { budget: { reserve: 0 } } });
    t.after(() => client.close());
    const pending = client.request(server.url);
    const held = await next();
    await clock.advance(500);
    await turn();
    assert.equal(server.requests, 1);
    held.answer();
    const res = await pending;
    assert.equal(res.hedge, 'not-sent');
    await res.body.dump();
    assert.deepEqual(client.stats()[server.origin]!.hedges, { sent: 0, won: 0, refused: 1 });
  });

  it("the caller's abort while both are in flight rejects with its reason and ends both", async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50, ratio: 1 } });
    t.after(() => client.close());
    for (const front of ['fetch', 'request'] as const) {
      const controller = new AbortController();
      const { signal } = controller;
      const pending =
        front === 'fetch' ? client.fetch(server.url, { signal }) : client.request(server.url, { signal });
      const first = await next();
      await clock.advance(50);
      const hedge = await next();
      const reason = { why: front };
      controller.abort(reason);
      await assert.rejects(pending, (err) => err === reason);
      await Promise.all([first.cut, hedge.cut]);
    }
    const stats = client.stats()[server.origin]!;
    assert.equal(stats.hedges.sent, 2);
    assert.equal(stats.failures, 2);
  });

  it("a caller's signal already aborted: no call, no hedge", async (t) => {
    const { server } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 0 } });
    t.after(() => client.close());
    const reason = new Error('gone');
    await assert.rejects(
      client.fetch(server.url, { signal: AbortSignal.abort(reason) }),
      (err) => err === reason,
    );
    await clock.advance(10);
    await turn();
    assert.equal(server.requests, 0);
  });

  it('the total deadline covers the hedge: both time out, the first attempt’s timeout is the error', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 100 }, timeout: { total: 1_000 }, retry: false });
    t.after(() => client.close());
    const pending = client.request(server.url);
    const first = await next();
    await clock.advance(100);
    const hedge = await next();
    const rejected = assert.rejects(pending, (err) => {
      assert.ok(isBulwarkError(err));
      assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
      assert.equal(err.budget, 'total');
      return true;
    });
    await clock.advance(900);
    await rejected;
    await Promise.all([first.cut, hedge.cut]);
    assert.equal(client.stats()[server.origin]!.failures, 1);
  });

  it('per call: hedge false turns it off, an object turns it on or overrides', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50 } });
    const plain = createClient({ clock });
    t.after(() => Promise.all([client.close(), plain.close()]));

    const off = client.request(server.url, { hedge: false });
    const a = await next();
    await clock.advance(500);
    await turn();
    assert.equal(server.requests, 1);
    a.answer();
    await (await off).body.dump();

    const on = plain.request(server.url, { hedge: { delay: 20 } });
    await next();
    await clock.advance(20);
    (await next()).answer('hedged');
    assert.equal((await on).hedge, 'hedge-won');

    const sooner = client.request(server.url, { hedge: { minSamples: 5 } }); // delay from the client
    await next();
    await clock.advance(50);
    (await next()).answer();
    assert.equal((await sooner).hedge, 'hedge-won');
  });

  it("delay 'p95' hedges only once the origin has minSamples responses", async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 'p95', minSamples: 3 } });
    t.after(() => client.close());
    for (let i = 0; i < 3; i++) {
      const pending = client.request(server.url);
      const held = await next();
      await clock.advance(10); // each takes 10 ms on the clock
      held.answer();
      await (await pending).body.dump();
    }
    assert.equal(server.requests, 3, 'no hedge before minSamples');
    const pending = client.request(server.url);
    await next();
    await clock.advance(9);
    await turn();
    assert.equal(server.requests, 4);
    await clock.advance(1);
    (await next()).answer('hedge');
    assert.equal((await pending).hedge, 'hedge-won');
  });

  it("leaves no listener on the caller's signal, won by either attempt", async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50, ratio: 1 } });
    t.after(() => client.close());
    const controller = new AbortController();
    for (const winner of ['first', 'hedge'] as const) {
      for (const front of ['fetch', 'request'] as const) {
        const { signal } = controller;
        const pending =
          front === 'fetch'
            ? client.fetch(server.url, { signal }).then((r) => r.text())
            : client.request(server.url, { signal }).then((r) => r.body.text());
        const first = await next();
        await clock.advance(50);
        const hedge = await next();
        (winner === 'first' ? first : hedge).answer(winner);
        assert.equal(await pending, winner);
        await (winner === 'first' ? hedge : first).cut;
        await turn();
        assert.equal(getEventListeners(signal, 'abort').length, 0, `${front}, ${winner} won`);
      }
    }
  });

  it("the caller's abort after the hedge's headers fails its body with the reason", async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50, ratio: 1 } });
    t.after(() => client.close());
    for (const front of ['fetch', 'request'] as const) {
      const controller = new AbortController();
      const { signal } = controller;
      const pending =
        front === 'fetch'
          ? client
              .fetch(server.url, { signal })
              .then((r) => ({ read: () => r.text(), hedge: responseInfo(r)?.hedge }))
          : client
              .request(server.url, { signal })
              .then((r) => ({ read: () => r.body.text(), hedge: r.hedge }));
      const first = await next();
      await clock.advance(50);
      const hedge = await next();
      hedge.res.writeHead(200, { 'content-type': 'text/plain' });
      hedge.res.write('part');
      const res = await pending;
      assert.equal(res.hedge, 'hedge-won');
      await first.cut;
      const reason = new Error(`stop ${front}`);
      controller.abort(reason);
      await assert.rejects(res.read(), (err) => err === reason);
      await hedge.cut;
    }
  });

  it('a hedge answering 503 while the first is still out does not win', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50 } });
    t.after(() => client.close());
    const pending = client.request(server.url);
    const first = await next();
    await clock.advance(50);
    const hedge = await next();
    hedge.res.writeHead(503).end('busy');
    await turn();
    first.answer('first');
    const res = await pending;
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'first');
    assert.equal(res.hedge, 'first-won');
  });

  it('close() waits for both attempts; a hedge due after close() is not sent', async (t) => {
    const { server, next } = await holdingServer(t);
    const clock = new VirtualClock();
    const client = createClient({ clock, hedge: { delay: 50 } });
    const a = client.request(server.url);
    const first = await next();
    const closed = client.close();
    await clock.advance(50);
    await turn();
    assert.equal(server.requests, 1, 'no hedge after close()');
    first.answer();
    const res = await a;
    assert.equal(res.hedge, 'not-sent');
    await res.body.dump();
    await closed;

    // A race with both attempts out when close() is called: close waits for the pair.
    const other = createClient({ clock, hedge: { delay: 50 } });
    const b = other.request(server.url);
    const f2 = await next();
    await clock.advance(50);
    const h2 = await next();
    let done = false;
    const closing = other.close().then(() => (done = true));
    await turn();
    assert.equal(done, false);
    h2.answer('hedge');
    assert.equal(await (await b).body.text(), 'hedge');
    await f2.cut;
    await closing;
  });

  it('rejects bad hedge options with InvalidOptionError', async () => {
    const bad: unknown[] = [
      null,
      true,
      {},
      { delay: -1 },
      { delay: 'p99' },
      { delay: Number.NaN },
      { delay: 2 ** 31 },
      { delay: 10, max: 2 },
      { delay: 10, minSamples: 0 },
      { delay: 10, minSamples: 1.5 },
      { delay: 10, other: 1 },
      { delay: 10, ratio: 2 },
    ];
    for (const hedge of bad) {
      assert.throws(() => createClient({ hedge: hedge as never }), InvalidOptionError, JSON.stringify(hedge));
    }
    const client = createClient();
    try {
      await assert.rejects(client.request('http://127.0.0.1:9/', { hedge: {} }), InvalidOptionError);
      await assert.rejects(client.fetch('http://127.0.0.1:9/', { hedge: { delay: 'soon' as never } }), {
        name: 'InvalidOptionError',
        message: /hedge\.delay/,
      });
    } finally {
      await client.close();
    }
  });
});
