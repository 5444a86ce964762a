// classify() against what Node and undici really raise: each TCP, TLS and HTTP fault of
// network-faults.ts is made to happen on loopback, through undici.request and again through
// undici.fetch, whose `fetch failed` / `terminated` TypeError must classify like its `cause`.
import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, type TestContext, test } from 'node:test';
import tls from 'node:tls';
import { fetch, request } from 'undici';
import { classify } from '../../src/errors/classify.ts';
import { getTestPki } from '../helpers/certs.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';
import { startRawServer, startSilentServer } from '../helpers/raw-server.ts';
import { FAULTS, type Fault, type Outcome, type Raised, rawPeer, tcp } from './network-faults.ts';
import { agent, chainOf, closedPort, failureOf, observe, rootCause } from './real-failure.ts';

function matches(err: unknown, raised: Raised): boolean {
  if (typeof err !== 'object' || err === null) return false;
  return Object.entries(raised).every(([key, want]) => {
    const got = (err as Record<string, unknown>)[key];
    return want instanceof RegExp ? typeof got === 'string' && want.test(got) : got === want;
  });
}

/** The outcome `err` is one of; fails with what was raised when it is none of them. */
function outcomeOf(err: unknown, fault: Fault): Outcome {
  const outcome = fault.outcomes.find((o) => matches(err, o.raised));
  return outcome ?? assert.fail(`${fault.title}: unexpected ${chainOf(err)}`);
}

// The timeouts take up to a second each (undici's coarse timers): run the cases side by side.
describe('undici.request: the error raised for each fault, and its classification', {
  concurrency: true,
}, () => {
  for (const fault of FAULTS) {
    test(fault.title, async (t) => {
      const { url, options } = await fault.start(t);
      const dispatcher = agent(t, options);
      const err = observe(
        t,
        await failureOf(async () => {
          const res = await request(url, { dispatcher });
          if (fault.inBody) await res.body.text();
        }),
      );
      assert.deepEqual(classify(err), outcomeOf(err, fault).classified);
    });
  }
});

describe('undici.fetch: the TypeError wrapper classifies like its cause', { concurrency: true }, () => {
  for (const fault of FAULTS) {
    test(fault.title, async (t) => {
      const { url, options } = await fault.start(t);
      const dispatcher = agent(t, options);
      const err = observe(
        t,
        await failureOf(async () => {
          const res = await fetch(url, { dispatcher });
          if (fault.inBody) await res.text();
        }),
      );
      assert.ok(err instanceof TypeError, 'fetch rejects with a TypeError');
      assert.match(err.message, fault.inBody ? /^terminated$/ : /^fetch failed$/);
      const cause = rootCause(err);
      assert.deepEqual(classify(err), outcomeOf(cause, fault).classified);
      assert.deepEqual(classify(err), classify(cause));
    });
  }
});

describe('TCP from Node directly', () => {
  test('net.connect to a refused port: ECONNREFUSED (connect) → TCP_REFUSED, never executed', async (t) => {
    const port = await closedPort();
    const err = observe(
      t,
      await failureOf(
        () =>
          new Promise((resolve, reject) => {
            net.connect({ host: '127.0.0.1', port }).once('connect', resolve).once('error', reject);
          }),
      ),
    );
    assert.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED');
    assert.deepEqual(classify(err), tcp('TCP_REFUSED', false));
  });

  test('binding to an address the host lacks: EADDRNOTAVAIL (bind) → TCP_UNREACHABLE', async (t) => {
    const server = cleanup(t, await startRawServer(() => {}));
    const err = observe(
      t,
      await failureOf(
        () =>
          new Promise((resolve, reject) => {
            // 192.0.2.1 is TEST-NET-1 (RFC 5737): never a local address, so bind() fails locally.
            const socket = net.connect({ host: '127.0.0.1', port: server.port, localAddress: '192.0.2.1' });
            socket.once('connect', resolve).once('error', reject);
          }),
      ),
    );
    assert.deepEqual(
      [(err as NodeJS.ErrnoException).code, (err as NodeJS.ErrnoException).syscall],
      ['EADDRNOTAVAIL', 'bind'],
    );
    assert.deepEqual(classify(err), tcp('TCP_UNREACHABLE', false));
  });
});

describe('TLS from Node directly', () => {
  test('a server-side handshake timeout: ERR_TLS_HANDSHAKE_TIMEOUT → TLS_TIMEOUT', async (t) => {
    const pki = await getTestPki();
    const server = tls.createServer({ ...pki.valid, handshakeTimeout: 100 });
    const failed = new Promise<Error>((resolve) => server.once('tlsClientError', resolve));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    const mute = net.connect({ host: '127.0.0.1', port }); // connects, never says ClientHello
    mute.on('error', () => {});
    t.after(() => {
      mute.destroy();
      server.close();
    });
    const err = observe(t, await failed);
    assert.equal((err as NodeJS.ErrnoException).code, 'ERR_TLS_HANDSHAKE_TIMEOUT');
    assert.deepEqual(classify(err), {
      layer: 'tls',
      code: 'TLS_TIMEOUT',
      retryable: true,
      mayHaveExecuted: false,
    });
  });

  test('undici folds a stalled handshake into its connect timeout: TCP_TIMEOUT from classify alone', async (t) => {
    // Bulwark's own connect() times the TLS phase separately and says TLS_TIMEOUT; classify() sees
    // only undici's ConnectTimeoutError, which cannot tell the two phases apart.
    const server = cleanup(t, await startSilentServer());
    const err = observe(
      t,
      await failureOf(() => request(`https://127.0.0.1:${server.port}/`, { dispatcher: agent(t) })),
    );
    assert.equal((err as NodeJS.ErrnoException).code, 'UND_ERR_CONNECT_TIMEOUT');
    assert.deepEqual(classify(err), tcp('TCP_TIMEOUT', false));
  });
});

describe('a closed or destroyed undici dispatcher', () => {
  test('request on a closing Agent: UND_ERR_CLOSED → POOL_CLOSED', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const dispatcher = agent(t);
    const closing = dispatcher.close();
    const err = observe(t, await failureOf(() => request(server.url, { dispatcher })));
    await closing;
    assert.equal((err as NodeJS.ErrnoException).code, 'UND_ERR_CLOSED');
    assert.deepEqual(classify(err), {
      layer: 'pool',
      code: 'POOL_CLOSED',
      retryable: false,
      mayHaveExecuted: false,
    });
  });

  test('fetch on a destroyed Agent: UND_ERR_DESTROYED → POOL_CLOSED', async (t) => {
    const server = cleanup(t, await startHttpServer());
    const dispatcher = agent(t);
    await dispatcher.destroy();
    const err = observe(t, await failureOf(() => fetch(server.url, { dispatcher })));
    assert.equal((rootCause(err) as NodeJS.ErrnoException).code, 'UND_ERR_DESTROYED');
    assert.deepEqual(classify(err), {
      layer: 'pool',
      code: 'POOL_CLOSED',
      retryable: false,
      mayHaveExecuted: false,
    });
  });
});

describe("the caller's own aborts are app errors marked aborted", { concurrency: true }, () => {
  const ABORTED = { layer: 'app', code: null, retryable: false, mayHaveExecuted: true, aborted: true };

  async function silentUrl(t: TestContext): Promise<string> {
    const server = cleanup(t, await startSilentServer());
    return `http://127.0.0.1:${server.port}/`;
  }

  test('AbortSignal.abort() before request: AbortError', async (t) => {
    const url = await silentUrl(t);
    const err = observe(
      t,
      await failureOf(() => request(url, { dispatcher: agent(t), signal: AbortSignal.abort() })),
    );
    assert.equal((err as Error).name, 'AbortError');
    assert.deepEqual(classify(err), ABORTED);
  });

  test('AbortSignal.abort() before fetch: AbortError', async (t) => {
    const url = await silentUrl(t);
    const err = observe(
      t,
      await failureOf(() => fetch(url, { dispatcher: agent(t), signal: AbortSignal.abort() })),
    );
    assert.equal((err as Error).name, 'AbortError');
    assert.deepEqual(classify(err), ABORTED);
  });

  test('an abort while the body streams: AbortError', async (t) => {
    const url = await rawPeer(t, 'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nabc');
    const controller = new AbortController();
    const res = await fetch(url, { dispatcher: agent(t), signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const err = observe(t, await failureOf(() => res.text()));
    assert.equal((err as Error).name, 'AbortError');
    assert.deepEqual(classify(err), ABORTED);
  });

  test('AbortSignal.timeout() on request and on fetch: a TimeoutError DOMException', async (t) => {
    const url = await silentUrl(t);
    const dispatcher = agent(t);
    const errs = [
      await failureOf(() => request(url, { dispatcher, signal: AbortSignal.timeout(30) })),
      await failureOf(() => fetch(url, { dispatcher, signal: AbortSignal.timeout(30) })),
    ];
    for (const err of errs) {
      observe(t, err);
      assert.ok(err instanceof DOMException && err.name === 'TimeoutError');
      assert.deepEqual(classify(err), ABORTED);
    }
  });

  test("an abort with the caller's own reason passes it through: app, not known to be an abort", async (t) => {
    const url = await silentUrl(t);
    const reason = new Error('user navigated away');
    const err = await failureOf(() =>
      fetch(url, { dispatcher: agent(t), signal: AbortSignal.abort(reason) }),
    );
    assert.equal(err, reason);
    assert.deepEqual(classify(err), { ...ABORTED, aborted: false });
  });
});
