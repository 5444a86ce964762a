// `probe()` (the `bulwark probe` command in code) with a request header for an endpoint behind
// authentication — shown redacted in the report — and the plain-language hint when the URL's scheme
// does not match the port, on the probe's report and on a client error (narrowed by its layer).
import { createServer } from 'node:http';
import { type CodeOfLayer, createClient, isBulwarkError, probe, SCHEME_HINTS } from 'bulwark';

// A health endpoint that wants a token, on plain HTTP.
const server = createServer((req, res) => {
  res.statusCode = req.headers.authorization === 'Bearer demo-token' ? 200 : 401;
  res.end();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = (server.address() as { port: number }).port;
const client = createClient({ retry: false });

try {
  // 1. With the header (the CLI: bulwark probe URL -H 'Authorization: Bearer demo-token').
  const authed = await probe(`http://127.0.0.1:${port}/health`, {
    headers: { Authorization: 'Bearer demo-token' },
    path: false,
  });
  const sent = authed.layers.http.requestHeaders.map((h) => `${h.name}: ${h.value}`).join(', ');
  console.log(`with the token:    ${authed.verdict}, ${authed.layers.http.status} (sent ${sent})`);
  if (authed.layers.http.status !== 200 || sent.includes('demo-token')) throw new Error('unexpected report');

  // 2. https:// to the plain-HTTP port: the tls layer fails and says what to do.
  const wrong = await probe(`https://127.0.0.1:${port}/health`, { path: false });
  console.log(
    `https:// to http:  ${wrong.verdict} at ${wrong.firstFailed}: ${wrong.layers.tls.reason.split(' (')[0]}`,
  );
  if (wrong.layers.tls.hint !== 'use-http') throw new Error('expected the use-http hint');

  // 3. The client's error carries the same hint; testing the layer narrows the code.
  const err = await client.fetch(`https://127.0.0.1:${port}/health`).catch((e: unknown) => e);
  if (!isBulwarkError(err) || err.layer !== 'tls') throw new Error('expected a tls failure');
  const code: CodeOfLayer<'tls'> = err.code; // only TLS codes type-check here
  console.log(`client.fetch:      ${code}, hint ${err.hint} — ${SCHEME_HINTS['use-http']}`);
  if (err.hint !== 'use-http') throw new Error('expected the use-http hint on the error');
} finally {
  await client.close();
  server.close();
}
