// A breaker per route (breaker.key): an endpoint that keeps failing opens its own breaker, and the
// rest of the upstream keeps being served. Idle keys expire and maxKeys bounds the live ones, so
// a key per user or tenant is safe too. stats() reports each key.
import { createServer } from 'node:http';
import { createClient, isBulwarkError } from 'bulwark';

// An upstream whose /reports endpoint is broken (its connections reset); the rest works.
const server = createServer((req, res) => {
  if (req.url?.startsWith('/reports')) req.socket.destroy();
  else res.end(JSON.stringify({ ok: true, path: req.url }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
const origin = `http://127.0.0.1:${port}`;

const client = createClient({
  retry: false, // to see every failure here; with retries each attempt is a sample of the key's breaker
  breaker: {
    key: ({ method, path }) => `${method} ${path.split('?')[0]}`, // one breaker per route
    minimumCalls: 5,
    maxKeys: 500, // at most 500 routes remembered; the idlest is forgotten first
    keyIdleTimeout: 60_000,
  },
});

for (let i = 0; i < 6; i++) {
  try {
    await client.request(`${origin}/reports?page=${i}`);
  } catch (err) {
    if (!isBulwarkError(err)) throw err;
    console.log('/reports', err.layer, err.code); // tcp TCP_CLOSED … then circuit CIRCUIT_OPEN
  }
}

// The same upstream, another route: its own breaker is closed.
const res = await client.fetch(`${origin}/orders`);
console.log('/orders', res.status, await res.json());

console.log(client.stats()[origin]?.breakers); // { 'GET /reports': 'open', 'GET /orders': 'closed' }

await client.close();
server.close();
