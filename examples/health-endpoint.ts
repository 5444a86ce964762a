// A health endpoint that means something: each dependency is checked under a deadline, in
// parallel, and a failure reports the layer and code of what broke.
import { createServer } from 'node:http';
import { createClient, healthCheck, httpCheck, readyHandler } from 'bulwark';

// A dependency that works, and one that does not (nothing listens on its port).
const upstream = createServer((_req, res) => res.end('ok'));
await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
const up = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/health`;
const gone = createServer();
await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
const down = `http://127.0.0.1:${(gone.address() as { port: number }).port}/health`;
gone.close();

const client = createClient();
const checks = {
  payments: httpCheck(client, up),
  ledger: httpCheck(client, down),
  cache: async () => true, // any function: resolve (or return anything but false) = up
};

const report = await healthCheck(checks, { timeout: 1_000 });
console.log(report.status); // down
console.log(report.checks.ledger); // { status: 'down', layer: 'tcp', code: 'TCP_REFUSED', ... }

// The same as a readiness endpoint: 200 when all are up, 503 with the JSON otherwise.
const app = createServer(readyHandler(checks, { timeout: 1_000 }));
await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
const res = await client.fetch(`http://127.0.0.1:${(app.address() as { port: number }).port}/ready`);
console.log('GET /ready →', res.status, ((await res.json()) as { status: string }).status); // 503 down

await client.close();
app.close();
upstream.close();
