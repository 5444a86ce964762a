// client.request's own dispatch handler (src/http/request.ts) against undici's request API: the
// same body class and behaviour, the same trailers, the same refusals, and nothing left behind
// when a request fails or its response arrives too late.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { type Dispatcher, errors, Pool } from 'undici';
import { createClient } from '../../src/client/client.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { startRawServer } from '../helpers/raw-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('client.request: the response', () => {
  it("resolves with a body like undici's request API's, status, headers, timings and attempts", async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    const client = createClient();
    t.after(() => client.close());
    const pool = new Pool(server.origin);
    t.after(() => pool.close());
    const raw = await pool.request({ origin: server.origin, path: '/', method: 'GET' });
    const res = await client.request(server.url);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/json');
    assert.equal(res.attempts, 1);
    assert.equal(typeof res.timings.ttfb, 'number');
    // Our own class (undici does not export its own), with the same members.
    assert.ok(res.body instanceof Readable);
    for (const member of [
      'text',
      'json',
      'arrayBuffer',
      'bytes',
      'blob',
      'formData',
      'dump',
      'body',
      'bodyUsed',
    ]) {
      assert.equal(
        typeof (res.body as unknown as Record<string, unknown>)[member],
        typeof (raw.body as unknown as Record<string, unknown>)[member],
        member,
      );
    }
    assert.deepEqual(await res.body.json(), await raw.body.json());
  });

  it('streams a large body with backpressure (pauses and resumes the connection)', async (t) => {
    const chunk = Buffer.alloc(64 * 1024, 7);
    const chunks = 64; // 4 MiB
    const server = cleanup(t, await startHttpServer());
    server.handle(async (_req, res) => {
      for (let i = 0; i < chunks; i++) {
        if (!res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
      }
      res.end();
    });
    const client = createClient();
    t.after(() => client.close());
    const res = await client.request(server.url);
    let bytes = 0;
    let reads = 0;
    for await (const piece of res.body) {
      bytes += (piece as Buffer).length;
      // A slow reader: the body's buffer fills, undici pauses the socket, reading resumes it.
      if (++reads % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    assert.equal(bytes, chunk.length * chunks);
  });

  it('HEAD: the headers (content-length too) and an empty body', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.setHeader('content-length', '5');
      res.end();
    });
    const client = createClient();
    t.after(() => client.close());
    const res = await client.request(server.url, { method: 'HEAD' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], '5');
    assert.equal(await res.body.text(), '');
  });

  it('skips informational responses (103 Early Hints) for the final one', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload; as=style' });
      res.end('final');
    });
    const client = createClient();
    t.after(() => client.close());
    const res = await client.request(server.url);
    assert.equal(res.statusCode, 200);
    assert.equal(await res.body.text(), 'final');
  });

  it("gives the same trailers as undici's request API, as own properties", async (t) => {
    const response =
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum, __proto__\r\n\r\n' +
      '3\r\nabc\r\n0\r\nx-sum: 42\r\n__proto__: polluted\r\n\r\n';
    const server = cleanup(
      t,
      await startRawServer((socket) => {
        socket.once('data', () => socket.end(response));
      }),
    );
    const url = `http://127.0.0.1:${server.port}/`;
    const client = createClient();
    t.after(() => client.close());
    const res = await client.request(url);
    assert.equal(await res.body.text(), 'abc');
    const pool = new Pool(`http://127.0.0.1:${server.port}`);
    t.after(() => pool.close());
    const raw = await pool.request({ path: '/', method: 'GET' });
    await raw.body.text();
    assert.equal(res.trailers['x-sum'], '42');
    assert.deepEqual({ ...res.trailers }, { ...raw.trailers });
    assert.equal(Object.getPrototypeOf(res.trailers), Object.prototype, 'no prototype pollution');
  });
});

for (const api of ['request', 'fetch'] as const) {
  it(`client.${api} settles each attempt in the caller's async context`, async (t) => {
    // What runs once a response or failure arrives — the stages after the attempt, the
    // diagnostics events, the sleep before the next attempt — runs in the context of the call,
    // not of the socket: a tracer's AsyncLocalStorage store reaches bulwark:attempt:end and
    // bulwark:retry:attempt.
    const server = cleanup(t, await startHttpServer());
    const served = new Set<string>();
    server.handle((req, res) => {
      // Each path's first request fails: every call makes two attempts.
      res.statusCode = served.has(req.url!) ? 200 : 503;
      served.add(req.url!);
      res.end();
    });
    // One connection, opened in the first call's context: every response arrives on its socket.
    const client = createClient({ connections: 1, retry: { backoff: { base: 1, cap: 1 } } });
    t.after(() => client.close());
    const als = new AsyncLocalStorage<string>();
    const seen: (string | undefined)[] = [];
    const onEnd = (): void => {
      seen.push(als.getStore());
    };
    const retried: (string | undefined)[] = [];
    const onRetry = (): void => {
      retried.push(als.getStore());
    };
    subscribe('bulwark:attempt:end', onEnd);
    subscribe('bulwark:retry:attempt', onRetry);
    t.after(() => {
      unsubscribe('bulwark:attempt:end', onEnd);
      unsubscribe('bulwark:retry:attempt', onRetry);
    });
    const call = (id: string) =>
      als.run(id, async () => {
        const url = `${server.url}/${id}`;
        if (api === 'request') await (await client.request(url)).body.dump();
        else await (await client.fetch(url)).arrayBuffer();
      });
    await Promise.all([call('a'), call('b')]);
    assert.equal(seen.length, 4, 'two attempts per call (503, then 200)');
    assert.deepEqual(seen.toSorted(), ['a', 'a', 'b', 'b']);
    assert.deepEqual(retried.toSorted(), ['a', 'b'], 'one retry decision per call, in its context');
  });
}

describe('client.request: failures', () => {
  it("refuses CONNECT as undici's request API does, without sending it", async (t) => {
    const server = cleanup(t, await startHttpServer());
    const client = createClient();
    t.after(() => client.close());
    await assert.rejects(client.request(server.url, { method: 'CONNECT' }), errors.InvalidArgumentError);
    assert.equal(server.requests, 0);
  });

  it("a connection lost mid-body fails the body's read with a BulwarkError around undici's error", async (t) => {
    const head = 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n' + 'x'.repeat(10);
    const server = cleanup(
      t,
      await startRawServer((socket) => {
        socket.once('data', () => socket.write(head, () => setTimeout(() => socket.destroy(), 20)));
      }),
    );
    const url = `http://127.0.0.1:${server.port}/`;
    const client = createClient();
    t.after(() => client.close());
    const res = await client.request(url);
    assert.equal(res.statusCode, 200);
    const ours = await res.body.text().then(
      () => undefined,
      (err: unknown) => err,
    );
    const pool = new Pool(`http://127.0.0.1:${server.port}`);
    t.after(() => pool.close());
    const raw = await pool.request({ path: '/', method: 'GET' });
    const theirs = await raw.body.text().then(
      () => undefined,
      (err: unknown) => err,
    );
    assert.ok(isBulwarkError(ours), 'the read fails with a BulwarkError');
    assert.equal(ours.layer, 'tcp');
    // `cause` is what undici's request API fails the body with.
    assert.equal((ours.cause as Error).constructor, (theirs as Error).constructor);
    assert.equal((ours.cause as NodeJS.ErrnoException).code, (theirs as NodeJS.ErrnoException).code);
  });

  it('destroys a stream body whose request fails (connection refused)', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const port = server.port;
    await server.close();
    const client = createClient();
    t.after(() => client.close());
    const body = Readable.from(['a', 'b']);
    await assert.rejects(
      client.request(`http://127.0.0.1:${port}/`, { method: 'POST', body }),
      (e) => isBulwarkError(e) && e.code === 'TCP_REFUSED',
    );
    await waitFor(() => body.destroyed, 'the body stream destroyed');
  });

  it('lets go of a response that arrives after its attempt timed out', async (t) => {
    // A dispatcher whose controller cannot abort (undici's can): the response still arrives,
    // after the deadline; its body is drained (the connection resumed), not handed to anyone.
    let resumed = 0;
    let answered = false;
    const late = {
      dispatch(_opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
        const controller = {
          aborted: false,
          paused: false,
          reason: null,
          abort() {},
          pause() {},
          resume() {
            resumed++;
          },
        };
        handler.onRequestStart?.(controller, {});
        setTimeout(() => {
          handler.onResponseStart?.(controller, 200, {}, '');
          setImmediate(() => {
            handler.onResponseData?.(controller, Buffer.from('late'));
            handler.onResponseEnd?.(controller, {});
            answered = true;
          });
        }, 80);
        return true;
      },
    };
    const client = createClient({
      dns: false,
      dispatcher: late as unknown as Dispatcher,
      retry: false,
      timeout: { total: 20 },
    });
    t.after(() => client.close());
    await assert.rejects(
      client.request('http://late.test/'),
      // (A dispatcher not Bulwark's names no connection; the request had started, so the deadline
      // reads as one spent waiting for the response headers.)
      (e) =>
        isBulwarkError(e) && e.layer === 'http' && e.code === 'HTTP_HEADERS_TIMEOUT' && e.budget === 'total',
    );
    await waitFor(() => answered && resumed > 0, 'the late body drained');
    assert.equal(client.stats()['http://late.test']!.responses, 0);
  });
});
