// Behind a forward proxy: createClient({ proxy }) sends plain http through it with the absolute
// URL and tunnels https with CONNECT; every policy still applies, and a proxy that refuses is an
// HTTP_PROXY error rather than a mystery. `proxy: 'env'` follows HTTP_PROXY / HTTPS_PROXY / NO_PROXY.
// A tiny proxy runs here on loopback, so the example needs no network.
import { createServer, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { createClient, isBulwarkError } from 'bulwark';

// The upstream service.
const api = createServer((req, res) => res.end(`hello from the API (${req.url})`));
await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
const apiUrl = `http://127.0.0.1:${(api.address() as { port: number }).port}`;

// A forward proxy that wants credentials: absolute-URI requests are forwarded, CONNECT tunnels.
const credentials = `Basic ${Buffer.from('me:secret').toString('base64')}`;
const sockets = new Set<Socket>();
const proxy = createServer((req, res) => {
  if (req.headers['proxy-authorization'] !== credentials) return void res.writeHead(407).end();
  const target = new URL(req.url ?? '');
  const out = request(
    { host: target.hostname, port: target.port, path: target.pathname, agent: false },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  out.on('error', () => res.writeHead(502).end());
  out.end();
});
proxy.on('connection', (s: Socket) => sockets.add(s).size);
proxy.on('connect', (req, client: Socket) => {
  if (req.headers['proxy-authorization'] !== credentials)
    return void client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
  const [host, port] = (req.url ?? '').split(':');
  const upstream = connect(Number(port), host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.pipe(client).pipe(upstream);
  });
  upstream.on('error', () => client.destroy());
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;

// With credentials: the call goes through the proxy.
const client = createClient({ proxy: { uri: proxyUrl, token: credentials } });
const res = await client.fetch(`${apiUrl}/v1/users`);
console.log(res.status, await res.text());

// Tunnelled (as https always is), through the same proxy.
const tunnelled = createClient({ proxy: { uri: proxyUrl, token: credentials, tunnel: true } });
const { statusCode, body } = await tunnelled.request(`${apiUrl}/v1/orders`);
console.log(statusCode, await body.text(), '(through CONNECT)');

// Without credentials the proxy answers 407: an HTTP_PROXY error, not retried.
const anonymous = createClient({ proxy: proxyUrl });
try {
  await anonymous.fetch(`${apiUrl}/v1/users`);
} catch (err) {
  if (!isBulwarkError(err)) throw err;
  console.log(
    `no credentials: layer=${err.layer} code=${err.code} retryable=${err.retryable} attempts=${err.attempts}`,
  );
}

// From the environment, as curl and most tools do (read when the client is created).
process.env.HTTP_PROXY = `http://me:secret@127.0.0.1:${new URL(proxyUrl).port}`;
const fromEnv = createClient({ proxy: 'env' });
console.log('env:', (await fromEnv.fetch(`${apiUrl}/env`)).status);

await Promise.all([client.close(), tunnelled.close(), anonymous.close(), fromEnv.close()]);
for (const s of sockets) s.destroy();
api.close();
proxy.close();
