// Hooks: an access token set on every attempt (beforeRequest), refreshed once when the server
// answers 401 (afterResponse asks for one retry, which still obeys the deadline, the retry budget
// and the idempotency rules), and a retry cancelled by beforeRetry. A throwing hook fails the call
// with its own error.
import { createServer } from 'node:http';
import { createClient } from 'bulwark';

// An API that accepts only the current token, and an auth server that hands out a new one.
let current = 'token-1';
const server = createServer((req, res) => {
  if (req.url === '/token') {
    current = `token-${Number(current.split('-')[1]) + 1}`;
    res.end(JSON.stringify({ access_token: current }));
    return;
  }
  const ok = req.headers.authorization === `Bearer ${current}`;
  res.writeHead(ok ? 200 : 401).end(ok ? 'the orders' : 'token expired');
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
const base = `http://127.0.0.1:${port}`;

let token = 'token-0'; // already stale
let refreshing: Promise<string> | undefined; // one refresh for every call that got a 401 at once
const auth = createClient(); // the token endpoint, on a client without the hooks
const refresh = (): Promise<string> => {
  refreshing ??= auth
    .fetch(`${base}/token`, { method: 'POST' })
    .then((res) => res.json() as Promise<{ access_token: string }>)
    .then(({ access_token }) => (token = access_token))
    .finally(() => (refreshing = undefined));
  return refreshing;
};

const client = createClient({
  hooks: {
    beforeRequest: ({ request }) => {
      request.headers.set('authorization', `Bearer ${token}`);
    },
    afterResponse: async ({ status, response }) => {
      if (status !== 401) return undefined;
      await (response as Response).body?.cancel(); // the 401's body is not needed
      await refresh();
      return { retry: true }; // one more attempt, with the new token (beforeRequest sets it)
    },
  },
});

const res = await client.fetch(`${base}/orders`);
console.log(res.status, await res.text()); // 200 the orders (after one refresh)

// A POST may have executed: its 401 retry is refused by the idempotency rule unless the request
// carries an Idempotency-Key (or the caller lists POST in retry.methods).
current = 'token-99';
const post = await client.fetch(`${base}/orders`, {
  method: 'POST',
  body: '{}',
  headers: { 'idempotency-key': 'order-42' },
});
console.log(post.status, await post.text()); // 200 the orders

// beforeRetry sees each retry before it happens, and may cancel it.
const cancelled = await client.fetch(`${base}/orders`, {
  hooks: {
    beforeRequest: ({ request }) => {
      request.headers.set('authorization', 'Bearer wrong');
    },
    beforeRetry: ({ attempt }) => {
      console.log(`attempt ${attempt} got a 401; not retrying`);
      return false;
    },
  },
});
console.log(cancelled.status); // 401

await client.close();
await auth.close();
server.close();
