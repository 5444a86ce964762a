// The three-phase connector through the client: each TLS certificate failure keeps its own code,
// each phase its timing, and a reused connection reports no connect time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { type BulwarkError, isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startDnsServer } from '../helpers/dns-server.ts';
import { startHttpServer, startHttpsServer } from '../helpers/http-server.ts';

async function tlsFailure(
  pair: { cert: string; key: string },
  host: string,
  ca: string | undefined,
): Promise<BulwarkError> {
  const server = await startHttpsServer(pair);
  const client = createClient({ retry: false, ...(ca ? { tls: { ca } } : {}) });
  try {
    const err = await client.request(`https://${host}:${server.port}/`).then(
      () => assert.fail('expected a TLS failure'),
      (e: unknown) => e,
    );
    assert.ok(isBulwarkError(err), String(err));
    return err;
  } finally {
    await client.close();
    await server.close();
  }
}

describe('connector', () => {
  it('certificate failures keep their own code, layer tls, never executed, not retryable', async () => {
    const pki = await getTestPki();
    const cases = [
      { pair: pki.expired, code: 'TLS_CERT_EXPIRED' },
      { pair: pki.notYetValid, code: 'TLS_CERT_NOT_YET_VALID' },
      { pair: pki.wrongHost, code: 'TLS_HOSTNAME_MISMATCH' },
      { pair: pki.selfSigned, code: 'TLS_UNTRUSTED' },
    ] as const;
    for (const { pair, code } of cases) {
      const err = await tlsFailure(pair, 'localhost', pki.ca.cert);
      assert.equal(err.code, code);
      assert.equal(err.layer, 'tls');
      assert.equal(err.mayHaveExecuted, false);
      assert.equal(err.retryable, false);
      assert.equal(err.target?.host, 'localhost');
      assert.ok(err.timings?.connect !== undefined, 'the TCP phase completed and was timed');
    }
    const untrusted = await tlsFailure(pki.valid, 'localhost', undefined);
    assert.equal(untrusted.code, 'TLS_UNTRUSTED', 'a valid certificate from a CA the client does not trust');
  });

  it('plain HTTP spoken to a TLS client fails the handshake', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const client = createClient({ retry: false });
    t.after(() => client.close());
    const err = await client.request(`https://127.0.0.1:${server.port}/`).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.layer, 'tls');
    assert.equal(err.code, 'TLS_HANDSHAKE_FAILED');
  });

  it('timings: dns, connect and tls on a new connection to a name; zeros and reused on the next', async (t) => {
    const pki = await getTestPki();
    const server = cleanup(t, await startHttpsServer(pki.valid));
    const dns = cleanup(t, await startDnsServer());
    dns.setRecords('secure.test', { A: ['127.0.0.1'], ttl: 60 });
    // The test CA's leaf covers localhost and 127.0.0.1; SNI and verification use the name given.
    const client = createClient({
      dns: { servers: [dns.address] },
      tls: { ca: pki.ca.cert, checkServerIdentity: () => undefined },
      connections: 1,
    });
    t.after(() => client.close());
    const first = await client.request(`https://secure.test:${server.port}/`);
    await first.body.dump();
    assert.equal(first.timings.reused, false);
    assert.ok(first.timings.dns !== undefined && first.timings.dns > 0, `dns ${first.timings.dns}`);
    assert.ok(first.timings.connect !== undefined && first.timings.connect > 0);
    assert.ok(first.timings.tls !== undefined && first.timings.tls > 0);
    assert.ok(first.timings.ttfb !== undefined && first.timings.ttfb > 0);
    const second = await client.request(`https://secure.test:${server.port}/`);
    await second.body.dump();
    assert.deepEqual(
      {
        dns: second.timings.dns,
        connect: second.timings.connect,
        tls: second.timings.tls,
        reused: second.timings.reused,
      },
      { dns: 0, connect: 0, tls: 0, reused: true },
    );
    assert.equal(dns.queries('secure.test', 'A'), 1, 'the second request did not ask DNS');
    const stats = client.stats()[`https://secure.test:${server.port}`]!;
    assert.equal(stats.latency.tls.count, 1);
  });

  it('an invalid host name fails as DNS_NOT_FOUND without a query', async (t) => {
    const dns = cleanup(t, await startDnsServer());
    const client = createClient({ dns: { servers: [dns.address] }, retry: false });
    t.after(() => client.close());
    const err = await client.request(`http://${'a'.repeat(64)}.test/`).catch((e: unknown) => e);
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'DNS_NOT_FOUND');
    assert.equal(dns.totalQueries, 0);
  });

  it('with dns: false the system resolver answers (localhost)', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const client = createClient({ dns: false });
    t.after(() => client.close());
    assert.equal(client.dns, undefined);
    const res = await client.request(`http://localhost:${server.port}/`);
    assert.equal(await res.body.text(), 'ok');
  });
});
