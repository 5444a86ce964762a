// Starts a server listening on a loopback port and says how to reach it, so every helper
// binds the same way (port 0 unless told otherwise) and formats IPv6 hosts correctly in URLs.
import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';

/** Listens on `host`:`port` (0 = any free port) and resolves with the port actually bound. */
export async function listen(server: Server, host: string, port = 0): Promise<number> {
  server.listen({ host, port });
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** `host:port` as it appears in a URL: IPv6 literals need brackets. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
