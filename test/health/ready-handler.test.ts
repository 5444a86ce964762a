// readyHandler over a real node:http server: 200 with the JSON report when every check is up, 503
// when one is down, Cache-Control: no-store, HEAD without a body, 405 for other methods, one shared
// run for concurrent requests, and no throw whatever the checks or the client do.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import type { HealthReport } from '../../src/health/options.ts';
import { readyHandler } from '../../src/health/ready-handler.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection (no keep-alive to outlive the test). */
function send(url: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('readyHandler', () => {
  it('answers 200 with the report when every check is up', async (t) => {
    const server = cleanup(
      t,
      await startHttpServer({ handler: readyHandler({ db: () => 'ok', cache: async () => 1 }) }),
    );
    const reply = await send(`${server.url}/ready`);
    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(reply.headers['cache-control'], 'no-store');
    const report = JSON.parse(reply.body) as HealthReport;
    assert.equal(report.status, 'up');
    assert.deepEqual(Object.keys(report.checks), ['db', 'cache']);
    assert.equal(report.checks.db!.status, 'up');
  });

  it('answers 503 with the failing check, its layer and code', async (t) => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), {
      code: 'ECONNREFUSED',
      syscall: 'connect',
    });
    const handler = readyHandler({ db: () => 'ok', cache: () => Promise.reject(refused) }, { timeout: 500 });
    const server = cleanup(t, await startHttpServer({ handler }));
    const reply = await send(server.url);
    assert.equal(reply.status, 503);
    assert.equal(reply.headers['cache-control'], 'no-store');
    const report = JSON.parse(reply.body) as HealthReport;
    assert.equal(report.status, 'down');
    assert.equal(report.checks.db!.status, 'up');
    assert.deepEqual(
      [report.checks.cache!.status, report.checks.cache!.layer, report.checks.cache!.code],
      ['down', 'tcp', 'TCP_REFUSED'],
    );
  });

  it('answers HEAD without a body and other methods with 405', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: readyHandler({ db: () => 'ok' }) }));
    const head = await send(server.url, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const post = await send(server.url, 'POST');
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, 'GET, HEAD');
    assert.equal(post.headers['cache-control'], 'no-store');
  });

  it('reports a check that hangs as down within the deadline', async (t) => {
    const handler = readyHandler({ stuck: () => new Promise(() => {}) }, { timeout: 80 });
    const server = cleanup(t, await startHttpServer({ handler }));
    const reply = await send(server.url);
    assert.equal(reply.status, 503);
    assert.equal((JSON.parse(reply.body) as HealthReport).checks.stuck!.code, 'HEALTH_TIMEOUT');
  });

  it('shares one run between requests that arrive while it is in flight', async (t) => {
    let runs = 0;
    const handler = readyHandler({
      db: () => {
        runs++;
        return new Promise((resolve) => setTimeout(resolve, 50, 'ok'));
      },
    });
    const server = cleanup(t, await startHttpServer({ handler }));
    const replies = await Promise.all([send(server.url), send(server.url), send(server.url)]);
    assert.deepEqual(
      replies.map((r) => r.status),
      [200, 200, 200],
    );
    assert.equal(runs, 1);
    await send(server.url);
    assert.equal(runs, 2, 'a later request runs the checks again');
  });

  it('never throws: a throwing check is a 503, a response that is gone is left alone', async (t) => {
    const handler = readyHandler({
      boom: () => {
        throw new Error('bug');
      },
    });
    const server = cleanup(t, await startHttpServer({ handler }));
    assert.equal((await send(server.url)).status, 503);

    // A response object whose every method throws: the handler must still return quietly.
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error('hostile');
        },
      },
    );
    assert.doesNotThrow(() => handler(hostile as http.IncomingMessage, hostile as http.ServerResponse));
    await new Promise((resolve) => setTimeout(resolve, 10));
  });

  it('validates checks and options when it is created', () => {
    assert.throws(
      () => readyHandler({ db: 42 } as never),
      (e: unknown) => e instanceof InvalidOptionError && e.path === 'checks.db',
    );
    assert.throws(
      () => readyHandler({}, { timeout: 0 }),
      (e: unknown) => e instanceof InvalidOptionError && e.path === 'options.timeout',
    );
  });
});
