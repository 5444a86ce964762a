// Proves the test HTTP(S) servers: replaceable handlers, request and connection counters,
// keep-alive, configurable hosts, and a close() that never waits for idle sockets.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import http from 'node:http';
import https from 'node:https';
import { test } from 'node:test';
import { getTestPki } from './certs.ts';
import { cleanup } from './cleanup.ts';
import { startHttpServer, startHttpsServer } from './http-server.ts';

interface Reply {
  status: number;
  body: string;
  headers: IncomingMessage['headers'];
}

/** One GET with Node's own client, so these tests do not depend on the code under test. */
function get(url: string, options: https.RequestOptions = {}): Promise<Reply> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    client
      .get(url, options, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      })
      .on('error', reject);
  });
}

test('answers 200 ok by default and counts requests', async (t) => {
  const server = cleanup(t, await startHttpServer());
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(server.origin, server.url);
  assert.equal(server.host, '127.0.0.1');
  const agent = new http.Agent({ keepAlive: false });
  const reply = await get(`${server.url}/`, { agent });
  assert.deepEqual([reply.status, reply.body], [200, 'ok']);
  assert.equal(server.requests, 1);
  assert.equal(server.connections, 1);
});

test('handle() replaces the handler at any time', async (t) => {
  const server = cleanup(t, await startHttpServer());
  const agent = new http.Agent({ keepAlive: false });
  server.handle((req, res) => {
    res.writeHead(503, { 'retry-after': '1' }).end(`busy ${req.url}`);
  });
  const first = await get(`${server.url}/a`, { agent });
  assert.deepEqual([first.status, first.body, first.headers['retry-after']], [503, 'busy /a', '1']);
  server.handle(async (_req, res) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    res.end('later');
  });
  assert.equal((await get(`${server.url}/b`, { agent })).body, 'later');
  assert.equal(server.requests, 2);
});

test('keep-alive reuses one connection; close() destroys it without waiting', async () => {
  const server = await startHttpServer({ keepAliveTimeout: 60_000 });
  assert.equal(server.server.keepAliveTimeout, 60_000);
  const agent = new http.Agent({ keepAlive: true });
  await get(server.url, { agent });
  await get(server.url, { agent });
  assert.deepEqual([server.requests, server.connections, server.openSockets], [2, 1, 1]);

  const start = performance.now();
  await server.close();
  assert.ok(performance.now() - start < 1000, 'close() does not wait for the keep-alive timeout');
  assert.equal(server.openSockets, 0);
  agent.destroy();
});

test('close() also ends a request still in progress', async () => {
  const server = await startHttpServer({ handler: () => {} }); // never answers
  const pending = get(server.url, { agent: new http.Agent({ keepAlive: false }) });
  while (server.requests === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  const failed = assert.rejects(pending, { code: 'ECONNRESET' }); // 'socket hang up'
  await server.close();
  await failed;
});

test('a throwing handler yields a 500 and is recorded', async (t) => {
  const server = cleanup(
    t,
    await startHttpServer({
      handler: () => {
        throw new Error('boom');
      },
    }),
  );
  const reply = await get(server.url, { agent: new http.Agent({ keepAlive: false }) });
  assert.equal(reply.status, 500);
  assert.equal(server.errors.length, 1);
  assert.match(String(server.errors[0]), /boom/);
});

test('binds other loopback hosts: 127.0.0.2 and ::1', async (t) => {
  const second = cleanup(t, await startHttpServer({ host: '127.0.0.2' }));
  assert.match(second.url, /^http:\/\/127\.0\.0\.2:\d+$/);
  assert.equal((await get(second.url, { agent: new http.Agent() })).body, 'ok');

  const v6 = cleanup(t, await startHttpServer({ host: '::1' }));
  assert.equal(v6.url, `http://[::1]:${v6.port}`);
  assert.equal((await get(v6.url, { agent: new http.Agent() })).body, 'ok');
});

test('https serves the given certificate', async (t) => {
  const pki = await getTestPki();
  const server = cleanup(t, await startHttpsServer({ ...pki.valid }));
  assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const reply = await get(server.url, { ca: pki.ca.cert, agent: new https.Agent({ keepAlive: false }) });
  assert.deepEqual([reply.status, reply.body], [200, 'ok']);
  await assert.rejects(get(server.url, { agent: new https.Agent() }), {
    code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  });
});

test('https with requestCert accepts a client certificate signed by the CA (mTLS)', async (t) => {
  const pki = await getTestPki();
  const server = cleanup(t, await startHttpsServer({ ...pki.valid, ca: pki.ca.cert, requestCert: true }));
  server.handle((req, res) => {
    const socket = req.socket as import('node:tls').TLSSocket;
    res.end(socket.getPeerCertificate().subject?.CN ?? 'none');
  });
  const agent = new https.Agent({ keepAlive: false });
  const reply = await get(server.url, { ca: pki.ca.cert, ...pki.client, agent });
  assert.equal(reply.body, 'bulwark-test-client');
  await assert.rejects(get(server.url, { ca: pki.ca.cert, agent }));
});
