// The policies' own waits — a backoff sleep between attempts, a place in the bulkhead queue — and
// the calls they shed: an abort with any reason value, `null` included, rejects the call with that
// very value and leaves nothing behind (close() resolves); a shed call (CIRCUIT_OPEN or
// POOL_QUEUE_FULL) is counted in stats() by layer and code like any other failure.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { ABORT_REASONS, abortWith } from '../helpers/abort-reasons.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** What the call rejected with, or 'resolved'; 'pending' when it did not settle in time. */
async function settled(p: Promise<unknown>, ms = 3_000): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const pending = new Promise((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => 'resolved',
        (err: unknown) => ({ rejected: err }),
      ),
      pending,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether the call rejected as fetch (or undici's request API) does for this signal: with its very
 * reason — except that undici's fetch gives an object reason without a stack one, which a frozen
 * object cannot take: the engine's TypeError then (client.fetch does as undici's fetch does).
 */
function rejectedAsFetchDoes(rejected: unknown, signal: AbortSignal, front: 'fetch' | 'request'): boolean {
  const reason = signal.reason as unknown;
  const frozen = typeof reason === 'object' && reason !== null && !Object.isExtensible(reason);
  if (front === 'fetch' && frozen && typeof (reason as { stack?: unknown }).stack !== 'string') {
    return rejected instanceof TypeError && /not extensible/.test(rejected.message);
  }
  return rejected === reason;
}

async function closes(client: { close(): Promise<void> }): Promise<void> {
  assert.equal(await settled(client.close().then(() => 'closed')), 'resolved', 'close() resolves');
}

describe('aborts during the policies’ waits, with any reason value', () => {
  for (const [name, make] of ABORT_REASONS) {
    it(`${name}: during the backoff sleep and in the bulkhead queue, both front-ends`, async (t) => {
      const server = cleanup(t, await startHttpServer());
      const held: ServerResponse[] = [];
      server.handle((req, res) => {
        if (req.url === '/503') {
          res.statusCode = 503;
          res.end();
        } else held.push(res);
      });
      const client = createClient({
        retry: { backoff: { jitter: 'none', base: 10_000, cap: 10_000 } },
        bulkhead: { limit: 1, queue: 10 },
        breaker: false,
      });
      // Sleeping between attempts (the first got a 503; the next is 10 s away).
      for (const [front, call] of [
        ['fetch', (signal: AbortSignal) => client.fetch(`${server.url}/503`, { signal })],
        ['request', (signal: AbortSignal) => client.request(`${server.url}/503`, { signal })],
      ] as const) {
        const controller = new AbortController();
        const before = server.requests;
        const p = call(controller.signal);
        await waitFor(() => server.requests === before + 1, 'the first attempt answered');
        await new Promise((r) => setTimeout(r, 20));
        abortWith(controller, make());
        const outcome = (await settled(p)) as { rejected: unknown };
        assert.notEqual(outcome, 'pending');
        assert.ok(
          rejectedAsFetchDoes(outcome.rejected, controller.signal, front),
          `${front}: ${outcome.rejected}`,
        );
      }
      // Waiting in the bulkhead queue behind a held call.
      const first = client.request(`${server.url}/held`);
      await waitFor(() => held.length === 1, 'the first call in flight');
      for (const [front, call] of [
        ['fetch', (signal: AbortSignal) => client.fetch(`${server.url}/queued`, { signal })],
        ['request', (signal: AbortSignal) => client.request(`${server.url}/queued`, { signal })],
      ] as const) {
        const controller = new AbortController();
        const p = call(controller.signal);
        await waitFor(() => client.stats()[server.origin]?.bulkhead?.queued === 1, 'queued');
        abortWith(controller, make());
        const outcome = (await settled(p)) as { rejected: unknown };
        assert.notEqual(outcome, 'pending');
        assert.ok(
          rejectedAsFetchDoes(outcome.rejected, controller.signal, front),
          `${front}: ${outcome.rejected}`,
        );
        assert.equal(client.stats()[server.origin]?.bulkhead?.queued, 0, 'left the queue');
      }
      held[0]?.end('ok');
      await (await first).body.dump();
      await closes(client);
    });
  }
});

describe('shed calls are counted in stats()', () => {
  it('POOL_QUEUE_FULL by layer and code, once per shed call', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const held: ServerResponse[] = [];
    server.handle((_req, res) => void held.push(res));
    const client = createClient({ bulkhead: { limit: 1, queue: 0 } });
    const first = client.request(server.url);
    await waitFor(() => held.length === 1, 'in flight');
    for (let i = 0; i < 3; i++) {
      const err = await client.request(server.url).catch((e: unknown) => e);
      assert.ok(isBulwarkError(err) && err.code === 'POOL_QUEUE_FULL');
    }
    const stats = client.stats()[server.origin]!;
    assert.equal(stats.failuresByCode.POOL_QUEUE_FULL, 3);
    assert.equal(stats.failuresByLayer.pool, 3);
    assert.equal(stats.failures, 3);
    held[0]?.end('ok');
    await (await first).body.dump();
    await client.close();
  });

  it('CIRCUIT_OPEN by layer and code, once per shed call', async (t) => {
    const server = cleanup(
      t,
      await startHttpServer({ handler: (_req, res) => void res.writeHead(503).end() }),
    );
    const client = createClient({ retry: false, breaker: { minimumCalls: 3, threshold: 50 } });
    t.after(() => client.close());
    for (let i = 0; i < 3; i++) await (await client.fetch(server.url)).arrayBuffer();
    assert.equal(client.stats()[server.origin]?.breaker, 'open');
    for (let i = 0; i < 4; i++) {
      const err = await client.fetch(server.url).catch((e: unknown) => e);
      assert.ok(isBulwarkError(err) && err.code === 'CIRCUIT_OPEN');
    }
    const stats = client.stats()[server.origin]!;
    assert.equal(stats.failuresByCode.CIRCUIT_OPEN, 4);
    assert.equal(stats.failuresByLayer.circuit, 4);
    assert.equal(server.requests, 3);
  });
});
