// Reading an error's layer: the same catch block tells DNS from TCP from HTTP from an open
// circuit, with the target, request and timings — and logs one redacted JSON line.
import { createServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { BulwarkError, classify, createClient, isBulwarkError } from 'bulwark';

function report(what: string, err: unknown): void {
  if (!isBulwarkError(err)) throw err;
  console.log(`${what.padEnd(28)} layer=${err.layer.padEnd(7)} code=${err.code}`);
}

const client = createClient({ retry: false, timeout: { total: 1_000 }, breaker: { minimumCalls: 3 } });

// DNS: a host name that cannot exist is refused without asking any server.
await client.fetch('http://-not-a-valid-name-.example/').catch((e) => report('invalid host name', e));

// TCP: nothing listens on the port.
const closed = createServer();
await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
const closedPort = (closed.address() as { port: number }).port;
closed.close();
await client.fetch(`http://127.0.0.1:${closedPort}/`).catch((e) => report('refused port', e));

// HTTP: the server accepts the connection but never answers.
const silent = createTcpServer(() => {});
await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
const silentPort = (silent.address() as { port: number }).port;
await client.fetch(`http://127.0.0.1:${silentPort}/`).catch((e) => report('silent server', e));

// Circuit: after three refused connects the breaker for that origin is open.
for (let i = 0; i < 3; i++) await client.fetch(`http://127.0.0.1:${closedPort}/`).catch(() => {});
const open = await client.fetch(`http://127.0.0.1:${closedPort}/?token=secret`).catch((e: unknown) => e);
report('breaker open', open);
if (open instanceof BulwarkError) {
  console.log('  its cause:', (open.cause as BulwarkError).code); // the failure that opened it
  console.log('  as a log line:', JSON.stringify(open)); // no "secret" in it
}

// Not Bulwark's: classify() still says which layer an error belongs to.
console.log('classify(new Error("boom")):', classify(new Error('boom')).layer); // app

await client.close();
silent.close();
