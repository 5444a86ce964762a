// Proves the forward proxy helper with Node's own client (not the code under test): an absolute-URI
// request is forwarded, CONNECT opens a tunnel that carries bytes both ways, a missing or wrong
// Proxy-Authorization gets 407 with a challenge, and a refusal answers both kinds with its status.
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { getTestPki } from './certs.ts';
import { cleanup } from './cleanup.ts';
import { startForwardProxy } from './forward-proxy.ts';
import { startHttpServer } from './http-server.ts';
import { waitFor } from './wait-for.ts';

/** A request to `proxy` for the absolute `url` (what a client configured with a proxy sends). */
function viaProxy(proxyPort: number, url: string, headers: http.OutgoingHttpHeaders = {}) {
  return new Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: proxyPort, path: url, headers, agent: false },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
        },
      );
      req.on('error', reject);
      req.end();
    },
  );
}

/** A CONNECT to `target` through the proxy: its status and, once open, the socket. */
function connect(proxyPort: number, target: string, headers: http.OutgoingHttpHeaders = {}) {
  return new Promise<{ status: number; socket: Socket; headers: http.IncomingHttpHeaders }>(
    (resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: proxyPort,
        method: 'CONNECT',
        path: target,
        headers,
        agent: false,
      });
      req.on('connect', (res, socket) =>
        resolve({ status: res.statusCode ?? 0, socket, headers: res.headers }),
      );
      req.on('response', (res) =>
        resolve({ status: res.statusCode ?? 0, socket: res.socket, headers: res.headers }),
      );
      req.on('error', reject);
      req.end();
    },
  );
}

test('forward proxy: forwards absolute-URI requests and tunnels CONNECT', async (t) => {
  const server = cleanup(
    t,
    await startHttpServer({ handler: (req, res) => void res.end(`hello ${req.url}`) }),
  );
  const proxy = cleanup(t, await startForwardProxy());

  const forwarded = await viaProxy(proxy.port, `${server.url}/a?b=1`);
  assert.equal(forwarded.status, 200);
  assert.equal(forwarded.body, 'hello /a?b=1');
  assert.deepEqual(
    proxy.seen.map((s) => [s.method, s.target, s.status]),
    [['GET', `${server.url}/a?b=1`, 200]],
  );

  const tunnel = await connect(proxy.port, `127.0.0.1:${server.port}`);
  assert.equal(tunnel.status, 200);
  const answer = await new Promise<string>((resolve) => {
    let text = '';
    tunnel.socket.setEncoding('utf8');
    tunnel.socket.on('data', (c: string) => {
      text += c;
      if (text.includes('hello /t')) resolve(text);
    });
    tunnel.socket.write(`GET /t HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  });
  assert.match(answer, /^HTTP\/1\.1 200 OK/);
  tunnel.socket.destroy();
  assert.equal(proxy.seen.at(-1)?.method, 'CONNECT');
  assert.equal(server.requests, 2);
});

test('forward proxy: 407 with a challenge without the credentials it wants; refusal with any status', async (t) => {
  const server = cleanup(t, await startHttpServer());
  const proxy = cleanup(t, await startForwardProxy({ authorization: 'Basic dTpw' }));

  const noAuth = await viaProxy(proxy.port, `${server.url}/`);
  assert.equal(noAuth.status, 407);
  assert.match(String(noAuth.headers['proxy-authenticate']), /^Basic/);
  const tunnelNoAuth = await connect(proxy.port, `127.0.0.1:${server.port}`);
  assert.equal(tunnelNoAuth.status, 407);
  tunnelNoAuth.socket.destroy();

  const withAuth = await viaProxy(proxy.port, `${server.url}/`, { 'proxy-authorization': 'Basic dTpw' });
  assert.equal(withAuth.status, 200);
  assert.equal(proxy.seen.at(-1)?.proxyAuthorization, 'Basic dTpw');

  proxy.refuse(502);
  const refused = await connect(proxy.port, `127.0.0.1:${server.port}`, {
    'proxy-authorization': 'Basic dTpw',
  });
  assert.equal(refused.status, 502);
  refused.socket.destroy();
  assert.equal(
    (await viaProxy(proxy.port, `${server.url}/`, { 'proxy-authorization': 'Basic dTpw' })).status,
    502,
  );
  assert.equal(server.requests, 1, 'only the authorised, unrefused request reached the server');
});

test('forward proxy: over TLS, and a stalled CONNECT gets no answer', async (t) => {
  const pki = await getTestPki();
  const server = cleanup(t, await startHttpServer());
  const proxy = cleanup(t, await startForwardProxy({ tls: pki.valid }));
  assert.match(proxy.url, /^https:/);
  const status = await new Promise<number>((resolve, reject) => {
    https
      .request(
        { host: '127.0.0.1', port: proxy.port, path: `${server.url}/`, ca: pki.ca.cert, agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      )
      .on('error', reject)
      .end();
  });
  assert.equal(status, 200);

  const plain = cleanup(t, await startForwardProxy());
  plain.stall(true);
  const req = http.request({
    host: '127.0.0.1',
    port: plain.port,
    method: 'CONNECT',
    path: `127.0.0.1:${server.port}`,
    agent: false,
  });
  let answered = false;
  req.on('connect', () => (answered = true));
  req.on('response', () => (answered = true));
  req.on('error', () => {});
  req.end();
  await waitFor(() => plain.seen.length === 1, 'the CONNECT reached the proxy');
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(answered, false);
  req.destroy();
});
