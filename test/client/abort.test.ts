// A caller's AbortSignal rejects the call with the signal's reason — exactly like fetch — at every
// stage: before it starts, queued in the bulkhead, connecting, sleeping between attempts, and
// reading the body.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { startUnacceptingListener } from '../helpers/unaccepting-listener.ts';
import { waitFor } from '../helpers/wait-for.ts';

class Reason extends Error {}

function abortAfter(ms: number): { signal: AbortSignal; reason: Reason } {
  const controller = new AbortController();
  const reason = new Reason(`aborted after ${ms} ms`);
  setTimeout(() => controller.abort(reason), ms);
  return { signal: controller.signal, reason };
}

for (const api of ['fetch', 'request'] as const) {
  describe(`abort through client.${api}`, () => {
    const call = (client: ReturnType<typeof createClient>, url: string, signal: AbortSignal) =>
      api === 'fetch' ? client.fetch(url, { signal }) : client.request(url, { signal });

    it('an already aborted signal rejects at once with its reason', async (t) => {
      const server = cleanup(t, await startHttpServer());
      const client = createClient();
      t.after(() => client.close());
      const reason = new Reason('before');
      await assert.rejects(call(client, server.url, AbortSignal.abort(reason)), (e) => e === reason);
      assert.equal(server.requests, 0);
    });

    it('while queued in the bulkhead', async (t) => {
      const server = cleanup(t, await startHttpServer());
      const held: ServerResponse[] = [];
      server.handle((_req, res) => {
        held.push(res);
      });
      const client = createClient({ bulkhead: { limit: 1, queue: 1 } });
      t.after(() => client.close());
      const first = client.request(server.url);
      await waitFor(() => held.length === 1, 'first in flight');
      const { signal, reason } = abortAfter(30);
      await assert.rejects(call(client, server.url, signal), (e) => e === reason);
      held[0]!.end();
      await (await first).body.dump();
    });

    it('while connecting', async (t) => {
      const listener = cleanup(t, await startUnacceptingListener());
      // A short connect phase so that close() need not wait long for the abandoned connect.
      const client = createClient({ timeout: { connect: 300 } });
      t.after(() => client.close());
      const { signal, reason } = abortAfter(50);
      await assert.rejects(call(client, `http://127.0.0.1:${listener.port}/`, signal), (e) => e === reason);
    });

    it('while sleeping between attempts', async (t) => {
      const server = cleanup(t, await startHttpServer());
      server.handle((_req, res) => {
        res.statusCode = 503;
        res.end();
      });
      const client = createClient({ retry: { backoff: { jitter: 'none', base: 5_000 } } });
      t.after(() => client.close());
      const { signal, reason } = abortAfter(100);
      const started = performance.now();
      await assert.rejects(call(client, server.url, signal), (e) => e === reason);
      assert.equal(server.requests, 1);
      assert.ok(performance.now() - started < 2_000, 'the sleep ended at the abort');
    });

    it('while reading the body', async (t) => {
      const server = cleanup(t, await startHttpServer());
      server.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('part one;');
      });
      const client = createClient();
      t.after(() => client.close());
      const controller = new AbortController();
      const reason = new Reason('mid-body');
      const res = await call(client, server.url, controller.signal);
      const reading =
        api === 'fetch'
          ? (res as Awaited<ReturnType<typeof client.fetch>>).text()
          : (res as Awaited<ReturnType<typeof client.request>>).body.text();
      setTimeout(() => controller.abort(reason), 30);
      await assert.rejects(reading, (e) => e === reason);
    });
  });
}

// Bulwark's own aborts (an attempt's deadline) reach undici's request through the controller the
// agent hands the attempt, not through an AbortSignal: the request is torn down at the deadline,
// and one that was still waiting for a connection is never sent.
for (const api of ['fetch', 'request'] as const) {
  describe(`an attempt's deadline aborts its request (client.${api})`, () => {
    const call = (client: ReturnType<typeof createClient>, url: string, attempt?: number) => {
      const init = attempt === undefined ? undefined : { timeout: { attempt } };
      return api === 'fetch' ? client.fetch(url, init) : client.request(url, init);
    };
    const drain = async (res: unknown): Promise<void> => {
      if (api === 'fetch') await (res as Response).text();
      else await (res as Awaited<ReturnType<ReturnType<typeof createClient>['request']>>).body.dump();
    };

    it('waiting for the response headers: the server sees the request go at the deadline', async (t) => {
      const server = cleanup(t, await startHttpServer());
      let closed = 0;
      server.handle((req) => {
        req.socket.once('close', () => closed++);
      });
      const client = createClient({ timeout: { attempt: 150 }, retry: false });
      t.after(() => client.close());
      await assert.rejects(call(client, server.url), { code: 'HTTP_HEADERS_TIMEOUT', budget: 'attempt' });
      await waitFor(() => closed === 1, 'the request torn down at the server');
    });

    it('queued for a connection past its deadline: never sent', async (t) => {
      const server = cleanup(t, await startHttpServer());
      const held: ServerResponse[] = [];
      server.handle((_req, res) => {
        held.push(res);
      });
      const client = createClient({ connections: 1, timeout: { attempt: 150 }, retry: false });
      t.after(() => client.close());
      const first = call(client, server.url, 5_000); // holds the one connection
      await waitFor(() => held.length === 1, 'first in flight');
      await assert.rejects(call(client, server.url), { layer: 'pool', budget: 'attempt' });
      held[0]!.end('one');
      await drain(await first);
      server.handle((_req, res) => {
        res.end('three');
      });
      await drain(await call(client, server.url));
      assert.equal(server.requests, 2, 'the request whose deadline passed in the queue was not sent');
    });

    it('an attempt that timed out in the queue and was retried is not sent as well', async (t) => {
      const server = cleanup(t, await startHttpServer());
      const held: ServerResponse[] = [];
      server.handle((_req, res) => {
        held.push(res);
      });
      const client = createClient({
        connections: 1,
        timeout: { attempt: 150, total: 5_000 },
        retry: { backoff: { jitter: 'none', base: 10 } },
      });
      t.after(() => client.close());
      const first = call(client, server.url, 5_000); // holds the one connection
      await waitFor(() => held.length === 1, 'first in flight');
      const second = call(client, server.url);
      // The second call's first attempt expires in the queue; its retry waits there too.
      await new Promise((resolve) => setTimeout(resolve, 250));
      server.handle((_req, res) => {
        res.end('retried');
      });
      held[0]!.end('one');
      await drain(await first);
      const res = await second;
      assert.equal(
        api === 'fetch' ? (res as Response).status : (res as { statusCode: number }).statusCode,
        200,
      );
      await drain(res);
      assert.equal(server.requests, 2, 'only the retry reached the server');
    });
  });
}
