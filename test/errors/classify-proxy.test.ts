// classify() on what undici's ProxyAgent really throws, against a real forward proxy on loopback:
// a CONNECT answered 407 or 502 (a RequestAbortedError, which without this rule would read as the
// caller's abort), a forwarded request answered 407, and a proxy that hangs up during CONNECT.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { ProxyAgent, request } from 'undici';
import { classify } from '../../src/errors/classify.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startForwardProxy } from '../helpers/forward-proxy.ts';
import { startHttpServer, startHttpsServer } from '../helpers/http-server.ts';
import { listen } from '../helpers/listen.ts';

/** What undici's own request() through a ProxyAgent for `proxyUrl` rejects with. */
async function failureVia(proxyUrl: string, url: string, ca?: string): Promise<unknown> {
  const agent = new ProxyAgent({ uri: proxyUrl, ...(ca === undefined ? {} : { requestTls: { ca } }) });
  try {
    const res = await request(url, { dispatcher: agent });
    await res.body.dump();
    return assert.fail(`expected a failure, got ${res.statusCode}`);
  } catch (err) {
    return err;
  } finally {
    await agent.destroy();
  }
}

test('a refused CONNECT is HTTP_PROXY: 407 not retryable, 502 retryable; never executed', async (t) => {
  const pki = await getTestPki();
  const secure = cleanup(t, await startHttpsServer({ ...pki.valid }));
  const proxy = cleanup(t, await startForwardProxy({ authorization: 'Basic x' }));
  const auth = await failureVia(proxy.url, secure.url, pki.ca.cert);
  assert.match(String((auth as Error).message), /Proxy response \(407\)/);
  assert.deepEqual(classify(auth), {
    layer: 'http',
    code: 'HTTP_PROXY',
    retryable: false,
    mayHaveExecuted: false,
  });
  proxy.requireAuthorization(undefined);
  proxy.refuse(502);
  const bad = await failureVia(proxy.url, secure.url, pki.ca.cert);
  assert.deepEqual(classify(bad), {
    layer: 'http',
    code: 'HTTP_PROXY',
    retryable: true,
    mayHaveExecuted: false,
  });
  proxy.refuse(403);
  assert.equal(classify(await failureVia(proxy.url, secure.url, pki.ca.cert)).retryable, false);
  // fetch's wrapper: the cause decides.
  assert.equal(classify(new TypeError('fetch failed', { cause: bad })).code, 'HTTP_PROXY');
  assert.equal(secure.requests, 0);
});

test('a forwarded request answered 407 is HTTP_PROXY, not retryable', async (t) => {
  const server = cleanup(t, await startHttpServer());
  const proxy = cleanup(t, await startForwardProxy({ authorization: 'Basic x' }));
  const err = await failureVia(proxy.url, server.url);
  assert.deepEqual(classify(err), {
    layer: 'http',
    code: 'HTTP_PROXY',
    retryable: false,
    mayHaveExecuted: false,
  });
});

test('a proxy that hangs up during CONNECT is HTTP_PROXY, retryable', async (t) => {
  const pki = await getTestPki();
  const secure = cleanup(t, await startHttpsServer({ ...pki.valid }));
  const hangUp = net.createServer((socket) => socket.once('data', () => socket.destroy()));
  const port = await listen(hangUp, '127.0.0.1');
  t.after(() => new Promise((resolve) => hangUp.close(resolve)));
  const err = await failureVia(`http://127.0.0.1:${port}`, secure.url, pki.ca.cert);
  assert.equal((err as { code?: string }).code, 'UND_ERR_PRX_CONN');
  assert.deepEqual(classify(err), {
    layer: 'http',
    code: 'HTTP_PROXY',
    retryable: true,
    mayHaveExecuted: false,
  });
});

test("a caller's abort and other invalid-argument errors stay what they were", () => {
  const aborted = Object.assign(new Error('Request aborted'), {
    name: 'AbortError',
    code: 'UND_ERR_ABORTED',
  });
  assert.equal(classify(aborted).layer, 'app');
  const invalid = Object.assign(new Error('invalid method'), { code: 'UND_ERR_INVALID_ARG' });
  assert.equal(classify(invalid).layer, 'app');
});
