// The retry stage through the real client against real loopback servers: jittered backoff,
// Retry-After, the idempotency rules, one-shot bodies, the stale keep-alive connection and the
// per-origin retry budget.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { inspect } from 'node:util';
import { createClient } from '../../src/client/client.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { responseInfo } from '../../src/http/response-info.ts';
import { RETRY_BUDGET_DEFAULTS } from '../../src/policy/retry-budget.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { startRawServer } from '../helpers/raw-server.ts';
import { RecordingClock } from '../helpers/recording-clock.ts';

function statuses(...codes: number[]) {
  let i = 0;
  return (_req: unknown, res: import('node:http').ServerResponse) => {
    const code = codes[Math.min(i++, codes.length - 1)]!;
    res.statusCode = code;
    res.end(`status ${code}`);
  };
}

async function refusedPort(): Promise<number> {
  const server = await startHttpServer();
  const port = server.port;
  await server.close();
  return port;
}

describe('retry', () => {
  it('503, 503, 200 → one 200 after 3 attempts, sleeping random × min(cap, base·2ⁿ⁻¹)', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: statuses(503, 503, 200) }));
    const clock = new RecordingClock(() => 0.5);
    const client = createClient({ clock, retry: { backoff: { base: 20, cap: 1000 } } });
    t.after(() => client.close());
    const res = await client.fetch(`${server.url}/a`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'status 200');
    assert.equal(responseInfo(res)?.attempts, 3);
    assert.deepEqual(responseInfo(res)?.lastFailure, { status: 503 });
    assert.equal(server.requests, 3);
    assert.deepEqual(clock.sleeps(), [10, 20], 'full jitter with random 0.5: 0.5×20, then 0.5×40');
  });

  it('responseInfo leaves the Response as fetch made it: no own key, the same JSON and inspection', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const client = createClient();
    t.after(() => client.close());
    const res = await client.fetch(server.url);
    await res.text();
    const plain = await fetch(server.url);
    await plain.text();
    assert.equal(responseInfo(res)?.attempts, 1);
    assert.deepEqual(Object.keys(res), []);
    assert.equal(JSON.stringify(res), JSON.stringify(plain));
    assert.ok(!inspect(res).includes('bulwark'), inspect(res));
    assert.equal(responseInfo(new Response('x')), undefined, 'not from client.fetch');
    assert.equal(responseInfo(null as unknown as object), undefined);
  });

  it('the same through client.request, which reports attempts and timings', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: statuses(503, 200) }));
    const client = createClient({ retry: { backoff: { base: 5 } } });
    t.after(() => client.close());
    const res = await client.request(`${server.url}/b`);
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'status 200');
    assert.equal(res.attempts, 2);
    assert.ok(res.timings.ttfb !== undefined && res.timings.ttfb >= 0);
    assert.ok(res.timings.total !== undefined && res.timings.total >= res.timings.ttfb);
  });

  it('returns the last response once the retries are used up', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: statuses(502) }));
    const client = createClient({ retry: { limit: 2, backoff: { base: 1 } } });
    t.after(() => client.close());
    const res = await client.fetch(server.url);
    assert.equal(res.status, 502);
    assert.equal(await res.text(), 'status 502');
    assert.equal(responseInfo(res)?.attempts, 3);
  });

  it('does not retry statuses outside retry.statusCodes (404, 501)', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: statuses(404, 200) }));
    const client = createClient();
    t.after(() => client.close());
    assert.equal((await client.fetch(server.url)).status, 404);
    server.handle(statuses(501, 200));
    assert.equal((await client.fetch(server.url)).status, 501);
    assert.equal(server.requests, 2);
  });

  it('honours Retry-After in seconds', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let n = 0;
    server.handle((_req, res) => {
      if (n++ === 0) {
        res.writeHead(503, { 'retry-after': '1' });
        res.end();
      } else res.end('ok');
    });
    const clock = new RecordingClock();
    const client = createClient({ clock });
    t.after(() => client.close());
    const res = await client.fetch(server.url);
    assert.equal(res.status, 200);
    assert.deepEqual(clock.sleeps(), [1000]);
  });

  it('honours Retry-After as an HTTP date', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let n = 0;
    server.handle((_req, res) => {
      if (n++ === 0) {
        res.writeHead(429, { 'retry-after': new Date(Date.now() + 2_000).toUTCString() });
        res.end();
      } else res.end('ok');
    });
    const clock = new RecordingClock();
    const client = createClient({ clock });
    t.after(() => client.close());
    assert.equal((await client.fetch(server.url)).status, 200);
    const [slept] = clock.sleeps(5_000);
    assert.ok(slept !== undefined && slept > 0 && slept <= 2_000, `slept ${slept}`);
  });

  it('returns the 503 at once when Retry-After exceeds the remaining budget or the cap', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.writeHead(503, { 'retry-after': '5' });
      res.end('later');
    });
    const clock = new RecordingClock();
    const client = createClient({ clock, timeout: { total: 4_000 } });
    t.after(() => client.close());
    const started = performance.now();
    const res = await client.fetch(server.url);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'later');
    assert.equal(responseInfo(res)?.attempts, 1);
    assert.deepEqual(clock.sleeps(3_000), [], 'no sleep (the only timer is the 4 s deadline)');
    assert.ok(performance.now() - started < 1_000, 'it did not wait');

    const capped = createClient({ clock, retry: { maxRetryAfter: 1_000 } });
    t.after(() => capped.close());
    const again = await capped.request(server.url);
    await again.body.dump();
    assert.equal(again.statusCode, 503);
    assert.equal(again.attempts, 1);
  });

  it('POST is not retried after a 503: the request reached the server', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: statuses(503, 200) }));
    const client = createClient();
    t.after(() => client.close());
    const res = await client.fetch(server.url, { method: 'POST', body: 'x' });
    assert.equal(res.status, 503);
    assert.equal(server.requests, 1);
  });

  it('POST is not retried after a reset once the request was sent', async (t) => {
    let requests = 0;
    const raw = cleanup(
      t,
      await startRawServer((socket) => {
        socket.once('data', () => {
          requests++;
          socket.resetAndDestroy();
        });
      }),
    );
    const client = createClient();
    t.after(() => client.close());
    const err = await client
      .request(`http://127.0.0.1:${raw.port}/`, { method: 'POST', body: 'x' })
      .catch((e) => e);
    assert.ok(isBulwarkError(err), String(err));
    assert.equal(err.layer, 'tcp');
    assert.ok(err.code === 'TCP_RESET' || err.code === 'TCP_CLOSED', err.code);
    assert.equal(err.mayHaveExecuted, true);
    assert.equal(err.attempts, 1);
    assert.equal(requests, 1);
  });

  it('POST is retried after a refused connect: it never left', async (t) => {
    const port = await refusedPort();
    const client = createClient({ retry: { backoff: { base: 1 } } });
    t.after(() => client.close());
    const err = await client
      .fetch(`http://127.0.0.1:${port}/`, { method: 'POST', body: 'x' })
      .catch((e) => e);
    assert.ok(isBulwarkError(err), String(err));
    assert.equal(err.code, 'TCP_REFUSED');
    assert.equal(err.mayHaveExecuted, false);
    assert.equal(err.attempts, 3);
  });

  it('POST with an Idempotency-Key is retried like GET', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: statuses(503, 503, 200) }));
    const client = createClient({ retry: { backoff: { base: 1 } } });
    t.after(() => client.close());
    const res = await client.fetch(server.url, {
      method: 'POST',
      body: 'x',
      headers: { 'Idempotency-Key': 'k-1' },
    });
    assert.equal(res.status, 200);
    assert.equal(server.requests, 3);
  });

  it('never retries a one-shot (streamed) body, even for PUT', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: statuses(503, 200) }));
    const client = createClient({ retry: { backoff: { base: 1 } } });
    t.after(() => client.close());
    const res = await client.request(server.url, { method: 'PUT', body: Readable.from(['a', 'b']) });
    await res.body.dump();
    assert.equal(res.statusCode, 503);
    assert.equal(res.attempts, 1);
  });

  it('retries a reused keep-alive connection closed before any response byte at once, without the budget', async (t) => {
    // Answers the first request of each connection, then resets the connection on the next one:
    // the race where a server closes an idle keep-alive connection as the client reuses it.
    const raw = cleanup(
      t,
      await startRawServer((socket) => {
        let seen = 0;
        socket.on('data', () => {
          if (seen++ === 0)
            socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok');
          else socket.resetAndDestroy();
        });
      }),
    );
    const clock = new RecordingClock();
    // One connection, so the second request reuses the first one's.
    const client = createClient({ clock, retry: { limit: 1 }, connections: 1 });
    t.after(() => client.close());
    const url = `http://127.0.0.1:${raw.port}/`;
    const first = await client.request(url);
    assert.equal(await first.body.text(), 'ok');
    const before = client.stats()[`http://127.0.0.1:${raw.port}`]!.budgetLevel;
    const second = await client.request(url);
    assert.equal(await second.body.text(), 'ok');
    assert.equal(second.attempts, 2);
    assert.equal(second.timings.reused, false, 'the retry went out on a new connection');
    assert.deepEqual(clock.sleeps(), [], 'retried at once');
    const after = client.stats()[`http://127.0.0.1:${raw.port}`]!.budgetLevel;
    assert.ok(after !== null && before !== null && after >= before, `budget ${before} → ${after}`);
  });

  it('a full outage: retries spend the budget and stop after the first few', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: statuses(503) }));
    const client = createClient({ breaker: false, retry: { backoff: { base: 0, cap: 0 } } });
    t.after(() => client.close());
    const requests = 100;
    for (let i = 0; i < requests; i++) {
      const res = await client.request(server.url);
      await res.body.dump();
      assert.equal(res.statusCode, 503);
    }
    const stats = client.stats()[server.origin]!;
    // A reserve of 3 tokens, 1 per retry, none back for a retry that fails: the first call retries
    // twice (3 → 2 → 1), the second once (→ 0), then none.
    assert.equal(stats.retries, 3);
    assert.equal(server.requests, requests + 3);
    assert.ok(server.requests / requests <= 1.12);
    assert.ok(stats.budgetExhausted > 0);
    assert.equal(stats.budgetLevel, 0);
  });

  it('at 5 % failures every failure is retried, and each retry that succeeds gets its token back', async (t) => {
    const server = cleanup(t, await startHttpServer());
    let n = 0;
    server.handle((_req, res) => {
      res.statusCode = n++ % 20 === 0 ? 503 : 200;
      res.end();
    });
    const client = createClient({ breaker: false, retry: { backoff: { base: 0, cap: 0 } } });
    t.after(() => client.close());
    let ok = 0;
    for (let i = 0; i < 200; i++) {
      const res = await client.request(server.url);
      await res.body.dump();
      if (res.statusCode === 200) ok++;
    }
    assert.equal(ok, 200);
    const stats = client.stats()[server.origin]!;
    assert.equal(stats.budgetExhausted, 0);
    assert.ok(stats.budgetLevel !== null && stats.budgetLevel >= RETRY_BUDGET_DEFAULTS.reserve);
  });
});
