// The agent follows DNS: when a name moves to another address, new requests go there within the
// TTL and the connection to the old address is closed once idle; connections also retire after
// their (jittered) maximum lifetime.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Dispatcher, errors } from 'undici';
import { createClient } from '../../src/client/client.ts';
import { createAgent } from '../../src/client/create-agent.ts';
import { resolveClientOptions } from '../../src/client/options.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

describe('agent', () => {
  it('a record that moves from 127.0.0.1 to 127.0.0.2: traffic follows within TTL + 1 s, the old connection closes', async (t) => {
    const a = cleanup(t, await startHttpServer({ handler: (_q, r) => void r.end('A') }));
    // Both servers share a port (the URL names one), on two loopback addresses.
    const b = cleanup(
      t,
      await startHttpServer({ host: '127.0.0.2', port: a.port, handler: (_q, r) => void r.end('B') }),
    );
    const dns = cleanup(t, await startDnsServer());
    dns.setRecords('svc.test', { A: ['127.0.0.1'], ttl: 1 });
    const client = createClient({ dns: { servers: [dns.address] }, keepAlive: { idleTimeout: 30_000 } });
    t.after(() => client.close());
    const url = `http://svc.test:${a.port}/`;
    assert.equal(await (await client.request(url)).body.text(), 'A');
    assert.equal(a.openSockets, 1, 'a keep-alive connection to A is open');

    dns.setRecords('svc.test', { A: ['127.0.0.2'], ttl: 1 });
    const moved = performance.now();
    let answer = 'A';
    while (answer === 'A') {
      answer = await (await client.request(url)).body.text();
      if (answer === 'A') await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(performance.now() - moved < 2_000 + 500, 'traffic moved within TTL + 1 s');
    }
    assert.equal(answer, 'B');
    assert.ok(b.requests >= 1);
    await waitFor(() => a.openSockets === 0, 'the idle connection to the old address to close', {
      timeout: 2_000,
    });
  });

  it('retires connections after their maximum lifetime, with jitter', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const client = createClient({
      keepAlive: { maxLifetime: 100, lifetimeJitter: 0.5, idleTimeout: 30_000 },
      connections: 1,
    });
    t.after(() => client.close());
    const first = await client.request(server.url);
    await first.body.dump();
    const again = await client.request(server.url);
    await again.body.dump();
    assert.equal(again.timings.reused, true, 'young enough to reuse');
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Past its lifetime: the next request is the connection's last, the one after opens a new one.
    const last = await client.request(server.url);
    await last.body.dump();
    const fresh = await client.request(server.url);
    await fresh.body.dump();
    assert.equal(fresh.timings.reused, false);
    assert.equal(server.connections, 2);
  });

  it("is fetch's dispatcher: a redirect to another origin goes to that origin's pool", async (t) => {
    const target = cleanup(t, await startHttpServer({ handler: (_q, r) => void r.end('moved here') }));
    const origin = cleanup(
      t,
      await startHttpServer({
        handler: (_q, r) => {
          r.writeHead(302, { location: `${target.url}/there` });
          r.end();
        },
      }),
    );
    const client = createClient();
    t.after(() => client.close());
    const res = await client.fetch(`${origin.url}/here`);
    assert.equal(await res.text(), 'moved here');
    assert.equal(res.url, `${target.url}/there`);
    assert.deepEqual(Object.keys(client.stats()), [origin.origin], 'the call belongs to the origin asked');
    assert.equal(target.requests, 1);
  });

  it('takes an origin as a string or a URL; refuses none, and every request once closed', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const agent = createAgent(resolveClientOptions({ dns: false, connections: 1 }));
    const errorsSeen: Error[] = [];
    const handler = { onResponseError: (_c: unknown, err: Error) => void errorsSeen.push(err) };
    assert.equal(agent.dispatch({ path: '/', method: 'GET' } as Dispatcher.DispatchOptions, handler), false);
    assert.ok(errorsSeen[0] instanceof errors.InvalidArgumentError);
    assert.throws(
      () => agent.dispatch({ path: '/', method: 'GET', origin: '' }, {}),
      errors.InvalidArgumentError,
      'a handler that cannot take the error: thrown',
    );
    const status = await new Promise<number>((resolve, reject) => {
      agent.dispatch(
        { origin: new URL(`${server.url}/ignored`), path: '/', method: 'GET' },
        {
          onRequestStart: () => {},
          onResponseStart: (_c, statusCode) => resolve(statusCode),
          onResponseData: () => {},
          onResponseEnd: () => {},
          onResponseError: (_c, err) => reject(err),
        },
      );
    });
    assert.equal(status, 200);
    await agent.close();
    assert.equal(
      agent.dispatch({ origin: new URL('http://127.0.0.1:1/x'), path: '/', method: 'GET' }, handler),
      false,
    );
    assert.ok(errorsSeen[1] instanceof errors.ClientClosedError);
  });
});
