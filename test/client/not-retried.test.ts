// A failure a retry could have fixed (`retryable`) that ends a call says why the call did not try
// again, in `notRetried` and in `toJSON()`: one row per reason, through the real client against
// loopback servers; a failure that is not retryable carries no reason.
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import type { BulwarkError, NotRetriedReason } from '../../src/errors/bulwark-error.ts';
import { bulwarkFailure } from '../helpers/bulwark-failure.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { startRawServer } from '../helpers/raw-server.ts';

const failure = bulwarkFailure;

function expectReason(err: BulwarkError, reason: NotRetriedReason): void {
  assert.equal(err.retryable, true, `${err.code} is retryable`);
  assert.equal(err.notRetried, reason);
  assert.equal(err.toJSON().notRetried, reason);
}

/** A port nothing listens on. */
async function refusedPort(): Promise<number> {
  const server = await startHttpServer();
  const port = server.port;
  await server.close();
  return port;
}

/** A server that reads a request and resets the connection: it may have executed it. */
function resetAfterRequest(socket: Socket): void {
  socket.once('data', () => socket.resetAndDestroy());
}

describe('a retryable failure that ends the call says why it was not retried', () => {
  it("'disabled': retries are off (retry: false, or limit 0)", async (t) => {
    const port = await refusedPort();
    const client = createClient({ retry: false });
    t.after(() => client.close());
    expectReason(await failure(client.request(`http://127.0.0.1:${port}/`)), 'disabled');
    const perCall = createClient();
    t.after(() => perCall.close());
    expectReason(
      await failure(perCall.fetch(`http://127.0.0.1:${port}/`, { retry: { limit: 0 } })),
      'disabled',
    );
  });

  it("'limit': every retry allowed was used", async (t) => {
    const port = await refusedPort();
    const client = createClient({ retry: { limit: 1, backoff: { base: 1 } } });
    t.after(() => client.close());
    const err = await failure(client.request(`http://127.0.0.1:${port}/`));
    assert.equal(err.attempts, 2);
    expectReason(err, 'limit');
  });

  it("'deadline': the next attempt could not finish within the total budget", async (t) => {
    const port = await refusedPort();
    const client = createClient({
      timeout: { total: 200 },
      retry: { backoff: { jitter: 'none', base: 5_000, cap: 5_000 } },
    });
    t.after(() => client.close());
    const err = await failure(client.request(`http://127.0.0.1:${port}/`));
    assert.equal(err.attempts, 1);
    expectReason(err, 'deadline');
  });

  it("'not-idempotent': a POST that may have reached the server", async (t) => {
    const server = cleanup(t, await startRawServer(resetAfterRequest));
    const client = createClient({ retry: { backoff: { base: 1 } } });
    t.after(() => client.close());
    const err = await failure(
      client.request(`http://127.0.0.1:${server.port}/`, { method: 'POST', body: 'x' }),
    );
    assert.equal(err.mayHaveExecuted, true);
    assert.equal(err.attempts, 1);
    expectReason(err, 'not-idempotent');
  });

  it("'one-shot-body': a stream body only one attempt could send", async (t) => {
    const server = cleanup(t, await startRawServer(resetAfterRequest));
    const client = createClient({ retry: { backoff: { base: 1 } } });
    t.after(() => client.close());
    const err = await failure(
      client.request(`http://127.0.0.1:${server.port}/`, { method: 'PUT', body: Readable.from(['a', 'b']) }),
    );
    assert.equal(err.attempts, 1);
    expectReason(err, 'one-shot-body');
  });

  it("'retry-after-too-long': the server asked for a wait past maxRetryAfter", async (t) => {
    const server = cleanup(
      t,
      await startHttpServer({
        handler: (_req, res) => {
          res.writeHead(503, { 'retry-after': '3600' });
          res.end();
        },
      }),
    );
    const client = createClient({ throwHttpErrors: true });
    t.after(() => client.close());
    const err = await failure(client.fetch(server.url));
    assert.equal(err.code, 'HTTP_STATUS');
    assert.equal(err.status, 503);
    expectReason(err, 'retry-after-too-long');
  });

  it("'budget-exhausted': the origin's retry budget was spent", async (t) => {
    const port = await refusedPort();
    const client = createClient({ retry: { backoff: { base: 1 } }, breaker: false });
    t.after(() => client.close());
    const url = `http://127.0.0.1:${port}/`;
    let err: BulwarkError | undefined;
    for (let i = 0; i < 50 && err?.notRetried !== 'budget-exhausted'; i++) {
      err = await failure(client.request(url));
    }
    assert.ok(err !== undefined);
    expectReason(err, 'budget-exhausted');
    assert.ok((client.stats()[`http://127.0.0.1:${port}`]?.budgetExhausted ?? 0) > 0);
  });

  it('a failure that is not retryable carries no reason', async (t) => {
    const server = cleanup(
      t,
      await startHttpServer({ handler: (_req, res) => void res.writeHead(501).end() }),
    );
    const client = createClient({ throwHttpErrors: true });
    t.after(() => client.close());
    const err = await failure(client.fetch(server.url));
    assert.equal(err.retryable, false);
    assert.equal(err.notRetried, undefined);
    assert.equal('notRetried' in err.toJSON(), false);
  });
});
