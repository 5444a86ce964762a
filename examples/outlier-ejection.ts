// Outlier ejection: a name with four addresses, one of which answers 503. After five failures in
// a row that address is ejected — no new connection goes to it and its pooled ones are retired —
// so calls go to the other three; it comes back after its ejection time. The events arrive on
// diagnostics channels and stats() shows every address.
import dgram from 'node:dgram';
import { subscribe } from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import { createClient, type OutlierEjectEvent, type OutlierReturnEvent } from 'bulwark';
import dnsPacket from 'dns-packet';

const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4']; // all loopback on Linux
const BAD = '127.0.0.3';
let badIsBroken = true;

// Four servers on one port, one per address, counting what each receives.
const received = new Map(ADDRESSES.map((a) => [a, 0]));
const servers: Server[] = [];
let port = 0;
for (const host of ADDRESSES) {
  const server = createServer((_req, res) => {
    received.set(host, received.get(host)! + 1);
    res.writeHead(host === BAD && badIsBroken ? 503 : 200);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  port = (server.address() as { port: number }).port;
  servers.push(server);
}

// A tiny DNS server: api.internal has the four A records (your resolver does this in production).
const dns = dgram.createSocket('udp4');
dns.on('message', (msg, peer) => {
  const query = dnsPacket.decode(msg);
  const name = query.questions?.[0]?.name ?? '';
  const answers = ADDRESSES.map((data) => ({ type: 'A' as const, name, ttl: 300, data }));
  const reply = dnsPacket.encode({
    id: query.id,
    type: 'response',
    flags: dnsPacket.AUTHORITATIVE_ANSWER,
    questions: query.questions,
    answers: query.questions?.[0]?.type === 'A' ? answers : [],
  });
  dns.send(reply, peer.port, peer.address);
});
await new Promise<void>((resolve) => dns.bind(0, '127.0.0.1', resolve));

subscribe('bulwark:outlier:eject', (m) => {
  const e = m as OutlierEjectEvent;
  console.log(`ejected ${e.address} (${e.reason}) for ${e.duration} ms`);
});
subscribe('bulwark:outlier:return', (m) => {
  const e = m as OutlierReturnEvent;
  console.log(`returned ${e.address} after ${e.ejectedFor.toFixed(0)} ms`);
});

const client = createClient({
  dns: { servers: [`127.0.0.1:${dns.address().port}`] },
  // The defaults are 5 failures in a row and 30 s; a short ejection keeps the example short.
  outlier: { consecutiveFailures: 5, baseEjectionTime: 1_000 },
});
const url = `http://api.internal:${port}/`;

async function calls(n: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next++ < n) await (await client.request(url)).body.dump();
    }),
  );
}

await calls(400);
console.log('requests received per address:', Object.fromEntries(received));
const origin = `http://api.internal:${port}`;
const bad = client.stats()[origin]!.addresses![BAD]!;
console.log(`${BAD}: ${bad.requests} requests, ${bad.failures} failed, ejected until ${bad.ejectedUntil}`);
if (!bad.ejected) throw new Error('the bad address should be ejected');

// It is fixed; after its ejection time it takes calls again.
badIsBroken = false;
await new Promise((resolve) => setTimeout(resolve, 1_100));
const before = received.get(BAD)!;
for (let round = 0; round < 50 && received.get(BAD) === before; round++) await calls(64);
console.log(
  `${BAD} after its return: ${received.get(BAD)! - before} more requests, ejected: ${client.stats()[origin]!.addresses![BAD]!.ejected}`,
);

await client.close();
for (const server of servers) await new Promise((resolve) => server.close(resolve));
dns.close();
