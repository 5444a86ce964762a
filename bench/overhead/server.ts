/**
 * The loopback upstream of the overhead bench, run in its own process (forked by overhead.ts): a
 * TCP server that answers every HTTP/1.1 request with one canned keep-alive response. It parses
 * no more than the end of each request head and the framing of a body, if there is one, so it is
 * several times faster than a `node:http` server and the clients' own cost is what the bench sees. It sends `{ port }` to its
 * parent over IPC and exits when the parent disconnects.
 */
import { createServer, type Socket } from 'node:net';

const BODY = 'ok';
const RESPONSE = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${BODY.length}\r\nkeep-alive: timeout=60\r\n\r\n${BODY}`,
);
const CRLF2 = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:[ \t]*(\d+)/i;
const CHUNKED = /\r\ntransfer-encoding:[ \t]*chunked/i;

/**
 * Reads requests off one connection and answers each once it has fully arrived: a head alone
 * (the GETs), or a head and its body, by content-length or chunked (the body cases).
 */
function serve(socket: Socket): void {
  socket.setNoDelay(true);
  let data: Buffer = Buffer.alloc(0);
  /** Body bytes still to skip (content-length, or a chunk's data and CRLF). */
  let skip = 0;
  /** Inside a chunked body: reading chunk-size lines. */
  let chunked = false;
  /** The request being read has a body not yet wholly skipped. */
  let inBody = false;
  socket.on('data', (chunk: Buffer) => {
    data = data.length > 0 ? Buffer.concat([data, chunk]) : chunk;
    let from = 0;
    let answers = 0;
    for (;;) {
      if (skip > 0) {
        const take = Math.min(skip, data.length - from);
        skip -= take;
        from += take;
        if (skip > 0) break;
        if (!chunked) {
          inBody = false;
          answers++;
        }
        continue;
      }
      if (chunked) {
        const end = data.indexOf(CRLF, from);
        if (end < 0) break;
        const size = Number.parseInt(data.toString('latin1', from, end), 16);
        from = end + 2;
        if (size === 0) {
          // The last chunk; no trailers from the benches: the blank line ends the request.
          skip = 2;
          chunked = false;
        } else skip = size + 2;
        continue;
      }
      if (inBody) break;
      const i = data.indexOf(CRLF2, from);
      if (i < 0) break;
      const head = data.toString('latin1', from, i + 2);
      from = i + 4;
      const length = CONTENT_LENGTH.exec(head);
      if (CHUNKED.test(head)) {
        chunked = true;
        inBody = true;
      } else if (length !== null && Number(length[1]) > 0) {
        skip = Number(length[1]);
        inBody = true;
      } else answers++;
    }
    data = from < data.length ? data.subarray(from) : Buffer.alloc(0);
    if (answers === 1) socket.write(RESPONSE);
    else if (answers > 1) socket.write(Buffer.concat(Array.from({ length: answers }, () => RESPONSE)));
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
