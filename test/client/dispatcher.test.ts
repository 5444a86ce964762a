// A dispatcher the caller brings (createClient({ dispatcher }), fetch's init.dispatcher, request's
// options.dispatcher): every policy runs over it — retries, the budget, the breaker, deadlines,
// stats, error tagging — on both front-ends and both fetch paths; the client never closes it.
// undici's MockAgent (the way tests mock HTTP) and a real Agent with interceptors.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Agent,
  type Dispatcher,
  FormData,
  getGlobalDispatcher,
  MockAgent,
  setGlobalDispatcher,
} from 'undici';
import { createClient } from '../../src/client/client.ts';
import { InvalidOptionError } from '../../src/errors/invalid-option-error.ts';
import { responseInfo } from '../../src/http/response-info.ts';
import { bulwarkFailure } from '../helpers/bulwark-failure.ts';
import { cleanup } from '../helpers/cleanup.ts';
import { startHttpServer } from '../helpers/http-server.ts';

const FAST_RETRY = { limit: 2, backoff: { base: 1, cap: 1 }, budget: false } as const;

function mockAgent(): MockAgent {
  const mock = new MockAgent();
  mock.disableNetConnect();
  return mock;
}

describe('a dispatcher the caller brings', () => {
  it('MockAgent: 503, 503, 200 retried on request and fetch (direct and undici paths), seen in stats()', async (t) => {
    const mock = mockAgent();
    t.after(() => mock.close());
    const api = mock.get('http://api.test');
    const client = createClient({ dispatcher: mock, retry: FAST_RETRY });
    t.after(() => client.close());

    api.intercept({ path: '/r' }).reply(503, 'busy').times(2);
    api.intercept({ path: '/r' }).reply(200, { ok: true });
    const r = await client.request('http://api.test/r');
    assert.equal(r.statusCode, 200);
    assert.deepEqual(await r.body.json(), { ok: true });
    assert.equal(r.attempts, 3);

    api.intercept({ path: '/f', method: 'POST', body: 'x' }).reply(503, 'busy');
    api.intercept({ path: '/f', method: 'POST', body: 'x' }).reply(201, 'made');
    const f = await client.fetch('http://api.test/f', {
      method: 'POST',
      body: 'x',
      headers: { 'idempotency-key': 'k' },
    });
    assert.equal(f.status, 201);
    assert.equal(await f.text(), 'made');
    assert.equal(responseInfo(f)?.attempts, 2);

    // FormData goes through undici's own fetch, on the same dispatcher.
    api.intercept({ path: '/form', method: 'POST' }).reply(503, 'busy');
    api.intercept({ path: '/form', method: 'POST' }).reply(200, 'form');
    const form = new FormData();
    form.set('a', '1');
    const u = await client.fetch('http://api.test/form', {
      method: 'POST',
      body: form,
      headers: { 'idempotency-key': 'f' },
    });
    assert.equal(await u.text(), 'form');
    assert.equal(responseInfo(u)?.attempts, 2);

    const stats = client.stats()['http://api.test'];
    assert.equal(stats?.requests, 3);
    assert.equal(stats?.responses, 3);
    assert.equal(stats?.retries, 4);
    assert.deepEqual(stats?.connections, { opened: 0, reused: 0 }, 'no connection of its own seen');
    mock.assertNoPendingInterceptors();
  });

  it('MockAgent: network errors are tagged and open the breaker, which then sheds without dispatching', async (t) => {
    const mock = mockAgent();
    t.after(() => mock.close());
    const api = mock.get('http://down.test');
    api
      .intercept({ path: '/', method: 'POST' })
      .replyWithError(
        Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED', syscall: 'connect' }),
      )
      .times(3);
    const client = createClient({
      dispatcher: mock,
      retry: FAST_RETRY,
      breaker: { minimumCalls: 3, threshold: 50, resetTimeout: 60_000 },
    });
    t.after(() => client.close());
    const err = await bulwarkFailure(client.request('http://down.test/', { method: 'POST', body: 'x' }));
    assert.equal(err.layer, 'tcp');
    assert.equal(err.code, 'TCP_REFUSED');
    assert.equal(err.attempts, 3, 'refused: retried whatever the method');
    const open = await bulwarkFailure(client.fetch('http://down.test/'));
    assert.equal(open.code, 'CIRCUIT_OPEN');
    const stats = client.stats()['http://down.test'];
    assert.equal(stats?.breaker, 'open');
    assert.equal(stats?.failuresByCode.TCP_REFUSED, 3);
    assert.equal(stats?.failuresByCode.CIRCUIT_OPEN, 1);
    mock.assertNoPendingInterceptors();
  });

  it('MockAgent: the deadline cuts a delayed reply (HTTP_HEADERS_TIMEOUT: the request had started), a signal aborts', async (t) => {
    const mock = mockAgent();
    t.after(() => mock.close());
    const api = mock.get('http://slow.test');
    api.intercept({ path: '/' }).reply(200, 'late').delay(5_000).times(2);
    const client = createClient({ dispatcher: mock, retry: false, timeout: { total: 50 } });
    t.after(() => client.close());
    const err = await bulwarkFailure(client.request('http://slow.test/'));
    assert.equal(err.code, 'HTTP_HEADERS_TIMEOUT');
    assert.equal(err.budget, 'total');
    const reason = new Error('mine');
    const ac = new AbortController();
    const pending = client.fetch('http://slow.test/', { signal: ac.signal, timeout: 10_000 });
    setTimeout(() => ac.abort(reason), 10);
    await assert.rejects(pending, (e) => e === reason, "the caller's abort rejects with its reason");
  });

  it('a per-call dispatcher wins over the client and the agent, on fetch and request; the client closes neither', async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: (_q, res) => void res.end('real') }));
    const mock = mockAgent();
    t.after(() => mock.close());
    mock.get(server.url).intercept({ path: '/' }).reply(200, 'mocked').times(2);
    const client = createClient();
    assert.equal(await (await client.fetch(server.url)).text(), 'real');
    assert.equal(await (await client.fetch(server.url, { dispatcher: mock })).text(), 'mocked');
    assert.equal(await (await client.request(server.url, { dispatcher: mock })).body.text(), 'mocked');
    assert.equal(await (await client.request(server.url)).body.text(), 'real');
    // null is no dispatcher (undici's fetch reads it so): the client's.
    assert.equal(await (await client.fetch(server.url, { dispatcher: null as never })).text(), 'real');
    assert.equal(await (await client.request(server.url, { dispatcher: null })).body.text(), 'real');
    assert.equal(server.requests, 4);

    // An Agent of the caller's, with an interceptor (undici's compose): used, and left open.
    const agent = new Agent();
    t.after(() => agent.close());
    const tagged = agent.compose(
      (dispatch) => (opts, handler) =>
        dispatch(
          { ...opts, headers: { ...(opts.headers as Record<string, string>), 'x-via': 'interceptor' } },
          handler,
        ),
    );
    server.handle((req, res) => void res.end(String(req.headers['x-via'])));
    const own = createClient({ dispatcher: tagged });
    assert.equal(await (await own.request(server.url)).body.text(), 'interceptor');
    assert.equal(await (await own.fetch(server.url)).text(), 'interceptor');
    await own.close();
    await client.close();
    assert.equal(agent.closed, false, "the caller's dispatcher is theirs to close");
    const still = await tagged.request({ origin: server.url, path: '/', method: 'GET' });
    assert.equal(await still.body.text(), 'interceptor');
  });

  it("the client's timeout.body reaches a dispatcher of the caller's (undici's own default is 300 s)", async (t) => {
    const server = cleanup(
      t,
      await startHttpServer({
        handler: (_q, res) => {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('first chunk, then nothing');
        },
      }),
    );
    const agent = new Agent();
    t.after(() => agent.destroy());
    const client = createClient({ dispatcher: agent, retry: false, timeout: { body: 100 } });
    t.after(() => client.close());
    const r = await client.request(server.url);
    const body = await bulwarkFailure(r.body.text());
    assert.equal(body.code, 'HTTP_BODY_TIMEOUT');
    const f = await client.fetch(server.url);
    const fetched = await bulwarkFailure(f.text());
    assert.equal(fetched.code, 'HTTP_BODY_TIMEOUT');
  });

  it("dispatcher: 'global' reads undici's global dispatcher at every call (a MockAgent a test installs later)", async (t) => {
    const server = cleanup(t, await startHttpServer({ handler: (_q, res) => void res.end('real') }));
    const client = createClient({ dispatcher: 'global' }); // made before the test installs its mock
    t.after(() => client.close());
    const previous = getGlobalDispatcher();
    const mock = mockAgent();
    setGlobalDispatcher(mock);
    t.after(async () => {
      setGlobalDispatcher(previous);
      await mock.close();
    });
    mock.get(server.url).intercept({ path: '/' }).reply(200, 'global').times(2);
    assert.equal(await (await client.fetch(server.url)).text(), 'global');
    assert.equal(await (await client.request(server.url)).body.text(), 'global');
    setGlobalDispatcher(previous);
    assert.equal(await (await client.fetch(server.url)).text(), 'real');
    // Captured once instead: the dispatcher of that moment.
    setGlobalDispatcher(mock);
    mock.get(server.url).intercept({ path: '/' }).reply(200, 'captured');
    const captured = createClient({ dispatcher: getGlobalDispatcher() });
    t.after(() => captured.close());
    assert.equal(await (await captured.fetch(server.url)).text(), 'captured');
    mock.assertNoPendingInterceptors();
  });

  it('rejects what is not a dispatcher, and proxy beside dispatcher, with InvalidOptionError', async (t) => {
    for (const bad of [null, 1, 'agent', {}, { dispatch: 'no' }, []]) {
      assert.throws(
        () => createClient({ dispatcher: bad as unknown as Dispatcher }),
        (e) => {
          assert.ok(e instanceof InvalidOptionError);
          assert.equal(e.path, 'dispatcher');
          return true;
        },
      );
    }
    for (const dispatcher of [new MockAgent(), 'global' as const]) {
      assert.throws(
        () => createClient({ dispatcher, proxy: 'http://user:secret@proxy.test:3128' }),
        (e) => e instanceof InvalidOptionError && e.path === 'proxy' && !e.message.includes('secret'),
      );
    }
    assert.throws(
      () => createClient({ dispatcher: 'GLOBAL' as never }),
      (e) => e instanceof InvalidOptionError && e.path === 'dispatcher',
    );
    assert.throws(
      () => createClient({ dispatcher: new MockAgent(), proxy: 'http://user:secret@proxy.test:3128' }),
      (e) => e instanceof InvalidOptionError && e.path === 'proxy' && !e.message.includes('secret'),
    );
    // What only Bulwark's own agent reads: an error rather than silently ignored.
    for (const [key, value] of [
      ['tls', { ca: 'x' }],
      ['keepAlive', { idleTimeout: 1 }],
      ['connections', 4],
      ['dns', {}],
    ] as const) {
      for (const dispatcher of [new MockAgent(), 'global' as const]) {
        assert.throws(
          () => createClient({ dispatcher, [key]: value }),
          (e) => e instanceof InvalidOptionError && e.path === key,
        );
      }
    }
    const quiet = createClient({ dispatcher: new MockAgent(), dns: false });
    assert.equal(quiet.dns, undefined);
    await quiet.close();
    const global = createClient({ dispatcher: 'global' });
    assert.equal(global.dns, undefined, 'no DNS cache is made for nothing');
    await global.close();

    const client = createClient();
    t.after(() => client.close());
    await assert.rejects(client.fetch('http://x.test/', { dispatcher: {} as Dispatcher }), {
      name: 'InvalidOptionError',
      path: 'init.dispatcher',
    });
    await assert.rejects(client.request('http://x.test/', { dispatcher: 'agent' as unknown as Dispatcher }), {
      name: 'InvalidOptionError',
      path: 'options.dispatcher',
    });
  });
});
