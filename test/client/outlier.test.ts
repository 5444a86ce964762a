/**
 * Outlier ejection end to end on loopback: a name resolving (through a real DNS server) to
 * 127.0.0.1–127.0.0.4, an HTTP server on each at the same port, one of them answering 503 or not
 * listening at all. The bad address is ejected, calls go to the other three, it returns after the
 * ejection time, never all are ejected; `outlier: false` leaves everything as it was.
 */
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it, type TestContext } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import type { ClientOptions } from '../../src/client/options.ts';
import type { OutlierEjectEvent, OutlierReturnEvent } from '../../src/transport/outlier-detection.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];

/** Servers on `listening` of the four addresses (same port), and a name resolving to all four. */
async function fleet(t: TestContext, listening = ADDRESSES) {
  const servers = new Map<string, TestHttpServer>();
  let port = 0;
  for (const host of listening) {
    const s = cleanup(t, await startHttpServer({ host, port }));
    port = s.port;
    servers.set(host, s);
  }
  const dns = cleanup(t, await startDnsServer());
  dns.setRecords('svc.test', { A: ADDRESSES, ttl: 300 });
  return { servers, dns, url: `http://svc.test:${port}/`, origin: `http://svc.test:${port}` };
}

function client(t: TestContext, dnsAddress: string, options: ClientOptions = {}) {
  const c = createClient({ dns: { servers: [dnsAddress] }, retry: false, breaker: false, ...options });
  t.after(() => c.close());
  return c;
}

/** `total` calls, `concurrency` at a time; the statuses seen. */
async function calls(c: ReturnType<typeof createClient>, url: string, total: number, concurrency = 8) {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) {
        const res = await c.request(url);
        await res.body.dump();
        statuses.push(res.statusCode);
      }
    }),
  );
  return statuses;
}

function listen<T>(t: TestContext, name: string): T[] {
  const seen: T[] = [];
  const listener = (m: unknown) => seen.push(m as T);
  subscribe(name, listener);
  t.after(() => unsubscribe(name, listener));
  return seen;
}

const unavailable = (_req: unknown, res: import('node:http').ServerResponse) => {
  res.writeHead(503);
  res.end('down');
};

describe('outlier ejection on loopback', () => {
  it('ejects the address answering 503: calls go to the other three', async (t) => {
    const { servers, dns, url, origin } = await fleet(t);
    servers.get('127.0.0.3')!.handle(unavailable);
    const ejects = listen<OutlierEjectEvent>(t, 'bulwark:outlier:eject');
    const c = client(t, dns.address, { keepAlive: { idleTimeout: 300 } });
    const statuses = await calls(c, url, 400);
    const bad = servers.get('127.0.0.3')!.requests;
    assert.ok(bad >= 5, `the bad address was tried (${bad})`);
    // Five in a row eject it; at most the calls already on its connections follow.
    assert.ok(bad <= 5 + 8, `then no more calls reached it (${bad})`);
    assert.equal(statuses.filter((s) => s === 503).length, bad);
    for (const good of ['127.0.0.1', '127.0.0.2', '127.0.0.4']) {
      assert.ok(servers.get(good)!.requests > 0, `${good} took calls`);
    }
    assert.deepEqual(
      ejects.map((e) => [e.origin, e.address, e.reason]),
      [[origin, '127.0.0.3', 'consecutive-failures']],
    );
    const addresses = c.stats()[origin]!.addresses!;
    assert.deepEqual(Object.keys(addresses).sort(), ADDRESSES);
    assert.equal(addresses['127.0.0.3']!.ejected, true);
    assert.equal(addresses['127.0.0.3']!.timesEjected, 1);
    assert.equal(addresses['127.0.0.3']!.failures, bad);
    assert.equal(addresses['127.0.0.1']!.ejected, false);
    // Its pooled connections were retired: a busy one takes no request after its response, and
    // is closed by the first request that finds it idle or by the keep-alive idle timeout.
    await waitFor(() => servers.get('127.0.0.3')!.openSockets === 0, 'its connections to close');
  });

  // undici behaviour relied on (docs/architecture.md): a request dispatched to a Client whose
  // socket was just destroyed waits for the new connection instead of failing.
  it('a connection busy at the ejection takes no other request: the next reconnects elsewhere', async (t) => {
    const { servers, dns, url } = await fleet(t, ADDRESSES.slice(0, 2));
    dns.setRecords('svc.test', { A: ADDRESSES.slice(0, 2), ttl: 300 });
    const first = servers.get('127.0.0.1')!;
    first.handle(unavailable);
    // One connection per origin: the first goes to 127.0.0.1 (the rotation starts there).
    const c = client(t, dns.address, { connections: 1 });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await c.request(url);
      // The fifth 503 ejects the address while this response is still running on its connection.
      await res.body.dump();
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [503, 503, 503, 503, 503]);
    const res = await c.request(url);
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(res.timings.reused, false, 'a new connection');
    assert.equal(first.requests, 5);
    assert.equal(servers.get('127.0.0.2')!.requests, 1);
    await waitFor(() => first.openSockets === 0, 'the old connection to close');
  });

  it('returns it after the ejection time, and it takes calls again', async (t) => {
    const { servers, dns, url, origin } = await fleet(t);
    const bad = servers.get('127.0.0.2')!;
    bad.handle(unavailable);
    const returns = listen<OutlierReturnEvent>(t, 'bulwark:outlier:return');
    const c = client(t, dns.address, { outlier: { baseEjectionTime: 300 } });
    await calls(c, url, 100);
    assert.equal(c.stats()[origin]!.addresses!['127.0.0.2']!.ejected, true);
    bad.handle((_req, res) => {
      res.end('ok');
    });
    const before = bad.requests;
    await new Promise((resolve) => setTimeout(resolve, 350));
    assert.equal(c.stats()[origin]!.addresses!['127.0.0.2']!.ejected, false);
    assert.deepEqual(
      returns.map((r) => [r.origin, r.address]),
      [[origin, '127.0.0.2']],
    );
    // New connections take it in turn again (more in flight than there are pooled connections).
    for (let round = 0; round < 20 && bad.requests === before; round++) await calls(c, url, 64, 32);
    assert.ok(bad.requests > before, 'the returned address takes calls again');
  });

  it('ejects an address that refuses connections (counted per connect by happy eyeballs)', async (t) => {
    // Nothing listens on 127.0.0.4; every response closes its connection, so each call connects.
    const { servers, dns, url, origin } = await fleet(t, ADDRESSES.slice(0, 3));
    for (const s of servers.values()) {
      s.handle((_req, res) => {
        res.setHeader('connection', 'close');
        res.end('ok');
      });
    }
    const ejects = listen<OutlierEjectEvent>(t, 'bulwark:outlier:eject');
    const c = client(t, dns.address);
    const statuses = await calls(c, url, 80, 4);
    assert.ok(
      statuses.every((s) => s === 200),
      'every call answered (happy eyeballs moved on)',
    );
    assert.deepEqual(
      ejects.map((e) => e.address),
      ['127.0.0.4'],
    );
    const s = c.stats()[origin]!.addresses!['127.0.0.4']!;
    assert.equal(s.ejected, true);
    assert.equal(s.requests, s.failures);
  });

  it('never ejects them all: with every address failing, one still takes the calls', async (t) => {
    const { servers, dns, url, origin } = await fleet(t);
    for (const s of servers.values()) s.handle(unavailable);
    const c = client(t, dns.address, { outlier: { maxEjectedPercent: 100 } });
    const statuses = await calls(c, url, 200);
    assert.equal(statuses.length, 200);
    assert.ok(statuses.every((s) => s === 503));
    const addresses = Object.values(c.stats()[origin]!.addresses!);
    assert.equal(addresses.filter((a) => a.ejected).length, 3);
    // At the default 50 %: two.
    const half = client(t, dns.address);
    await calls(half, url, 200);
    assert.equal(Object.values(half.stats()[origin]!.addresses!).filter((a) => a.ejected).length, 2);
  });

  it('outlier: false keeps no per-address state and ejects nothing', async (t) => {
    const { servers, dns, url, origin } = await fleet(t);
    servers.get('127.0.0.1')!.handle(unavailable);
    const c = client(t, dns.address, { outlier: false });
    const statuses = await calls(c, url, 100);
    assert.equal(c.stats()[origin]!.addresses, null);
    // Without it every connection goes to the first address of the answer, bad or not.
    assert.equal(statuses.filter((s) => s === 503).length, 100);
  });

  it('an IP-literal origin is never judged', async (t) => {
    const { servers, dns } = await fleet(t, ['127.0.0.1']);
    const s = servers.get('127.0.0.1')!;
    s.handle(unavailable);
    const c = client(t, dns.address);
    await calls(c, `http://127.0.0.1:${s.port}/`, 20);
    assert.deepEqual(c.stats()[`http://127.0.0.1:${s.port}`]!.addresses, {});
  });
});
