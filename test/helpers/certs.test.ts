// Proves each test certificate fails (or passes) a real TLS handshake for the reason its name
// promises, with the error code Node reports.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import tls from 'node:tls';
import { createCa, getTestPki, issueLeaf, type TlsPair } from './certs.ts';
import { startHttpsServer } from './http-server.ts';

const DAY = 24 * 3_600_000;

/** Handshakes with a server presenting `leaf`; resolves 'authorized' or the error code. */
async function handshake(
  leaf: TlsPair,
  client: tls.ConnectionOptions,
  host = '127.0.0.1',
): Promise<string | undefined> {
  const server = await startHttpsServer({ ...leaf, host });
  try {
    return await new Promise((resolve) => {
      const socket = tls.connect({ host, port: server.port, ...client }, () => {
        socket.destroy();
        resolve('authorized');
      });
      socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code));
    });
  } finally {
    await server.close();
  }
}

test('getTestPki() is generated once per process', async () => {
  const [a, b] = await Promise.all([getTestPki(), getTestPki()]);
  assert.equal(a, b);
  assert.equal(await getTestPki(), a);
  for (const pair of Object.values(a)) {
    assert.match(pair.cert, /^-----BEGIN CERTIFICATE-----/);
    assert.match(pair.key, /^-----BEGIN PRIVATE KEY-----/);
  }
});

/**
 * Node 22's tls.checkServerIdentity() cannot match an IPv6 address against an IP SAN (it takes
 * the address for a DNS name), so a TLS connect by IPv6 address fails with
 * ERR_TLS_CERT_ALTNAME_INVALID there whatever the certificate says. Node 24 matches it.
 */
const matchesIpv6Sans =
  tls.checkServerIdentity('::1', {
    subject: {},
    subjectaltname: 'IP Address:0:0:0:0:0:0:0:1',
  } as unknown as tls.PeerCertificate) === undefined;

test('valid: trusted through the CA for localhost, 127.0.0.1, 127.0.0.2 and ::1', async (t) => {
  const { ca, valid } = await getTestPki();
  assert.equal(await handshake(valid, { ca: ca.cert }), 'authorized');
  assert.equal(await handshake(valid, { ca: ca.cert, servername: 'localhost' }), 'authorized');
  assert.equal(await handshake(valid, { ca: ca.cert }, '127.0.0.2'), 'authorized');
  if (matchesIpv6Sans) {
    assert.equal(await handshake(valid, { ca: ca.cert }, '::1'), 'authorized');
  } else {
    t.diagnostic(`Node ${process.version} cannot match IPv6 SANs; ::1 checked by name`);
    assert.equal(await handshake(valid, { ca: ca.cert, servername: 'localhost' }, '::1'), 'authorized');
  }
  assert.equal(await handshake(valid, {}), 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
});

test('each broken leaf fails for its own reason', async () => {
  const pki = await getTestPki();
  const trust = { ca: pki.ca.cert };
  assert.equal(await handshake(pki.expired, trust), 'CERT_HAS_EXPIRED');
  assert.equal(await handshake(pki.notYetValid, trust), 'CERT_NOT_YET_VALID');
  assert.equal(await handshake(pki.wrongHost, trust), 'ERR_TLS_CERT_ALTNAME_INVALID');
  assert.equal(await handshake(pki.selfSigned, trust), 'DEPTH_ZERO_SELF_SIGNED_CERT');
  assert.equal(await handshake(pki.selfSigned, { ca: pki.selfSigned.cert }), 'authorized');
});

test('expiringSoon is valid and expires in about 5 days', async () => {
  const { ca, expiringSoon } = await getTestPki();
  assert.equal(await handshake(expiringSoon, { ca: ca.cert }), 'authorized');
  const left = Date.parse(new X509Certificate(expiringSoon.cert).validTo) - Date.now();
  assert.ok(left > 4 * DAY && left < 6 * DAY, `expires in ${left / DAY} days`);
});

test('leaves carry the names and issuers they claim', async () => {
  const pki = await getTestPki();
  const ca = new X509Certificate(pki.ca.cert);
  assert.equal(ca.ca, true);
  const valid = new X509Certificate(pki.valid.cert);
  assert.equal(valid.checkHost('localhost'), 'localhost');
  assert.equal(valid.checkIP('127.0.0.2'), '127.0.0.2');
  assert.equal(valid.checkIP('::1'), '::1');
  assert.ok(valid.verify(ca.publicKey));
  assert.equal(valid.checkPrivateKey(createPrivateKey(pki.valid.key)), true);
  const wrong = new X509Certificate(pki.wrongHost.cert);
  assert.equal(wrong.checkHost('localhost'), undefined);
  assert.equal(wrong.checkIP('127.0.0.1'), undefined);
  assert.equal(new X509Certificate(pki.selfSigned.cert).verify(ca.publicKey), false);
  assert.match(new X509Certificate(pki.client.cert).keyUsage?.join() ?? '', /1\.3\.6\.1\.5\.5\.7\.3\.2/);
});

test('createCa and issueLeaf make custom chains', async () => {
  const other = await createCa('Other CA');
  const leaf = await issueLeaf(other, { commonName: 'api.test', dnsNames: ['api.test'], ips: [] });
  const { ca } = await getTestPki();
  assert.equal(await handshake(leaf, { ca: other.cert, servername: 'api.test' }), 'authorized');
  assert.equal(
    await handshake(leaf, { ca: ca.cert, servername: 'api.test' }),
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  );
});
