/**
 * A throwaway self-signed certificate for 127.0.0.1 (ECDSA P-256, a day long), for benches that
 * need a TLS upstream: the server presents it, the client trusts it as its CA.
 */
import 'reflect-metadata'; // @peculiar/x509's DI container needs the Reflect metadata API first
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

export interface SelfSigned {
  /** PEM certificate, also the CA to trust. */
  readonly cert: string;
  /** PEM private key (PKCS#8). */
  readonly key: string;
}

/** A new certificate for 127.0.0.1. */
export async function selfSigned(): Promise<SelfSigned> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: 'CN=127.0.0.1',
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() + 86_400_000),
      keys,
      signingAlgorithm: alg,
      extensions: [new x509.SubjectAlternativeNameExtension([{ type: 'ip', value: '127.0.0.1' }])],
    },
    webcrypto,
  );
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: cert.toString('pem'), key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') };
}
