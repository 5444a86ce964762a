// httpCheck through a real Bulwark client against loopback servers (up on 2xx/3xx; a refused port
// is tcp/TCP_REFUSED; a 503 is http/HTTP_STATUS; a server that stalls is reported in the layer where
// the budget ran out), and poolCheck over any object with use().
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { BulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { httpCheck, poolCheck } from '../../src/health/checks.ts';
import { healthCheck } from '../../src/health/health-check.ts';
import { createPool } from '../../src/pool/pool.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { startSilentServer } from '../helpers/raw-server.ts';
import { refusedPort } from '../probe/run-cli.ts';

/** A TCP connection to 127.0.0.1:`port`, as a driver's create would open it. */
function connectTo(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function client(t: { after(fn: () => unknown): void }) {
  const c = createClient();
  t.after(() => c.close());
  return c;
}

describe('httpCheck', () => {
  it('is up on 2xx and 3xx, down with http/HTTP_STATUS otherwise, and sends one request each', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle((req, res) => {
      const status = Number(req.url?.slice(1));
      res.writeHead(status, status === 302 ? { location: '/' } : {}).end();
    });
    const c = client(t);
    const report = await healthCheck({
      ok: httpCheck(c, `${server.url}/200`),
      moved: httpCheck(c, `${server.url}/302`),
      missing: httpCheck(c, `${server.url}/404`),
      busy: httpCheck(c, `${server.url}/503`),
    });
    assert.equal(report.checks.ok!.status, 'up');
    assert.equal(report.checks.moved!.status, 'up');
    assert.equal(report.checks.missing!.status, 'down');
    assert.equal(report.checks.missing!.code, 'HTTP_STATUS');
    assert.deepEqual(
      { layer: report.checks.busy!.layer, code: report.checks.busy!.code },
      { layer: 'http', code: 'HTTP_STATUS' },
    );
    assert.match(report.checks.busy!.error!, /GET http:\/\/127\.0\.0\.1:\d+\/503 answered 503/);
    assert.equal(server.requests, 4, 'no retries');
  });

  it('a refused port is down with tcp/TCP_REFUSED while the other checks still report', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const port = await refusedPort();
    const c = client(t);
    const report = await healthCheck({
      api: httpCheck(c, server.url),
      auth: httpCheck(c, `http://127.0.0.1:${port}/health`),
    });
    assert.equal(report.status, 'down');
    assert.equal(report.checks.api!.status, 'up');
    assert.equal(report.checks.auth!.status, 'down');
    assert.equal(report.checks.auth!.layer, 'tcp');
    assert.equal(report.checks.auth!.code, 'TCP_REFUSED');
    assert.equal(report.checks.auth!.timedOut, undefined);
  });

  it('a server that never answers is reported in the layer where the budget ran out', async (t) => {
    const silent = cleanup(t, await startSilentServer());
    const c = createClient({ tls: { rejectUnauthorized: false } });
    t.after(() => c.close());
    const report = await healthCheck(
      {
        plain: httpCheck(c, `http://127.0.0.1:${silent.port}/`),
        secure: httpCheck(c, `https://127.0.0.1:${silent.port}/`),
      },
      { timeout: 150 },
    );
    // The check's deadline and the client's (given the same budget) race; either way the report
    // names the layer where time ran out.
    assert.equal(report.status, 'down');
    assert.deepEqual(
      [report.checks.plain!.layer, report.checks.plain!.code],
      ['http', 'HTTP_HEADERS_TIMEOUT'],
    );
    assert.deepEqual([report.checks.secure!.layer, report.checks.secure!.code], ['tls', 'TLS_TIMEOUT']);
    assert.ok(report.checks.secure!.latency < 1_000, `latency ${report.checks.secure!.latency}`);
  });

  it('validates its arguments', () => {
    const c = createClient();
    try {
      assert.throws(
        () => httpCheck(c, 'ftp://x/'),
        (e: unknown) => e instanceof InvalidOptionError && e.path === 'url',
      );
      assert.throws(
        () => httpCheck(c, 'nope'),
        (e: unknown) => e instanceof InvalidOptionError && e.path === 'url',
      );
      assert.throws(
        () => httpCheck({} as never, 'http://x/'),
        (e: unknown) => e instanceof InvalidOptionError && e.path === 'client',
      );
      assert.throws(
        () => httpCheck(c, 'http://x/', { retry: 3 } as never),
        (e: unknown) => e instanceof InvalidOptionError && e.path === 'options.retry',
      );
    } finally {
      void c.close();
    }
  });
});

/** A pool-shaped object: `use(fn, options)` with a fake connection, recording what it was given. */
function fakePool(behaviour: 'ok' | 'exhausted' = 'ok') {
  const calls: { timeout?: number | undefined }[] = [];
  let released = 0;
  return {
    calls,
    get released() {
      return released;
    },
    async use<R>(
      fn: (conn: { ping(): string }) => R | PromiseLike<R>,
      options?: { timeout?: number },
    ): Promise<R> {
      calls.push({ timeout: options?.timeout });
      if (behaviour === 'exhausted') throw new BulwarkError({ layer: 'pool', code: 'POOL_ACQUIRE_TIMEOUT' });
      try {
        return await fn({ ping: () => 'PONG' });
      } finally {
        released++;
      }
    },
  };
}

describe('poolCheck', () => {
  it('acquires, validates and releases through use(), giving the acquire the check budget', async () => {
    const pool = fakePool();
    const seen: string[] = [];
    const report = await healthCheck(
      {
        plain: poolCheck(pool),
        validated: poolCheck(pool, (conn) => seen.push(conn.ping())),
      },
      { timeout: 750 },
    );
    assert.equal(report.status, 'up');
    assert.deepEqual(seen, ['PONG']);
    assert.deepEqual(pool.calls, [{ timeout: 750 }, { timeout: 750 }]);
    assert.equal(pool.released, 2);
  });

  it('an exhausted pool is down with pool/POOL_ACQUIRE_TIMEOUT', async () => {
    const report = await healthCheck({ db: poolCheck(fakePool('exhausted')) });
    assert.equal(report.checks.db!.layer, 'pool');
    assert.equal(report.checks.db!.code, 'POOL_ACQUIRE_TIMEOUT');
  });

  it('validate returning false is POOL_VALIDATION_FAILED; a driver error keeps its layer', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
    const report = await healthCheck({
      falsy: poolCheck(fakePool(), () => false),
      reset: poolCheck(fakePool(), () => Promise.reject(reset)),
    });
    assert.equal(report.checks.falsy!.code, 'POOL_VALIDATION_FAILED');
    assert.equal(report.checks.reset!.layer, 'tcp');
    assert.equal(report.checks.reset!.code, 'TCP_RESET');
  });

  it('a real pool whose database refuses connections is down with tcp/TCP_REFUSED, via pool/POOL_CREATE_FAILED', async (t) => {
    const port = await refusedPort();
    const pool = createPool(
      { create: () => connectTo(port), destroy: (socket: net.Socket) => socket.destroy() },
      { target: { host: '127.0.0.1', port } },
    );
    t.after(() => pool.close());
    const report = await healthCheck({ db: poolCheck(pool) }, { timeout: 500 });
    const db = report.checks.db!;
    assert.equal(db.status, 'down');
    assert.equal(db.layer, 'tcp');
    assert.equal(db.code, 'TCP_REFUSED');
    assert.deepEqual(db.via, { layer: 'pool', code: 'POOL_CREATE_FAILED' });
    assert.match(db.error!, /POOL_CREATE_FAILED.*TCP_REFUSED/);
    assert.ok(db.latency < 500 + 250, `reported by the check's deadline (${db.latency} ms)`);
  });

  it('gives the use the check budget too: a validate that hangs ends with its connection destroyed', async (t) => {
    const real = createPool({ create: async () => ({ id: 1 }), destroy: () => {} }, { useTimeout: 60_000 });
    t.after(() => real.close({ timeout: 1 }));
    const report = await healthCheck({ db: poolCheck(real, () => new Promise(() => {})) }, { timeout: 200 });
    assert.equal(report.checks.db!.status, 'down');
    assert.equal(report.checks.db!.timedOut, true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(real.stats().usesTimedOut, 1, 'the use ended at the check budget, not at the pool’s 60 s');
    assert.equal(real.stats().borrowed, 0);
  });

  it('validates its arguments', () => {
    assert.throws(
      () => poolCheck({} as never),
      (e: unknown) => e instanceof InvalidOptionError && e.path === 'pool',
    );
    assert.throws(
      () => poolCheck(fakePool(), 'SELECT 1' as never),
      (e: unknown) => e instanceof InvalidOptionError && e.path === 'validate',
    );
  });
});
