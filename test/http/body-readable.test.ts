// client.request's body (src/http/body-readable.ts) against the body of undici's request API: each
// row reads a response the same way through undici's Pool.request and through client.request,
// from the same server, and what the reader saw (values, errors, bodyUsed, the connection after)
// must be equal.
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { type BulwarkClient, createClient } from '../../src/client/client.ts';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.ts';

type Body = Awaited<ReturnType<Pool['request']>>['body'];

const BIG = Buffer.alloc(512 * 1024, 'bulwark-');

function route(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  switch (path) {
    case '/json':
      res.setHeader('content-type', 'application/json');
      res.end('{"a":[1,2],"b":"ü"}');
      return;
    case '/bad-json':
      res.setHeader('content-type', 'application/json');
      res.end('{"a":');
      return;
    case '/bom':
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.end(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('with a BOM')]));
      return;
    case '/empty':
      res.end();
      return;
    case '/split':
      // A multi-byte character split across two writes.
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.write(Buffer.from([0x61, 0xc3]));
      setTimeout(() => res.end(Buffer.from([0xbc, 0x62])), 10);
      return;
    case '/big':
      res.setHeader('content-type', 'application/octet-stream');
      res.end(BIG);
      return;
    case '/chunks': {
      res.setHeader('content-type', 'text/plain');
      let i = 0;
      const timer = setInterval(() => {
        res.write(`part${i};`);
        if (++i === 4) {
          clearInterval(timer);
          res.end();
        }
      }, 5);
      return;
    }
    default:
      res.setHeader('content-type', 'image/x-test');
      res.end(Buffer.from([0, 1, 2, 250, 255]));
  }
}

function describeError(err: unknown): unknown {
  if (!(err instanceof Error)) return { value: err };
  return { name: err.name, message: err.message, code: (err as NodeJS.ErrnoException).code };
}

async function settle(p: Promise<unknown>): Promise<unknown> {
  try {
    return { value: await p };
  } catch (err) {
    return { error: describeError(err) };
  }
}

const hex = (bytes: ArrayBuffer | Uint8Array): string =>
  Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');

interface Row {
  name: string;
  path: string;
  method?: string;
  read: (body: Body) => Promise<unknown>;
  /**
   * Ours rejects a second `text()`, `json()`… with `TypeError('unusable')`, as it does for any
   * other body that cannot be read again (and as fetch's body mixin does). undici's body did the
   * same from 8.14; up to 8.13 it threw an `AssertionError` (synchronously), a pinned difference.
   */
  secondReadIsUnusable?: true;
  /**
   * Run through client.request only, against this outcome: undici's body does not settle (two
   * reads started in the same tick: the second replaces the first, which never settles).
   */
  oursOnly?: unknown;
}

const rows: Row[] = [
  { name: 'text()', path: '/json', read: (b) => b.text() },
  { name: 'json()', path: '/json', read: (b) => b.json() },
  { name: 'json() of invalid JSON (SyntaxError)', path: '/bad-json', read: (b) => settle(b.json()) },
  {
    name: 'arrayBuffer()',
    path: '/bytes',
    read: async (b) => {
      const ab = await b.arrayBuffer();
      return { type: ab.constructor.name, hex: hex(ab) };
    },
  },
  {
    name: 'bytes()',
    path: '/bytes',
    read: async (b) => {
      const bytes = await b.bytes();
      return { type: bytes.constructor.name, hex: hex(bytes), own: bytes.byteOffset === 0 };
    },
  },
  {
    name: 'blob() (type from content-type, size, bytes)',
    path: '/bytes',
    read: async (b) => {
      const blob = await b.blob();
      return { type: blob.type, size: blob.size, hex: hex(await blob.arrayBuffer()) };
    },
  },
  { name: 'formData() (not supported)', path: '/json', read: (b) => settle(b.formData()) },
  { name: 'text() skips a UTF-8 BOM', path: '/bom', read: (b) => b.text() },
  { name: 'text() of an empty body', path: '/empty', read: (b) => b.text() },
  {
    name: 'text() of a multi-byte character split across chunks',
    path: '/split',
    read: (b) => b.text(),
  },
  { name: 'text() of a body in several chunks', path: '/chunks', read: (b) => b.text() },
  {
    name: 'bodyUsed before and after, and a second read (unusable)',
    path: '/json',
    secondReadIsUnusable: true,
    read: async (b) => {
      const before = b.bodyUsed;
      const first = await b.text();
      return { before, first, after: b.bodyUsed, second: await settle(b.text()) };
    },
  },
  {
    name: 'two reads started at once: the first reads, the second is unusable',
    path: '/json',
    oursOnly: {
      value: [
        { value: '{"a":[1,2],"b":"ü"}' },
        { error: { name: 'TypeError', message: 'unusable', code: undefined } },
      ],
    },
    read: async (b) => {
      const first = settle(b.text());
      const second = settle(b.json());
      return [await first, await second];
    },
  },
  {
    name: 'body (web stream) read to the end, then text() (unusable)',
    path: '/chunks',
    read: async (b) => {
      let text = '';
      for await (const chunk of b.body as unknown as AsyncIterable<Uint8Array>) {
        text += Buffer.from(chunk).toString();
      }
      return { text, used: b.bodyUsed, after: await settle(b.text()) };
    },
  },
  {
    name: 'body (web stream) locked by a text() begun first',
    path: '/json',
    read: async (b) => {
      const text = b.text();
      await Promise.resolve();
      const stream = b.body as unknown as ReadableStream;
      return { locked: stream.locked, text: await text };
    },
  },
  {
    name: "read with 'data' events, then text() (unusable)",
    path: '/chunks',
    read: async (b) => {
      const parts: string[] = [];
      await new Promise<void>((resolve, reject) => {
        b.on('data', (c: Buffer) => parts.push(c.toString()));
        b.on('end', resolve);
        b.on('error', reject);
      });
      return { text: parts.join(''), after: await settle(b.text()) };
    },
  },
  {
    name: 'setEncoding, then text()',
    path: '/chunks',
    read: async (b) => {
      b.setEncoding('utf8');
      return b.text();
    },
  },
  {
    name: 'setEncoding, some data buffered, then text()',
    path: '/json',
    read: async (b) => {
      b.setEncoding('utf8');
      await new Promise((resolve) => b.once('readable', resolve));
      return b.text();
    },
  },
  {
    name: 'text() after data was buffered unread',
    path: '/big',
    read: async (b) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return (await b.text()).length;
    },
  },
  {
    name: 'destroyed before reading, then text()',
    path: '/big',
    read: async (b) => {
      b.on('error', () => {});
      b.destroy();
      return settle(b.text());
    },
  },
  {
    name: 'destroyed with an error, then text()',
    path: '/big',
    read: async (b) => {
      b.on('error', () => {});
      b.destroy(new Error('mine'));
      await new Promise((resolve) => setImmediate(resolve));
      return settle(b.text());
    },
  },
  { name: 'dump()', path: '/chunks', read: (b) => b.dump() },
  {
    name: 'dump() past its limit (the body is aborted)',
    path: '/big',
    read: async (b) => ({ dump: await settle(b.dump({ limit: 1000 })), destroyed: b.destroyed }),
  },
  {
    name: 'dump() with an aborted signal',
    path: '/json',
    read: async (b) => {
      const out = await settle(b.dump({ signal: AbortSignal.abort(new Error('no')) } as never));
      await b.dump();
      return out;
    },
  },
  {
    name: 'dump() with a signal that aborts while dumping',
    path: '/chunks',
    read: (b) => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(new Error('stop')), 8);
      return settle(b.dump({ signal: ac.signal } as never));
    },
  },
  {
    name: 'dump() with something that is not a signal',
    path: '/json',
    read: async (b) => {
      const out = await settle(b.dump({ signal: 'nope' } as never));
      await b.dump();
      return out;
    },
  },
  {
    name: 'dump() after text()',
    path: '/json',
    read: async (b) => [await b.text(), await settle(b.dump())],
  },
  { name: 'HEAD: empty body', path: '/json', method: 'HEAD', read: (b) => b.text() },
];

describe("client.request's body reads as undici's request API's does", () => {
  let server: TestHttpServer;
  let pool: Pool;
  let client: BulwarkClient;

  before(async () => {
    server = await startHttpServer();
    server.handle(route);
    pool = new Pool(server.origin);
    client = createClient({ retry: false, breaker: false, bulkhead: false, dns: false });
  });

  after(async () => {
    await Promise.all([pool.close(), client.close()]);
    await server.close();
  });

  for (const row of rows) {
    it(row.name, async () => {
      const method = row.method ?? 'GET';
      if (row.oursOnly !== undefined) {
        const ours = await client.request(`${server.url}${row.path}`, { method });
        assert.deepEqual(await settle(row.read(ours.body as unknown as Body)), row.oursOnly);
        return;
      }
      const theirs = await pool.request({ path: row.path, method });
      const expected = await settle(row.read(theirs.body));
      const ours = await client.request(`${server.url}${row.path}`, { method });
      const actual = await settle(row.read(ours.body as unknown as Body));
      if (row.secondReadIsUnusable) {
        assert.match(JSON.stringify(actual), /"name":"TypeError","message":"unusable"/);
        // undici ≤ 8.13 throws an AssertionError here; from 8.14 it rejects as ours does.
        if ((expected as { error?: { name?: string } }).error?.name === 'AssertionError') return;
      }
      assert.deepEqual(actual, expected);
    });
  }
});
