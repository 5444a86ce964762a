// Layered budgets: a total deadline over all attempts and sleeps, a budget per attempt, and
// per-phase timeouts. A timeout names the layer it expired in and which budget ran out.
import { createServer } from 'node:http';
import { createClient, isBulwarkError } from 'bulwark';

// A server that takes 2 s to answer.
const server = createServer((_req, res) => {
  setTimeout(() => res.end('slow'), 2_000).unref();
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
const url = `http://127.0.0.1:${port}/report`;

const client = createClient({
  timeout: { total: 5_000, attempt: 2_000, connect: 1_000 }, // client-wide budgets
});
try {
  // Per call: at most 600 ms in all, 250 ms per attempt; retries fit inside the total.
  await client.request(url, { timeout: { total: 600, attempt: 250 } });
} catch (err) {
  if (!isBulwarkError(err)) throw err;
  // e.g. HTTP_HEADERS_TIMEOUT http attempt 2 — the server never answered within an attempt
  console.log(err.code, err.layer, err.budget, err.attempts);
}

// Enough for this server: 5 s in all, 3 s per attempt.
const res = await client.request(url, { timeout: { total: 5_000, attempt: 3_000 } });
console.log(res.statusCode, await res.body.text()); // 200 slow

await client.close();
server.closeAllConnections();
server.close();
