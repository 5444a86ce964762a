// Layered budgets through the real client: the total deadline holds across attempts and sleeps,
// every timeout names the layer it expired in and which budget ran out, phase timeouts fire on
// their own, and the remaining budget can be propagated to the server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { undiciHeadersTimeout } from '../../src/http/undici-timeouts.ts';
import { TIMEOUT_DEFAULTS } from '../../src/policy/timeouts.ts';
import { bulwarkFailure } from '../helpers/bulwark-failure.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { startSilentServer } from '../helpers/raw-server.ts';
import { startUnacceptingListener } from '../helpers/unaccepting-listener.ts';

const failure = bulwarkFailure;

describe('deadlines', () => {
  it('the total budget holds across attempts and backoff sleeps; the error names the http layer', async (t) => {
    const silent = cleanup(t, await startSilentServer());
    const client = createClient({
      timeout: { total: 600, attempt: 250 },
      retry: { backoff: { base: 50 } },
    });
    t.after(() => client.close());
    const started = performance.now();
    const err = await failure(client.request(`http://127.0.0.1:${silent.port}/slow`));
    const elapsed = performance.now() - started;
    assert.equal(err.layer, 'http');
    assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
    assert.ok(err.budget === 'attempt' || err.budget === 'total', String(err.budget));
    assert.ok(err.attempts >= 2, `attempts ${err.attempts}`);
    assert.ok(elapsed < 600 + 400, `settled after ${elapsed.toFixed(0)} ms (total 600)`);
    assert.equal(err.request?.path, '/slow');
    assert.equal(err.mayHaveExecuted, true);
  });

  it('a total deadline that expires during the TLS handshake is TLS_TIMEOUT with budget total', async (t) => {
    const silent = cleanup(t, await startSilentServer());
    const client = createClient({ timeout: { total: 300 }, retry: false });
    t.after(() => client.close());
    const err = await failure(client.fetch(`https://127.0.0.1:${silent.port}/`));
    assert.equal(err.layer, 'tls');
    assert.equal(err.code, 'TLS_TIMEOUT');
    assert.equal(err.budget, 'total');
    assert.equal(err.mayHaveExecuted, false);
    assert.equal(err.target?.address, '127.0.0.1');
  });

  it('the same through client.request, settling at the deadline rather than at the phase timeout', async (t) => {
    const silent = cleanup(t, await startSilentServer());
    const client = createClient({ retry: false });
    t.after(() => client.close());
    const started = performance.now();
    const err = await failure(
      client.request(`https://127.0.0.1:${silent.port}/`, { timeout: { total: 150 } }),
    );
    assert.equal(err.code, 'TLS_TIMEOUT');
    assert.equal(err.budget, 'total');
    assert.ok(performance.now() - started < 1_500, 'not held until the 3 s TLS phase timeout');
  });

  it('the TLS phase timeout fires on its own, with budget phase', async (t) => {
    const silent = cleanup(t, await startSilentServer());
    const client = createClient({ timeout: { tls: 150 }, retry: false });
    t.after(() => client.close());
    const err = await failure(client.request(`https://127.0.0.1:${silent.port}/`));
    assert.equal(err.code, 'TLS_TIMEOUT');
    assert.equal(err.budget, 'phase');
    assert.ok(err.timings?.connect !== undefined, 'connect time so far is reported');
  });

  it('a headers timeout shorter than the attempt budget fires on its own, through both front-ends', async (t) => {
    // (Bulwark hands undici the body timeout for the headers phase only when the attempt's own
    // deadline always comes first: see undiciHeadersTimeout.)
    const silent = cleanup(t, await startSilentServer());
    const client = createClient({ timeout: { headers: 150, attempt: 5_000 }, retry: false });
    t.after(() => client.close());
    const url = `http://127.0.0.1:${silent.port}/`;
    for (const call of [() => client.request(url), () => client.fetch(url)]) {
      const started = performance.now();
      const err = await failure(call());
      assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
      assert.equal(err.budget, 'phase');
      assert.ok(performance.now() - started < 2_500, 'not held until the attempt deadline');
    }
    // A per-call override of the headers timeout reaches undici too.
    const other = createClient({ retry: false });
    t.after(() => other.close());
    const err = await failure(other.request(url, { timeout: { headers: 150, attempt: 5_000 } }));
    assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
    assert.equal(err.budget, 'phase');
  });

  it('undici gets the body timeout for the headers phase only when it cannot fire before the attempt deadline', () => {
    const t = { ...TIMEOUT_DEFAULTS };
    assert.equal(undiciHeadersTimeout(t), t.body, 'defaults: headers = attempt ≤ body');
    assert.equal(undiciHeadersTimeout({ ...t, headers: 2_000 }), 2_000);
    assert.equal(undiciHeadersTimeout({ ...t, headers: 20_000 }), t.body);
    // A body timeout shorter than the attempt budget must not cut the wait for the headers.
    assert.equal(undiciHeadersTimeout({ ...t, body: 500 }), 0, 'no headers timer of undici');
    assert.equal(undiciHeadersTimeout({ ...t, body: 500, headers: 2_000 }), 2_000);
  });

  it('a blackholed TCP connect: TCP_TIMEOUT, by phase and by the attempt budget', async (t) => {
    const listener = cleanup(t, await startUnacceptingListener());
    const byPhase = createClient({ timeout: { connect: 150 }, retry: false });
    t.after(() => byPhase.close());
    const a = await failure(byPhase.request(`http://127.0.0.1:${listener.port}/`));
    assert.equal(a.layer, 'tcp');
    assert.equal(a.code, 'TCP_TIMEOUT');
    assert.equal(a.budget, 'phase');
    assert.equal(a.mayHaveExecuted, false);

    const byAttempt = createClient({ timeout: { attempt: 150 }, retry: false });
    t.after(() => byAttempt.close());
    const b = await failure(byAttempt.fetch(`http://127.0.0.1:${listener.port}/`));
    assert.equal(b.code, 'TCP_TIMEOUT');
    assert.equal(b.budget, 'attempt');
  });

  it('a silent DNS server: DNS_TIMEOUT', async (t) => {
    const dns = cleanup(t, await startDnsServer());
    dns.silence('api.test');
    const client = createClient({ dns: { servers: [dns.address] }, timeout: { dns: 200 }, retry: false });
    t.after(() => client.close());
    const err = await failure(client.request('http://api.test:8080/'));
    assert.equal(err.layer, 'dns');
    assert.equal(err.code, 'DNS_TIMEOUT');
    assert.equal(err.target?.host, 'api.test');
    assert.equal(err.target?.port, 8080);
  });

  it('waiting for a connection past the deadline is the pool layer', async (t) => {
    const silent = cleanup(t, await startSilentServer());
    const client = createClient({ connections: 1, timeout: { total: 5_000 }, retry: false });
    t.after(() => client.close());
    const url = `http://127.0.0.1:${silent.port}/`;
    const first = client.request(url, { timeout: { total: 1_000 } }).catch((e: unknown) => e);
    const err = await failure(client.request(url, { timeout: { total: 200 } }));
    assert.equal(err.layer, 'pool');
    assert.equal(err.code, 'POOL_ACQUIRE_TIMEOUT');
    assert.equal(err.budget, 'total');
    assert.equal(err.mayHaveExecuted, false);
    await client.close();
    await first;
  });

  it('a per-call timeout overrides the client budget', async (t) => {
    const silent = cleanup(t, await startSilentServer());
    const client = createClient({ retry: false });
    t.after(() => client.close());
    const started = performance.now();
    const err = await failure(client.fetch(`http://127.0.0.1:${silent.port}/`, { timeout: 150 }));
    assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
    assert.equal(err.budget, 'total');
    assert.ok(performance.now() - started < 2_000);
  });

  it('propagates the remaining budget in a header when asked', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const seen: string[] = [];
    server.handle((req, res) => {
      seen.push(String(req.headers['x-deadline-ms']));
      res.end('ok');
    });
    const client = createClient({ deadlineHeader: 'X-Deadline-Ms', timeout: { total: 5_000 } });
    t.after(() => client.close());
    await (await client.request(server.url)).body.dump();
    await (await client.fetch(server.url, { headers: { a: 'b' } })).text();
    assert.equal(seen.length, 2);
    for (const v of seen) {
      const ms = Number(v);
      assert.ok(ms > 4_000 && ms <= 5_000, v);
    }
    const plain = createClient();
    t.after(() => plain.close());
    await (await plain.request(server.url)).body.dump();
    assert.equal(seen[2], 'undefined', 'off by default');
  });

  it('https with the test CA: the TLS phase is timed', async (t) => {
    const pki = await getTestPki();
    const server = cleanup(
      t,
      await (await import('../helpers/http-server.ts')).startHttpsServer({ ...pki.valid }),
    );
    const client = createClient({ tls: { ca: pki.ca.cert } });
    t.after(() => client.close());
    const res = await client.request(`https://localhost:${server.port}/`);
    await res.body.dump();
    assert.equal(res.statusCode, 200);
    assert.equal(res.timings.reused, false);
    assert.ok(res.timings.tls !== undefined && res.timings.tls > 0, `tls ${res.timings.tls}`);
    assert.ok(res.timings.connect !== undefined && res.timings.connect > 0);
  });
});
