// HTTP/2 with `allowH2`: the TLS handshake offers h2 first, so a server that speaks it gets every
// request multiplexed on one connection, and one that does not gets HTTP/1.1. A stream the server
// refuses (REFUSED_STREAM: it never processed it) is retried even for a POST.
import 'reflect-metadata'; // for @peculiar/x509, which makes this demo's throwaway certificate
import { webcrypto } from 'node:crypto';
import http2 from 'node:http2';
import * as x509 from '@peculiar/x509';
import { createClient, isBulwarkError } from 'bulwark';

// A self-signed certificate for 127.0.0.1 (your servers have real ones).
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
const key = x509.PemConverter.encode(
  await webcrypto.subtle.exportKey('pkcs8', keys.privateKey),
  'PRIVATE KEY',
);

// An HTTP/2 server (allowHTTP1 too) that refuses every third stream.
let streams = 0;
const server = http2.createSecureServer({ cert: cert.toString('pem'), key, allowHTTP1: true });
server.on('stream', (stream, headers) => {
  stream.on('error', () => {}); // a refused stream errors on the server's side too
  if (++streams % 3 === 0) {
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'text/plain' });
  stream.end(`${headers[':method']} ${headers[':path']} over h2`);
});
server.on('request', (req, res) => {
  if (req.httpVersion !== '2.0') res.end(`${req.method} ${req.url} over HTTP/${req.httpVersion}`);
});
let sessions = 0;
server.on('session', () => sessions++);
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `https://127.0.0.1:${(server.address() as { port: number }).port}`;

const tls = { ca: cert.toString('pem') };
const h2 = createClient({ allowH2: true, tls });
const h1 = createClient({ tls }); // allowH2 is off by default

// Ten requests at once: one connection, ten streams (a refused one is retried by the rules).
const results = await Promise.all(
  Array.from({ length: 10 }, (_, i) => h2.request(`${url}/orders/${i}`, { method: 'POST', body: '{}' })),
);
for (const res of results.slice(0, 2)) console.log(res.statusCode, await res.body.text()); // 200 POST /orders/0 over h2
for (const res of results.slice(2)) await res.body.dump();
// undici replays a refused stream once itself; Bulwark retries when that fails too (attempts 2).
console.log(`10 requests, ${sessions} connection(s), attempts: ${results.map((r) => r.attempts).join(' ')}`);

// Without allowH2 the same server is spoken to in HTTP/1.1.
const res = await h1.fetch(`${url}/health`);
console.log(res.status, await res.text()); // 200 GET /health over HTTP/1.1

// A server that refuses every stream: the POST is retried (it never ran), then the error says so.
server.removeAllListeners('stream');
server.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
});
try {
  await h2.request(`${url}/orders`, { method: 'POST', body: '{}', retry: { limit: 1 } });
} catch (err) {
  if (!isBulwarkError(err)) throw err;
  // HTTP_STREAM_REFUSED http mayHaveExecuted=false attempts=2
  console.log(err.code, err.layer, `mayHaveExecuted=${err.mayHaveExecuted}`, `attempts=${err.attempts}`);
}

await h2.close();
await h1.close();
server.close();
