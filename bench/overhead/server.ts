/**
 * The loopback upstream of the overhead bench, run in its own process (forked by overhead.ts): a
 * TCP server that answers every HTTP/1.1 request head with one canned keep-alive response. It
 * parses nothing but the end of each request head, so it is several times faster than a
 * `node:http` server and the clients' own cost is what the bench sees. It sends `{ port }` to its
 * parent over IPC and exits when the parent disconnects.
 */
import { createServer, type Socket } from 'node:net';

const BODY = 'ok';
const RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY.length}\r\nkeep-alive: timeout=60\r\n\r\n${BODY}`,
);
const CRLF2 = Buffer.from('\r\n\r\n');

function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let tail: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    // Request heads only (the benches send GETs without a body): count the blank lines that end them.
    const data = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
    let from = 0;
    let heads = 0;
    for (;;) {
      const i = data.indexOf(CRLF2, from);
      if (i < 0) break;
      heads++;
      from = i + 4;
    }
    tail = from < data.length ? data.subarray(from) : Buffer.alloc(0);
    if (heads === 1) socket.write(RESPONSE);
    else if (heads > 1) socket.write(Buffer.concat(Array.from({ length: heads }, () => RESPONSE)));
  });
  socket.on('error', () => socket.destroy());
}

const server = createServer(serve);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  if (process.send) process.send({ port });
  else console.log(`listening on http://127.0.0.1:${port}`);
});
process.on('disconnect', () => process.exit(0));
