// An SDK call (here a gRPC-style client over a local TCP service) wrapped in
// wrap(timeout, retry, breaker): the same retry, budget and breaker the HTTP client runs, around
// any async function. Its errors keep Bulwark's taxonomy: a timeout is CALL_TIMEOUT with its
// budget, an open breaker CIRCUIT_OPEN, and the SDK's own network errors are classified.
import { connect, createServer, type Socket } from 'node:net';
import { isBulwarkError, policy, wrap } from 'bulwark';

// A tiny "inventory service": one line in, one line out. It resets the first two connections,
// then answers; a request for 'slow' is never answered.
let connections = 0;
const server = createServer((socket: Socket) => {
  if (++connections <= 2) {
    socket.resetAndDestroy();
    return;
  }
  socket.on('data', (line) => {
    const sku = line.toString().trim();
    if (sku !== 'slow') socket.end(`${sku}: 42 in stock\n`);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as { port: number };

/** The "SDK": `getStock(sku, { signal })`, as a generated gRPC or cloud client exposes it. */
function getStock(sku: string, { signal }: { signal: AbortSignal }): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`${sku}\n`));
    const onAbort = (): void => {
      socket.destroy();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('data', (data) => resolve(data.toString().trim()));
    socket.once('error', reject); // ECONNRESET: Bulwark's classify() puts it in layer tcp
    socket.once('close', () => signal.removeEventListener('abort', onAbort));
  });
}

// 1 s for the whole call, up to 3 attempts (jittered backoff, a retry budget), one breaker.
const inventory = wrap(
  policy.timeout(1_000),
  policy.retry({ limit: 2, backoff: { base: 50 } }),
  policy.breaker({ minimumCalls: 5 }),
);

// Two resets, then an answer: the caller sees only the answer.
console.log(await inventory.execute(({ signal }) => getStock('sku-1', { signal })));

// Never answered: the SDK call is aborted through its signal and the caller gets CALL_TIMEOUT.
try {
  await inventory.execute(({ signal }) => getStock('slow', { signal }));
} catch (err) {
  if (!isBulwarkError(err)) throw err;
  console.log(err.layer, err.code, err.budget); // call CALL_TIMEOUT total
}

// A per-attempt timeout instead: put it inside the retry.
const perAttempt = wrap(policy.retry({ limit: 1 }), policy.timeout(200));
const err = await perAttempt.execute(({ signal }) => getStock('slow', { signal })).catch((e: unknown) => e);
if (isBulwarkError(err)) console.log(err.code, err.budget, err.attempts); // CALL_TIMEOUT attempt 2

server.close();
