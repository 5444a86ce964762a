// Certificates as a signal in the client: stats() shows, per origin, the certificate of the last
// full TLS handshake — read from the connections the client makes anyway, no extra handshake —
// and `bulwark:tls:expiring` fires once per certificate that expires within 14 days.
import assert from 'node:assert/strict';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { describe, it, type TestContext } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import { getTestPki, type TlsPair } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer, startHttpsServer } from '../helpers/http-server.ts';

const CHANNEL = 'bulwark:tls:expiring';

/** Collects the channel's messages for the rest of the test. */
function listen(t: TestContext): unknown[] {
  const messages: unknown[] = [];
  const onMessage = (message: unknown): void => {
    messages.push(message);
  };
  subscribe(CHANNEL, onMessage);
  t.after(() => unsubscribe(CHANNEL, onMessage));
  return messages;
}

/** Two requests, each on a new connection, to an HTTPS server with `pair`; returns the client's stats. */
async function twoConnections(t: TestContext, pair: TlsPair) {
  const pki = await getTestPki();
  const server = cleanup(t, await startHttpsServer({ ...pair }));
  server.handle((_req, res) => {
    res.setHeader('connection', 'close');
    res.end('ok');
  });
  const client = createClient({ retry: false, tls: { ca: pki.ca.cert } });
  t.after(() => client.close());
  for (let i = 0; i < 2; i++) await (await client.request(`https://localhost:${server.port}/`)).body.dump();
  assert.equal(server.connections, 2, 'one TCP connection per request: no handshake of its own');
  return client.stats()[`https://localhost:${server.port}`]!;
}

describe('stats().certificate and bulwark:tls:expiring', { concurrency: true }, () => {
  it('a certificate expiring in 5 days: in stats(), and announced once on bulwark:tls:expiring', async (t) => {
    const pki = await getTestPki();
    const messages = listen(t);
    const stats = await twoConnections(t, pki.expiringSoon);
    const cert = stats.certificate;
    assert.ok(cert !== null);
    assert.equal(cert.subject, 'CN=localhost');
    assert.equal(cert.issuer, 'CN=Bulwark Test CA');
    assert.ok(cert.daysUntilExpiry >= 4 && cert.daysUntilExpiry <= 5, String(cert.daysUntilExpiry));
    assert.ok(Math.abs(Date.parse(cert.validTo) - (Date.now() + 5 * 86_400_000)) < 86_400_000, cert.validTo);
    assert.match(cert.fingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.equal(cert.address, '127.0.0.1');
    assert.ok(!Number.isNaN(Date.parse(cert.seenAt)));

    const mine = messages.filter((m) => (m as { origin: string }).origin === stats.origin);
    assert.equal(mine.length, 1, 'once per origin and certificate');
    assert.deepEqual(mine[0], {
      origin: stats.origin,
      host: 'localhost',
      address: '127.0.0.1',
      subject: 'CN=localhost',
      issuer: 'CN=Bulwark Test CA',
      validTo: cert.validTo,
      daysUntilExpiry: cert.daysUntilExpiry,
      fingerprint256: cert.fingerprint256,
    });
  });

  it('a certificate valid for a year: in stats(), nothing announced', async (t) => {
    const pki = await getTestPki();
    const messages = listen(t);
    const stats = await twoConnections(t, pki.valid);
    assert.ok(stats.certificate !== null && stats.certificate.daysUntilExpiry >= 360);
    assert.equal(messages.filter((m) => (m as { origin: string }).origin === stats.origin).length, 0);
  });

  it('plain http: no certificate', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const client = createClient();
    t.after(() => client.close());
    await (await client.request(server.url)).body.dump();
    assert.equal(client.stats()[server.url]!.certificate, null);
  });
});
