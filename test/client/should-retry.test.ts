// `retry.shouldRetry` and `retry.methods` through the real client on loopback: the rule sees the
// fetch Response (or the request result), narrows a retry, widens one the rules allow, cannot make
// a POST that may have executed retried without `retry.methods`, and a throwing rule fails the
// call with its error, untouched. The full table of safety rules is test/policy/should-retry.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import type { BulwarkError } from '../../src/errors/bulwark-error.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

/** A server that answers `statuses` in turn (then 200), counting requests. */
async function serverOf(t: import('node:test').TestContext, ...statuses: number[]) {
  const server = cleanup(t, await startHttpServer());
  let n = 0;
  server.handle((req, res) => {
    req.resume();
    const status = statuses[n++] ?? 200;
    res.writeHead(status, { 'x-maintenance': status === 503 && n === 1 ? 'yes' : '' }).end(`${status}`);
  });
  return server;
}

describe('retry.shouldRetry and retry.methods (client, loopback)', () => {
  it('the rule sees the Response, and no stops a retry the rules would make', async (t) => {
    const server = await serverOf(t, 503);
    const seen: unknown[] = [];
    const client = createClient({
      retry: {
        backoff: { base: 1 },
        shouldRetry: ({ response, attempt, method }) => {
          seen.push([(response as Response).status, attempt, method]);
          return (response as Response).headers.get('x-maintenance') ? false : undefined;
        },
      },
    });
    t.after(() => client.close());
    const res = await client.fetch(server.url);
    assert.equal(res.status, 503);
    assert.equal(await res.text(), '503');
    assert.deepEqual(seen, [[503, 1, 'GET']]);
    assert.equal(server.requests, 1);
  });

  it('yes retries a status the rules do not (501); per call it replaces the client rule', async (t) => {
    const server = await serverOf(t, 501, 501);
    const client = createClient({ retry: { backoff: { base: 1 }, shouldRetry: () => false } });
    t.after(() => client.close());
    const res = await client.request(server.url, {
      retry: { shouldRetry: ({ response }) => (response as { statusCode: number }).statusCode === 501 },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.attempts, 3);
    await res.body.dump();
  });

  it('cannot make a POST that may have executed retried; retry.methods can', async (t) => {
    const server = await serverOf(t, 503, 503);
    const client = createClient({ retry: { backoff: { base: 1 }, shouldRetry: () => true } });
    t.after(() => client.close());
    const first = await client.fetch(server.url, { method: 'POST', body: 'x' });
    assert.equal(first.status, 503);
    await first.arrayBuffer();
    assert.equal(server.requests, 1);
    const second = await client.fetch(server.url, {
      method: 'POST',
      body: 'x',
      retry: { methods: ['POST'] },
    });
    assert.equal(second.status, 200);
    await second.arrayBuffer();
    assert.equal(server.requests, 3);
  });

  it('a rule that throws fails the call with its error, untouched; nothing counted against the origin', async (t) => {
    const server = await serverOf(t, 503);
    const boom = { not: 'an Error' };
    const client = createClient({
      retry: {
        shouldRetry: () => {
          throw boom;
        },
      },
    });
    t.after(() => client.close());
    await assert.rejects(client.request(server.url), (err) => err === boom);
    const stats = client.stats()[server.origin]!;
    assert.equal(stats.retries, 0);
    assert.equal(server.requests, 1);
  });

  it("'should-retry' is the reason a retryable failure was not retried", async (t) => {
    const server = await startHttpServer();
    const port = server.port;
    await server.close();
    const client = createClient({ retry: { shouldRetry: () => false } });
    t.after(() => client.close());
    const err = (await client.fetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e)) as BulwarkError;
    assert.equal(err.code, 'TCP_REFUSED');
    assert.equal(err.attempts, 1);
    assert.equal(err.notRetried, 'should-retry');
  });

  it('bad options are InvalidOptionErrors at once', async (t) => {
    assert.throws(() => createClient({ retry: { shouldRetry: 'yes' as never } }), /retry\.shouldRetry/);
    const client = createClient();
    t.after(() => client.close());
    await assert.rejects(
      client.fetch('http://127.0.0.1:1/', { retry: { methods: 'POST' as never } }),
      /retry\.methods/,
    );
  });
});
