// The per-origin bulkhead: a limit on calls in flight and a bounded queue, shedding the next call
// at once with POOL_QUEUE_FULL; queued calls leave at their deadline or on close.
import assert from 'node:assert/strict';
import type { ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('bulkhead', () => {
  it('limit 2, queue 2: the 5th concurrent call is shed at once; the others complete', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const held: ServerResponse[] = [];
    server.handle((_req, res) => {
      held.push(res);
    });
    const client = createClient({ bulkhead: { limit: 2, queue: 2 } });
    t.after(() => client.close());
    const calls = Array.from({ length: 4 }, () => client.request(server.url));
    await waitFor(() => held.length === 2, 'two calls in flight');
    const stats = client.stats()[server.origin]!;
    assert.deepEqual(stats.bulkhead, { inFlight: 2, queued: 2, rejected: 0 });

    const started = performance.now();
    const err = await client.request(server.url).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'POOL_QUEUE_FULL');
    assert.equal(err.layer, 'pool');
    assert.equal(err.mayHaveExecuted, false);
    assert.ok(performance.now() - started < 500, 'shed at once');

    // Release the held responses as they arrive until all four calls are answered.
    const release = setInterval(() => {
      for (const res of held.splice(0)) res.end('done');
    }, 5);
    const results = await Promise.all(calls);
    clearInterval(release);
    for (const r of results) assert.equal(await r.body.text(), 'done');
    assert.equal(server.requests, 4);
    assert.deepEqual(client.stats()[server.origin]!.bulkhead, { inFlight: 0, queued: 0, rejected: 1 });
  });

  it('a queued call leaves the queue at its deadline with POOL_ACQUIRE_TIMEOUT', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const held: ServerResponse[] = [];
    server.handle((_req, res) => {
      held.push(res);
    });
    const client = createClient({ bulkhead: { limit: 1, queue: 5 } });
    t.after(() => client.close());
    const first = client.request(server.url);
    await waitFor(() => held.length === 1, 'the first call in flight');
    const err = await client.request(server.url, { timeout: 100 }).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'POOL_ACQUIRE_TIMEOUT');
    assert.equal(err.budget, 'total');
    assert.equal(client.stats()[server.origin]!.bulkhead?.queued, 0);
    held[0]!.end('ok');
    assert.equal(await (await first).body.text(), 'ok');
  });

  it('close() rejects queued calls with POOL_CLOSED and lets running ones finish', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const held: ServerResponse[] = [];
    server.handle((_req, res) => {
      held.push(res);
    });
    const client = createClient({ bulkhead: { limit: 1, queue: 5 } });
    const running = client.request(server.url);
    await waitFor(() => held.length === 1, 'one call in flight');
    const queued = client.request(server.url).catch((e: unknown) => e);
    const closing = client.close();
    const err = await queued;
    assert.ok(isBulwarkError(err) && err.code === 'POOL_CLOSED', String(err));
    held[0]!.end('finished');
    const res = await running;
    assert.equal(await res.body.text(), 'finished');
    await closing;
    const after = await client.request(server.url).catch((e: unknown) => e);
    assert.ok(isBulwarkError(after) && after.code === 'POOL_CLOSED');
  });
});
