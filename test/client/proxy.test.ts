// The `proxy` option end to end, through a real forward proxy on loopback (test/helpers/
// forward-proxy.ts): plain http forwarded with its absolute URI or tunnelled, https through
// CONNECT, credentials (token, user-info), HTTP_PROXY/HTTPS_PROXY/NO_PROXY with 'env', a refusing
// or missing proxy tagged and retried by the policies, and the connections to the proxy made by
// Bulwark's connector (the DNS cache answers the proxy's name; a dead proxy is TCP_REFUSED).
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { bulwarkFailure } from '../helpers/bulwark-failure.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startForwardProxy } from '../helpers/forward-proxy.ts';
import { startHttpServer, startHttpsServer } from '../helpers/http-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const FAST_RETRY = { limit: 2, backoff: { base: 1, cap: 1 } } as const;

async function deadPort(): Promise<number> {
  const server = await startHttpServer();
  const { port } = server;
  await server.close();
  return port;
}

/** Sets environment variables for one test (restored after it). */
function withEnv(t: TestContext, vars: Record<string, string | undefined>): void {
  const names = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];
  const saved = new Map(names.map((n) => [n, process.env[n]]));
  for (const n of names) delete process.env[n];
  for (const [n, v] of Object.entries(vars)) if (v !== undefined) process.env[n] = v;
  t.after(() => {
    for (const [n, v] of saved) {
      if (v === undefined) delete process.env[n];
      else process.env[n] = v;
    }
  });
}

describe('proxy', () => {
  it('forwards plain http with its absolute URI; fetch and request, stats under the target origin', async (t) => {
    const server = cleanup(
      t,
      await startHttpServer({ handler: (req, res) => void res.end(`via ${req.url}`) }),
    );
    const proxy = cleanup(t, await startForwardProxy());
    const client = createClient({ proxy: new URL(proxy.url) }); // a URL object as well as a string
    t.after(() => client.close());

    const res = await client.fetch(`${server.url}/f?x=1`);
    assert.equal(await res.text(), 'via /f?x=1');
    const r = await client.request(`${server.url}/r`);
    assert.equal(await r.body.text(), 'via /r');
    assert.deepEqual(
      proxy.seen.map((s) => [s.method, s.target]),
      [
        ['GET', `${server.url}/f?x=1`],
        ['GET', `${server.url}/r`],
      ],
    );
    assert.equal(client.stats()[server.url]?.responses, 2);
  });

  it('tunnels https through CONNECT (the client tls options apply to the target) and http with tunnel: true', async (t) => {
    const pki = await getTestPki();
    const secure = cleanup(
      t,
      await startHttpsServer({ ...pki.valid, handler: (_q, res) => void res.end('secret') }),
    );
    const plain = cleanup(t, await startHttpServer({ handler: (_q, res) => void res.end('plain') }));
    const proxy = cleanup(t, await startForwardProxy());
    const client = createClient({ proxy: { uri: proxy.url, tunnel: true }, tls: { ca: pki.ca.cert } });
    t.after(() => client.close());

    assert.equal(await (await client.fetch(`${secure.url}/s`)).text(), 'secret');
    assert.equal(await (await client.request(`${plain.url}/p`)).body.text(), 'plain');
    assert.deepEqual(
      proxy.seen.map((s) => [s.method, s.target, s.status]),
      [
        ['CONNECT', `127.0.0.1:${secure.port}`, 200],
        ['CONNECT', `127.0.0.1:${plain.port}`, 200],
      ],
    );
    // The target's certificate is checked against the client's tls options, through the tunnel.
    const strict = createClient({ proxy: proxy.url, retry: false });
    t.after(() => strict.close());
    const err = await bulwarkFailure(strict.fetch(`${secure.url}/s`));
    assert.equal(err.layer, 'tls');
    assert.equal(err.code, 'TLS_UNTRUSTED');
  });

  it('connects to the proxy with its own connector: the DNS cache resolves the proxy name, forwarded and tunnelled', async (t) => {
    // Pins undici's ProxyAgent calling `factory` with the proxy's URL for forwarded requests and
    // `clientFactory` for CONNECT (client/proxy-agent.ts hands both Bulwark's connector).
    const pki = await getTestPki();
    const secure = cleanup(t, await startHttpsServer({ ...pki.valid }));
    const plain = cleanup(t, await startHttpServer());
    for (const tunnel of [false, true]) {
      const proxy = cleanup(t, await startForwardProxy());
      const client = createClient({
        proxy: { uri: `http://localhost:${proxy.port}`, tunnel },
        tls: { ca: pki.ca.cert },
      });
      t.after(() => client.close());
      const target = tunnel ? secure.url : plain.url;
      assert.equal((await client.request(target)).statusCode, 200);
      const hosts = client.dns?.entries().map((e) => e.host) ?? [];
      assert.ok(
        hosts.includes('localhost'),
        `the proxy's name went through the DNS cache (tunnel ${tunnel}): ${hosts}`,
      );
      assert.equal(proxy.seen.length, 1);
    }
  });

  it('sends credentials: token, user-info in the URL; without them the proxy 407 is HTTP_PROXY, not retried', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const pki = await getTestPki();
    const secure = cleanup(t, await startHttpsServer({ ...pki.valid }));
    const expected = `Basic ${Buffer.from('me:p@ss').toString('base64')}`;
    const proxy = cleanup(t, await startForwardProxy({ authorization: expected }));

    const anonymous = createClient({ proxy: proxy.url, retry: FAST_RETRY, tls: { ca: pki.ca.cert } });
    t.after(() => anonymous.close());
    for (const url of [server.url, secure.url]) {
      const err = await bulwarkFailure(anonymous.request(url));
      assert.equal(err.layer, 'http', url);
      assert.equal(err.code, 'HTTP_PROXY', url);
      assert.equal(err.retryable, false);
      assert.equal(err.mayHaveExecuted, false);
      assert.equal(err.attempts, 1, 'a 407 is not retried');
      assert.equal(anonymous.stats()[url]?.failuresByCode.HTTP_PROXY, 1);
    }

    const token = createClient({ proxy: { uri: proxy.url, token: expected }, tls: { ca: pki.ca.cert } });
    t.after(() => token.close());
    assert.equal((await token.request(server.url)).statusCode, 200);
    assert.equal((await token.fetch(secure.url)).status, 200);

    const userInfo = createClient({
      proxy: `http://me:p%40ss@127.0.0.1:${proxy.port}`,
      tls: { ca: pki.ca.cert },
    });
    t.after(() => userInfo.close());
    assert.equal((await userInfo.fetch(`${server.url}/u`)).status, 200);
    assert.equal(proxy.seen.at(-1)?.proxyAuthorization, expected);
    assert.equal(server.requests, 2);
  });

  it('a CONNECT refused with 502 is HTTP_PROXY, retried within the limit, and opens the breaker', async (t) => {
    const pki = await getTestPki();
    const secure = cleanup(t, await startHttpsServer({ ...pki.valid }));
    const proxy = cleanup(t, await startForwardProxy());
    proxy.refuse(502);
    const client = createClient({
      proxy: proxy.url,
      tls: { ca: pki.ca.cert },
      retry: { ...FAST_RETRY, budget: false },
      breaker: { minimumCalls: 3, threshold: 50 },
    });
    t.after(() => client.close());
    const err = await bulwarkFailure(client.fetch(secure.url));
    assert.equal(err.code, 'HTTP_PROXY');
    assert.equal(err.retryable, true);
    assert.equal(err.attempts, 3);
    assert.equal(err.notRetried, 'limit');
    const open = await bulwarkFailure(client.fetch(secure.url));
    assert.equal(open.code, 'CIRCUIT_OPEN');
    assert.equal(client.stats()[secure.url]?.breaker, 'open');
    assert.equal(secure.requests, 0);
  });

  it('a proxy that is down is TCP_REFUSED (Bulwark connector), forwarded or tunnelled, retried for any method', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const port = await deadPort();
    for (const tunnel of [false, true]) {
      const client = createClient({ proxy: { uri: `http://127.0.0.1:${port}`, tunnel }, retry: FAST_RETRY });
      t.after(() => client.close());
      const err = await bulwarkFailure(client.request(server.url, { method: 'POST', body: 'x' }));
      assert.equal(err.layer, 'tcp', `tunnel ${tunnel}`);
      assert.equal(err.code, 'TCP_REFUSED', `tunnel ${tunnel}`);
      assert.equal(err.attempts, 3, 'never reached anything: a POST is retried');
    }
    assert.equal(server.requests, 0);
  });

  it("'env' follows HTTP_PROXY, HTTPS_PROXY and NO_PROXY", async (t) => {
    const pki = await getTestPki();
    const plain = cleanup(t, await startHttpServer());
    const secure = cleanup(t, await startHttpsServer({ ...pki.valid }));
    const direct = cleanup(t, await startHttpServer({ host: '127.0.0.2' }));
    const proxy = cleanup(t, await startForwardProxy());
    withEnv(t, { HTTP_PROXY: proxy.url, HTTPS_PROXY: proxy.url, NO_PROXY: '127.0.0.2,localhost' });
    const client = createClient({ proxy: 'env', tls: { ca: pki.ca.cert } });
    t.after(() => client.close());
    assert.equal((await client.request(plain.url)).statusCode, 200);
    assert.equal((await client.fetch(secure.url)).status, 200);
    assert.equal((await client.request(direct.url)).statusCode, 200);
    assert.deepEqual(
      proxy.seen.map((s) => s.method),
      ['GET', 'CONNECT'],
      'the NO_PROXY host went direct',
    );
    assert.equal(direct.requests, 1);
    // A NO_PROXY host by name: direct, through Bulwark's connector (the DNS cache resolves it).
    assert.equal((await client.request(`http://localhost:${plain.port}/`)).statusCode, 200);
    assert.equal(proxy.seen.length, 2);
    assert.ok(client.dns?.entries().some((e) => e.host === 'localhost'));

    // None set: every call goes direct.
    withEnv(t, {});
    const none = createClient({ proxy: 'env' });
    t.after(() => none.close());
    assert.equal((await none.request(plain.url)).statusCode, 200);
    assert.equal(proxy.seen.length, 2, 'nothing more through the proxy');
  });

  it('close() closes the proxy agent it built: no connection left open to the proxy', async (t) => {
    const pki = await getTestPki();
    const secure = cleanup(t, await startHttpsServer({ ...pki.valid }));
    const plain = cleanup(t, await startHttpServer());
    const proxy = cleanup(t, await startForwardProxy());
    const client = createClient({ proxy: proxy.url, tls: { ca: pki.ca.cert } });
    await (await client.fetch(secure.url)).text();
    await (await client.request(plain.url)).body.dump();
    await client.close();
    assert.equal(proxy.connections, 2, 'one connection to the proxy for the tunnel, one for forwarding');
    await waitFor(() => proxy.openSockets === 0, 'every connection to the proxy closed');
    await assert.rejects(client.request(plain.url), { code: 'POOL_CLOSED' });
  });
  it('an https: proxy, trusted through proxy.tls (the target through the client tls), forwarded and tunnelled', async (t) => {
    const pki = await getTestPki();
    const plain = cleanup(t, await startHttpServer({ handler: (_q, res) => void res.end('plain') }));
    const secure = cleanup(
      t,
      await startHttpsServer({ ...pki.valid, handler: (_q, res) => void res.end('secure') }),
    );
    const proxy = cleanup(t, await startForwardProxy({ tls: pki.valid }));
    const client = createClient({
      proxy: { uri: proxy.url, tls: { ca: pki.ca.cert } },
      tls: { ca: pki.ca.cert },
    });
    t.after(() => client.close());
    assert.equal(await (await client.fetch(plain.url)).text(), 'plain');
    assert.equal(await (await client.request(secure.url)).body.text(), 'secure');
    assert.deepEqual(
      proxy.seen.map((s) => s.method),
      ['GET', 'CONNECT'],
    );
    // Not trusted: the proxy's certificate fails as the tls layer, from Bulwark's connector.
    const untrusted = createClient({ proxy: proxy.url, retry: false });
    t.after(() => untrusted.close());
    for (const url of [plain.url, secure.url]) {
      const err = await bulwarkFailure(untrusted.request(url));
      assert.equal(err.layer, 'tls', url);
      assert.equal(err.code, 'TLS_UNTRUSTED', url);
    }
  });

  it('a proxy that never answers CONNECT: HTTP_PROXY after timeout.connect, or the deadline, or an abort; close() does not wait for it', async (t) => {
    const pki = await getTestPki();
    const secure = cleanup(t, await startHttpsServer({ ...pki.valid }));
    const proxy = cleanup(t, await startForwardProxy());
    proxy.stall(true);
    const client = createClient({
      proxy: proxy.url,
      tls: { ca: pki.ca.cert },
      retry: false,
      timeout: { connect: 200, total: 5_000 },
    });
    const err = await bulwarkFailure(client.fetch(secure.url));
    assert.equal(err.code, 'HTTP_PROXY');
    assert.equal(err.retryable, true);
    assert.equal(err.mayHaveExecuted, false);
    assert.equal(
      (err.cause as { code?: string }).code,
      'UND_ERR_HEADERS_TIMEOUT',
      'the CONNECT got no answer',
    );
    // The call's own deadline first: no connection yet, so the layer is pool.
    const short = await bulwarkFailure(client.request(secure.url, { timeout: { total: 50 } }));
    assert.equal(short.layer, 'pool');
    assert.equal(short.budget, 'total');
    const reason = new Error('caller gave up');
    const ac = new AbortController();
    const call = client.request(secure.url, { signal: ac.signal });
    setTimeout(() => ac.abort(reason), 20);
    await assert.rejects(call, (e) => e === reason);
    await client.close(); // bounded by timeout.connect, the tunnel still being set up
    await waitFor(() => proxy.openSockets === 0, 'no connection to the proxy left open');
    assert.equal(secure.requests, 0);
  });

  it('rejects a bad proxy with InvalidOptionError naming the option, credentials never shown', (t) => {
    const cases: [unknown, string][] = [
      [null, 'proxy'],
      [42, 'proxy'],
      ['', 'proxy'],
      ['not a url', 'proxy'],
      ['ftp://user:secret@proxy.test/', 'proxy'],
      ['socks5://user:secret@proxy.test:1080', 'proxy'],
      [{}, 'proxy.uri'],
      [{ uri: 'http://user:secret@' }, 'proxy.uri'],
      [{ uri: 'http://proxy.test', tunnel: 'yes' }, 'proxy.tunnel'],
      [{ uri: 'http://proxy.test', token: 'Basic secret\r\nX: 1' }, 'proxy.token'],
      [{ uri: 'http://proxy.test', token: '' }, 'proxy.token'],
      [{ uri: 'http://proxy.test', headers: { 'x-a': 1 } }, 'proxy.headers.x-a'],
      [{ uri: 'http://proxy.test', headers: [] }, 'proxy.headers'],
      [{ uri: 'http://proxy.test', tls: { host: 'x' } }, 'proxy.tls.host'],
      [{ uri: 'http://proxy.test', auth: 'secret' }, 'proxy.auth'],
    ];
    for (const [proxy, path] of cases) {
      assert.throws(
        () => createClient({ proxy: proxy as never }),
        (e) => {
          assert.ok(e instanceof InvalidOptionError, String(e));
          assert.equal(e.path, path, JSON.stringify(proxy));
          assert.ok(!e.message.includes('secret'), e.message);
          return true;
        },
      );
    }
    withEnv(t, { HTTPS_PROXY: 'ftp://user:secret@proxy.test' });
    assert.throws(
      () => createClient({ proxy: 'env' }),
      (e) => e instanceof InvalidOptionError && /HTTPS_PROXY/.test(e.path) && !e.message.includes('secret'),
    );
  });
});
