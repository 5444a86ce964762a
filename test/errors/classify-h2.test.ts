// classify() on what undici's own HTTP/2 client really throws (a plain undici Client with
// allowH2, no Bulwark around it) against a node:http2 server on loopback: a refused stream, a
// reset one, one ended without an answer, a GOAWAY above the stream and a session that dies; and
// the shapes only a message tells apart.
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { Readable } from 'node:stream';
import { describe, it, type TestContext } from 'node:test';
import { Client } from 'undici';
import { classify } from '../../src/errors/classify.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { type H2Handler, refuse, startH2Server } from '../helpers/h2-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const pki = await getTestPki();

async function serve(t: TestContext, handler: H2Handler) {
  const server = cleanup(t, await startH2Server({ ...pki.valid, handler }));
  const client = new Client(server.url, { allowH2: true, connect: { ca: pki.ca.cert } });
  t.after(() => client.destroy());
  return { server, client };
}

async function failure(p: Promise<{ body: { dump(): Promise<void> } }>): Promise<unknown> {
  try {
    const res = await p;
    await res.body.dump();
  } catch (err) {
    return err;
  }
  return assert.fail('expected a failure');
}

describe('classify: undici HTTP/2 failures', () => {
  it('a refused stream (after undici’s own one retry): HTTP_STREAM_REFUSED, not executed', async (t) => {
    const { client, server } = await serve(t, (stream) => refuse(stream));
    const err = await failure(client.request({ path: '/', method: 'POST', body: 'x' }));
    assert.equal(server.streams.length, 2);
    assert.deepEqual(classify(err), {
      layer: 'http',
      code: 'HTTP_STREAM_REFUSED',
      retryable: true,
      mayHaveExecuted: false,
    });
  });

  it('a stream reset with INTERNAL_ERROR: HTTP_STREAM_RESET, may have executed', async (t) => {
    const { client } = await serve(t, (stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR));
    const c = classify(await failure(client.request({ path: '/', method: 'GET' })));
    assert.equal(c.code, 'HTTP_STREAM_RESET');
    assert.equal(c.mayHaveExecuted, true);
  });

  it('a stream ended (CANCEL) without an answer: HTTP_STREAM_RESET', async (t) => {
    const { client } = await serve(t, (stream) => stream.close(http2.constants.NGHTTP2_CANCEL));
    assert.equal(
      classify(await failure(client.request({ path: '/', method: 'GET' }))).code,
      'HTTP_STREAM_RESET',
    );
  });

  it('a GOAWAY below a one-shot body’s stream: HTTP_STREAM_REFUSED', async (t) => {
    let first: http2.ServerHttp2Stream | undefined;
    const { client, server } = await serve(t, (stream) => {
      if (first === undefined) {
        first = stream;
        return;
      }
      stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, first.id);
      first.respond({ ':status': 200 });
      first.end('ok');
    });
    const p1 = client.request({ path: '/1', method: 'GET' });
    await waitFor(() => server.streams.length === 1, 'the first stream');
    const err = await failure(
      client.request({ path: '/2', method: 'POST', body: Readable.from(['one', 'shot']) }),
    );
    assert.equal(classify(err).code, 'HTTP_STREAM_REFUSED');
    assert.equal(classify(err).mayHaveExecuted, false);
    await (await p1).body.dump();
  });

  it('a GOAWAY with an error that covers the stream (the session dies): HTTP_STREAM_RESET', async (t) => {
    const { client } = await serve(t, (stream) =>
      stream.session?.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR, stream.id),
    );
    const c = classify(await failure(client.request({ path: '/', method: 'GET' })));
    assert.equal(c.code, 'HTTP_STREAM_RESET');
    assert.equal(c.mayHaveExecuted, true);
  });

  it('tells the shapes apart by code, RST code and message', () => {
    const nodeError = (code: string, message: string, extra: object = {}) =>
      Object.assign(new Error(message), { code }, extra);
    const rows: [unknown, string | null][] = [
      [
        nodeError('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_REFUSED_STREAM'),
        'HTTP_STREAM_REFUSED',
      ],
      [nodeError('ERR_HTTP2_STREAM_ERROR', 'x', { http2ErrorCode: 7 }), 'HTTP_STREAM_REFUSED'],
      [
        nodeError('ERR_HTTP2_STREAM_ERROR', 'Stream closed with error code NGHTTP2_PROTOCOL_ERROR'),
        'HTTP_STREAM_RESET',
      ],
      [nodeError('ERR_HTTP2_STREAM_CANCEL', 'The pending stream has been canceled'), 'HTTP_STREAM_RESET'],
      [nodeError('ERR_HTTP2_SESSION_ERROR', 'Session closed with error code 2'), 'HTTP_STREAM_RESET'],
      [nodeError('UND_ERR_INFO', 'HTTP/2: "GOAWAY" frame received with code 0'), 'HTTP_STREAM_REFUSED'],
      [nodeError('UND_ERR_SOCKET', 'HTTP/2: "GOAWAY" frame received with code 2'), 'HTTP_STREAM_REFUSED'],
      [nodeError('UND_ERR_INFO', 'HTTP/2: stream half-closed (remote)'), 'HTTP_STREAM_RESET'],
      [
        nodeError('UND_ERR_INFO', 'HTTP/2: stream closed before the response was complete'),
        'HTTP_STREAM_RESET',
      ],
      // Not h2's: other socket failures stay TCP_CLOSED; an unknown informational error is the app's.
      [nodeError('UND_ERR_SOCKET', 'other side closed'), 'TCP_CLOSED'],
      [nodeError('UND_ERR_INFO', 'socket idle timeout'), null],
      // `fetch failed` around one: classified by its cause.
      [
        new TypeError('fetch failed', {
          cause: nodeError('ERR_HTTP2_STREAM_ERROR', 'x', { http2ErrorCode: 7 }),
        }),
        'HTTP_STREAM_REFUSED',
      ],
    ];
    for (const [err, code] of rows) assert.equal(classify(err).code, code, String((err as Error).message));
  });
});
