/**
 * The HTTP/2 upstream of the overhead bench's h2 cases, run in its own process (forked by
 * overhead.ts when an h2 case runs): a node:http2 secure server on loopback with a throwaway
 * certificate, answering every stream with the same small response as server.ts. It sends
 * `{ port, ca }` to its parent over IPC and exits when the parent disconnects.
 */
import http2 from 'node:http2';
import { selfSigned } from '../lib/self-signed.ts';

const { cert, key } = await selfSigned();
const HEADERS = { ':status': 200, 'content-type': 'text/plain', 'content-length': 2 };
const server = http2.createSecureServer({ cert, key });
server.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.respond(HEADERS);
  stream.end('ok');
});
server.on('session', (session) => session.on('error', () => {}));
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  if (process.send) process.send({ port, ca: cert });
  else console.log(`listening on https://127.0.0.1:${port}`);
});
process.on('disconnect', () => process.exit(0));
