// The drop-in rule: code written for the global fetch gives the same result through client.fetch.
// Each row runs once through globalThis.fetch and once through client.fetch against the same real
// server, and the observable outcomes (status, headers, body, redirects, errors) must be equal.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { type BulwarkClient, createClient } from '../../src/client/client.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.ts';

type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function handler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  const body = await readBody(req);
  switch (url.pathname) {
    case '/echo': {
      const ct = String(req.headers['content-type'] ?? '');
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-echo': 'yes',
        'set-cookie': ['a=1', 'b=2'],
      });
      res.end(
        JSON.stringify({
          method: req.method,
          query: url.search,
          contentType: ct.startsWith('multipart/form-data') ? 'multipart/form-data' : ct,
          body: ct.startsWith('multipart/form-data')
            ? body.includes('name="field"') && body.includes('value')
            : body,
          custom: req.headers['x-custom'] ?? null,
          multi: req.headers['x-multi'] ?? null,
        }),
      );
      return;
    }
    case '/redirect': {
      const code = Number(url.searchParams.get('code') ?? 302);
      res.writeHead(code, { location: '/echo?from=redirect' });
      res.end();
      return;
    }
    case '/stream': {
      res.writeHead(200, { 'content-type': 'text/plain' });
      let i = 0;
      const timer = setInterval(() => {
        res.write(`chunk${i};`);
        if (++i === 5) {
          clearInterval(timer);
          res.end();
        }
      }, 5);
      return;
    }
    case '/status': {
      const code = Number(url.searchParams.get('code'));
      res.writeHead(code, 'Custom Reason', { 'content-type': 'text/plain' });
      res.end(`status ${code}`);
      return;
    }
    default:
      res.writeHead(404);
      res.end('nope');
  }
}

interface Row {
  name: string;
  path: string;
  init?: () => RequestInit & { duplex?: 'half' };
  read?: 'text' | 'stream' | 'none';
}

const rows: Row[] = [
  { name: 'GET', path: '/echo?q=1' },
  { name: 'HEAD', path: '/echo', init: () => ({ method: 'HEAD' }) },
  { name: 'lower-case method name', path: '/echo', init: () => ({ method: 'post', body: 'x' }) },
  { name: 'POST string body', path: '/echo', init: () => ({ method: 'POST', body: 'hello' }) },
  {
    name: 'POST JSON with a header',
    path: '/echo',
    init: () => ({ method: 'POST', body: '{"a":1}', headers: { 'content-type': 'application/json' } }),
  },
  {
    name: 'POST URLSearchParams',
    path: '/echo',
    init: () => ({ method: 'POST', body: new URLSearchParams({ a: '1', b: 'two' }) }),
  },
  {
    name: 'POST FormData',
    path: '/echo',
    init: () => {
      const f = new FormData();
      f.set('field', 'value');
      return { method: 'POST', body: f };
    },
  },
  {
    name: 'POST Blob',
    path: '/echo',
    init: () => ({ method: 'POST', body: new Blob(['blob!'], { type: 'text/x-blob' }) }),
  },
  {
    name: 'POST ArrayBuffer',
    path: '/echo',
    init: () => ({ method: 'POST', body: new TextEncoder().encode('bytes').buffer }),
  },
  {
    name: 'POST Uint8Array',
    path: '/echo',
    init: () => ({ method: 'POST', body: new TextEncoder().encode('view') }),
  },
  {
    name: 'POST ReadableStream (duplex half)',
    path: '/echo',
    init: () => ({
      method: 'POST',
      duplex: 'half',
      body: new ReadableStream({
        start(c) {
          c.enqueue(new TextEncoder().encode('streamed '));
          c.enqueue(new TextEncoder().encode('body'));
          c.close();
        },
      }),
    }),
  },
  { name: 'PUT', path: '/echo', init: () => ({ method: 'PUT', body: 'put' }) },
  { name: 'PATCH', path: '/echo', init: () => ({ method: 'PATCH', body: 'patch' }) },
  { name: 'DELETE', path: '/echo', init: () => ({ method: 'DELETE' }) },
  { name: 'OPTIONS', path: '/echo', init: () => ({ method: 'OPTIONS' }) },
  { name: 'headers as an object', path: '/echo', init: () => ({ headers: { 'X-Custom': 'obj' } }) },
  {
    name: 'headers as pairs',
    path: '/echo',
    init: () => ({
      headers: [
        ['x-custom', 'pairs'],
        ['x-multi', 'a'],
        ['x-multi', 'b'],
      ],
    }),
  },
  {
    name: 'headers as Headers',
    path: '/echo',
    init: () => ({ headers: new Headers({ 'x-custom': 'headers' }) }),
  },
  {
    name: 'redirect 301 follows with GET',
    path: '/redirect?code=301',
    init: () => ({ method: 'POST', body: 'x' }),
  },
  { name: 'redirect 302 follows', path: '/redirect?code=302' },
  {
    name: 'redirect 303 turns POST into GET',
    path: '/redirect?code=303',
    init: () => ({ method: 'POST', body: 'x' }),
  },
  {
    name: 'redirect 307 keeps method and body',
    path: '/redirect?code=307',
    init: () => ({ method: 'POST', body: 'kept' }),
  },
  {
    name: 'redirect 308 keeps method and body',
    path: '/redirect?code=308',
    init: () => ({ method: 'PUT', body: 'kept' }),
  },
  { name: 'redirect manual', path: '/redirect?code=302', init: () => ({ redirect: 'manual' }), read: 'none' },
  { name: 'redirect error', path: '/redirect?code=302', init: () => ({ redirect: 'error' }) },
  { name: 'a streamed response body', path: '/stream', read: 'stream' },
  { name: '404 resolves', path: '/missing' },
  { name: '418 with a reason phrase', path: '/status?code=418' },
  { name: '500 resolves with the last response', path: '/status?code=500' },
  { name: 'abort before sending', path: '/echo', init: () => ({ signal: AbortSignal.abort() }) },
  {
    name: 'abort with a reason',
    path: '/echo',
    init: () => ({ signal: AbortSignal.abort(new RangeError('my reason')) }),
  },
];

async function outcome(fetchImpl: Fetch, base: string, row: Row): Promise<unknown> {
  try {
    const res = await fetchImpl(base + row.path, row.init?.());
    const out: Record<string, unknown> = {
      ok: res.ok,
      status: res.status,
      statusText: res.statusText,
      redirected: res.redirected,
      url: res.url.replace(base, ''),
      type: res.type,
      contentType: res.headers.get('content-type'),
      echo: res.headers.get('x-echo'),
      cookies: res.headers.getSetCookie(),
      bodyUsed: res.bodyUsed,
    };
    if (row.read === 'stream') {
      const reader = res.body!.getReader();
      const chunks: string[] = [];
      const decoder = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(decoder.decode(value));
      }
      out.body = chunks.join('');
    } else if (row.read !== 'none') {
      out.body = await res.text();
    }
    return out;
  } catch (err) {
    const e = err as Error & { cause?: unknown };
    // The documented difference: a network failure is a BulwarkError around fetch's own cause.
    if (isBulwarkError(e) || (e instanceof TypeError && e.message === 'fetch failed')) {
      return { error: 'network failure', cause: (e.cause as Error | undefined)?.message };
    }
    return {
      error: e.name,
      message: e instanceof RangeError ? e.message : undefined,
      isTypeError: e instanceof TypeError,
    };
  }
}

describe('fetch compatibility', () => {
  let server: TestHttpServer;
  let client: BulwarkClient;
  before(async () => {
    server = await startHttpServer({ handler });
    client = createClient({ retry: { backoff: { base: 1 } } });
  });
  after(async () => {
    await client.close();
    await server.close();
  });

  for (const row of rows) {
    it(row.name, async () => {
      const expected = await outcome(globalThis.fetch as Fetch, server.url, row);
      const actual = await outcome(client.fetch.bind(client) as unknown as Fetch, server.url, row);
      assert.deepEqual(actual, expected);
    });
  }

  it('invalid and relative URLs reject with TypeError, like fetch', async () => {
    for (const bad of ['::', '/relative', 'http://exa mple.com/']) {
      const expected = await outcome(globalThis.fetch as Fetch, '', { name: bad, path: bad });
      const actual = await outcome(client.fetch.bind(client) as unknown as Fetch, '', {
        name: bad,
        path: bad,
      });
      assert.deepEqual(actual, expected, bad);
    }
  });

  it('is a value like the global fetch: length 1, works detached, and never throws', async () => {
    assert.equal(client.fetch.length, globalThis.fetch.length);
    assert.equal(client.fetch.length, 1);
    assert.equal(client.fetch, client.fetch, 'the same function every time');
    const detached = client.fetch;
    const res = await detached(`${server.url}/echo?detached=1`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const passedAround = (f: typeof globalThis.fetch) => f(`${server.url}/echo`);
    const again = await passedAround(client.fetch as unknown as typeof globalThis.fetch);
    await again.arrayBuffer();
    // Called without arguments: a rejection, never a synchronous throw.
    const call = (client.fetch as unknown as () => Promise<Response>)();
    assert.ok(call instanceof Promise);
    await assert.rejects(call, TypeError);
  });

  it('data: URLs work as with fetch', async () => {
    const res = await client.fetch('data:text/plain,hello%20there');
    assert.equal(await res.text(), 'hello there');
  });

  it('accepts a Request object as input', async () => {
    const res = await client.fetch(
      new Request(`${server.url}/echo?r=1`, { method: 'PUT', body: 'req', headers: { 'x-custom': 'req' } }),
    );
    const echo = (await res.json()) as { method: string; body: string; custom: string; query: string };
    assert.deepEqual(echo, {
      method: 'PUT',
      query: '?r=1',
      contentType: 'text/plain;charset=UTF-8',
      body: 'req',
      custom: 'req',
      multi: null,
    });
  });
});
