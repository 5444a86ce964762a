// Hedged requests: an upstream where one request in ten hangs for a second (a slow replica). With
// `hedge`, a call that has not answered after 30 ms sends a second attempt; the first answer wins
// and the slow one is aborted. responseInfo() / the request result say which attempt won, and
// stats() counts the hedges sent and won. A POST is never hedged.
import { createServer } from 'node:http';
import { createClient, responseInfo } from 'bulwark';

let n = 0;
const server = createServer((_req, res) => {
  // Every tenth request is slow; the others answer at once.
  const slow = ++n % 10 === 1;
  setTimeout(() => res.end(slow ? 'slow' : 'fast'), slow ? 1_000 : 0);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };
const origin = `http://127.0.0.1:${port}`;

const client = createClient({ hedge: { delay: 30 } }); // or { delay: 'p95' }: the origin's recent p95

const started = performance.now();
const res = await client.fetch(`${origin}/item/1`); // request 1: slow, so it is hedged
console.log(await res.text(), responseInfo(res)?.hedge); // fast hedge-won
console.log(`answered in ${Math.round(performance.now() - started)} ms, not 1 000`);

const fast = await client.request(`${origin}/item/2`); // answers before 30 ms: no hedge
console.log(await fast.body.text(), fast.hedge); // fast not-sent

// Per call: turn it off, or on with another delay.
await (await client.fetch(`${origin}/item/3`, { hedge: false })).text();

console.log(client.stats()[origin]?.hedges); // { sent: 1, won: 1, refused: 0 }

await client.close();
server.closeAllConnections();
server.close();
