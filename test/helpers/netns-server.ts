// An HTTP (and, given a certificate, HTTPS) server for the path-layer tests, run inside a test
// network namespace by netns.ts (and on loopback by bench/probe.ts):
// `node netns-server.ts '{"http":8080,"https":8443,"cert":...}'`.
// It prints one line when it listens and exits when its stdin closes (the test process is gone),
// so no server outlives the test that started it.
import { createServer as createHttp, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo, Server } from 'node:net';

interface Config {
  /** The address to listen on. @default '0.0.0.0' (inside a test namespace) */
  host?: string;
  /** Port of the HTTP server (0: any). */
  http?: number;
  /** Port of the HTTPS server; needs `cert` and `key`. */
  https?: number;
  cert?: string;
  key?: string;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
// A deep accept queue: hundreds of connects at once must not overflow it (that would drop SYNs).
const BACKLOG = 4096;

const answer = (req: IncomingMessage, res: ServerResponse): void => {
  req.resume();
  req.on('end', () => res.end(`ok ${req.method} ${req.url}\n`));
};

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: config.host ?? '0.0.0.0', port, backlog: BACKLOG }, resolve);
  });
  return (server.address() as AddressInfo).port;
}

const ports: Record<string, number> = {};
if (config.http !== undefined) ports.http = await listen(createHttp(answer), config.http);
if (config.https !== undefined) {
  ports.https = await listen(createHttps({ cert: config.cert, key: config.key }, answer), config.https);
}
process.stdout.write(`${JSON.stringify(ports)}\n`);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
