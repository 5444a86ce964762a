// A stream request body is one-shot: client.fetch sends it on the direct path (chunked, as
// undici's fetch does) and never sends it twice — no retry after a failing status, and a redirect
// that would resend it (any but a 303) fails as undici's fetch fails it.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { Request as UndiciRequest } from 'undici';
import { createClient } from '../../src/client/client.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { responseInfo } from '../../src/http/response-info.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

const stream = (text: string): ReadableStream<Uint8Array> =>
  new ReadableStream({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      controller.close();
    },
  });

async function bodyOf(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += chunk;
  return text;
}

describe('a stream request body is sent once', () => {
  it('a 503 is not retried (a body, and a Request input)', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const bodies: string[] = [];
    server.handle(async (req, res) => {
      bodies.push(`${req.headers['transfer-encoding']}:${await bodyOf(req)}`);
      res.statusCode = 503;
      res.end();
    });
    const client = createClient({ retry: { backoff: { base: 1, cap: 1 } } });
    t.after(() => client.close());
    const res = await client.fetch(`${server.url}/a`, {
      method: 'POST',
      body: stream('once'),
      duplex: 'half',
    });
    assert.equal(res.status, 503);
    assert.equal(responseInfo(res)?.attempts, 1);
    await res.arrayBuffer();
    const viaRequest = await client.fetch(
      new UndiciRequest(`${server.url}/b`, { method: 'PUT', body: stream('req'), duplex: 'half' }),
    );
    assert.equal(responseInfo(viaRequest)?.attempts, 1);
    await viaRequest.arrayBuffer();
    assert.deepEqual(bodies, ['chunked:once', 'chunked:req']);
    // The same call with a string body is retried (the retry policy's limit: 3 attempts).
    const retried = await client.fetch(`${server.url}/c`, { method: 'PUT', body: 'again' });
    assert.equal(responseInfo(retried)?.attempts, 3);
    await retried.arrayBuffer();
  });

  it('a 307 fails the call with HTTP_REDIRECT (undici: fetch failed, a cause without a message); a 303 is followed', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle(async (req, res) => {
      await bodyOf(req);
      const code = req.url?.startsWith('/307') ? 307 : req.url?.startsWith('/303') ? 303 : 200;
      res.writeHead(code, code === 200 ? {} : { location: '/done' });
      res.end(code === 200 ? `${req.method} done` : '');
    });
    const client = createClient();
    t.after(() => client.close());
    const err = await client
      .fetch(`${server.url}/307`, { method: 'POST', body: stream('x'), duplex: 'half' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'HTTP_REDIRECT');
    assert.equal(err.retryable, false);
    assert.equal((err.cause as Error).message, '');
    assert.equal(server.requests, 1, 'sent once');
    const followed = await client.fetch(`${server.url}/303`, {
      method: 'POST',
      body: stream('x'),
      duplex: 'half',
    });
    assert.equal(await followed.text(), 'GET done');
  });
});
