// Test certificates made at test time (ECDSA P-256, in memory, PEM strings only): one CA and the
// leaves that exercise each TLS failure Bulwark must name — expired, not yet valid, wrong host,
// self-signed — plus a good one, one that expires soon and a client certificate for mTLS.
// @peculiar/x509's DI container (tsyringe) needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

/** A certificate and its private key, both PEM. */
export interface TlsPair {
  cert: string;
  key: string;
}

export interface TestPki {
  /** The test CA: pass `ca.cert` as `ca` to trust it. */
  ca: TlsPair;
  /** Signed by the CA for localhost, 127.0.0.1, 127.0.0.2 and ::1; valid for a year. */
  valid: TlsPair;
  /** Like `valid` but expired yesterday. */
  expired: TlsPair;
  /** Like `valid` but valid only from tomorrow. */
  notYetValid: TlsPair;
  /** Signed by the CA but only for wrong.example. */
  wrongHost: TlsPair;
  /** Self-signed (not by the CA) for localhost and 127.0.0.1. */
  selfSigned: TlsPair;
  /** Like `valid` but expires in 5 days. */
  expiringSoon: TlsPair;
  /** Signed by the CA for client authentication (mTLS), CN 'bulwark-test-client'. */
  client: TlsPair;
}

export interface LeafOptions {
  /** @default 'localhost' */
  commonName?: string;
  /** DNS subject alternative names. @default ['localhost'] */
  dnsNames?: string[];
  /** IP subject alternative names. @default ['127.0.0.1', '127.0.0.2', '::1'] */
  ips?: string[];
  /** @default one hour ago (tolerates clock skew) */
  notBefore?: Date;
  /** @default a year from now */
  notAfter?: Date;
  /** Issue for client authentication instead of server authentication. @default false */
  client?: boolean;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;

function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
}

async function keyToPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

function importKey(pem: string): Promise<webcrypto.CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), EC, false, ['sign']);
}

/** Creates a self-signed CA that can sign leaves with {@link issueLeaf}. */
export async function createCa(commonName = 'Bulwark Test CA'): Promise<TlsPair> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${commonName}`,
    keys,
    notBefore: new Date(Date.now() - HOUR),
    notAfter: new Date(Date.now() + 10 * 365 * DAY),
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await keyToPem(keys.privateKey) };
}

/** Issues a leaf signed by `ca`, or self-signed when `ca` is null. */
export async function issueLeaf(ca: TlsPair | null, opts: LeafOptions = {}): Promise<TlsPair> {
  const {
    commonName = 'localhost',
    dnsNames = ['localhost'],
    ips = ['127.0.0.1', '127.0.0.2', '::1'],
    notBefore = new Date(Date.now() - HOUR),
    notAfter = new Date(Date.now() + 365 * DAY),
    client = false,
  } = opts;
  const keys = await generateKeys();
  const subject = `CN=${commonName}`;
  const names = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  const usage = client ? x509.ExtendedKeyUsage.clientAuth : x509.ExtendedKeyUsage.serverAuth;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  // RFC 5280 forbids an empty SAN extension; a client certificate can do without one.
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  let cert: x509.X509Certificate;
  if (ca === null) {
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: subject,
      keys,
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING,
      extensions,
    });
  } else {
    const caCert = new x509.X509Certificate(ca.cert);
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey));
    cert = await x509.X509CertificateGenerator.create({
      subject,
      issuer: caCert.subject,
      publicKey: keys.publicKey,
      signingKey: await importKey(ca.key),
      notBefore,
      notAfter,
      signingAlgorithm: SIGNING,
      extensions,
    });
  }
  return { cert: cert.toString('pem'), key: await keyToPem(keys.privateKey) };
}

async function generatePki(): Promise<TestPki> {
  const now = Date.now();
  const ca = await createCa();
  const [valid, expired, notYetValid, wrongHost, selfSigned, expiringSoon, client] = await Promise.all([
    issueLeaf(ca),
    issueLeaf(ca, { notBefore: new Date(now - 60 * DAY), notAfter: new Date(now - DAY) }),
    issueLeaf(ca, { notBefore: new Date(now + DAY), notAfter: new Date(now + 60 * DAY) }),
    issueLeaf(ca, { commonName: 'wrong.example', dnsNames: ['wrong.example'], ips: [] }),
    issueLeaf(null, { ips: ['127.0.0.1'] }),
    issueLeaf(ca, { notAfter: new Date(now + 5 * DAY) }),
    issueLeaf(ca, { commonName: 'bulwark-test-client', dnsNames: [], ips: [], client: true }),
  ]);
  return { ca, valid, expired, notYetValid, wrongHost, selfSigned, expiringSoon, client };
}

let pki: Promise<TestPki> | undefined;

/** The shared test PKI, generated once per process (well under a second). */
export function getTestPki(): Promise<TestPki> {
  pki ??= generatePki();
  return pki;
}
