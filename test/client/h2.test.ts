// HTTP/2 (`allowH2`) against a real node:http2 secure server on loopback with the test PKI's
// certificates: negotiation and the fallback to HTTP/1.1, the same result shapes, timings, phase
// timeouts and tags as HTTP/1.1, refused and reset streams and GOAWAY classified and retried by
// the rules, aborts, stream limits and connection rotation. It also pins the shapes of the errors
// undici 8 gives for a failed h2 stream (errors/classify.ts reads them).
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import http2, { type ServerHttp2Stream } from 'node:http2';
import net from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { Client } from 'undici';
import { createClient } from '../../src/client/client.ts';
import { classify } from '../../src/errors/classify.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { responseInfo } from '../../src/http/response-info.ts';
import { ABORT_REASONS, abortWith } from '../helpers/abort-reasons.ts';
import { bulwarkFailure } from '../helpers/bulwark-failure.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startForwardProxy } from '../helpers/forward-proxy.ts';
import { refuse, startH2Server, type TestH2Server } from '../helpers/h2-server.ts';
import { startHttpsServer } from '../helpers/http-server.ts';
import { listen } from '../helpers/listen.ts';
import { waitFor } from '../helpers/wait-for.ts';

const pki = await getTestPki();
const tls = { ca: pki.ca.cert };

function h2Client(t: { after: (fn: () => unknown) => void }, options: Record<string, unknown> = {}) {
  const client = createClient({ allowH2: true, tls, breaker: false, ...options });
  t.after(() => client.close());
  return client;
}

function answer(stream: ServerHttp2Stream, body = 'ok', status = 200): void {
  stream.respond({ ':status': status, 'content-type': 'text/plain' });
  stream.end(body);
}

describe('HTTP/2: negotiation', () => {
  it('speaks h2 when the server picks it (ALPN), multiplexing requests on one connection', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    const client = h2Client(t);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.request(`${server.url}/r/${i}`)),
    );
    for (const res of results) {
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), 'ok');
    }
    assert.equal(server.streams.length, 20);
    assert.equal(server.sessions, 1);
    const res = await client.fetch(`${server.url}/f`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'ok');
    assert.equal(server.sessions, 1);
  });

  it('falls back to HTTP/1.1 when the server does not offer h2', async (t) => {
    const server = cleanup(t, await startHttpsServer({ ...pki.valid }));
    server.handle((req, res) => {
      res.end(req.httpVersion);
    });
    const client = h2Client(t);
    const res = await client.request(server.url);
    assert.equal(await res.body.text(), '1.1');
    assert.equal(res.timings.protocol, 'http/1.1');
    assert.equal(await (await client.fetch(server.url)).text(), '1.1');
    // Both: the server picks h2 only when the client offers it.
    const both = cleanup(t, await startH2Server({ ...pki.valid, allowHTTP1: true }));
    const h1 = createClient({ tls });
    t.after(() => h1.close());
    assert.equal(await (await h1.request(both.url)).body.text(), 'http/1.1');
    assert.equal(both.http1, 1);
    assert.equal(both.sessions, 0);
    assert.equal(await (await client.request(both.url)).body.text(), 'ok');
    assert.equal(both.sessions, 1);
  });

  it('is off by default: an h2-only server fails the TLS handshake (no common ALPN protocol)', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    const client = createClient({ tls, retry: false });
    t.after(() => client.close());
    const err = await bulwarkFailure(client.request(server.url));
    assert.equal(err.layer, 'tls');
    assert.equal(err.code, 'TLS_HANDSHAKE_FAILED');
    assert.equal(err.mayHaveExecuted, false);
    assert.equal(server.streams.length, 0);
  });

  it('holds through a proxy tunnel: h2 with allowH2, HTTP/1.1 without', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid, allowHTTP1: true }));
    const proxy = cleanup(t, await startForwardProxy());
    const h1 = createClient({ proxy: proxy.url, tls });
    t.after(() => h1.close());
    assert.equal(await (await h1.request(server.url)).body.text(), 'http/1.1');
    assert.equal(await (await h1.fetch(server.url)).text(), 'http/1.1');
    assert.equal(server.sessions, 0);
    const h2 = createClient({ proxy: proxy.url, tls, allowH2: true });
    t.after(() => h2.close());
    const results = await Promise.all(Array.from({ length: 5 }, () => h2.request(server.url)));
    for (const r of results) assert.equal(await r.body.text(), 'ok');
    assert.equal(server.sessions, 1);
    assert.equal(server.http1, 2);
  });

  it('leaves plain http: on HTTP/1.1 (no cleartext h2)', async (t) => {
    const { startHttpServer } = await import('../helpers/http-server.ts');
    const server = cleanup(t, await startHttpServer());
    server.handle((req, res) => {
      res.end(req.httpVersion);
    });
    const client = h2Client(t);
    assert.equal(await (await client.request(server.url)).body.text(), '1.1');
  });
});

describe('HTTP/2: the same results as HTTP/1.1', () => {
  it('gives request() plain header objects without pseudo-headers, and fetch() the same Response', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle((stream) => {
      stream.respond({
        ':status': 201,
        'set-cookie': ['a=1', 'b=2'],
        'x-one': 'v',
        'content-type': 'text/plain',
      });
      stream.end('made');
    });
    const client = h2Client(t);
    const res = await client.request(server.url);
    assert.equal(res.statusCode, 201);
    assert.equal(Object.getPrototypeOf(res.headers), Object.prototype);
    assert.deepEqual(Object.getOwnPropertySymbols(res.headers), []);
    assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
    assert.equal(res.headers['x-one'], 'v');
    assert.ok(Object.keys(res.headers).every((k) => !k.startsWith(':')));
    assert.equal(await res.body.text(), 'made');
    assert.equal(res.attempts, 1);
    assert.equal(res.timings.reused, false);
    assert.equal(res.timings.protocol, 'h2');
    assert.equal(typeof res.timings.tls, 'number');
    assert.ok((res.timings.tls ?? 0) > 0);
    const again = await client.request(server.url);
    await again.body.dump();
    assert.equal(again.timings.reused, true);
    assert.equal(again.timings.protocol, 'h2');

    const f = await client.fetch(server.url);
    assert.equal(f.status, 201);
    assert.equal(responseInfo(f)?.timings?.protocol, 'h2');
    assert.deepEqual(f.headers.getSetCookie(), ['a=1', 'b=2']);
    assert.equal(f.headers.get('x-one'), 'v');
    assert.ok([...f.headers.keys()].every((k) => !k.startsWith(':')));
    assert.equal(await f.text(), 'made');
  });

  it('sends request bodies of every kind (string, bytes, a stream)', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle((stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => answer(stream, `${headers[':method']} ${Buffer.concat(chunks).toString()}`));
    });
    const client = h2Client(t);
    assert.equal(
      await (await client.request(server.url, { method: 'POST', body: 'str' })).body.text(),
      'POST str',
    );
    assert.equal(
      await (await client.request(server.url, { method: 'PUT', body: Buffer.from('buf') })).body.text(),
      'PUT buf',
    );
    assert.equal(
      await (
        await client.request(server.url, { method: 'POST', body: Readable.from(['s', 't']) })
      ).body.text(),
      'POST st',
    );
    assert.equal(
      await (await client.fetch(server.url, { method: 'POST', body: 'fetched' })).text(),
      'POST fetched',
    );
  });
});

describe('HTTP/2: refused and reset streams', () => {
  it('retries a refused stream for any method (never processed), after undici’s own one retry', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    let refused = 0;
    server.handle((stream) => {
      // undici retries a REFUSED_STREAM once itself: two refusals reach Bulwark as one failure.
      if (refused < 2) {
        refused++;
        refuse(stream);
      } else answer(stream, 'finally');
    });
    const client = h2Client(t, { retry: { limit: 2, backoff: { base: 1, cap: 1 } } });
    const res = await client.request(server.url, { method: 'POST', body: 'once' });
    assert.equal(await res.body.text(), 'finally');
    assert.equal(res.attempts, 2);
    assert.equal(server.streams.length, 3);
  });

  it('tags a refused stream HTTP_STREAM_REFUSED (http, not executed)', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle((stream) => refuse(stream));
    const client = h2Client(t, { retry: { limit: 1, backoff: { base: 1, cap: 1 } } });
    const err = await bulwarkFailure(client.request(server.url, { method: 'POST', body: 'x' }));
    assert.equal(err.layer, 'http');
    assert.equal(err.code, 'HTTP_STREAM_REFUSED');
    assert.equal(err.mayHaveExecuted, false);
    assert.equal(err.retryable, true);
    assert.equal(err.attempts, 2);
    assert.equal(err.notRetried, 'limit');
    assert.equal(err.target?.address, '127.0.0.1');
    assert.deepEqual(err.request, { method: 'POST', path: '/' });
    // Pinned: undici's error for it, and what classify() makes of it.
    const cause = err.cause as Error & { code?: string; http2ErrorCode?: number };
    assert.equal(cause.code, 'ERR_HTTP2_STREAM_ERROR');
    assert.equal(cause.http2ErrorCode, http2.constants.NGHTTP2_REFUSED_STREAM);
    assert.equal(classify(cause).code, 'HTTP_STREAM_REFUSED');
  });

  it('retries a stream reset after the request was sent only for idempotent methods', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    let resets = 0;
    server.handle((stream) => {
      if (resets++ === 0) stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
      else answer(stream);
    });
    const client = h2Client(t, { retry: { limit: 2, backoff: { base: 1, cap: 1 } } });
    const res = await client.request(server.url);
    assert.equal(res.attempts, 2);
    await res.body.dump();

    resets = 0;
    const err = await bulwarkFailure(client.request(server.url, { method: 'POST', body: 'x' }));
    assert.equal(err.code, 'HTTP_STREAM_RESET');
    assert.equal(err.layer, 'http');
    assert.equal(err.mayHaveExecuted, true);
    assert.equal(err.notRetried, 'not-idempotent');
    assert.equal(err.attempts, 1);
    const cause = err.cause as Error & { code?: string; http2ErrorCode?: number };
    assert.equal(cause.code, 'ERR_HTTP2_STREAM_ERROR');
    assert.equal(cause.http2ErrorCode, http2.constants.NGHTTP2_INTERNAL_ERROR);
  });

  it('tags a stream the server ends without an answer (CANCEL) HTTP_STREAM_RESET', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle((stream) => stream.close(http2.constants.NGHTTP2_CANCEL));
    const client = h2Client(t, { retry: false });
    const err = await bulwarkFailure(client.request(server.url));
    assert.equal(err.code, 'HTTP_STREAM_RESET');
    assert.equal(err.mayHaveExecuted, true);
    // Pinned: undici 8 reports it as an InformationalError with this message.
    const cause = err.cause as Error & { code?: string };
    assert.equal(cause.code, 'UND_ERR_INFO');
    assert.equal(cause.message, 'HTTP/2: stream closed before the response was complete');
  });
});

/** Holds each session's streams until `n` are open, then calls `then` with them. */
function holdUntil(server: TestH2Server, n: number, then: (streams: ServerHttp2Stream[]) => void): void {
  const held = new Map<unknown, ServerHttp2Stream[]>();
  server.handle((stream) => {
    const list = held.get(stream.session) ?? [];
    held.set(stream.session, list);
    list.push(stream);
    if (list.length === n) then(list);
    else if (list.length > n) answer(stream, 'later');
  });
}

describe('HTTP/2: GOAWAY', () => {
  it('replays a request above the last stream id on a new connection (undici), answered once', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    let first = true;
    holdUntil(server, 2, ([a, b]) => {
      if (!first) {
        answer(a!, 'a');
        answer(b!, 'b');
        return;
      }
      first = false;
      a!.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, a!.id);
      answer(a!, 'processed');
    });
    const client = h2Client(t, { retry: false });
    const p1 = client.request(`${server.url}/1`);
    await waitFor(() => server.streams.length === 1, 'the first stream');
    const p2 = client.request(`${server.url}/2`, { method: 'POST', body: 'replayable' });
    // The replayed POST waits alone on the new connection: a third request joins it.
    await waitFor(() => server.sessions === 2, 'the second session');
    const p3 = client.request(`${server.url}/3`);
    const [r1, r2, r3] = await Promise.all([p1, p2, p3]);
    assert.equal(await r1.body.text(), 'processed');
    assert.equal(r2.attempts, 1);
    assert.match(await r2.body.text(), /^[ab]$/);
    await r3.body.dump();
  });

  it('fails a one-shot body above the last stream id with HTTP_STREAM_REFUSED (not executed)', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    holdUntil(server, 2, ([a]) => {
      a!.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, a!.id);
      answer(a!, 'processed');
    });
    const client = h2Client(t);
    const p1 = client.request(`${server.url}/1`);
    await waitFor(() => server.streams.length === 1, 'the first stream');
    const err = await bulwarkFailure(
      client.request(`${server.url}/2`, { method: 'POST', body: Readable.from(['one', 'shot']) }),
    );
    assert.equal(err.code, 'HTTP_STREAM_REFUSED');
    assert.equal(err.mayHaveExecuted, false);
    assert.equal(err.notRetried, 'one-shot-body');
    // Pinned: undici's GOAWAY error (an InformationalError for NO_ERROR).
    const cause = err.cause as Error & { code?: string };
    assert.equal(cause.message, 'HTTP/2: "GOAWAY" frame received with code 0');
    assert.equal(cause.code, 'UND_ERR_INFO');
    assert.equal(await (await p1).body.text(), 'processed');
  });

  it('fails a stream the GOAWAY covers when the session then dies: HTTP_STREAM_RESET (may have executed)', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle((stream) => stream.session!.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR, stream.id));
    const client = h2Client(t, { retry: false });
    const err = await bulwarkFailure(client.request(server.url));
    assert.equal(err.code, 'HTTP_STREAM_RESET');
    assert.equal(err.mayHaveExecuted, true);
    const cause = err.cause as Error & { code?: string };
    assert.equal(cause.code, 'ERR_HTTP2_SESSION_ERROR');
  });
});

describe('HTTP/2: timeouts and stalls', () => {
  it('headers stall: HTTP_HEADERS_TIMEOUT, budget phase', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle(() => {});
    const client = h2Client(t, { retry: false, timeout: { headers: 200 } });
    const err = await bulwarkFailure(client.request(server.url));
    assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
    assert.equal(err.budget, 'phase');
    assert.equal(err.layer, 'http');
  });

  it('total deadline during the headers wait: HTTP_HEADERS_TIMEOUT, budget total', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle(() => {});
    const client = h2Client(t, { retry: false, timeout: { total: 200 } });
    const err = await bulwarkFailure(client.request(server.url));
    assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
    assert.equal(err.budget, 'total');
  });

  it('body stall: the body fails with HTTP_BODY_TIMEOUT', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle((stream) => {
      stream.respond({ ':status': 200 });
      stream.write('part');
    });
    const client = h2Client(t, { retry: false, timeout: { body: 300 } });
    const res = await client.request(server.url);
    const err = await bulwarkFailure(res.body.text());
    assert.equal(err.code, 'HTTP_BODY_TIMEOUT');
    assert.equal(err.budget, 'phase');
    const f = await client.fetch(server.url);
    const ferr = await bulwarkFailure(f.text());
    assert.equal(ferr.code, 'HTTP_BODY_TIMEOUT');
  });

  it('TLS handshake stall: TLS_TIMEOUT, as on HTTP/1.1', async (t) => {
    const silent = net.createServer(() => {});
    const sockets = new Set<net.Socket>();
    silent.on('connection', (s) => sockets.add(s));
    const port = await listen(silent, '127.0.0.1');
    t.after(() => {
      for (const s of sockets) s.destroy();
      silent.close();
    });
    const client = h2Client(t, { retry: false, timeout: { tls: 150 } });
    const err = await bulwarkFailure(client.request(`https://127.0.0.1:${port}/`));
    assert.equal(err.code, 'TLS_TIMEOUT');
    assert.equal(err.budget, 'phase');
    assert.equal(err.mayHaveExecuted, false);
  });
});

describe('HTTP/2: aborts', () => {
  it('rejects with the reason at every moment: before, in the same tick, while connecting, waiting, reading', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle((stream, headers) => {
      if (String(headers[':path']).startsWith('/wait')) return; // never answers
      stream.respond({ ':status': 200 });
      stream.write('part'); // and never ends
    });
    const client = h2Client(t, { retry: false });
    const reason = { why: 'mine' };

    const before = new AbortController();
    before.abort(reason);
    await assert.rejects(client.request(server.url, { signal: before.signal }), (e) => e === reason);
    await assert.rejects(client.fetch(server.url, { signal: before.signal }), (e) => e === reason);

    for (const call of ['request', 'fetch'] as const) {
      const sameTick = new AbortController();
      const p =
        call === 'request'
          ? client.request(`${server.url}/wait`, { signal: sameTick.signal })
          : client.fetch(`${server.url}/wait`, { signal: sameTick.signal });
      sameTick.abort(reason);
      await assert.rejects(p, (e) => e === reason);
    }

    // While connecting: a fresh client, aborted as the connection is being made.
    const fresh = h2Client(t, { retry: false });
    const connecting = new AbortController();
    const pc = fresh.request(`${server.url}/wait`, { signal: connecting.signal });
    setImmediate(() => connecting.abort(reason));
    await assert.rejects(pc, (e) => e === reason);

    const waiting = new AbortController();
    const pw = client.request(`${server.url}/wait`, { signal: waiting.signal });
    await waitFor(() => server.streams.some((s) => s.path === '/wait'), 'the /wait stream');
    waiting.abort(reason);
    await assert.rejects(pw, (e) => e === reason);

    const reading = new AbortController();
    const res = await client.request(`${server.url}/body`, { signal: reading.signal });
    const text = res.body.text();
    reading.abort(reason);
    await assert.rejects(text, (e) => e === reason);

    const freading = new AbortController();
    const fres = await client.fetch(`${server.url}/body`, { signal: freading.signal });
    const ftext = fres.text();
    freading.abort(reason);
    await assert.rejects(ftext, (e) => e === reason);
    // The connection survives its streams' aborts, and closing leaves no session open.
    const err = await bulwarkFailure(client.request(`${server.url}/wait2`, { timeout: { total: 100 } }));
    assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
    await client.close();
    await fresh.close();
    await waitFor(() => server.openSessions === 0, 'every session closed');
  });
});

describe('HTTP/2: abort reasons', () => {
  it('rejects with every kind of reason as it is, waiting for headers, and leaves no listener', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle(() => {}); // never answers
    const client = h2Client(t, { retry: false });
    for (const [label, make] of ABORT_REASONS) {
      for (const call of ['request', 'fetch'] as const) {
        const controller = new AbortController();
        const { signal } = controller;
        const p =
          call === 'request' ? client.request(server.url, { signal }) : client.fetch(server.url, { signal });
        const seen = server.streams.length;
        await waitFor(() => server.streams.length > seen, 'the stream to arrive');
        const reason = make();
        abortWith(controller, reason);
        const err = await p.then(
          () => assert.fail(`${label} (${call}): resolved`),
          (e: unknown) => e,
        );
        const frozen = typeof reason === 'object' && reason !== null && !Object.isExtensible(reason);
        if (reason === undefined) assert.equal((err as Error).name, 'AbortError', `${label} (${call})`);
        else if (call === 'fetch' && frozen) {
          // undici's fetch gives an object reason a stack, which a frozen one cannot take: the
          // engine's TypeError, as with undici's fetch (test/client/policy-aborts.test.ts).
          assert.match(String(err), /not extensible/, `${label} (${call})`);
        } else assert.equal(err, reason, `${label} (${call})`);
        assert.equal(getEventListeners(signal, 'abort').length, 0, `${label} (${call}): listener left`);
      }
    }
    // Every aborted stream was reset, the connection kept: one session for all of them.
    assert.equal(server.sessions, 1);
  });
});

describe('HTTP/2: connections', () => {
  it('close() lets a stream in flight finish, then closes the connection', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    server.handle((stream) => {
      setTimeout(() => answer(stream, 'late'), 100);
    });
    const client = createClient({ allowH2: true, tls });
    const p = client.request(server.url);
    await waitFor(() => server.streams.length === 1, 'the stream to arrive');
    const closing = client.close();
    const res = await p;
    assert.equal(await res.body.text(), 'late');
    await closing;
    await waitFor(() => server.openSessions === 0, 'every session closed');
  });

  it('opens another connection past maxConcurrentStreams', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    const held: ServerHttp2Stream[] = [];
    server.handle((stream) => {
      held.push(stream);
      if (held.length === 6) for (const s of held) answer(s);
    });
    const client = h2Client(t, { maxConcurrentStreams: 2 });
    const results = await Promise.all(Array.from({ length: 6 }, () => client.request(server.url)));
    for (const r of results) await r.body.dump();
    assert.equal(server.sessions, 3);
  });

  it('rotates a connection past its maximum lifetime once it is idle (through a new handshake)', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    const client = h2Client(t, { keepAlive: { maxLifetime: 50, lifetimeJitter: 0 } });
    await (await client.request(server.url)).body.dump();
    await new Promise((r) => setTimeout(r, 80));
    const res = await client.request(server.url);
    await res.body.dump();
    assert.equal(res.timings.reused, false);
    assert.equal(server.sessions, 2);
    await waitFor(() => server.openSessions === 1, 'the old session closed');
  });

  // One h2 connection carries every request, so no connect asks DNS (and keeps the name hot for
  // the cache's refresh): a moved name is followed when the connection is rotated.
  it('follows a name that moved to another address at the rotation, through DNS', async (t) => {
    const a = cleanup(t, await startH2Server({ ...pki.valid, handler: (s) => answer(s, 'A') }));
    const b = cleanup(
      t,
      await startH2Server({ ...pki.valid, host: '127.0.0.2', port: a.port, handler: (s) => answer(s, 'B') }),
    );
    const dns = cleanup(t, await startDnsServer());
    dns.setRecords('svc.test', { A: ['127.0.0.1'], ttl: 1 });
    // The test certificate names localhost and the loopback addresses, not svc.test.
    const client = h2Client(t, {
      dns: { servers: [dns.address] },
      tls: { ...tls, servername: 'localhost' },
      keepAlive: { idleTimeout: 30_000, maxLifetime: 300, lifetimeJitter: 0 },
    });
    const url = `https://svc.test:${a.port}/`;
    assert.equal(await (await client.request(url)).body.text(), 'A');
    assert.equal(a.openSessions, 1);
    dns.setRecords('svc.test', { A: ['127.0.0.2'], ttl: 1 });
    const moved = performance.now();
    let text = 'A';
    while (text === 'A') {
      text = await (await client.request(url)).body.text();
      if (text === 'A') await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(performance.now() - moved < 3_000, 'traffic moved within the TTL and the lifetime');
    }
    assert.equal(text, 'B');
    assert.equal(b.sessions, 1);
    await waitFor(() => a.openSessions === 0, 'the old h2 connection to close');
  });

  it('closes its connections on close()', async (t) => {
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    const client = createClient({ allowH2: true, tls });
    await (await client.request(server.url)).body.dump();
    assert.equal(server.openSessions, 1);
    await client.close();
    await waitFor(() => server.openSessions === 0, 'every session closed');
  });
});

describe('HTTP/2: options', () => {
  it('validates allowH2 and maxConcurrentStreams', () => {
    for (const [options, path] of [
      [{ allowH2: 'yes' }, 'allowH2'],
      [{ allowH2: null }, 'allowH2'],
      [{ allowH2: 1 }, 'allowH2'],
      [{ maxConcurrentStreams: 0 }, 'maxConcurrentStreams'],
      [{ maxConcurrentStreams: 1.5 }, 'maxConcurrentStreams'],
      [{ maxConcurrentStreams: -1 }, 'maxConcurrentStreams'],
      [{ maxConcurrentStreams: 2 ** 31 }, 'maxConcurrentStreams'],
      [{ maxConcurrentStreams: Number.NaN }, 'maxConcurrentStreams'],
      [{ maxConcurrentStreams: Number.POSITIVE_INFINITY }, 'maxConcurrentStreams'],
      [{ maxConcurrentStreams: null }, 'maxConcurrentStreams'],
      [{ maxConcurrentStreams: '10' }, 'maxConcurrentStreams'],
    ] as const) {
      assert.throws(
        () => createClient(options as never),
        (err: unknown) => err instanceof InvalidOptionError && err.path === path,
        JSON.stringify(options),
      );
    }
    for (const ok of [{ allowH2: true, maxConcurrentStreams: 1 }, { maxConcurrentStreams: 2 ** 31 - 1 }]) {
      void createClient(ok).close();
    }
  });

  it('pins undici: a Client given a connector gets allowH2 and honours the socket’s ALPN', async (t) => {
    // The agent relies on undici choosing h2 from `socket.alpnProtocol` on a custom connector's
    // socket (lib/dispatcher/client.js); a plain undici Client on Bulwark's server shows it.
    const server = cleanup(t, await startH2Server({ ...pki.valid }));
    const undici = new Client(server.url, { allowH2: true, connect: { ca: pki.ca.cert } });
    t.after(() => undici.close());
    const res = await undici.request({ path: '/', method: 'GET' });
    assert.equal(await res.body.text(), 'ok');
    assert.equal(server.sessions, 1);
  });
});
