// Hooks through the real client on loopback, for both front-ends: beforeRequest changing headers
// and the URL per attempt, the order of the client's and the call's hooks, afterResponse asking
// for a retry (token refresh on a 401) under the deadline, the budget, the limit and the
// idempotency rules, beforeRetry seeing and cancelling a retry, hooks that throw or reject (the
// call fails with exactly their error; nothing counted against the origin; budget tokens given
// back; responses discarded), aborts and the deadline during a hook (HTTP_HOOK_TIMEOUT), the
// call's async context inside every hook, and bad hooks rejected as InvalidOptionErrors.
import assert from 'node:assert/strict';
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage } from 'node:http';
import { describe, it, type TestContext } from 'node:test';
import { createClient } from '../../src/client/client.ts';
import type { ClientOptions } from '../../src/client/options.ts';
import { BulwarkError, isBulwarkError } from '../../src/errors/bulwark-error.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import type { Hooks } from '../../src/http/hook-options.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer, type TestHttpServer } from '../helpers/http-server.ts';
import { waitFor } from '../helpers/wait-for.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
}

/**
 * A server that answers with `statusOf(n, req)` (n: 1 for the first request) and records each
 * request. With `big`, a response other than 200 has a 4 MB body, more than the socket and the
 * body stream buffer: its connection stays busy until the body is read or discarded.
 */
async function recording(
  t: TestContext,
  statusOf: (n: number, req: IncomingMessage) => number = () => 200,
  big = false,
) {
  const server = cleanup(t, await startHttpServer());
  const seen: Seen[] = [];
  server.handle((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    const status = statusOf(seen.length, req);
    const pad = big && status !== 200 ? `\n${'x'.repeat(4 << 20)}` : '';
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}${pad}`);
  });
  return { server, seen };
}

function client(t: TestContext, options: ClientOptions = {}) {
  const c = createClient({ retry: { backoff: { base: 1, cap: 2 } }, ...options });
  t.after(() => c.close());
  return c;
}

/** A port nothing listens on. */
async function refusedPort(): Promise<number> {
  const server: TestHttpServer = await startHttpServer();
  const port = server.port;
  await server.close();
  return port;
}

/** Both front-ends, as one shape: the status, the attempts, the body read. */
const FRONTS = {
  fetch: async (
    c: ReturnType<typeof createClient>,
    url: string,
    init: { headers?: Record<string, string>; hooks?: Hooks } = {},
  ) => {
    const res = await c.fetch(url, init);
    const { responseInfo } = await import('../../src/http/response-info.ts');
    return { status: res.status, attempts: responseInfo(res)?.attempts, text: await res.text() };
  },
  request: async (
    c: ReturnType<typeof createClient>,
    url: string,
    init: { headers?: Record<string, string>; hooks?: Hooks } = {},
  ) => {
    const res = await c.request(url, init);
    return { status: res.statusCode, attempts: res.attempts, text: await res.body.text() };
  },
};

describe('hooks (client, loopback)', () => {
  for (const [front, call] of Object.entries(FRONTS)) {
    describe(front, () => {
      it('beforeRequest changes the headers and the URL of each attempt, from the request as given', async (t) => {
        const { server, seen } = await recording(t, (n) => (n === 1 ? 503 : 200));
        const c = client(t, {
          hooks: {
            beforeRequest: ({ request, attempt }) => {
              request.headers.set('x-attempt', String(attempt));
              assert.equal(request.headers.get('x-given'), 'yes'); // never the last attempt's
              assert.equal(request.headers.get('x-attempt'), String(attempt));
              const url = request.url;
              url.searchParams.set('n', String(attempt));
            },
          },
        });
        const r = await call(c, `${server.url}/a?b=1`, { headers: { 'x-given': 'yes' } });
        assert.equal(r.status, 200);
        assert.equal(r.attempts, 2);
        assert.deepEqual(
          seen.map((s) => [s.url, s.headers['x-attempt'], s.headers['x-given']]),
          [
            ['/a?b=1&n=1', '1', 'yes'],
            ['/a?b=1&n=2', '2', 'yes'],
          ],
        );
      });

      it('a hook may assign a new URL (string) and new headers (a record)', async (t) => {
        const { server, seen } = await recording(t);
        const c = client(t);
        const r = await call(c, `${server.url}/old`, {
          hooks: {
            beforeRequest: ({ request }) => {
              request.url = `${server.url}/new?q=1` as never; // a string is taken too
              request.headers = { 'x-new': '1' } as never; // so is a record
            },
          },
        });
        assert.equal(r.status, 200);
        assert.equal(seen[0]?.url, '/new?q=1');
        assert.equal(seen[0]?.headers['x-new'], '1');
      });

      it('token refresh on 401: afterResponse refreshes and asks for one retry, which carries the new token', async (t) => {
        const { server, seen } = await recording(
          t,
          (_n, req) => (req.headers.authorization === 'Bearer fresh' ? 200 : 401),
          true,
        );
        let token = 'stale';
        let refreshes = 0;
        // One connection: the retry gets it only if the 401's body was released.
        const c = client(t, {
          connections: 1,
          hooks: {
            beforeRequest: ({ request }) => {
              request.headers.set('authorization', `Bearer ${token}`);
            },
            afterResponse: async ({ status }) => {
              if (status !== 401) return undefined;
              refreshes++;
              token = await Promise.resolve('fresh');
              return { retry: true };
            },
          },
        });
        const r = await call(c, server.url);
        assert.equal(r.status, 200);
        assert.equal(r.attempts, 2);
        assert.equal(refreshes, 1);
        assert.deepEqual(
          seen.map((s) => s.headers.authorization),
          ['Bearer stale', 'Bearer fresh'],
        );
        assert.equal(c.stats()[server.origin]?.retries, 1);
      });

      it('the retry request may carry headers for every later attempt (no beforeRequest needed)', async (t) => {
        const { server, seen } = await recording(t, (_n, req) => (req.headers.authorization ? 200 : 401));
        const c = client(t);
        const r = await call(c, server.url, {
          hooks: {
            afterResponse: ({ status }) =>
              status === 401 ? { retry: true, headers: { authorization: 'Bearer new' } } : undefined,
          },
        });
        assert.equal(r.status, 200);
        assert.deepEqual(
          seen.map((s) => s.headers.authorization),
          [undefined, 'Bearer new'],
        );
      });
    });
  }

  it("runs the client's hooks before the call's, each list in order", async (t) => {
    const { server } = await recording(t, (n) => (n === 1 ? 503 : 200));
    const log: string[] = [];
    const hooks = (who: string): Hooks => ({
      beforeRequest: [
        () => void log.push(`${who}.beforeRequest.1`),
        () => void log.push(`${who}.beforeRequest.2`),
      ],
      afterResponse: () => void log.push(`${who}.afterResponse`),
      beforeRetry: () => void log.push(`${who}.beforeRetry`),
    });
    const c = client(t, { hooks: hooks('client') });
    const res = await c.fetch(server.url, { hooks: hooks('call') });
    await res.text();
    const round = [
      'client.beforeRequest.1',
      'client.beforeRequest.2',
      'call.beforeRequest.1',
      'call.beforeRequest.2',
      'client.afterResponse',
      'call.afterResponse',
    ];
    assert.deepEqual(log, [...round, 'client.beforeRetry', 'call.beforeRetry', ...round]);
  });

  it('afterResponse sees every response, failing statuses included, and the request it answered', async (t) => {
    const { server } = await recording(t, (n) => (n === 1 ? 502 : 204));
    const seen: [number, number, string][] = [];
    const c = client(t);
    const res = await c.request(server.url, {
      hooks: {
        afterResponse: ({ status, attempt, response, request }) => {
          assert.equal(response.statusCode, status); // typed: client.request's result
          seen.push([status, attempt, String(request.url)]);
        },
      },
    });
    await res.body.dump();
    assert.deepEqual(seen, [
      [502, 1, `${server.url}/`],
      [204, 2, `${server.url}/`],
    ]);
  });

  it('a requested retry obeys idempotency: a POST is not retried (the 401 is the result); with an Idempotency-Key it is', async (t) => {
    const { server, seen } = await recording(t, () => 401);
    const retry = () => ({ retry: true as const });
    const c = client(t, { hooks: { afterResponse: retry } });
    const res = await c.fetch(server.url, { method: 'POST', body: 'x' });
    assert.equal(res.status, 401);
    assert.equal(await res.text(), 'status 401');
    assert.equal(seen.length, 1);
    const keyed = await c.fetch(server.url, {
      method: 'POST',
      body: 'x',
      headers: { 'idempotency-key': 'k1' },
      retry: { limit: 1 },
    });
    assert.equal(keyed.status, 401);
    await keyed.text();
    assert.equal(seen.length, 3);
  });

  it('a requested retry obeys the limit (once per attempt) and the budget', async (t) => {
    const { server, seen } = await recording(t, () => 401);
    const c = client(t, { retry: { limit: 2, budget: { reserve: 1 } } });
    const always = { afterResponse: () => ({ retry: true as const }) };
    const res = await c.request(server.url, { hooks: always });
    assert.equal(res.statusCode, 401);
    await res.body.dump();
    // The reserve of 1 pays for one retry; the second is refused by the budget.
    assert.equal(seen.length, 2);
    assert.equal(c.stats()[server.origin]?.budgetExhausted, 1);
    const limited = client(t, { retry: { limit: 1, budget: false } });
    const again = await limited.request(server.url, { hooks: always });
    await again.body.dump();
    assert.equal(again.attempts, 2);
    const off = await limited.request(server.url, { hooks: always, retry: false });
    await off.body.dump();
    assert.equal(off.attempts, 1);
  });

  it('beforeRetry sees the response or the error, the attempt and the delay, and may cancel', async (t) => {
    const { server, seen } = await recording(t, () => 503);
    const c = client(t);
    const asked: unknown[] = [];
    const res = await c.fetch(server.url, {
      hooks: {
        beforeRetry: ({ response, error, attempt, delay }) => {
          asked.push([response?.status, error, attempt, typeof delay]); // typed: fetch's Response
          return false;
        },
      },
    });
    assert.equal(res.status, 503);
    assert.equal(await res.text(), 'status 503');
    assert.deepEqual(asked, [[503, undefined, 1, 'number']]);
    assert.equal(seen.length, 1);

    const port = await refusedPort();
    const errors: unknown[] = [];
    const err = (await c
      .request(`http://127.0.0.1:${port}/`, {
        hooks: {
          beforeRetry: async ({ error, attempt }) => {
            errors.push([(error as BulwarkError).code, attempt]);
            return attempt === 2 ? false : undefined;
          },
        },
      })
      .catch((e: unknown) => e)) as BulwarkError;
    assert.equal(err.code, 'TCP_REFUSED');
    assert.equal(err.attempts, 2);
    assert.equal(err.notRetried, 'cancelled');
    assert.deepEqual(errors, [
      ['TCP_REFUSED', 1],
      ['TCP_REFUSED', 2],
    ]);
    // The cancelled retry's budget token came back: one spent (the retry made), one refunded.
    assert.equal(c.stats()[`http://127.0.0.1:${port}`]?.budgetLevel, 2);
  });

  describe('a hook that throws fails the call with exactly its error, and nothing leaks', () => {
    const thrown = [
      ['an Error', () => new Error('mine')],
      ['a string', () => 'just a string'],
      ['null', () => null],
      ['a BulwarkError of its own (not counted as this origin’s)', () => tcpRefused()],
    ] as const;
    for (const [what, make] of thrown) {
      for (const hook of ['beforeRequest', 'afterResponse', 'beforeRetry'] as const) {
        for (const style of ['sync', 'async'] as const) {
          it(`${hook} (${style}) throws ${what}`, async (t) => {
            const { server, seen } = await recording(t, (n) => (n === 1 ? 503 : 200), true);
            const c = client(t, { connections: 1 }); // a response left unreleased would block the next call
            const value = make();
            const fn =
              style === 'sync'
                ? () => {
                    throw value;
                  }
                : async () => {
                    await Promise.resolve();
                    throw value;
                  };
            const err = await c.fetch(server.url, { hooks: { [hook]: fn } }).then(
              () => assert.fail('resolved'),
              (e: unknown) => e,
            );
            assert.equal(err, value);
            const stats = c.stats()[server.origin]!;
            assert.equal(seen.length, hook === 'beforeRequest' ? 0 : 1);
            assert.equal(stats.retries, 0);
            assert.deepEqual(stats.failuresByLayer, {}); // neither the hook's error nor a 503 retried
            assert.equal(stats.breaker, 'closed');
            // The budget token a retry took is back.
            assert.equal(stats.budgetLevel, 3);
            // The response was discarded: the origin's one connection serves the next call.
            const next = await c.fetch(server.url);
            assert.equal(next.status, 200);
            await next.text();
          });
        }
      }
    }

    it('a beforeRequest hook of a retry that throws gives the retry’s budget token back', async (t) => {
      const { server } = await recording(t, () => 503);
      const c = client(t);
      const boom = new Error('second attempt');
      const err = await c
        .request(server.url, {
          hooks: {
            beforeRequest: ({ attempt }) => {
              if (attempt === 2) throw boom;
            },
          },
        })
        .catch((e: unknown) => e);
      assert.equal(err, boom);
      assert.equal(c.stats()[server.origin]?.budgetLevel, 3);
    });
  });

  describe('aborts during a hook', () => {
    for (const hook of ['beforeRequest', 'afterResponse', 'beforeRetry'] as const) {
      it(`the caller aborts during ${hook}: the call rejects with the reason, the hook's signal aborts`, async (t) => {
        const { server, seen } = await recording(t, (n) => (n === 1 ? 503 : 200), true);
        const c = client(t, { connections: 1 });
        const controller = new AbortController();
        const reason = { why: `aborted in ${hook}` };
        let hookSignal: AbortSignal | undefined;
        let release = (): void => {};
        const late = {
          promise: new Promise<void>((resolve) => (release = resolve)),
          resolve: () => release(),
        };
        const fn = async ({ signal }: { signal: AbortSignal }) => {
          hookSignal = signal;
          queueMicrotask(() => controller.abort(reason));
          await late.promise; // never ends on its own before the abort
        };
        const err = await c
          .request(server.url, { signal: controller.signal, hooks: { [hook]: fn } })
          .catch((e: unknown) => e);
        assert.equal(err, reason);
        assert.equal(hookSignal?.aborted, true);
        assert.equal(hookSignal?.reason, reason);
        late.resolve(); // settling afterwards changes nothing
        assert.equal(seen.length, hook === 'beforeRequest' ? 0 : 1);
        // The aborted call's response was discarded: the origin's one connection serves the next call.
        const next = await c.request(server.url);
        assert.equal(next.statusCode, 200);
        await next.body.dump();
      });
    }

    it('a signal aborted before the call: the hook does not hold it up', async (t) => {
      const { server, seen } = await recording(t);
      const c = client(t);
      const reason = new Error('already');
      const err = await c
        .fetch(server.url, {
          signal: AbortSignal.abort(reason),
          hooks: { beforeRequest: () => new Promise(() => {}) },
        })
        .catch((e: unknown) => e);
      assert.equal(err, reason);
      assert.equal(seen.length, 0);
    });
  });

  it('a hook still running at the total deadline fails the call with HTTP_HOOK_TIMEOUT; its signal says so', async (t) => {
    const { server, seen } = await recording(t);
    const c = client(t, { timeout: { total: 100 } });
    let hookSignal: AbortSignal | undefined;
    const err = (await c
      .fetch(server.url, {
        hooks: {
          beforeRequest: ({ signal }) => {
            hookSignal = signal;
            return new Promise<void>(() => {});
          },
        },
      })
      .catch((e: unknown) => e)) as BulwarkError;
    assert.ok(isBulwarkError(err));
    assert.equal(err.code, 'HTTP_HOOK_TIMEOUT');
    assert.equal(err.layer, 'http');
    assert.equal(err.budget, 'total');
    assert.equal(err.retryable, false);
    assert.equal(err.mayHaveExecuted, false);
    assert.equal(hookSignal?.reason, err);
    assert.equal(seen.length, 0);
    const stats = c.stats()[server.origin]!;
    assert.equal(stats.failuresByCode.HTTP_HOOK_TIMEOUT, 1);
    assert.equal(stats.breaker, 'closed');
  });

  it('fetch calls left to undici’s fetch (here: a referrerPolicy) get their headers and URL from the hooks too', async (t) => {
    const { server, seen } = await recording(t);
    const c = client(t);
    const res = await c.fetch(`${server.url}/x`, {
      referrerPolicy: 'no-referrer',
      headers: [['x-given', 'pairs']],
      hooks: {
        beforeRequest: ({ request }) => {
          request.headers.set('x-hook', '1');
          request.url.pathname = '/y';
        },
      },
    });
    assert.equal(res.status, 200);
    await res.text();
    assert.deepEqual(
      seen.map((s) => [s.url, s.headers['x-given'], s.headers['x-hook']]),
      [['/y', 'pairs', '1']],
    );
  });

  it('an abort while the request is out, with hooks set, rejects with the reason and runs no afterResponse', async (t) => {
    const server = cleanup(t, await startHttpServer());
    server.handle(() => {}); // never answers
    const c = client(t);
    const controller = new AbortController();
    let after = 0;
    const reason = Symbol('gone');
    const pending = c.request(server.url, {
      signal: controller.signal,
      hooks: {
        beforeRequest: () => {
          setTimeout(() => controller.abort(reason), 20);
        },
        afterResponse: () => void after++,
      },
    });
    await assert.rejects(pending, (err) => err === reason);
    assert.equal(after, 0);
  });

  for (const hook of ['afterResponse', 'beforeRetry'] as const) {
    it(`${hook} outliving the total deadline: HTTP_HOOK_TIMEOUT (may have executed), the response discarded`, async (t) => {
      const { server, seen } = await recording(t, () => 503, true);
      const c = client(t, { timeout: { total: 150 }, connections: 1 });
      const err = (await c
        .request(server.url, { hooks: { [hook]: () => new Promise<void>(() => {}) } })
        .catch((e: unknown) => e)) as BulwarkError;
      assert.equal(err.code, 'HTTP_HOOK_TIMEOUT');
      assert.equal(err.mayHaveExecuted, true);
      assert.equal(err.attempts, 1);
      assert.equal(seen.length, 1);
      // The response was discarded: the origin's one connection serves the next call.
      const next = await c.request(server.url, { timeout: 10_000, retry: false });
      assert.equal(next.statusCode, 503);
      await next.body.dump();
    });
  }

  it('close() ends a hook still running: the call rejects with POOL_CLOSED, close() does not wait for the deadline', async (t) => {
    const { server, seen } = await recording(t);
    const c = createClient();
    let hookSignal: AbortSignal | undefined;
    const pending = c.fetch(server.url, {
      hooks: {
        beforeRequest: ({ signal }) => {
          hookSignal = signal;
          return new Promise<void>(() => {});
        },
      },
    });
    await waitFor(() => hookSignal !== undefined, 'the hook to start');
    await c.close();
    const err = (await pending.catch((e: unknown) => e)) as BulwarkError;
    assert.equal(err.code, 'POOL_CLOSED');
    assert.equal(hookSignal?.reason, err);
    assert.equal(seen.length, 0);
  });

  it('the hooks run outside the breaker: an open breaker still runs beforeRequest and answers CIRCUIT_OPEN, no afterResponse', async (t) => {
    const port = await refusedPort();
    const c = client(t, { retry: false, breaker: { minimumCalls: 2, resetTimeout: 60_000 } });
    const url = `http://127.0.0.1:${port}/`;
    for (let i = 0; i < 2; i++) await c.request(url).catch(() => {});
    assert.equal(c.stats()[`http://127.0.0.1:${port}`]?.breaker, 'open');
    const log: string[] = [];
    const err = (await c
      .request(url, {
        hooks: {
          beforeRequest: () => void log.push('beforeRequest'),
          afterResponse: () => void log.push('afterResponse'),
        },
      })
      .catch((e: unknown) => e)) as BulwarkError;
    assert.equal(err.code, 'CIRCUIT_OPEN');
    assert.deepEqual(log, ['beforeRequest']);
  });

  it("every hook runs in the call's async context", async (t) => {
    const { server } = await recording(t, (n) => (n % 2 === 1 ? 503 : 200));
    const als = new AsyncLocalStorage<string>();
    const stores: [string, string | undefined][] = [];
    const record = (name: string) => () => void stores.push([name, als.getStore()]);
    const c = client(t, {
      hooks: {
        beforeRequest: record('beforeRequest'),
        afterResponse: record('afterResponse'),
        beforeRetry: record('beforeRetry'),
      },
    });
    for (const front of ['fetch', 'request'] as const) {
      stores.length = 0;
      await als.run(`call-${front}`, async () => {
        if (front === 'fetch') await (await c.fetch(server.url)).text();
        else await (await c.request(server.url)).body.dump();
      });
      assert.deepEqual(
        stores.map(([, store]) => store),
        Array(stores.length).fill(`call-${front}`),
      );
      assert.ok(stores.length >= 3);
    }
  });

  describe('bad hooks', () => {
    it('are InvalidOptionErrors when the client or the call is made', async (t) => {
      assert.throws(() => createClient({ hooks: { beforeRequest: 'x' as never } }), /hooks\.beforeRequest/);
      assert.throws(
        () => createClient({ hooks: { afterResponse: [() => {}, 1] as never } }),
        /hooks\.afterResponse\[1\]/,
      );
      assert.throws(() => createClient({ hooks: { onError: () => {} } as never }), /hooks\.onError/);
      assert.throws(() => createClient({ hooks: null as never }), InvalidOptionError);
      const c = client(t);
      await assert.rejects(
        c.fetch('http://127.0.0.1:1/', { hooks: { beforeRetry: {} as never } }),
        /hooks\.beforeRetry/,
      );
      await assert.rejects(c.request('http://127.0.0.1:1/', { hooks: 5 as never }), InvalidOptionError);
    });

    it('a URL of another origin, or an answer of the wrong shape, fails the call with an InvalidOptionError', async (t) => {
      const { server, seen } = await recording(t);
      const c = client(t);
      const moved = await c
        .fetch(server.url, {
          hooks: {
            beforeRequest: ({ request }) => {
              request.url = new URL('http://example.com/');
            },
          },
        })
        .catch((e: unknown) => e);
      assert.ok(moved instanceof InvalidOptionError);
      assert.match(String(moved), /origin/);
      const odd = await c
        .request(server.url, { hooks: { afterResponse: () => ({ retry: 'yes' }) as never } })
        .catch((e: unknown) => e);
      assert.ok(odd instanceof InvalidOptionError);
      assert.equal(seen.length, 1);
      const cancel = await c
        .request(`http://127.0.0.1:${await refusedPort()}/`, { hooks: { beforeRetry: () => true as never } })
        .catch((e: unknown) => e);
      assert.ok(cancel instanceof InvalidOptionError);
    });
  });
});

function tcpRefused(): BulwarkError {
  return new BulwarkError({ layer: 'tcp', code: 'TCP_REFUSED' });
}
