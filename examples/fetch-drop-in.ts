// client.fetch in place of fetch: same call, same Response — plus retries with jittered backoff,
// a retry budget and a breaker. The local server fails twice before it answers; the caller only
// sees the answer, and responseInfo() tells what it took.
import { createServer } from 'node:http';
import { createClient, responseInfo } from 'bulwark';

let calls = 0;
const server = createServer((_req, res) => {
  calls++;
  res.statusCode = calls <= 2 ? 503 : 200;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(calls <= 2 ? { error: 'warming up' } : { users: ['ada', 'grace'] }));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };

const client = createClient(); // the production defaults
try {
  // Exactly what you would write with the global fetch:
  const res = await client.fetch(`http://127.0.0.1:${port}/v1/users`, {
    headers: { accept: 'application/json' },
  });
  console.log(res.status, await res.json()); // 200 { users: [ 'ada', 'grace' ] }

  const info = responseInfo(res);
  console.log(`attempts: ${info?.attempts}, last failure before it:`, info?.lastFailure); // 3, { status: 503 }
  console.log('timings (ms):', info?.timings);
} finally {
  await client.close();
  server.close();
}
